/**
 * The simulated agent against small in-test fake servers: TCP (net + AgentFrameDecoder)
 * and UDP (dgram) that decode with a known key, ACK startups and keepalives, and push
 * a 2000-byte merged.mg after the first keepalive; and a TLS enrolment fake.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test, { type TestContext } from 'node:test';
import tls from 'node:tls';
import { AgentFrameDecoder, frameAgentMessage } from '../../../protocols/agent-framing.js';
import { ACK, decodeSecure, encodeSecure, splitSender, type Cipher } from '../../../protocols/secure-message.js';
import { ensureManagerCertificate } from '../../../runtime/agents/manager-certificate.js';
import { keepaliveText } from '../../../protocols/agent-messages.js';
import { enrolmentRequestLine, parseEnrolmentAnswer } from '../../../protocols/enrolment.js';
import { agentConfSumOf, unmerge } from '../../../protocols/merged-mg.js';
import { SimulatedAgent, simulatedUname, type SimulatedAgentOptions } from '../../../sim/simulated-agent.js';
import { until, within } from '../../harness/wait.js';

const KEY = { id: '001', name: 'agent-test', ip: 'any', key: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' };
const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

const AGENT_CONF = Buffer.from('<agent_config>\n  <localfile><location>/var/log/app.log</location></localfile>\n</agent_config>\n', 'latin1');

/** `#default`, agent.conf, then a filler file sized so the whole merged.mg is exactly `total` bytes. */
function mergedOf(total: number): Buffer {
  const head = Buffer.concat([Buffer.from('#default\n'), Buffer.from(`!${AGENT_CONF.length} agent.conf\n`), AGENT_CONF]);
  let size = total - head.length;
  for (;;) {
    const header = Buffer.from(`!${size} rootkit_files.txt\n`);
    const fit = total - head.length - header.length;
    if (fit === size) break;
    size = fit;
  }
  const filler = Buffer.alloc(size);
  for (let i = 0; i < size; i++) filler[i] = i % 64 === 63 ? 0x0a : 0x61 + (i % 26);
  return Buffer.concat([head, Buffer.from(`!${size} rootkit_files.txt\n`), filler]);
}

const MERGED = mergedOf(2000);
const MERGED_SUM = md5(MERGED);

interface Seen {
  readonly text: string;
  readonly cipher: Cipher;
  readonly global: number;
  readonly local: number;
  readonly conn: number;
}

type Behaviour = 'push' | 'bad-push' | 'force-reconnect' | 'err-startup' | 'close-on-startup';

interface FakeServer {
  readonly port: number;
  readonly seen: Seen[];
  readonly keepalives: () => Seen[];
  /** TCP connections closed so far. */
  closedConnections: number;
}

/** What both fakes do with one decoded message. */
function makeHandler(behaviour: Behaviour, seen: Seen[], onClose: () => void) {
  let serverLocal = 0;
  let keepalives = 0;
  return (raw: Buffer, conn: number, send: (msg: Buffer) => void): void => {
    const { id, rest } = splitSender(raw);
    assert.equal(id, '001', 'agent messages carry !id!');
    const d = decodeSecure(rest, KEY);
    const text = d.payload.toString('latin1');
    seen.push({ text, cipher: d.cipher, global: d.global, local: d.local, conn });
    const reply = (payload: Buffer | string): void => send(encodeSecure(
      typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload, KEY, d.cipher, { withId: false, global: 0, local: ++serverLocal }));
    if (text.startsWith('#!-agent startup')) {
      if (behaviour === 'err-startup') reply('#!-err {"message":"Agent version must be lower or equal to manager version"}');
      else if (behaviour === 'close-on-startup') onClose();
      else reply(ACK);
    } else if (text === '#!-agent shutdown ') {
      // no ACK
    } else if (text.startsWith('#!-')) {
      reply(ACK);
      keepalives++;
      if (keepalives !== 1) return;
      if (behaviour === 'force-reconnect') {
        reply('#!-force_reconnect');
        return;
      }
      if (behaviour !== 'push' && behaviour !== 'bad-push') return;
      const announced = behaviour === 'bad-push' ? md5('something else') : MERGED_SUM;
      reply(`#!-up file ${announced} merged.mg\n`);
      for (let at = 0; at < MERGED.length; at += 900) {
        reply(MERGED.subarray(at, at + 900));
        if (at === 0) reply(ACK); // an interleaved ACK does not end up in the file
      }
      reply('#!-close file ');
    }
  };
}

async function tcpServer(t: TestContext, behaviour: Behaviour = 'push'): Promise<FakeServer> {
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  let conns = 0;
  const fake: FakeServer = { port: 0, seen, keepalives: () => seen.filter((s) => s.text.startsWith('#!-Linux') || s.text.startsWith('#!-Microsoft')), closedConnections: 0 };
  const server = net.createServer((socket) => {
    const conn = ++conns;
    sockets.add(socket);
    const decoder = new AgentFrameDecoder();
    const handle = makeHandler(behaviour, seen, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) handle(frame, conn, (msg) => socket.write(frameAgentMessage(msg)));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      fake.closedConnections++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return Object.assign(fake, { port: (server.address() as net.AddressInfo).port });
}

async function udpServer(t: TestContext, behaviour: Behaviour = 'push'): Promise<FakeServer> {
  const seen: Seen[] = [];
  const socket = dgram.createSocket('udp4');
  const handle = makeHandler(behaviour, seen, () => undefined);
  socket.on('message', (msg, rinfo) => handle(msg, rinfo.port, (reply) => socket.send(reply, rinfo.port, rinfo.address)));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { port: socket.address().port, seen, keepalives: () => seen.filter((s) => s.text.startsWith('#!-Linux')), closedConnections: 0 };
}

function agentFor(t: TestContext, port: number, extra: Partial<SimulatedAgentOptions> = {}): SimulatedAgent {
  const agent = new SimulatedAgent({
    name: 'agent-test', key: KEY, server: { host: '127.0.0.1', port, transport: 'tcp' }, keepaliveMs: 100, labels: { env: 'ci' }, ...extra,
  });
  t.after(() => agent.drop());
  return agent;
}

const FIRST_KEEPALIVE = `#!-${simulatedUname('debian10', 'agent-test')} - Wazuh v4.14.5 / ab73af41699f13fdd81903b5f23d8d00\n"env":ci\nx merged.mg\n#"_agent_ip":127.0.0.1\n`;

/** The full cycle every transport and cipher goes through. */
async function fullCycle(agent: SimulatedAgent, fake: FakeServer, cipher: Cipher): Promise<void> {
  await within(agent.start(), 'start');
  assert.equal(fake.seen[0]?.text, '#!-agent startup {"version":"v4.14.5"}');
  assert.equal(fake.seen[0]?.cipher, cipher);
  assert.equal(agent.mergedSum, 'x');
  assert.equal(agent.mergedContent, null);

  const closed = await within(agent.waitFor((m) => m.startsWith('#!-close file')), 'the push');
  assert.equal(closed, '#!-close file ');
  assert.equal(fake.keepalives()[0]?.text, FIRST_KEEPALIVE, 'the first keepalive, exactly as §7.1');
  assert.equal(agent.mergedSum, MERGED_SUM);
  assert.deepEqual(agent.mergedContent, MERGED);
  assert.equal(agent.counts.pushes, 1);
  assert.ok(agent.received.includes(`#!-up file ${MERGED_SUM} merged.mg\n`));

  const ms = await within(agent.keepaliveNow(), 'a keepalive ACK');
  assert.ok(ms >= 0 && ms < 10_000);
  const last = fake.keepalives().at(-1)?.text ?? '';
  assert.equal(last, `#!-${simulatedUname('debian10', 'agent-test')} - Wazuh v4.14.5 / ${md5(AGENT_CONF)}\n"env":ci\n${MERGED_SUM} merged.mg\n#"_agent_ip":127.0.0.1\n`);

  agent.sendEvent('Nov 29 10:00:00 host sshd[1]: hello');
  agent.sendEvent('{"type":"event"}', '8', 'syscheck');
  await until(() => fake.seen.some((s) => s.text === '8:syscheck:{"type":"event"}'), 'the events at the server');
  assert.ok(fake.seen.some((s) => s.text === '1:/var/log/syslog:Nov 29 10:00:00 host sshd[1]: hello'));

  // The agent's own counters: global 0, local 1, 2, 3, ... in sending order.
  assert.deepEqual(fake.seen.map((s) => s.local), fake.seen.map((_, i) => i + 1));
  assert.ok(fake.seen.every((s) => s.global === 0 && s.cipher === cipher));

  const counts = agent.counts;
  assert.equal(counts.errors, 0, agent.lastError ?? '');
  assert.equal(counts.events, 2);
  assert.equal(counts.sent, fake.seen.length);
  assert.ok(counts.acks >= 3, `acks: ${counts.acks}`);
  assert.equal(counts.received, agent.received.length);

  await within(agent.shutdown(), 'shutdown');
  await until(() => fake.seen.at(-1)?.text === '#!-agent shutdown ', 'the shutdown message at the server');
  assert.equal(agent.connected, false);
}

test('simulated agent - TCP, AES: startup ACKed, merged.mg pushed and adopted, the next keepalive reports it, events, shutdown', async (t) => {
  const fake = await tcpServer(t);
  const agent = agentFor(t, fake.port);
  await fullCycle(agent, fake, 'aes');
  await until(() => fake.closedConnections === 1, 'the connection closed after the shutdown');
  assert.equal(agent.counts.errors, 0, 'a shutdown is no error');
});

test('simulated agent - UDP: the same cycle, one datagram per message', async (t) => {
  const fake = await udpServer(t);
  const agent = agentFor(t, fake.port, { server: { host: '127.0.0.1', port: fake.port, transport: 'udp' } });
  await fullCycle(agent, fake, 'aes');
});

test('simulated agent - Blowfish over TCP and over UDP', async (t) => {
  const tcp = await tcpServer(t);
  await fullCycle(agentFor(t, tcp.port, { cipher: 'blowfish' }), tcp, 'blowfish');
  const udp = await udpServer(t);
  await fullCycle(agentFor(t, udp.port, { cipher: 'blowfish', server: { host: '127.0.0.1', port: udp.port, transport: 'udp' } }), udp, 'blowfish');
});

test('simulated agent - periodic keepalives, events at the rate, other OS templates', async (t) => {
  const fake = await tcpServer(t);
  const agent = agentFor(t, fake.port, { os: 'windows10', labels: {}, keepaliveMs: 50, eventsPerSecond: 100, version: 'v4.10.0' });
  await within(agent.start(), 'start');
  assert.equal(fake.seen[0]?.text, '#!-agent startup {"version":"v4.10.0"}');
  await until(() => fake.keepalives().length >= 3 && agent.counts.events >= 10, 'keepalives and events');
  assert.equal(fake.keepalives()[0]?.text, '#!-Microsoft Windows 10 Pro [Ver: 10.0.19045.2006] |agent-test |x86_64 - Wazuh v4.10.0 / ab73af41699f13fdd81903b5f23d8d00\nx merged.mg\n#"_agent_ip":127.0.0.1\n');
  assert.ok(fake.seen.some((s) => /^1:\/var\/log\/syslog:\w{3} [ \d]\d \d\d:\d\d:\d\d agent-test agent_simulator\[\d+\]: simulated event 1$/.test(s.text)));
  agent.drop();
  const after = agent.counts.sent;
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(agent.counts.sent, after, 'nothing sent after drop()');
  assert.ok(fake.seen.length <= after);
  assert.ok(!fake.seen.some((s) => s.text.startsWith('#!-agent shutdown')), 'drop() sends no shutdown');
  assert.match(simulatedUname('ubuntu22', 'u'), /^Linux \|u \|5\.15\.0-1-generic \|#1 SMP \|x86_64 \[Ubuntu\|ubuntu: 22\.04\.2 LTS \(Jammy Jellyfish\)\]$/);
});

test('simulated agent - sendStartup false: start() greets with a keepalive', async (t) => {
  const fake = await tcpServer(t, 'force-reconnect');
  const agent = agentFor(t, fake.port, { sendStartup: false, keepaliveMs: 60_000 });
  await within(agent.start(), 'start');
  assert.match(fake.seen[0]?.text ?? '', /^#!-Linux /);
});

test('simulated agent - a push whose md5 does not verify is counted as an error and not adopted', async (t) => {
  const fake = await tcpServer(t, 'bad-push');
  const agent = agentFor(t, fake.port);
  await within(agent.start(), 'start');
  await within(agent.waitFor((m) => m.startsWith('#!-close file')), 'the push');
  assert.equal(agent.counts.pushes, 0);
  assert.equal(agent.counts.errors, 1);
  assert.equal(agent.mergedSum, 'x');
  assert.equal(agent.mergedContent, null);
  assert.match(agent.lastError ?? '', /does not match/);
});

test('simulated agent - #!-force_reconnect: a new connection and a new startup', async (t) => {
  const fake = await tcpServer(t, 'force-reconnect');
  const agent = agentFor(t, fake.port);
  await within(agent.start(), 'start');
  await until(() => agent.counts.reconnects === 1, 'the reconnection');
  const startups = fake.seen.filter((s) => s.text.startsWith('#!-agent startup'));
  assert.equal(startups.length, 2);
  assert.notEqual(startups[0]?.conn, startups[1]?.conn, 'a new TCP connection');
  await within(agent.keepaliveNow(), 'a keepalive on the new connection');
  assert.equal(agent.connected, true);
  assert.equal(agent.counts.errors, 0);
});

test('simulated agent - start() rejects on #!-err, on a connection the server closes, and with nobody listening', async (t) => {
  const refusing = await tcpServer(t, 'err-startup');
  await assert.rejects(within(agentFor(t, refusing.port).start(), 'start'), /Agent version must be lower or equal/);

  const closing = await tcpServer(t, 'close-on-startup');
  const lost = agentFor(t, closing.port);
  await assert.rejects(within(lost.start(), 'start'), /closed by the server/);
  assert.equal(lost.counts.errors, 1);
  assert.equal(lost.connected, false);

  const free = net.createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
  const port = (free.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => free.close(() => resolve()));
  await assert.rejects(within(agentFor(t, port).start(), 'start'), /cannot connect/);
});

test('simulated agent - a server that closes a running agent\'s connection: an error, timers stopped, no reconnect', async (t) => {
  let victim: net.Socket | undefined;
  const server = net.createServer((socket) => {
    victim = socket;
    const decoder = new AgentFrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        decodeSecure(splitSender(frame).rest, KEY);
        socket.write(frameAgentMessage(encodeSecure(ACK, KEY, 'aes', { withId: false })));
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => { victim?.destroy(); server.close(() => resolve()); }));
  const agent = agentFor(t, (server.address() as net.AddressInfo).port, { keepaliveMs: 30 });
  await within(agent.start(), 'start');
  victim?.destroy();
  await until(() => agent.counts.errors === 1, 'the lost connection counted');
  assert.equal(agent.connected, false);
  await assert.rejects(agent.keepaliveNow(), /not connected/);
  const sent = agent.counts.sent;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(agent.counts.sent, sent, 'no keepalive after the loss');
  assert.equal(agent.counts.reconnects, 0);
});

test('simulated agent - waitFor sees earlier messages and times out', async (t) => {
  const fake = await tcpServer(t);
  const agent = agentFor(t, fake.port, { keepaliveMs: 60_000 });
  await within(agent.start(), 'start');
  assert.equal(await agent.waitFor((m) => m === '#!-agent ack '), '#!-agent ack ');
  await assert.rejects(agent.waitFor((m) => m === 'never', 50), /no matching message within 50 ms/);
});

test('simulated agent - pure helpers: request line, answer parsing, keepalive text, unmerge', () => {
  assert.equal(enrolmentRequestLine({ name: 'a1' }), "OSSEC A:'a1' V:'v4.14.5'\n");
  assert.equal(enrolmentRequestLine({ name: 'a1', password: 'pw', groups: ['web', 'db'], version: 'v4.9.0' }), "OSSEC PASS: pw OSSEC A:'a1' V:'v4.9.0' G:'web,db'\n");
  assert.deepEqual(parseEnrolmentAnswer(`OSSEC K:'007 a1 any ${KEY.key}'`), { id: '007', name: 'a1', ip: 'any', key: KEY.key });
  assert.deepEqual(parseEnrolmentAnswer(`OSSEC K:'007 a1 10.0.0.1 ${KEY.key}'\n`), { id: '007', name: 'a1', ip: '10.0.0.1', key: KEY.key });
  assert.throws(() => parseEnrolmentAnswer('ERROR: Duplicate agent name: a1. Unable to add agent'), /^Error: ERROR: Duplicate agent name: a1\. Unable to add agent$/);
  assert.throws(() => parseEnrolmentAnswer(''), /without an answer/);
  assert.throws(() => parseEnrolmentAnswer("OSSEC K:'x a1 any k'"), /malformed/);
  assert.equal(keepaliveText({ uname: 'U', version: 'v1', agentConfSum: null, mergedSum: 'x', agentIp: '10.0.0.2', labels: { a: 'b', c: 'd' } }),
    '#!-U - Wazuh v1\n"a":b\n"c":d\nx merged.mg\n#"_agent_ip":10.0.0.2\n');
  assert.equal(MERGED.length, 2000);
  const files = unmerge(MERGED);
  assert.deepEqual(files.map((f) => f.name), ['agent.conf', 'rootkit_files.txt']);
  assert.deepEqual(files[0]?.content, AGENT_CONF);
  const fillerAt = MERGED.indexOf('rootkit_files.txt\n') + 'rootkit_files.txt\n'.length;
  assert.deepEqual(files[1]?.content, MERGED.subarray(fillerAt));
  assert.equal(agentConfSumOf(MERGED), md5(AGENT_CONF));
  assert.equal(agentConfSumOf(Buffer.from('#g\n!3 other.txt\nabc')), null);
});

test('simulated agent - enrolment over TLS: the request line, the key used afterwards, the server\'s error text', async (t) => {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'sim-agent-'));
  t.after(() => fs.rm(home, { recursive: true, force: true }));
  const { cert, key } = await ensureManagerCertificate(home);
  const lines: string[] = [];
  const server = tls.createServer({ cert, key }, (socket) => {
    let buf = '';
    socket.setEncoding('latin1');
    socket.on('error', () => undefined);
    socket.on('data', (d: string) => {
      buf += d;
      if (!buf.includes('\n')) return;
      lines.push(buf);
      if (buf.includes("A:'taken'")) socket.end('ERROR: Duplicate agent name: taken. Unable to add agent');
      else socket.end(`OSSEC K:'001 agent-test any ${KEY.key}'`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as net.AddressInfo).port;

  const fake = await tcpServer(t);
  const agent = new SimulatedAgent({
    name: 'agent-test', enrol: { host: '127.0.0.1', port, password: 'secret', groups: ['web', 'db'] },
    server: { host: '127.0.0.1', port: fake.port, transport: 'tcp' }, keepaliveMs: 60_000,
  });
  t.after(() => agent.drop());
  assert.equal(agent.key, null);
  const issued = await within(agent.enrolNow(), 'enrolment');
  assert.deepEqual(issued, KEY);
  assert.deepEqual(lines, ["OSSEC PASS: secret OSSEC A:'agent-test' V:'v4.14.5' G:'web,db'\n"]);
  assert.deepEqual(await agent.enrolNow(), KEY, 'a second call reuses the key');
  assert.equal(lines.length, 1);
  await within(agent.start(), 'start with the issued key');
  assert.equal(fake.seen[0]?.text, '#!-agent startup {"version":"v4.14.5"}');

  const taken = new SimulatedAgent({ name: 'taken', enrol: { host: '127.0.0.1', port }, server: { host: '127.0.0.1', port: fake.port, transport: 'tcp' }, keepaliveMs: 1_000 });
  await assert.rejects(taken.start(), /^Error: ERROR: Duplicate agent name: taken\. Unable to add agent$/);
});
