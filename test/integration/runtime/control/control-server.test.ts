import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import net from 'node:net';
import test, { type TestContext } from 'node:test';
import { CONTROL_MAX_FRAME_BYTES, ControlCatalogue, type ControlBodies } from '../../../../protocols/control-messages.js';
import { FRAME_FORMAT, FRAME_MAGIC } from '../../../../protocols/frame-codec.js';
import { CONTROL_MAX_CONNECTIONS, ControlServer, controlSocketPath, type ControlHandler } from '../../../../runtime/control/control-server.js';
import { FramedLink } from '../../../../runtime/transport/framed-link.js';
import { createLogger, MemorySink } from '../../../../runtime/logger.js';
import { tempDir } from '../../../harness/cluster.js';
import { HANG_MS, sleep, within } from '../../../harness/wait.js';

const IDLE_MS = 300;

/** Answers every request with its type. */
const echo: ControlHandler = async (req) => ({ type: 'done', body: { detail: req.type } });

interface Harness {
  readonly socketPath: string;
  readonly sink: MemorySink;
  /** A connected raw client, destroyed when the test ends. */
  connect(): Promise<net.Socket>;
}

async function serve(t: TestContext, handler: ControlHandler, idleMs = IDLE_MS): Promise<Harness> {
  const home = await tempDir('control');
  const socketPath = controlSocketPath(home);
  const sink = new MemorySink();
  const server = new ControlServer(socketPath, handler, createLogger(sink, 'Main'), { idleMs });
  await server.start();
  const clients = new Set<net.Socket>();
  t.after(async () => {
    for (const s of clients) s.destroy();
    await within(server.stop(), 'stop');
    await fs.rm(home, { recursive: true, force: true });
  });
  return {
    socketPath,
    sink,
    async connect() {
      const s = net.connect({ path: socketPath });
      s.on('error', () => undefined);
      clients.add(s);
      await within(once(s, 'connect'), 'connect');
      return s;
    },
  };
}

const closed = (s: net.Socket): Promise<unknown> => (s.destroyed ? Promise.resolve() : once(s, 'close'));

function linkOn(s: net.Socket): FramedLink<ControlBodies> {
  return new FramedLink(s, { catalogue: ControlCatalogue, maxFrameBytes: CONTROL_MAX_FRAME_BYTES, requestTimeoutMs: HANG_MS });
}

async function askStatus(link: FramedLink<ControlBodies>): Promise<unknown> {
  const answer = await within(link.request('get-status', {}), 'an answer');
  return answer.body;
}

const idleCutLogged = (sink: MemorySink): boolean =>
  sink.lines.some((l) => l.startsWith('DEBUG: [Local Server]') && l.includes('idle control connection'));

test('control server - a client that connects and sends nothing is cut', async (t) => {
  const h = await serve(t, echo);
  const silent = await h.connect();
  await within(closed(silent), 'the silent client cut');
  assert.ok(idleCutLogged(h.sink), h.sink.lines.join('\n'));
});

test('control server - a client trickling one byte every 100 ms of a frame that never ends is cut', async (t) => {
  const h = await serve(t, echo);
  const s = await h.connect();
  // A header declaring 1000 payload bytes: at one byte per 100 ms it would take 100 s to finish.
  const header = Buffer.from([FRAME_MAGIC, FRAME_FORMAT, 0, 0, 0x03, 0xe8]);
  const bytes = Buffer.concat([header, Buffer.alloc(1000, 0x90)]);
  let sent = 0;
  const trickle = setInterval(() => { if (!s.destroyed) s.write(bytes.subarray(sent, ++sent)); }, 100);
  t.after(() => clearInterval(trickle));
  await within(closed(s), 'the trickling client cut');
  clearInterval(trickle);
  assert.ok(sent < bytes.length, 'the frame was never completed');
  assert.ok(idleCutLogged(h.sink), h.sink.lines.join('\n'));
});

test('control server - a request slower than the idle time is answered, and the idle clock restarts after it', async (t) => {
  const h = await serve(t, async () => {
    await sleep(2 * IDLE_MS);
    return { type: 'done', body: { detail: 'slow but done' } };
  });
  const s = await h.connect();
  const link = linkOn(s);
  assert.deepEqual(await askStatus(link), { detail: 'slow but done' });
  assert.equal(link.closed, false);
  // Answered, then silent: cut as any idle connection.
  await within(closed(s), 'the client cut once idle after its answer');
});

test(`control server - beyond ${CONTROL_MAX_CONNECTIONS} connections a new one is closed at once; those under the cap are served`, async (t) => {
  const h = await serve(t, echo, 2 * HANG_MS);
  const held = await Promise.all(Array.from({ length: CONTROL_MAX_CONNECTIONS }, () => h.connect()));
  const links = held.map(linkOn);
  // Every one answered proves the server took all of them in.
  for (const body of await Promise.all(links.map(askStatus))) assert.deepEqual(body, { detail: 'get-status' });

  const extras = await Promise.all([h.connect(), h.connect(), h.connect()].map((p) => p.catch(() => null)));
  for (const e of extras) if (e) await within(closed(e), 'the connection over the cap closed');
  const warnings = h.sink.lines.filter((l) => l.startsWith('WARNING: [Local Server]') && l.includes(`Too many control connections (limit ${CONTROL_MAX_CONNECTIONS})`));
  assert.equal(warnings.length, 1, `one warning for a burst of refusals:\n${h.sink.lines.join('\n')}`);

  // Those under the cap are still served; freeing one makes room for a newcomer.
  assert.deepEqual(await askStatus(links[0] as FramedLink<ControlBodies>), { detail: 'get-status' });
  const first = held[0] as net.Socket;
  first.destroy();
  await within(admitted(h), 'a newcomer served after one left');
});

/** Retries until a new connection is answered (the server notices a departure on its own time). */
async function admitted(h: Harness): Promise<void> {
  for (;;) {
    const s = await h.connect().catch(() => null);
    if (s) {
      const link = linkOn(s);
      const ok = await link.request('get-status', {}, 1000).then(() => true, () => false);
      link.close('done');
      if (ok) return;
    }
    await sleep(20);
  }
}

test('control server - the socket file is its owner\'s only (0600)', async (t) => {
  const h = await serve(t, echo);
  assert.equal((await fs.stat(h.socketPath)).mode & 0o777, 0o600);
});

test('control server - stop() closes connections still open and returns', async (t) => {
  const home = await tempDir('control-stop');
  t.after(() => fs.rm(home, { recursive: true, force: true }));
  const server = new ControlServer(controlSocketPath(home), echo, createLogger(new MemorySink(), 'Main'));
  await server.start();
  const s = net.connect({ path: controlSocketPath(home) });
  s.on('error', () => undefined);
  await within(once(s, 'connect'), 'connect');
  await within(server.stop(), 'stop with a client connected');
  await within(closed(s), 'the client closed by stop');
});
