/**
 * The bounded fuzz run of CI. First every decoder target (test/fuzz/targets.ts) for a
 * fixed number of cases, in two worker threads under a watchdog: zero crashes, zero
 * hangs, zero broken invariants. Then the live listeners over real sockets: mutated
 * enrolment lines over TLS to an EnrolmentServer with the real enrolment handler,
 * mutated agent messages over TCP and UDP to a RemoteServer + AgentGateway on a real
 * registry, mutated cluster frames to a ClusterServer before and after the handshake;
 * after each, a proper client is still served.
 *
 * FUZZ_SEED picks another seed (the default is fixed so CI runs are reproducible); the
 * long run is scripts/fuzz.ts.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import tls from 'node:tls';
import { Rng, randomBytes, mutateBytes } from './generators.js';
import {
  CI_PROFILE, FUZZ_AGENT, LIVE, TARGETS, crashSignature, generateAgentPayload, generateEnrolmentLine, generateSecureMessage,
  inputFor, layeredSecureMessage, runCase, runJob, type CrashReport, type JobFigures,
} from './targets.js';
import { HANG_MS, until, within } from '../harness/wait.js';
import { freePort } from '../harness/cluster.js';
import { createLogger, MemorySink } from '../../runtime/logger.js';
import { ensureManagerCertificate } from '../../runtime/agents/manager-certificate.js';
import { EnrolmentServer } from '../../runtime/agents/enrolment-server.js';
import { ENROLMENT_INVALID_REQUEST_ANSWER, ENROLMENT_MAX_LINE } from '../../protocols/enrolment.js';
import { enrolmentHandler } from '../../runtime/agents/enrolment-handler.js';
import { RemoteServer } from '../../runtime/agents/remote-server.js';
import { AgentGateway } from '../../runtime/agents/agent-gateway.js';
import { enrolAgent } from '../../sim/enrol-agent.js';
import { SimulatedAgent } from '../../sim/simulated-agent.js';
import { RegistryDb } from '../../runtime/storage/registry-db.js';
import { buildGroupMerged } from '../../runtime/storage/merged-mg.js';
import { createGroupDir } from '../../runtime/storage/registry-files.js';
import { ClusterServer, type ClusterLink } from '../../runtime/transport/cluster-server.js';
import { ClusterClient } from '../../runtime/transport/cluster-client.js';
import { FramedLink } from '../../runtime/transport/framed-link.js';
import { ClusterCatalogue, CLUSTER_MAX_FRAME_BYTES, type ClusterBodies } from '../../protocols/cluster-messages.js';
import { WorkerHandshake, type LocalIdentity } from '../../protocols/handshake.js';
import { encodeFrame } from '../../protocols/frame-codec.js';
import { encodeSecure, type AgentKeyMaterial } from '../../protocols/secure-message.js';
import { CLUSTERD_VERSION } from '../../protocols/version.js';
import type { EnrolmentOutcome, ForwardedEnrolment } from '../../protocols/registry.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 0x5eed_f022) >>> 0;

/**
 * Cases per decoder target, scaled to what each costs (measured on a 2-core machine):
 * about 360,000 cases in ~17 s of wall time on two workers.
 */
const CASES: Readonly<Record<string, number>> = {
  'frame-decoder': 40_000,
  'cluster-envelope': 35_000,
  'control-envelope': 20_000,
  'cluster-stream': 18_000,
  'enrolment-line': 30_000,
  'secure-message': 40_000,
  'agent-framing': 15_000,
  'agent-message': 60_000,
  'client-keys': 40_000,
  'sync-path': 60_000,
};

const WORKERS = 2;

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

function describeCrash(c: CrashReport): string {
  const input = typeof c.input === 'string' ? JSON.stringify(c.input.slice(0, 120)) : c.input.subarray(0, 60).toString('hex');
  return `${c.target} case ${c.index} (seed ${c.seed}) ${c.kind}: ${c.message.slice(0, 200)} [input ${input}] ${c.stack.split('\n').slice(1, 3).join(' ').trim()}`;
}

test('fuzz - generated cases are reproducible, samples are valid, a crash is caught as one', () => {
  for (const target of TARGETS) {
    for (const index of [0, 5, 2_000, 77_777]) {
      const a = inputFor(target, SEED, index, CI_PROFILE);
      const b = inputFor(target, SEED, index, CI_PROFILE);
      assert.ok(typeof a === 'string' ? a === b : Buffer.isBuffer(b) && a.equals(b), `${target.name} case ${index} is not reproducible`);
    }
    target.check?.(Rng.from(SEED, target.name, 'check'));
    for (let k = 0; k < 20; k++) {
      const outcome = runCase(target, target.sample(Rng.from(SEED, target.name, 'sample', k)));
      assert.ok(outcome.ok, `${target.name}: a valid sample failed: ${outcome.ok ? '' : outcome.error.message}`);
    }
  }
  // The harness itself: an undocumented exception and a slow case are crashes, a documented error is not.
  const [first] = TARGETS;
  assert.ok(first);
  const boom = runCase({ ...first, run: () => { throw new TypeError('boom'); } }, Buffer.alloc(0));
  assert.equal(boom.ok ? 'pass' : boom.kind, 'exception');
  const slow = runCase({ ...first, run: () => { const end = Date.now() + 30; while (Date.now() < end); } }, Buffer.alloc(0), 10);
  assert.equal(slow.ok ? 'pass' : slow.kind, 'hang');
  assert.equal(runCase(first, Buffer.from([0xc5, 0x01, 0xff, 0xff, 0xff, 0xff, 0])).ok, true, 'a FrameError is a pass');
});

test('fuzz - every decoder target: over 100,000 cases, zero crashes, hangs or broken invariants', async (t) => {
  const crashes: CrashReport[] = [];
  const results: JobFigures[] = [];
  const started = performance.now();
  await pool(TARGETS.map((x) => x.name), WORKERS, async (name) => {
    const figures = await runJob({
      target: name, seed: SEED, from: 0, to: CASES[name] ?? 10_000, profile: CI_PROFILE,
      // A hang here is a case that never ends; a slow one on a busy 2-core CI box is not (the long run measures slowness).
      hangMs: 5000, killMs: 20_000, maxHeapMb: 512, checkEvery: 1000,
    }, { onCrash: (c) => crashes.push(c) });
    results.push(figures);
  });
  const wallMs = performance.now() - started;
  let total = 0;
  for (const f of results.sort((a, b) => a.target.localeCompare(b.target))) {
    total += f.cases;
    const perSecond = (ms: number): number => Math.round((f.cases / Math.max(ms, 1)) * 1000);
    t.diagnostic(`${f.target}: ${f.cases} cases in ${(f.wallMs / 1000).toFixed(1)} s: ${perSecond(f.wallMs)} cases/s (${perSecond(f.busyMs)}/s inside the decoder), slowest case ${f.slowestMs.toFixed(0)} ms`);
  }
  t.diagnostic(`decoders: ${total} cases in ${(wallMs / 1000).toFixed(1)} s on ${WORKERS} workers (${Math.round((total / wallMs) * 1000)} cases/s), seed ${SEED}`);
  const distinct = new Map<string, CrashReport>();
  for (const c of crashes) if (!distinct.has(crashSignature(c))) distinct.set(crashSignature(c), c);
  assert.deepEqual([...distinct.values()].map(describeCrash), [], `${crashes.length} crash(es); replay with: node dist/scripts/fuzz.js --profile ci --target T --seed ${SEED} --case I`);
  assert.ok(total >= 100_000, `only ${total} cases`);
});

// ---------------------------------------------------------------------------------------------------------------
// Live: enrolment over TLS

const ENROLMENT_KEY = 'f'.repeat(64);

/** One TLS connection: writes `payload`, half-closes, and collects the answer until the server closes. */
function enrolRaw(port: number, payload: Buffer, secureContext: tls.SecureContext): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, secureContext }, () => socket.end(payload));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`hang: no close from the enrolment server within ${HANG_MS} ms`));
    }, HANG_MS);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

test('fuzz - live: 2,000 mutated enrolment lines over TLS, each answered as the handler says; a real agent enrols after', async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-fuzz-enrol-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const { cert, key } = await ensureManagerCertificate(home);
  const sink = new MemorySink();
  const log = createLogger(sink, 'Enrolment');
  let decided = 0;
  const decide = async (request: ForwardedEnrolment): Promise<EnrolmentOutcome> =>
    ({ ok: true, agent: { id: 1, name: request.name, ip: request.ip, key: ENROLMENT_KEY, registeredAt: 1, groups: request.groups ?? [] }, revision: 1 });
  const handle = enrolmentHandler({ password: null, useSourceIp: false, decide: (r) => { decided++; return decide(r); }, holds: async () => true, log });
  const oracle = enrolmentHandler({ password: null, useSourceIp: false, decide, holds: async () => true, log: createLogger(new MemorySink(), 'Oracle') });
  const server = new EnrolmentServer({ host: '127.0.0.1', port: 0, cert, key, handle, log, handshakeTimeoutMs: 5000, requestTimeoutMs: 5000, maxConnections: 256, handshakesPerSource: 0 });
  await server.start();
  t.after(() => server.stop());
  const secureContext = tls.createSecureContext();

  /** What the server must answer: the handler's answer to the line up to its first '\n', read as UTF-8. */
  const expected = async (payload: Buffer): Promise<string> => {
    if (payload.length === 0) return '';
    const newline = payload.indexOf(0x0a);
    const line = newline < 0 ? payload : payload.subarray(0, newline);
    if (line.length > ENROLMENT_MAX_LINE) return ENROLMENT_INVALID_REQUEST_ANSWER;
    return oracle(line.toString('utf8'), '127.0.0.1');
  };

  const CASES_LIVE = 2000;
  const payloads = Array.from({ length: CASES_LIVE }, (_, i) => {
    const rng = Rng.from(SEED, 'live-enrolment', i);
    if (i % 250 === 0) return Buffer.from(`OSSEC A:'${'A'.repeat(ENROLMENT_MAX_LINE)}'\n`); // over authd's limit
    if (rng.chance(0.03)) return randomBytes(rng, 400);
    return Buffer.from(generateEnrolmentLine(rng, CI_PROFILE), rng.chance(0.85) ? 'utf8' : 'latin1');
  });
  const mismatches: string[] = [];
  let keys = 0;
  const started = performance.now();
  await pool(payloads, 32, async (payload, i) => {
    const answer = await enrolRaw(server.port, payload, secureContext);
    const want = await expected(payload);
    if (answer !== want && mismatches.length < 5) mismatches.push(`case ${i}: got ${JSON.stringify(answer.slice(0, 120))}, expected ${JSON.stringify(want.slice(0, 120))}`);
    if (answer.startsWith("OSSEC K:'")) keys++;
  });
  const ms = performance.now() - started;
  t.diagnostic(`enrolment: ${CASES_LIVE} lines in ${(ms / 1000).toFixed(1)} s (${Math.round((CASES_LIVE / ms) * 1000)}/s); ${keys} got a key, ${CASES_LIVE - keys} an error or nothing; the master was asked ${decided} times`);
  assert.equal(decided, keys, 'the master is asked only about lines that pass the parser');
  assert.deepEqual(mismatches, []);
  assert.ok(keys > 0 && keys < CASES_LIVE, 'the mutations reach both outcomes');
  assert.ok(!sink.lines.some((l) => l.includes(ENROLMENT_KEY)), 'an agent key reached the log');

  const agent = await within(enrolAgent('127.0.0.1', server.port, { name: 'after-the-fuzz' }), 'a real enrolment after the fuzz');
  assert.deepEqual(agent, { id: '001', name: 'after-the-fuzz', ip: 'any', key: ENROLMENT_KEY });
  await until(() => server.figures().open === 0, 'every fuzz connection closed');
});

// ---------------------------------------------------------------------------------------------------------------
// Live: agent messages over TCP and UDP

const AGENT2: AgentKeyMaterial = { id: '002', name: 'db01', key: '2'.repeat(64) };
const AGENT3: AgentKeyMaterial = { id: '003', name: 'lonely', key: '3'.repeat(64) };
const GHOST: AgentKeyMaterial = { id: '077', name: 'ghost', key: '7'.repeat(64) };

/** One agent message as the fuzz sends it: mostly properly encrypted for a known agent with a fuzzed payload. */
function agentMessageCase(rng: Rng): Buffer {
  const r = rng.int(100);
  if (r < 45) return layeredSecureMessage(rng, generateAgentPayload(rng, CI_PROFILE), FUZZ_AGENT, CI_PROFILE);
  if (r < 55) {
    const k = rng.pick([AGENT2, AGENT3, GHOST]);
    return encodeSecure(generateAgentPayload(rng, CI_PROFILE), k, rng.chance(0.5) ? 'aes' : 'blowfish', { withId: true, random: rng.int(65_536) });
  }
  if (r < 85) return generateSecureMessage(rng, CI_PROFILE);
  if (r < 90) return Buffer.from('#ping', 'latin1');
  return randomBytes(rng, 512);
}

/** The 4-byte little-endian length frame, written even for an empty or oversized payload. */
function rawAgentFrame(payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(payload.length, 0);
  return Buffer.concat([head, payload]);
}

/** Writes `bytes`, half-closes, resolves when the server has closed the connection. */
function sendAndClose(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`hang: the server kept a connection open for ${HANG_MS} ms`));
    }, HANG_MS);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

test('fuzz - live: 2,000 mutated agent messages over TCP and 300 over UDP to a real gateway; real agents are served after', async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-fuzz-agents-'));
  const db = RegistryDb.open(path.join(home, 'queue', 'db', 'global.db'), 'master');
  t.after(() => {
    db.close();
    fs.rmSync(home, { recursive: true, force: true });
  });
  createGroupDir(home, 'default');
  await buildGroupMerged(home, 'default');
  db.commit([
    { op: 'group-created', group: 'default' },
    { op: 'agent-added', agent: { id: 1, name: FUZZ_AGENT.name, ip: 'any', key: FUZZ_AGENT.key, registeredAt: 1, groups: ['default'] } },
    { op: 'agent-added', agent: { id: 2, name: AGENT2.name, ip: '10.9.9.9', key: AGENT2.key, registeredAt: 1, groups: ['default'] } },
    { op: 'agent-added', agent: { id: 3, name: AGENT3.name, ip: '127.0.0.0/8', key: AGENT3.key, registeredAt: 1, groups: [] } },
  ]);
  const sink = new MemorySink();
  const log = createLogger(sink, 'Worker w1');
  let reports = 0;
  let events = 0;
  const gateway = new AgentGateway({
    home, directory: db, log, reports: { report: () => { reports++; }, chooseGroup: () => undefined }, onEvent: () => { events++; },
  });
  // One port for both transports, as 1514 is (port 0 would give TCP and UDP different ones).
  const server = new RemoteServer({
    host: '127.0.0.1', port: await freePort(), tcp: true, udp: true, log, maxConnections: 512, firstMessageMs: HANG_MS, idleMs: HANG_MS, handshakesPerSource: 0,
    onMessage: (conn, payload) => gateway.handle(conn, payload), onClose: (conn) => gateway.closed(conn),
  });
  await server.start();
  t.after(() => server.stop());

  // TCP: connections of one to three messages; one in ten with its framing mutated too.
  const CASES_TCP = 2000;
  const connections: Buffer[] = [];
  for (let i = 0, sent = 0; sent < CASES_TCP; i++) {
    const rng = Rng.from(SEED, 'live-agent-tcp', i);
    const frames = Array.from({ length: Math.min(1 + rng.int(3), CASES_TCP - sent) }, () => rawAgentFrame(agentMessageCase(rng)));
    sent += frames.length;
    const stream = Buffer.concat(frames);
    connections.push(rng.chance(0.1) ? mutateBytes(rng, stream, { other: () => rawAgentFrame(agentMessageCase(rng)), dict: [], hugeMax: CI_PROFILE.hugeMax }) : stream);
  }
  const started = performance.now();
  await pool(connections, 32, (bytes) => sendAndClose(server.port, bytes));
  const tcpMs = performance.now() - started;
  const afterTcp = gateway.figures();

  // UDP: one message per datagram, then a ping whose pong says the ones before it were handled.
  const udp = dgram.createSocket('udp4');
  t.after(() => udp.close());
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const pong = new Promise<void>((resolve) => udp.on('message', (m) => { if (m.toString('latin1') === '#pong') resolve(); }));
  let datagrams = 0;
  for (let i = 0; datagrams < 300; i++) {
    const msg = agentMessageCase(Rng.from(SEED, 'live-agent-udp', i));
    if (msg.length === 0 || msg.length > 60_000 || msg.toString('latin1').startsWith('#ping')) continue;
    await new Promise<void>((resolve) => udp.send(msg, server.port, '127.0.0.1', () => resolve()));
    await new Promise<void>((resolve) => setImmediate(resolve)); // let the server read: a full socket buffer drops datagrams
    datagrams++;
  }
  // Datagrams may be dropped, so the ping is repeated until a pong comes back.
  const pinger = setInterval(() => udp.send(Buffer.from('#ping', 'latin1'), server.port, '127.0.0.1'), 100);
  try {
    await within(pong, 'a pong after the fuzzed datagrams');
  } finally {
    clearInterval(pinger);
  }
  const figures = gateway.figures();
  t.diagnostic(`agents: ${connections.length} TCP connections carrying ${CASES_TCP} messages in ${(tcpMs / 1000).toFixed(1)} s; the gateway handled ${afterTcp.messages} over TCP and ${figures.messages - afterTcp.messages} over UDP, refused ${figures.refused}, took ${figures.events} events, ${figures.keepalives} keepalives, ${reports} status reports`);
  assert.ok(afterTcp.messages >= connections.length, 'every connection had at least a message handled');
  assert.ok(figures.refused > 0 && figures.keepalives + events > 0, 'the fuzz reaches both refusals and accepted messages');
  await until(() => server.figures().tcp === 0, 'every fuzz connection closed');

  for (const transport of ['tcp', 'udp'] as const) {
    const a = new SimulatedAgent({
      name: FUZZ_AGENT.name, key: { id: FUZZ_AGENT.id, name: FUZZ_AGENT.name, ip: 'any', key: FUZZ_AGENT.key },
      server: { host: '127.0.0.1', port: server.port, transport }, keepaliveMs: 3_600_000,
    });
    t.after(() => a.drop());
    await within(a.start(), `a real agent's startup over ${transport} after the fuzz`);
    await within(a.keepaliveNow(), `a real agent's keepalive over ${transport} after the fuzz`);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Live: cluster frames

const CLUSTER_KEY = 'c'.repeat(32);
const identity = (node: string): LocalIdentity => ({ cluster: 'wazuh', node, version: CLUSTERD_VERSION, key: CLUSTER_KEY });

/** A worker's side of the handshake over a fresh socket; returns the raw socket once welcomed. */
async function handshaken(port: number, node: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await within(new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); }), 'connect');
  const link = new FramedLink<ClusterBodies>(socket, { catalogue: ClusterCatalogue, maxFrameBytes: CLUSTER_MAX_FRAME_BYTES, requestTimeoutMs: HANG_MS });
  const hs = new WorkerHandshake(identity(node));
  link.send('hello', hs.hello());
  const challenge = await link.nextFrame(HANG_MS);
  if (challenge.type !== 'challenge') throw new Error(`expected a challenge, got '${challenge.type}'`);
  const proven = hs.onChallenge(challenge.body);
  assert.ok('proof' in proven, 'the master proved the key');
  link.send('proof', proven.proof);
  const welcome = await link.nextFrame(HANG_MS);
  assert.equal(welcome.type, 'welcome');
  return socket;
}

test('fuzz - live: mutated cluster frames to a ClusterServer before and after the handshake; a real worker joins after', async (t) => {
  const sink = new MemorySink();
  const log = createLogger(sink, 'Master');
  const port = await freePort();
  let admitted = 0;
  let delivered = 0;
  const server = new ClusterServer({
    host: '127.0.0.1', port, identity: identity('master'), address: '127.0.0.1', handshakeTimeoutMs: 2000, requestTimeoutMs: 2000, handshakesPerSource: 0, log,
    admit: async (_worker, link: ClusterLink) => {
      admitted++;
      link.attach((frame) => {
        delivered++;
        if (frame.type === 'ping') link.reply(frame, 'pong', {});
        if (frame.type === 'keepalive') link.reply(frame, 'keepalive-ack', { at: Date.now() });
      });
      return { accept: true };
    },
    onClosed: () => undefined,
  });
  await server.start();
  t.after(() => server.stop());

  const CASES_LIVE = 500;
  let frames = 0;
  let postHandshake = 0;
  const cases: { mode: 'before' | 'hello' | 'after'; bytes: Buffer }[] = [];
  for (let i = 0; frames < CASES_LIVE; i++) {
    const rng = Rng.from(SEED, 'live-cluster', i);
    const mode = rng.weighted<'before' | 'hello' | 'after'>([[4, 'before'], [2, 'hello'], [4, 'after']]);
    const payloads = mode === 'hello'
      ? [LIVE.mutatedClusterEnvelope(rng, 'hello', CI_PROFILE), LIVE.mutatedClusterEnvelope(rng, 'proof', CI_PROFILE)]
      : Array.from({ length: 1 + rng.int(3) }, () => LIVE.clusterEnvelope(rng, CI_PROFILE));
    frames += payloads.length;
    const bytes = rng.chance(0.7)
      ? Buffer.concat(payloads.map((p) => encodeFrame(p, Number.MAX_SAFE_INTEGER)))
      : LIVE.mutateFrameStream(rng, payloads, CI_PROFILE);
    cases.push({ mode, bytes });
  }
  const started = performance.now();
  await pool(cases, 16, async ({ mode, bytes }, i) => {
    if (mode !== 'after') {
      await sendAndClose(port, bytes);
      return;
    }
    const socket = await handshaken(port, `fuzz-${i}`);
    postHandshake++;
    await within(new Promise<void>((resolve) => {
      socket.on('close', () => resolve());
      socket.end(bytes);
    }), 'the master closes a fuzzed link');
  });
  const ms = performance.now() - started;
  t.diagnostic(`cluster: ${frames} mutated frames on ${cases.length} connections (${postHandshake} after a real handshake) in ${(ms / 1000).toFixed(1)} s; ${delivered} frames passed the schemas and reached the master's handler`);
  assert.equal(admitted, postHandshake, 'only the real handshakes were admitted');
  await until(() => server.openLinks().length === 0, 'every fuzzed link closed');

  const client = new ClusterClient({ host: '127.0.0.1', port, identity: identity('good-worker'), connectTimeoutMs: HANG_MS, requestTimeoutMs: HANG_MS, log: createLogger(sink, 'Worker') });
  t.after(() => client.close('test over'));
  const joined = await within(client.connect(), 'a real worker joins after the fuzz');
  assert.equal(joined.master.name, 'master');
  const reply = await joined.link.request('ping', {});
  assert.equal(reply.type, 'pong');
  assert.deepEqual(server.openLinks().map((l) => l.info.name), ['good-worker']);
});
