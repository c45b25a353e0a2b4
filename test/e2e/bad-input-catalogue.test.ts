/**
 * What the cluster refuses, in one place: each test is one attack against real
 * clusterd processes (a master and a worker over mutual TLS, certificates from our
 * certs_tool) and states its outcome. After every attack the healthy worker is still
 * listed and agents still enrol through it.
 *
 * Elsewhere, against the same real parts: a path that climbs out of the synced
 * folders, a symlink escape and a zip bomb from a hostile master
 * (test/e2e/hostile-master.test.ts); replayed and reflected handshakes
 * (test/unit/protocols/handshake.test.ts); slow and silent clients on the agent and
 * enrolment ports (test/integration/runtime/agents/*.test.ts).
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { makeCluster, listedNodes, runCli, waitFor, tempDir, type NodeProcess, type TestCluster } from '../harness/cluster.js';
import { enrol, issuedKey } from '../harness/agents.js';
import { controlSocketPath } from '../../runtime/control/control-server.js';
import { frameAgentMessage } from '../../protocols/agent-framing.js';
import { encodeSecure } from '../../protocols/secure-message.js';

const CONFIG = (names: readonly string[]): string => `nodes:\n  server:\n${names.map((n, i) => `    - name: ${n}\n      ip: 127.0.0.1\n      node_type: ${i === 0 ? 'master' : 'worker'}\n`).join('')}`;

let dir: string;
let certs: string;
let foreign: string;
let c: TestCluster;
let worker: NodeProcess;

async function issue(into: string, names: readonly string[]): Promise<string> {
  fs.mkdirSync(into, { recursive: true });
  fs.writeFileSync(path.join(into, 'config.yml'), CONFIG(names));
  const out = path.join(into, 'certificates');
  const r = await runCli('certs_tool', ['-A', '--config', path.join(into, 'config.yml'), '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

const tlsOf = (from: string, node: string, ca = certs): { ca: string; cert: string; key: string } =>
  ({ ca: path.join(ca, 'root-ca.pem'), cert: path.join(from, `${node}.pem`), key: path.join(from, `${node}-key.pem`) });

/** A node that must be refused: started, checked, stopped. */
async function refused(name: string, overrides: Parameters<TestCluster['addNode']>[2], masterSays: RegExp): Promise<void> {
  const node = await c.addNode(name, 'worker', overrides);
  await node.start();
  await c.master.waitForLog(masterSays);
  assert.equal((await listedNodes(c.master)).includes(name), false);
  await node.stop();
}

/** Opens a raw socket (TLS with worker1's certificate, or plain), writes, resolves once the peer closes it. */
function closedAfter(connect: () => net.Socket, bytes: Buffer, ms = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect();
    const chunks: Buffer[] = [];
    s.once(s instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => s.write(bytes));
    const timer = setTimeout(() => { s.destroy(); resolve('still open'); }, ms);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
    s.on('close', () => { clearTimeout(timer); resolve(`closed${chunks.length ? ` after ${Buffer.concat(chunks).length} bytes` : ''}`); });
  });
}

const workerTls = (): tls.ConnectionOptions => {
  const t = tlsOf(certs, 'worker1');
  return { ca: fs.readFileSync(t.ca), cert: fs.readFileSync(t.cert), key: fs.readFileSync(t.key), servername: '' };
};

before(async () => {
  dir = await tempDir('catalogue-certs');
  certs = await issue(path.join(dir, 'ours'), ['master', 'worker1', 'worker2']);
  foreign = await issue(path.join(dir, 'theirs'), ['master', 'worker1', 'worker2']);
  c = await makeCluster('catalogue', { workers: 0, master: { tls: tlsOf(certs, 'master') } });
  worker = await c.addNode('worker1', 'worker', { tls: tlsOf(certs, 'worker1') });
  await c.master.start();
  await worker.start();
  await waitFor(async () => (await listedNodes(c.master)).includes('worker1'), 'worker1 to join');
});

after(async () => {
  await c?.stopAll();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('catalogue - wrong cluster key → handshake refused (3025), logged, never listed', async () => {
  await refused('worker2', { key: 'k'.repeat(32), tls: tlsOf(certs, 'worker2') }, /Error 3025 - Could not verify the key proof/);
});

test('catalogue - right key, certificate from another CA → TLS refused, logged', async () => {
  await refused('worker2', { tls: tlsOf(foreign, 'worker2') }, /Refused a TLS connection/);
});

test('catalogue - a certificate for another node name → refused: the certificate must name the node', async () => {
  await refused('worker2', { tls: tlsOf(certs, 'worker1') }, /the certificate names worker1, 127\.0\.0\.1, but the peer says it is 'worker2'/);
});

test('catalogue - a worker claiming the master\'s name (with the master\'s own certificate) → refused (3029)', async () => {
  const node = await c.addNode('impostor-home', 'worker', { nodeName: 'master', tls: tlsOf(certs, 'master') });
  await node.start();
  await c.master.waitForLog(/Error 3029 - Connected worker with same name as the master/);
  await node.stop();
});

test('catalogue - an oversized frame on the cluster port → the connection is closed before anything is buffered', async () => {
  const header = Buffer.from([0xc5, 1, 0xff, 0xff, 0xff, 0xff]);
  assert.match(await closedAfter(() => tls.connect({ port: c.port, host: '127.0.0.1', ...workerTls() }), header), /^closed/);
  await c.master.waitForLog(/Refused frame from 127\.0\.0\.1/);
});

test('catalogue - garbage on every port → closed or answered with an error; nothing else happens', async () => {
  const junk = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\xfe');
  assert.match(await closedAfter(() => net.connect(c.port, '127.0.0.1'), junk), /^closed/, 'plain bytes to the TLS cluster port');
  assert.match(await closedAfter(() => tls.connect({ port: c.port, host: '127.0.0.1', ...workerTls() }), junk), /^closed/, 'garbage inside TLS');
  assert.equal(await enrol(worker.authPort, junk.toString('latin1').replace(/\r?\n/g, ' ')), 'ERROR: Invalid request for new agent. Unable to add agent');
  assert.match(await closedAfter(() => net.connect(worker.authPort, '127.0.0.1'), junk), /^closed/, 'plain bytes to the TLS enrolment port');
  assert.match(await closedAfter(() => net.connect(worker.remotePort, '127.0.0.1'), junk), /^closed/, 'an impossible frame length on the agent port');
  const ghost = encodeSecure(Buffer.from('#!-agent startup '), { id: '999', name: 'ghost', key: 'g'.repeat(64) }, 'aes', { withId: true });
  assert.match(await closedAfter(() => net.connect(worker.remotePort, '127.0.0.1'), frameAgentMessage(ghost)), /^closed/, 'an unknown agent');
  assert.match(await closedAfter(() => net.connect({ path: controlSocketPath(worker.home) }), junk), /^closed/, 'garbage on the control socket');
  assert.equal(fs.statSync(controlSocketPath(worker.home)).mode & 0o777, 0o600, 'the control socket is its owner\'s only');
});

test('catalogue - an enrolment flood (300 silent sockets from one address, 300 garbage lines from another) → past 256 from one address refused, garbage answered, the service still enrols', async () => {
  const silent = Array.from({ length: 300 }, () => net.connect({ port: worker.authPort, host: '127.0.0.1', localAddress: '127.0.0.4' }).on('error', () => undefined));
  try {
    await worker.waitForLog(/Too many enrolment connections from 127\.0\.0\.4 \(limit 256, <auth><handshakes_per_source>\): refused one/);
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => enrol(worker.authPort, `FLOOD ${i}`).catch((err: Error) => err.message)));
    assert.ok(answers.every((a) => a === 'ERROR: Invalid request for new agent. Unable to add agent' || a === '' || /ECONNRESET|socket/.test(a)), answers.find((a) => !a.startsWith('ERROR')));
    assert.equal(issuedKey(await enrol(worker.authPort, "OSSEC A:'after-the-flood'")).name, 'after-the-flood');
  } finally {
    for (const s of silent) s.destroy();
  }
});

test('catalogue - a slowloris on the cluster port (silent sockets from one address) → past 16 refused at once, each cut at the handshake deadline', async () => {
  const silent = Array.from({ length: 17 }, () => closedAfter(() => net.connect({ port: c.port, host: '127.0.0.1', localAddress: '127.0.0.3' }), Buffer.alloc(0), 30_000));
  const outcomes = await Promise.all(silent);
  assert.ok(outcomes.every((o) => o === 'closed'), outcomes.join(', '));
  await c.master.waitForLog(/Too many connections from 127\.0\.0\.3 still in the handshake \(limit 16, <cluster><handshakes_per_source>\): refused one/);
  assert.deepEqual(await listedNodes(c.master), ['master', 'worker1']);
});

test('catalogue - after all of it: the healthy worker is still listed and serving', async () => {
  assert.deepEqual(await listedNodes(c.master), ['master', 'worker1']);
  assert.equal(issuedKey(await enrol(worker.authPort, "OSSEC A:'still-here'")).name, 'still-here');
});
