/**
 * Agents enrol through any node: real clusterd processes (master + workers), real TLS
 * clients speaking the enrolment protocol, the registry in each node's SQLite file
 * and client.keys on disk.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { createDecipheriv, createCipheriv, createHash } from 'node:crypto';
import { makeCluster, listedNodes, waitFor, type NodeProcess, type TestCluster } from '../harness/cluster.js';
import { clientKeys, enrol, issuedKey, readRegistry } from '../harness/agents.js';
import { aesKey } from '../../protocols/agent-keys.js';

const UNABLE = '. Unable to add agent';

async function formed(c: TestCluster): Promise<void> {
  await c.master.start();
  await Promise.all(c.workers.map((w) => w.start()));
  await waitFor(async () => (await listedNodes(c.master)).length === c.workers.length + 1, 'the cluster to form');
}

const keyLine = (k: { id: string; name: string; ip: string; key: string }): string => `${k.id} ${k.name} ${k.ip} ${k.key}`;

async function everywhere(nodes: readonly NodeProcess[], lines: readonly string[]): Promise<void> {
  await waitFor(async () => {
    for (const n of nodes) {
      const have = new Set(await clientKeys(n.home));
      if (!lines.every((l) => have.has(l))) return false;
    }
    return true;
  }, `${lines.length} keys in client.keys on every node`);
}

/** An agent's first message, encrypted as §5.2 says; decrypting it back needs the key we derive. */
function sealStartup(id: string, key: string): Buffer {
  const l3 = Buffer.from('123450000000000:0001:#!-agent startup {"version":"v4.14.5"}', 'latin1');
  const l2 = Buffer.concat([Buffer.from(createHash('md5').update(l3).digest('hex')), l3]);
  const l1 = zlib.deflateSync(l2, { level: 9 });
  const pad = 1 + ((8 - ((l1.length + 1) % 8)) % 8);
  const l0 = Buffer.concat([Buffer.alloc(pad, '!'), l1]);
  const aes = Buffer.from(createHash('md5').update(key).digest('hex'));
  const c = createCipheriv('aes-256-cbc', aes, Buffer.from('FEDCBA0987654321'));
  return Buffer.concat([Buffer.from(`!${id}!#AES:`), c.update(l0), c.final()]);
}

function openWithDerivedKey(wire: Buffer, id: string, name: string, key: string): string {
  const body = wire.subarray(`!${id}!#AES:`.length);
  const d = createDecipheriv('aes-256-cbc', aesKey(id, name, key), Buffer.from('FEDCBA0987654321'));
  const plain = Buffer.concat([d.update(body), d.final()]);
  let i = 0;
  while (plain[i] === 0x21) i += 1;
  const l2 = zlib.inflateSync(plain.subarray(i)).toString('latin1');
  assert.equal(l2.slice(0, 32), createHash('md5').update(l2.slice(32), 'latin1').digest('hex'));
  return l2.slice(32 + 21);
}

test('enrolment - through the master and through a worker; keys on every node; exact errors; bad clients', async (t) => {
  const c = await makeCluster('enrol', { workers: 2 });
  t.after(() => c.stopAll());
  await formed(c);
  const [w1, w2] = c.workers as [NodeProcess, NodeProcess];

  const viaMaster = issuedKey(await enrol(c.master.authPort, "OSSEC A:'agent-m1'"));
  assert.deepEqual([viaMaster.id, viaMaster.name, viaMaster.ip], ['001', 'agent-m1', 'any']);
  const viaWorker = issuedKey(await enrol(w1.authPort, "OSSEC A:'agent-w1' V:'v4.14.5' IP:'src'"));
  assert.deepEqual([viaWorker.id, viaWorker.ip], ['002', '127.0.0.1']);
  // The worker answered only once its own registry held the key: the agent can connect at once.
  assert.equal(readRegistry(w1.home).agents.get(2)?.key, viaWorker.key);
  await everywhere([c.master, w1, w2], [keyLine(viaMaster), keyLine(viaWorker)]);
  assert.equal(openWithDerivedKey(sealStartup(viaWorker.id, viaWorker.key), viaWorker.id, viaWorker.name, viaWorker.key),
    '#!-agent startup {"version":"v4.14.5"}');

  assert.equal(await enrol(w2.authPort, "OSSEC A:'agent-w1'"), `ERROR: Duplicate agent name: agent-w1${UNABLE}`);
  assert.equal(await enrol(w2.authPort, "OSSEC A:'bad name'"), `ERROR: Invalid agent name: bad name${UNABLE}`);
  assert.equal(await enrol(c.master.authPort, "OSSEC A:'agent-x' G:'nosuch'"), `ERROR: Invalid group: nosuch${UNABLE}`);
  assert.equal(await enrol(w1.authPort, "OSSEC A:'agent-x' G:'bad/group'"), `ERROR: Invalid group name: bad/group${UNABLE}`);
  assert.equal(await enrol(w1.authPort, "OSSEC A:'agent-x' V:'v9.0.0'"), `ERROR: Agent version must be lower or equal to manager version${UNABLE}`);
  assert.equal(await enrol(w1.authPort, "OSSEC A:'agent-z' IP:'127.0.0.1'"), `ERROR: Duplicate IP: 127.0.0.1${UNABLE}`);
  assert.equal(await enrol(w1.authPort, 'HELLO'), `ERROR: Invalid request for new agent${UNABLE}`);

  // Bad clients: oversized, truncated, garbage, no TLS at all. The node keeps serving.
  assert.equal(await enrol(w1.authPort, 'A'.repeat(70_000)), `ERROR: Invalid request for new agent${UNABLE}`);
  assert.match(await truncated(w1.authPort), /^ERROR: /);
  const plain = net.connect(w1.authPort, '127.0.0.1');
  plain.on('error', () => undefined);
  plain.write(Buffer.from([0, 1, 2, 3, 0xff, 0xfe]));
  const afterBad = issuedKey(await enrol(w1.authPort, "OSSEC A:'agent-after-bad'"));
  assert.equal(afterBad.name, 'agent-after-bad');
  plain.destroy();

  // With the master gone a worker says so, in Wazuh's words.
  await c.master.stop();
  await waitFor(async () => /Connection with the master lost|Could not connect to master/.test(await w1.log()), 'the worker to notice');
  assert.equal(await enrol(w1.authPort, "OSSEC A:'agent-orphan'"), 'ERROR: Cannot comunicate with master');
});

function truncated(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => s.end("OSSEC A:'cut"));
    let answer = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => { answer += d; });
    s.on('error', reject);
    s.on('close', () => resolve(answer));
  });
}

test('enrolment - a password-protected node accepts the right password and refuses a wrong one', async (t) => {
  const c = await makeCluster('enrol-pass', { workers: 0 });
  t.after(() => c.stopAll());
  const secure = await c.addNode('worker1', 'worker', { authPassword: 'TopSecret42' });
  await c.master.start();
  await secure.start();
  await waitFor(async () => (await listedNodes(c.master)).length === 2, 'the worker to join');
  assert.equal(await enrol(secure.authPort, "OSSEC PASS: wrong OSSEC A:'agent-p1'"), `ERROR: Invalid password${UNABLE}`);
  assert.equal(await enrol(secure.authPort, "OSSEC A:'agent-p1'"), `ERROR: Invalid password${UNABLE}`);
  assert.equal(issuedKey(await enrol(secure.authPort, "OSSEC PASS: TopSecret42 OSSEC A:'agent-p1'")).name, 'agent-p1');
  assert.doesNotMatch(await secure.log(), /TopSecret42/);
});

test('enrolment - 200 concurrent agents over two workers get 200 distinct ids, on every node', async (t) => {
  const c = await makeCluster('enrol-200', { workers: 2 });
  t.after(() => c.stopAll());
  await formed(c);
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) =>
    enrol((c.workers[i % 2] as NodeProcess).authPort, `OSSEC A:'load-${i}'`)));
  const keys = answers.map(issuedKey);
  assert.equal(new Set(keys.map((k) => k.id)).size, 200);
  assert.equal(new Set(keys.map((k) => k.name)).size, 200);
  await everywhere([c.master, ...c.workers], keys.map(keyLine));
  for (const n of [c.master, ...c.workers]) {
    await waitFor(() => readRegistry(n.home).agents.size === 200, `200 agents in ${n.name}'s registry`);
  }
});
