/**
 * The agent service on a real TCP listener (RemoteServer + AgentGateway) with a real
 * SQLite registry as its directory, driven by simulated agents and by raw sockets
 * sending what no agent should.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RemoteServer } from '../../../../runtime/agents/remote-server.js';
import { AgentGateway, ipMatches } from '../../../../runtime/agents/agent-gateway.js';
import { SimulatedAgent } from '../../../../sim/simulated-agent.js';
import { RegistryDb } from '../../../../runtime/storage/registry-db.js';
import { buildGroupMerged } from '../../../../runtime/storage/merged-mg.js';
import { createGroupDir } from '../../../../runtime/storage/registry-files.js';
import { createLogger, MemorySink } from '../../../../runtime/logger.js';
import { frameAgentMessage } from '../../../../protocols/agent-framing.js';
import { encodeSecure } from '../../../../protocols/secure-message.js';
import type { AgentInfoUpdate } from '../../../../protocols/agent-info.js';
import { HANG_MS, sleep, until, within } from '../../../harness/wait.js';

const KEY1 = '1'.repeat(64);
const KEY2 = '2'.repeat(64);
const KEY3 = '3'.repeat(64);

interface Rig {
  readonly port: number;
  readonly updates: AgentInfoUpdate[];
  readonly chosen: number[];
  readonly events: string[];
  readonly gateway: AgentGateway;
  readonly sink: MemorySink;
}

async function rig(t: TestContext, handshakesPerSource = 0): Promise<Rig> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-gateway-'));
  const db = RegistryDb.open(path.join(home, 'queue', 'db', 'global.db'), 'master');
  createGroupDir(home, 'default');
  await buildGroupMerged(home, 'default');
  db.commit([
    { op: 'group-created', group: 'default' },
    { op: 'agent-added', agent: { id: 1, name: 'web01', ip: 'any', key: KEY1, registeredAt: 1, groups: ['default'] } },
    { op: 'agent-added', agent: { id: 2, name: 'db01', ip: '10.9.9.9', key: KEY2, registeredAt: 1, groups: ['default'] } },
    { op: 'agent-added', agent: { id: 3, name: 'lonely', ip: '127.0.0.0/8', key: KEY3, registeredAt: 1, groups: [] } },
  ]);
  const sink = new MemorySink();
  const log = createLogger(sink, 'Worker w1');
  const updates: AgentInfoUpdate[] = [];
  const chosen: number[] = [];
  const events: string[] = [];
  const gateway = new AgentGateway({
    home, directory: db, log, reports: { report: (u) => { updates.push(u); }, chooseGroup: (id) => { chosen.push(id); } },
    onEvent: (agent, queue, location, text) => events.push(`${agent.name} ${queue}:${location}:${text.toString('latin1')}`),
  });
  const server = new RemoteServer({
    host: '127.0.0.1', port: 0, tcp: true, udp: false, log, maxConnections: 100, firstMessageMs: 500, idleMs: 60_000, handshakesPerSource,
    onMessage: (conn, payload) => gateway.handle(conn, payload), onClose: (conn) => gateway.closed(conn),
  });
  await server.start();
  t.after(async () => {
    await server.stop();
    db.close();
    fs.rmSync(home, { recursive: true, force: true });
  });
  return { port: server.port, updates, chosen, events, gateway, sink };
}

function simulated(r: Rig, name: string, id: string, key: string, ip = 'any'): SimulatedAgent {
  return new SimulatedAgent({ name, key: { id, name, ip, key }, server: { host: '127.0.0.1', port: r.port, transport: 'tcp' }, keepaliveMs: 3_600_000 });
}

/** A raw TCP client: resolves with what came back when the server closes it (or after `ms`). */
function raw(port: number, bytes: Buffer, ms = 2000, from = '127.0.0.1'): Promise<{ closed: boolean; data: Buffer }> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from }, () => s.write(bytes));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { s.destroy(); resolve({ closed: false, data: Buffer.concat(chunks) }); }, ms);
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => undefined);
    s.on('close', () => { clearTimeout(timer); resolve({ closed: true, data: Buffer.concat(chunks) }); });
  });
}

test('agent gateway - startup, keepalives, merged.mg push once, events, shutdown, as reported upstream', async (t) => {
  const r = await rig(t);
  const a = simulated(r, 'web01', '001', KEY1);
  t.after(() => a.drop());
  await within(a.start(), 'startup ack');
  assert.deepEqual(r.updates.map((u) => [u.kind, u.status]), [['status', 'pending']]);
  await a.keepaliveNow();
  await until(() => a.counts.pushes === 1, 'merged.mg pushed');
  await a.keepaliveNow();
  assert.deepEqual(r.updates.map((u) => [u.kind, u.status]), [['status', 'pending'], ['full', 'active'], ['full', 'active']], 'the merged sum changed: a full report');
  await a.keepaliveNow();
  assert.equal(r.updates.at(-1)?.kind, 'keepalive', 'nothing changed: a keepalive-only refresh');
  assert.equal(a.counts.pushes, 1);
  assert.equal(r.updates[1]?.report?.os.name, 'Debian GNU/Linux');
  a.sendEvent('hello world', '1', '/var/log/syslog');
  await until(() => r.events.length === 1, 'the event');
  assert.equal(r.events[0], 'web01 1:/var/log/syslog:hello world');
  await a.shutdown();
  await until(() => r.updates.at(-1)?.status === 'disconnected', 'the shutdown');
  assert.equal(r.updates.at(-1)?.statusCode, 3);
});

test('agent gateway - an agent without a group asks the master once; a CIDR registration admits its range', async (t) => {
  const r = await rig(t);
  const a = simulated(r, 'lonely', '003', KEY3, '127.0.0.0/8');
  t.after(() => a.drop());
  await a.start();
  await a.keepaliveNow();
  await a.keepaliveNow();
  assert.deepEqual(r.chosen, [3]);
});

test('agent gateway - what no agent should send is refused and the connection closed; the service keeps serving', async (t) => {
  const r = await rig(t);
  assert.deepEqual(await raw(r.port, frameAgentMessage(Buffer.from('#ping'))), { closed: false, data: frameAgentMessage(Buffer.from('#pong')) });
  const oversized = Buffer.alloc(8);
  oversized.writeUInt32LE(70_000, 0);
  assert.equal((await raw(r.port, oversized)).closed, true, 'a frame over 64 KiB');
  assert.equal((await raw(r.port, frameAgentMessage(Buffer.from('!001!#AES:garbage-garbage-garb')))).closed, true, 'garbage ciphertext');
  const wrongKey = encodeSecure(Buffer.from('#!-agent startup '), { id: '001', name: 'web01', key: KEY2 }, 'aes', { withId: true });
  assert.equal((await raw(r.port, frameAgentMessage(wrongKey))).closed, true, 'a wrong key');
  const unknown = encodeSecure(Buffer.from('#!-agent startup '), { id: '077', name: 'ghost', key: KEY1 }, 'aes', { withId: true });
  assert.equal((await raw(r.port, frameAgentMessage(unknown))).closed, true, 'an unknown agent');
  const elsewhere = encodeSecure(Buffer.from('#!-agent startup '), { id: '002', name: 'db01', key: KEY2 }, 'aes', { withId: true });
  assert.equal((await raw(r.port, frameAgentMessage(elsewhere))).closed, true, 'an agent registered at another address');
  assert.equal((await raw(r.port, frameAgentMessage(Buffer.from('!abc!#AES:x')))).closed, true, 'a malformed sender');
  assert.ok(r.gateway.figures().refused >= 5);
  assert.match(r.sink.lines.join('\n'), /agent 002 \(db01\) from 127\.0\.0\.1, not its registered 10\.9\.9\.9/);
  const a = simulated(r, 'web01', '001', KEY1);
  t.after(() => a.drop());
  await within(a.start(), 'a good agent after all that');
  r.gateway.forget([1]);
  await until(() => a.counts.errors > 0, 'the removed agent to be cut off');
});

test('agent gateway - a client that connects and sends nothing, or one byte at a time, is cut', async (t) => {
  const r = await rig(t);
  assert.equal((await raw(r.port, Buffer.alloc(0), 5000)).closed, true, 'silent');
  const trickle = await new Promise<boolean>((resolve) => {
    const s = net.connect(r.port, '127.0.0.1');
    const frame = frameAgentMessage(Buffer.from('#ping'));
    let i = 0;
    const drip = setInterval(() => { if (i < frame.length - 1) s.write(frame.subarray(i, ++i)); }, 100);
    const timer = setTimeout(() => { clearInterval(drip); s.destroy(); resolve(false); }, 5000);
    s.on('error', () => undefined);
    s.on('close', () => { clearInterval(drip); clearTimeout(timer); resolve(true); });
  });
  assert.equal(trickle, true, 'a frame trickled one byte at a time');
});

/** A connection that says nothing; `closed` settles when the server closes it. */
async function silent(t: TestContext, port: number, from = '127.0.0.1'): Promise<{ socket: net.Socket; closed: Promise<void> }> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  socket.on('error', () => undefined);
  t.after(() => socket.destroy());
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await within(new Promise((resolve) => socket.once('connect', resolve)), 'connect');
  return { socket, closed };
}

test('agent gateway - one address holds few connections before their first message; agents that spoke free their place', async (t) => {
  const r = await rig(t, 2);
  const a = simulated(r, 'web01', '001', KEY1);
  const b = simulated(r, 'lonely', '003', KEY3, '127.0.0.0/8');
  t.after(() => { a.drop(); b.drop(); });
  await within(a.start(), 'agent 001 from 127.0.0.1');
  await within(b.start(), 'agent 003 from 127.0.0.1');
  const held = [await silent(t, r.port), await silent(t, r.port)];
  const third = await silent(t, r.port);
  await within(third.closed, 'the third silent connection from 127.0.0.1 is refused');
  assert.ok(r.sink.lines.some((l) => l.startsWith('WARNING:') && l.includes('Too many agent connections from 127.0.0.1') && l.includes('limit 2, <remote><handshakes_per_source>')));
  assert.deepEqual(await raw(r.port, frameAgentMessage(Buffer.from('#ping')), 300), { closed: true, data: Buffer.alloc(0) }, 'still full from 127.0.0.1');
  const pong = frameAgentMessage(Buffer.from('#pong'));
  assert.deepEqual((await raw(r.port, frameAgentMessage(Buffer.from('#ping')), 300, '127.0.0.2')).data, pong, 'another address has its own places');
  await a.keepaliveNow();
  await b.keepaliveNow();
  for (const s of held) s.socket.destroy();
  // The server sees the closes a moment after the clients do.
  let answered = false;
  for (const started = Date.now(); !answered && Date.now() - started < HANG_MS; await sleep(50)) {
    answered = (await raw(r.port, frameAgentMessage(Buffer.from('#ping')), 300)).data.equals(pong);
  }
  assert.ok(answered, 'places are given back');
});

test('agent gateway - ipMatches: any, exact, CIDR, families apart', () => {
  assert.equal(ipMatches('any', '10.0.0.1'), true);
  assert.equal(ipMatches('10.0.0.1', '10.0.0.1'), true);
  assert.equal(ipMatches('10.0.0.0/24', '10.0.0.77'), true);
  assert.equal(ipMatches('10.0.0.0/24', '10.0.1.77'), false);
  assert.equal(ipMatches('10.0.0.0/24', '::1'), false);
  assert.equal(ipMatches('fd00::/8', 'fd00::5'), true);
  assert.equal(ipMatches('10.0.0.2', '10.0.0.1'), false);
});
