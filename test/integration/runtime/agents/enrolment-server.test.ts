import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test, { type TestContext } from 'node:test';
import tls from 'node:tls';
import { createLogger, MemorySink } from '../../../../runtime/logger.js';
import { ensureManagerCertificate } from '../../../../runtime/agents/manager-certificate.js';
import {
  ENROLMENT_INTERNAL_ERROR_ANSWER,
  ENROLMENT_INVALID_REQUEST_ANSWER,
  ENROLMENT_MAX_LINE,
} from '../../../../protocols/enrolment.js';
import {
  EnrolmentServer,
  peerAddress,
  type EnrolmentServerOptions,
} from '../../../../runtime/agents/enrolment-server.js';
import { HANG_MS, until, within } from '../../../harness/wait.js';

const KEY_ANSWER = `OSSEC K:'001 agent-1 any ${'0123456789abcdef'.repeat(4)}'`;


async function tempHome(t: TestContext): Promise<string> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'enrolment-'));
  t.after(() => fs.rm(home, { recursive: true, force: true }));
  return home;
}

/** One certificate for all server tests (key generation takes a moment); its temp home is removed at once. */
let shared: Promise<{ cert: string; key: string }> | undefined;
function sharedCertificate(): Promise<{ cert: string; key: string }> {
  shared ??= (async () => {
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'enrolment-cert-'));
    try {
      const { cert, key } = await ensureManagerCertificate(home);
      return { cert, key };
    } finally {
      await fs.rm(home, { recursive: true, force: true });
    }
  })();
  return shared;
}

interface Call {
  readonly line: string;
  readonly peer: string;
}

interface Harness {
  readonly server: EnrolmentServer;
  readonly sink: MemorySink;
  readonly calls: Call[];
}

type Handle = EnrolmentServerOptions['handle'];

async function startServer(t: TestContext, over: Partial<Omit<EnrolmentServerOptions, 'handle'>> = {}, handle?: Handle): Promise<Harness> {
  const { cert, key } = await sharedCertificate();
  const sink = new MemorySink();
  const calls: Call[] = [];
  const server = new EnrolmentServer({
    host: '127.0.0.1',
    port: 0,
    cert,
    key,
    handle: async (line, peer) => {
      calls.push({ line, peer });
      return handle ? handle(line, peer) : KEY_ANSWER;
    },
    log: createLogger(sink, 'Enrolment'),
    handshakeTimeoutMs: HANG_MS,
    requestTimeoutMs: HANG_MS,
    maxConnections: 64,
    handshakesPerSource: 0,
    ...over,
  });
  t.after(() => server.stop());
  await server.start();
  assert.ok(server.port > 0);
  return { server, sink, calls };
}

interface Client {
  readonly socket: tls.TLSSocket;
  /** Each 'data' event, as text. */
  readonly chunks: string[];
  readonly errors: Error[];
  /** Resolves on 'close'. */
  readonly closed: Promise<void>;
}

function watch<S extends net.Socket>(t: TestContext, socket: S): { socket: S; chunks: string[]; errors: Error[]; closed: Promise<void> } {
  const chunks: string[] = [];
  const errors: Error[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d.toString('utf8')));
  socket.on('error', (e) => errors.push(e));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  t.after(() => socket.destroy());
  return { socket, chunks, errors, closed };
}

async function connectTls(t: TestContext, port: number, from?: string): Promise<Client> {
  const client = watch(t, tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(from ? { localAddress: from } : {}) }));
  await within(once(client.socket, 'secureConnect'), 'TLS handshake');
  return client;
}

async function connectPlain(t: TestContext, port: number): Promise<ReturnType<typeof watch<net.Socket>>> {
  const client = watch(t, net.connect(port, '127.0.0.1'));
  await within(once(client.socket, 'connect'), 'TCP connect');
  return client;
}

/** Connects, writes `payload` (then half-closes if asked), and waits for the server to close. */
async function exchange(t: TestContext, port: number, payload: string | Buffer, end = false, from?: string): Promise<Client> {
  const client = await connectTls(t, port, from);
  client.socket.write(payload);
  if (end) client.socket.end();
  await within(client.closed, 'the server closes');
  return client;
}

test('manager certificate - generated once with the expected files, modes and subject, then reused', async (t) => {
  const home = await tempHome(t);
  const first = await ensureManagerCertificate(home);
  assert.equal(first.created, true);
  assert.match(first.key, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.match(first.cert, /^-----BEGIN CERTIFICATE-----\n/);

  const certFile = path.join(home, 'etc', 'sslmanager.cert');
  const keyFile = path.join(home, 'etc', 'sslmanager.key');
  assert.equal(await fs.readFile(certFile, 'utf8'), first.cert);
  assert.equal(await fs.readFile(keyFile, 'utf8'), first.key);
  assert.equal((await fs.stat(keyFile)).mode & 0o777, 0o600);
  assert.equal((await fs.stat(certFile)).mode & 0o777, 0o640);
  assert.deepEqual((await fs.readdir(path.join(home, 'etc'))).sort(), ['sslmanager.cert', 'sslmanager.key'], 'no temp files left');

  const parsed = new crypto.X509Certificate(first.cert);
  assert.match(parsed.subject, /^CN=wazuh$/m);
  assert.match(parsed.subject, /^C=US$/m);
  assert.match(parsed.subject, /^ST=California$/m);
  assert.equal(parsed.ca, false);
  assert.deepEqual(parsed.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  const years = (Date.parse(parsed.validTo) - Date.parse(parsed.validFrom)) / (365.25 * 24 * 3600 * 1000);
  assert.ok(years > 9.9 && years < 10.1, `valid for ${years} years`);
  assert.ok(parsed.checkPrivateKey(crypto.createPrivateKey(first.key)));

  const second = await ensureManagerCertificate(home);
  assert.deepEqual(second, { cert: first.cert, key: first.key, created: false });

  // A lone key (the cert is gone): both are made again.
  await fs.rm(certFile);
  const third = await ensureManagerCertificate(home);
  assert.equal(third.created, true);
  assert.notEqual(third.key, first.key);
  assert.equal(await fs.readFile(keyFile, 'utf8'), third.key);
});

test('manager certificate - a file that does not parse is named in the error', async (t) => {
  const home = await tempHome(t);
  const made = await ensureManagerCertificate(home);
  const certFile = path.join(home, 'etc', 'sslmanager.cert');
  const keyFile = path.join(home, 'etc', 'sslmanager.key');

  await fs.writeFile(certFile, 'not a certificate\n');
  await assert.rejects(ensureManagerCertificate(home), (e: Error) => e.message.includes(certFile));
  assert.equal(await fs.readFile(certFile, 'utf8'), 'not a certificate\n', 'nothing is overwritten');

  await fs.writeFile(certFile, made.cert);
  await fs.writeFile(keyFile, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
  await assert.rejects(ensureManagerCertificate(home), (e: Error) => e.message.includes(keyFile));
});

test('enrolment server - a request line reaches handle with the peer address; the answer is the first data, then close', async (t) => {
  const h = await startServer(t);
  const client = await exchange(t, h.server.port, "OSSEC A:'agent-1'\n");
  assert.deepEqual(h.calls, [{ line: "OSSEC A:'agent-1'", peer: '127.0.0.1' }]);
  assert.equal(client.chunks[0], KEY_ANSWER, 'the whole answer in the first data event');
  assert.equal(client.chunks.join(''), KEY_ANSWER);
  assert.deepEqual(client.errors, []);
  await until(() => h.server.figures().open === 0, 'connection closed on the server');
  assert.deepEqual(h.server.figures(), { accepted: 1, answered: 1, refused: 0, open: 0 });
  assert.ok(h.sink.lines.some((l) => l.startsWith('DEBUG:') && l.includes('127.0.0.1') && l.includes("key issued to agent 001 'agent-1'")));
  assert.ok(!h.sink.lines.some((l) => l.includes('0123456789abcdef')), 'the agent key is never logged');
});

test('enrolment server - the password is never logged, and bytes after the line are ignored', async (t) => {
  const h = await startServer(t, {}, async () => 'ERROR: Duplicate agent name: agent-1. Unable to add agent');
  const client = await exchange(t, h.server.port, "OSSEC PASS: s3cr3t-pw OSSEC A:'agent-1'\nOSSEC A:'second'\n");
  assert.deepEqual(h.calls.map((c) => c.line), ["OSSEC PASS: s3cr3t-pw OSSEC A:'agent-1'"]);
  assert.equal(client.chunks[0], 'ERROR: Duplicate agent name: agent-1. Unable to add agent');
  assert.ok(h.sink.lines.length > 0);
  assert.ok(!h.sink.lines.some((l) => l.includes('s3cr3t-pw')), h.sink.lines.join('\n'));
});

test('enrolment server - 70 000 bytes without a newline get the invalid-request answer and a close', async (t) => {
  const h = await startServer(t);
  const client = await exchange(t, h.server.port, 'A'.repeat(70_000));
  assert.equal(client.chunks.join(''), ENROLMENT_INVALID_REQUEST_ANSWER);
  assert.equal(client.chunks[0], ENROLMENT_INVALID_REQUEST_ANSWER);
  assert.deepEqual(h.calls, []);
  assert.ok(h.sink.lines.some((l) => l.startsWith('WARNING:') && l.includes('127.0.0.1')));
});

test('enrolment server - the limit is 69 632 bytes before the newline', async (t) => {
  const h = await startServer(t);
  const longest = 'B'.repeat(ENROLMENT_MAX_LINE);
  const ok = await exchange(t, h.server.port, `${longest}\n`);
  assert.equal(ok.chunks.join(''), KEY_ANSWER);
  assert.equal(h.calls.length, 1);
  assert.equal(h.calls[0]?.line, longest);

  const tooLong = await exchange(t, h.server.port, `${longest}B\n`);
  assert.equal(tooLong.chunks.join(''), ENROLMENT_INVALID_REQUEST_ANSWER);
  assert.equal(h.calls.length, 1, 'the over-long line never reaches handle');
});

test('enrolment server - garbage bytes with a newline are handed over; the handler decides', async (t) => {
  const h = await startServer(t, {}, async () => ENROLMENT_INVALID_REQUEST_ANSWER);
  const garbage = Buffer.from([0x00, 0xff, 0xfe, 0x16, 0x03, 0x01, 0x41, 0x0d]);
  const client = await exchange(t, h.server.port, Buffer.concat([garbage, Buffer.from('\n')]));
  assert.equal(h.calls.length, 1);
  assert.equal(h.calls[0]?.line, garbage.toString('utf8'));
  assert.equal(client.chunks.join(''), ENROLMENT_INVALID_REQUEST_ANSWER);
});

test('enrolment server - an unterminated line followed by a half-close is still a request', async (t) => {
  const h = await startServer(t);
  const client = await exchange(t, h.server.port, "OSSEC A:'x", true);
  assert.deepEqual(h.calls, [{ line: "OSSEC A:'x", peer: '127.0.0.1' }]);
  assert.equal(client.chunks.join(''), KEY_ANSWER, 'the half-closed client still gets its answer');

  // Half-closing without a byte: closed, nothing handled.
  const empty = await exchange(t, h.server.port, '', true);
  assert.deepEqual(empty.chunks, []);
  assert.equal(h.calls.length, 1);
});

test('enrolment server - a plain TCP client that never starts TLS is cut after the handshake timeout', async (t) => {
  const h = await startServer(t, { handshakeTimeoutMs: 300 });
  const started = Date.now();
  const raw = await connectPlain(t, h.server.port);
  await within(raw.closed, 'the server cuts the plain client', 5_000);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 250, `cut after ${elapsed} ms`);
  assert.deepEqual(raw.chunks, []);
  assert.equal(h.server.figures().refused, 1);
  assert.ok(h.sink.lines.some((l) => l.startsWith('DEBUG:') && l.includes('TLS handshake with 127.0.0.1')));

  // The server still serves.
  const client = await exchange(t, h.server.port, "OSSEC A:'agent-1'\n");
  assert.equal(client.chunks[0], KEY_ANSWER);
});

test('enrolment server - a TLS client that sends nothing is closed after the request timeout', async (t) => {
  const h = await startServer(t, { requestTimeoutMs: 300 });
  const client = await connectTls(t, h.server.port);
  const started = Date.now();
  await within(client.closed, 'the server closes the idle client', 5_000);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 200, `closed after ${elapsed} ms`);
  assert.deepEqual(client.chunks, []);
  assert.deepEqual(h.calls, []);
  await until(() => h.server.figures().open === 0, 'closed on the server');
  assert.deepEqual(h.server.figures(), { accepted: 1, answered: 0, refused: 1, open: 0 });
});

test('enrolment server - beyond maxConnections a new socket is closed at once', async (t) => {
  const h = await startServer(t, { maxConnections: 2 });
  const a = await connectTls(t, h.server.port);
  await connectTls(t, h.server.port);
  await until(() => h.server.figures().open === 2, 'two connections open');

  const third = watch(t, net.connect(h.server.port, '127.0.0.1'));
  await within(third.closed, 'the third connection is closed');
  assert.deepEqual(third.chunks, []);
  assert.equal(h.server.figures().refused, 1);
  assert.equal(h.server.figures().accepted, 2);
  // Turned away by the limit, not by a timeout: never taken in, no handshake attempted, the other two untouched.
  assert.equal(h.server.figures().open, 2);
  assert.ok(!h.sink.lines.some((l) => l.includes('TLS handshake with')), 'not closed by the handshake timeout');
  assert.ok(h.sink.lines.some((l) => l.startsWith('WARNING:') && l.includes('refused connection from 127.0.0.1')));

  // Once a slot frees up, requests are served again.
  a.socket.destroy();
  await until(() => h.server.figures().open === 1, 'one connection left');
  const client = await exchange(t, h.server.port, "OSSEC A:'agent-1'\n");
  assert.equal(client.chunks[0], KEY_ANSWER);
});

test('enrolment server - beyond handshakesPerSource one address is refused at once, another is still served', async (t) => {
  const h = await startServer(t, { handshakesPerSource: 2 });
  const a = await connectTls(t, h.server.port);
  await connectTls(t, h.server.port);
  await until(() => h.server.figures().open === 2, 'two connections open from 127.0.0.1');

  const third = watch(t, net.connect(h.server.port, '127.0.0.1'));
  await within(third.closed, 'the third connection from 127.0.0.1 is closed', 3_000);
  assert.deepEqual(third.chunks, []);
  assert.ok(h.sink.lines.some((l) => l.startsWith('WARNING:') && l.includes('Too many enrolment connections from 127.0.0.1 (limit 2, <auth><handshakes_per_source>)')));

  const other = await exchange(t, h.server.port, "OSSEC A:'agent-2'\n", false, '127.0.0.2');
  assert.equal(other.chunks[0], KEY_ANSWER, 'another address has its own places');
  assert.equal(h.calls.at(-1)?.peer, '127.0.0.2');

  a.socket.destroy();
  await until(() => h.server.figures().open === 1, 'a place frees up');
  const again = await exchange(t, h.server.port, "OSSEC A:'agent-1'\n");
  assert.equal(again.chunks[0], KEY_ANSWER);
});

test('enrolment server - a rejecting handler gets the internal error answer', async (t) => {
  const h = await startServer(t, {}, async () => {
    throw new Error('registry unavailable');
  });
  const client = await exchange(t, h.server.port, "OSSEC PASS: hidden-pw OSSEC A:'agent-1'\n");
  assert.equal(client.chunks[0], ENROLMENT_INTERNAL_ERROR_ANSWER);
  assert.equal(h.calls.length, 1);
  assert.ok(h.sink.lines.some((l) => l.startsWith('ERROR:') && l.includes('registry unavailable') && l.includes('127.0.0.1')));
  assert.ok(!h.sink.lines.some((l) => l.includes('hidden-pw')));
  assert.equal(h.server.figures().answered, 1);
});

test('enrolment server - stop destroys open connections; a second listener on the same port fails clearly', async (t) => {
  const h = await startServer(t);
  const other = new EnrolmentServer({ ...optionsOf(await sharedCertificate()), port: h.server.port });
  await assert.rejects(other.start(), new RegExp(`^Error: Enrolment service cannot listen on 127\\.0\\.0\\.1:${h.server.port}: EADDRINUSE$`));
  await other.stop();

  const idle = await connectTls(t, h.server.port);
  await until(() => h.server.figures().open === 1, 'connection open');
  await within(h.server.stop(), 'stop');
  await within(idle.closed, 'the idle client is closed by stop');
  await assert.rejects(connectPlain(t, h.server.port));
});

test('enrolment server - IPv4-mapped peer addresses lose their ::ffff: prefix', () => {
  assert.equal(peerAddress('::ffff:10.0.2.15'), '10.0.2.15');
  assert.equal(peerAddress('::FFFF:127.0.0.1'), '127.0.0.1');
  assert.equal(peerAddress('10.0.2.15'), '10.0.2.15');
  assert.equal(peerAddress('::1'), '::1');
  assert.equal(peerAddress('fe80::ffff:1'), 'fe80::ffff:1');
  assert.equal(peerAddress(undefined), 'unknown');
});

function optionsOf(pair: { cert: string; key: string }): EnrolmentServerOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    cert: pair.cert,
    key: pair.key,
    handle: async () => KEY_ANSWER,
    log: createLogger(new MemorySink(), 'Enrolment'),
    handshakeTimeoutMs: HANG_MS,
    requestTimeoutMs: HANG_MS,
    maxConnections: 64,
    handshakesPerSource: 0,
  };
}
