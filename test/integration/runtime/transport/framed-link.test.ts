import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import test from 'node:test';
import { CLUSTER_MAX_FRAME_BYTES, ClusterCatalogue, type ClusterBodies, type ClusterFrame } from '../../../../protocols/cluster-messages.js';
import { FrameError } from '../../../../protocols/errors.js';
import { FRAME_FORMAT, FRAME_MAGIC, encodeFrame } from '../../../../protocols/frame-codec.js';
import { encodePayload } from '../../../../protocols/envelope.js';
import { FramedLink, type FramedLinkOptions } from '../../../../runtime/transport/framed-link.js';
import { HANG_MS, rejectsWith, sleep, until, within } from '../../../harness/wait.js';

type Link = FramedLink<ClusterBodies>;


function opts(over: Partial<FramedLinkOptions<ClusterBodies>> = {}): FramedLinkOptions<ClusterBodies> {
  return { catalogue: ClusterCatalogue, maxFrameBytes: CLUSTER_MAX_FRAME_BYTES, requestTimeoutMs: HANG_MS, ...over };
}



interface Server {
  readonly server: net.Server;
  readonly port: number;
  /** The next accepted socket, with a FramedLink built on it at once. */
  accept(o?: FramedLinkOptions<ClusterBodies>): Promise<{ socket: net.Socket; link: Link }>;
  close(): Promise<void>;
}

async function listen(): Promise<Server> {
  const server = net.createServer();
  const sockets = new Set<net.Socket>();
  const waiting: ((s: net.Socket) => void)[] = [];
  const arrived: net.Socket[] = [];
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    const w = waiting.shift();
    if (w) w(s);
    else arrived.push(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    accept(o = opts()) {
      // The link is built synchronously on arrival, so no byte is read before it listens.
      return within(new Promise((resolve) => {
        const take = (socket: net.Socket) => resolve({ socket, link: new FramedLink(socket, o) });
        const s = arrived.shift();
        if (s) take(s);
        else waiting.push(take);
      }), 'accept');
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function connectRaw(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await within(once(socket, 'connect'), 'connect');
  return socket;
}

interface Pair {
  readonly srv: Server;
  readonly client: Link;
  readonly server: Link;
  readonly clientSocket: net.Socket;
  readonly serverSocket: net.Socket;
  readonly clientErrors: FrameError[];
  readonly serverErrors: FrameError[];
  cleanup(): Promise<void>;
}

async function pair(over: Partial<FramedLinkOptions<ClusterBodies>> = {}): Promise<Pair> {
  const srv = await listen();
  const clientErrors: FrameError[] = [];
  const serverErrors: FrameError[] = [];
  const accepted = srv.accept(opts({ ...over, onProtocolError: (e) => serverErrors.push(e) }));
  const clientSocket = await connectRaw(srv.port);
  const client = new FramedLink(clientSocket, opts({ ...over, onProtocolError: (e) => clientErrors.push(e) }));
  const { socket: serverSocket, link: server } = await accepted;
  return {
    srv, client, server, clientSocket, serverSocket, clientErrors, serverErrors,
    async cleanup() {
      client.close('test over');
      server.close('test over');
      clientSocket.destroy();
      serverSocket.destroy();
      await srv.close();
    },
  };
}

/** Answers pings with pongs, and records every frame it is handed. */
function pingPong(link: Link, seen: ClusterFrame[] = []): ClusterFrame[] {
  link.attach((f) => {
    seen.push(f);
    if (f.type === 'ping') link.reply(f, 'pong', {});
  });
  return seen;
}

test('framed-link - concurrent requests are correlated with replies answered out of order', async () => {
  const p = await pair();
  try {
    const requests: ClusterFrame[] = [];
    p.server.attach((f) => requests.push(f));
    const sent = [10, 20, 30, 40, 50];
    const replies = sent.map((n) => p.client.request('keepalive', { sentAt: n }));
    await until(() => requests.length === sent.length, 'all requests reach the server');
    // Answer in a scrambled order; each reply carries a distinct value derived from its request.
    for (const i of [3, 0, 4, 2, 1]) {
      const req = requests[i] as ClusterFrame;
      assert.equal(req.type, 'keepalive');
      if (req.type !== 'keepalive') return;
      p.server.reply(req, 'keepalive-ack', { at: req.body.sentAt + 1 });
    }
    const frames = await within(Promise.all(replies), 'replies');
    frames.forEach((f, i) => {
      assert.equal(f.type, 'keepalive-ack');
      if (f.type === 'keepalive-ack') assert.equal(f.body.at, (sent[i] as number) + 1);
      assert.equal(f.re, requests[i]?.id);
    });
    assert.equal(new Set(requests.map((r) => r.id)).size, sent.length, 'ids are distinct');
    assert.deepEqual(p.clientErrors, []);
    assert.deepEqual(p.serverErrors, []);
  } finally {
    await p.cleanup();
  }
});

test('framed-link - an error reply rejects the request with its code and message', async () => {
  const p = await pair();
  try {
    p.server.attach((f) => p.server.reply(f, 'error', { code: 'not-allowed', message: 'workers may not ask that' }));
    await rejectsWith(p.client.request('nodes-request', {}), 'not-allowed', 'workers may not ask that');
    assert.equal(p.client.closed, false);
  } finally {
    await p.cleanup();
  }
});

test('framed-link - a request times out and its late reply is dropped', async () => {
  const p = await pair();
  try {
    const held: ClusterFrame[] = [];
    p.server.attach((f) => {
      if (f.type === 'ping') p.server.reply(f, 'pong', {});
      else held.push(f);
    });
    const clientSeen: ClusterFrame[] = [];
    p.client.attach((f) => clientSeen.push(f));
    await rejectsWith(p.client.request('keepalive', { sentAt: 1 }, 50), 'timeout', /keepalive/);
    await until(() => held.length === 1, 'the server got the request');
    // The late reply, then a fresh request: TCP order means the late reply is handled first.
    p.server.reply(held[0] as ClusterFrame, 'keepalive-ack', { at: 2 });
    const pong = await within(p.client.request('ping', {}), 'ping after late reply');
    assert.equal(pong.type, 'pong');
    assert.deepEqual(clientSeen, [], 'the late reply never reaches the handler');
    assert.equal(p.client.closed, false);
    assert.deepEqual(p.clientErrors, []);
  } finally {
    await p.cleanup();
  }
});

test('framed-link - frames sent before attach are queued and delivered in order', async () => {
  const p = await pair();
  try {
    for (let i = 0; i < 5; i++) p.client.send('keepalive', { sentAt: i });
    // Wait until the server side has read every byte, so the frames really arrive before attach.
    await until(() => p.clientSocket.bytesWritten > 0 && p.serverSocket.bytesRead === p.clientSocket.bytesWritten, 'bytes read');
    await sleep(20);
    const seen: number[] = [];
    p.server.attach((f) => {
      if (f.type === 'keepalive') seen.push(f.body.sentAt);
    });
    p.client.send('keepalive', { sentAt: 5 });
    await until(() => seen.length === 6, 'all frames delivered');
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  } finally {
    await p.cleanup();
  }
});

test('framed-link - nextFrame returns the next frame, and times out', async () => {
  const p = await pair();
  try {
    const next = p.server.nextFrame(HANG_MS);
    p.client.send('bye', { reason: 'first' });
    const f = await within(next, 'nextFrame');
    assert.equal(f.type, 'bye');
    if (f.type === 'bye') assert.equal(f.body.reason, 'first');

    await rejectsWith(p.server.nextFrame(30), 'timeout');

    // After a timeout, a later frame is neither lost nor stuck with the expired waiter.
    p.client.send('bye', { reason: 'second' });
    const g = await within(p.server.nextFrame(HANG_MS), 'nextFrame after timeout');
    assert.equal(g.type, 'bye');
    if (g.type === 'bye') assert.equal(g.body.reason, 'second');

    // A frame already queued is returned at once.
    p.client.send('bye', { reason: 'third' });
    await until(() => p.serverSocket.bytesRead === p.clientSocket.bytesWritten, 'bytes read');
    await sleep(20);
    const h = await within(p.server.nextFrame(HANG_MS), 'queued nextFrame');
    if (h.type === 'bye') assert.equal(h.body.reason, 'third');
    else assert.fail(`unexpected ${h.type}`);
  } finally {
    await p.cleanup();
  }
});

test('framed-link - a schema-invalid message gets an invalid-message error reply and the link stays open', async () => {
  const p = await pair();
  try {
    const seen = pingPong(p.server);
    await rejectsWith(p.client.request('ping', { extra: 1 } as never), 'invalid-message', /extra/);
    await rejectsWith(p.client.request('no-such-type' as never, {} as never), 'invalid-message', /no-such-type/);
    assert.equal(p.serverErrors.length, 2);
    assert.ok(p.serverErrors.every((e) => e.code === 'invalid-message'));
    assert.equal(p.server.closed, false);
    assert.equal(p.client.closed, false);
    const pong = await within(p.client.request('ping', {}), 'valid request afterwards');
    assert.equal(pong.type, 'pong');
    assert.equal(seen.length, 1, 'the refused frames never reach the handler');
  } finally {
    await p.cleanup();
  }
});

test('framed-link - raw garbage bytes close the link, reporting the reason', async () => {
  const srv = await listen();
  const errors: FrameError[] = [];
  try {
    const accepted = srv.accept(opts({ onProtocolError: (e) => errors.push(e) }));
    const raw = await connectRaw(srv.port);
    const { link } = await accepted;
    const seen: ClusterFrame[] = [];
    link.attach((f) => seen.push(f));
    const closed = new Promise<string>((resolve) => link.onClose(resolve));
    const rawClosed = once(raw, 'close');
    raw.write('GET / HTTP/1.1\r\nHost: master\r\n\r\n');
    const reason = await within(closed, 'link close');
    assert.match(reason, /not a clusterd frame/);
    assert.equal(link.closed, true);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.code, 'bad-magic');
    assert.deepEqual(seen, []);
    await within(rawClosed, 'peer socket close');
    // A closed link refuses requests; a send there is a quiet no-op (the keepalives notice the loss).
    await rejectsWith(link.request('ping', {}), 'link-closed');
    assert.doesNotThrow(() => link.send('ping', {}));
    assert.doesNotThrow(() => link.reply({ id: 1 }, 'pong', {}));
    // onClose registered after the fact is told at once.
    let late: string | undefined;
    link.onClose((r) => (late = r));
    assert.equal(late, reason);
    raw.destroy();
  } finally {
    await srv.close();
  }
});

test('framed-link - a well-framed payload that is not msgpack closes the link', async () => {
  const srv = await listen();
  const errors: FrameError[] = [];
  try {
    const accepted = srv.accept(opts({ onProtocolError: (e) => errors.push(e) }));
    const raw = await connectRaw(srv.port);
    const { link } = await accepted;
    const closed = new Promise<string>((resolve) => link.onClose(resolve));
    raw.write(encodeFrame(Buffer.from([0xc1, 0xc1, 0xc1]), CLUSTER_MAX_FRAME_BYTES));
    await within(closed, 'link close');
    assert.equal(errors[0]?.code, 'undecodable');
    raw.destroy();
  } finally {
    await srv.close();
  }
});

test('framed-link - a frame declaring 2 GB closes the link promptly', async () => {
  const srv = await listen();
  const errors: FrameError[] = [];
  try {
    const accepted = srv.accept(opts({ onProtocolError: (e) => errors.push(e) }));
    const raw = await connectRaw(srv.port);
    const { link } = await accepted;
    const closed = new Promise<string>((resolve) => link.onClose(resolve));
    const rawClosed = once(raw, 'close');
    const header = Buffer.from([FRAME_MAGIC, FRAME_FORMAT, 0, 0, 0, 0]);
    header.writeUInt32BE(2 * 1024 * 1024 * 1024, 2);
    raw.write(header);
    const reason = await within(closed, 'link close', 5_000);
    assert.match(reason, /exceeds the limit/);
    assert.equal(errors[0]?.code, 'frame-too-large');
    await within(rawClosed, 'peer socket close', 5_000);
    raw.destroy();
  } finally {
    await srv.close();
  }
});

test('framed-link - closing one side rejects pending requests on the other with link-closed', async () => {
  const p = await pair();
  try {
    const got: ClusterFrame[] = [];
    p.server.attach((f) => got.push(f));
    const clientClosed = new Promise<string>((resolve) => p.client.onClose(resolve));
    const serverClosed = new Promise<string>((resolve) => p.server.onClose(resolve));
    const a = p.client.request('nodes-request', {});
    const b = p.client.request('ping', {});
    const next = p.client.nextFrame(HANG_MS);
    await until(() => got.length === 2, 'requests arrive');
    p.server.close('master shutting down');
    assert.equal(await within(serverClosed, 'server close'), 'master shutting down');
    await rejectsWith(a, 'link-closed');
    await rejectsWith(b, 'link-closed');
    await rejectsWith(next, 'link-closed');
    assert.equal(typeof (await within(clientClosed, 'client close')), 'string');
    assert.equal(p.client.closed, true);
    await rejectsWith(p.client.request('ping', {}), 'link-closed');
    await rejectsWith(p.client.nextFrame(HANG_MS), 'link-closed');
  } finally {
    await p.cleanup();
  }
});

test('framed-link - closing a link rejects its own pending requests with link-closed', async () => {
  const p = await pair();
  try {
    p.server.attach(() => undefined);
    const a = p.client.request('ping', {});
    p.client.close('going away');
    await rejectsWith(a, 'link-closed', /going away/);
  } finally {
    await p.cleanup();
  }
});

test('framed-link - frames sent just before close reach the peer', async () => {
  const p = await pair();
  try {
    const seen: string[] = [];
    p.client.attach((f) => seen.push(f.type));
    const clientClosed = new Promise<string>((resolve) => p.client.onClose(resolve));
    const nodes = Array.from({ length: 1000 }, (_, i) => ({ name: `worker-${i}`, type: 'worker' as const, version: 'v'.repeat(60), address: 'a'.repeat(250) }));
    // Enough data that some of it is still buffered in the sending process when close() is called.
    let sent = 0;
    while (sent < 60 && (sent < 2 || p.serverSocket.writableLength < 1024 * 1024)) {
      p.server.send('nodes', { nodes });
      sent++;
    }
    p.server.send('bye', { reason: 'master shutting down' });
    p.server.close('master shutting down');
    await within(clientClosed, 'client close', 60_000);
    assert.equal(seen.filter((t) => t === 'nodes').length, sent, 'every frame sent before close arrives');
    assert.equal(seen.at(-1), 'bye', 'the goodbye sent before close arrives');
  } finally {
    await p.cleanup();
  }
});

test('framed-link - backpressure: a busy handler pauses the socket without losing or reordering frames', async () => {
  const p = await pair();
  try {
    let busy = false;
    const seen: number[] = [];
    p.server.attach((f) => {
      if (f.type === 'ping') p.server.reply(f, 'pong', {});
      if (f.type !== 'keepalive') return;
      seen.push(f.body.sentAt);
      if (f.body.sentAt === 3) busy = true;
    }, () => busy);

    const FIRST = 10;
    const TOTAL = 210;
    for (let i = 0; i < FIRST; i++) p.client.send('keepalive', { sentAt: i });
    await until(() => busy && p.serverSocket.isPaused(), 'the socket pauses once busy');
    const atPause = seen.length;
    assert.ok(atPause >= 4 && atPause <= FIRST, `handler got ${atPause} frames before the pause`);

    // The peer keeps sending, one write at a time.
    for (let i = FIRST; i < TOTAL; i++) {
      p.client.send('keepalive', { sentAt: i });
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    await until(() => p.clientSocket.writableLength === 0, 'client flushed');
    await sleep(300);
    assert.equal(seen.length, atPause, 'no frame is handed over while busy');
    assert.equal(p.serverSocket.isPaused(), true);
    assert.equal(p.server.closed, false);

    busy = false;
    await until(() => seen.length === TOTAL, 'every frame after resuming');
    assert.deepEqual(seen, Array.from({ length: TOTAL }, (_, i) => i), 'nothing lost or reordered');
    assert.equal(p.serverSocket.isPaused(), false);

    // The link still works both ways after the pause.
    const pong = await within(p.client.request('ping', {}), 'ping after the pause');
    assert.equal(pong.type, 'pong');
  } finally {
    await p.cleanup();
  }
});

test('framed-link - encodePayload of an envelope sent raw is accepted like one from a link', async () => {
  const srv = await listen();
  try {
    const accepted = srv.accept();
    const raw = await connectRaw(srv.port);
    const { link } = await accepted;
    const next = link.nextFrame(HANG_MS);
    // Two frames in one write, the second split from the first at an odd boundary.
    const a = encodeFrame(encodePayload({ v: 1, type: 'ping', id: 7, body: {} }), CLUSTER_MAX_FRAME_BYTES);
    const b = encodeFrame(encodePayload({ v: 1, type: 'bye', id: 8, body: { reason: 'x' } }), CLUSTER_MAX_FRAME_BYTES);
    const all = Buffer.concat([a, b]);
    raw.write(all.subarray(0, a.length + 3));
    const f = await within(next, 'first frame');
    assert.equal(f.type, 'ping');
    assert.equal(f.id, 7);
    raw.write(all.subarray(a.length + 3));
    const g = await within(link.nextFrame(HANG_MS), 'second frame');
    assert.equal(g.type, 'bye');
    raw.destroy();
  } finally {
    await srv.close();
  }
});

/** A frame of about `bytes` whose body the schema refuses: it shows how far the link read it. */
function bulkyFrame(bytes: number): Buffer {
  return encodeFrame(encodePayload({ v: 1, type: 'ping', id: 9, body: { filler: 'x'.repeat(bytes) } }), CLUSTER_MAX_FRAME_BYTES);
}

test('framed-link - until the handshake ends a large frame closes the link; after endHandshake it is read', async () => {
  const p = await pair({ handshake: { maxFrameBytes: 1024 } });
  try {
    p.server.attach(() => undefined);
    p.clientSocket.write(bulkyFrame(2000));
    await until(() => p.server.closed, 'the unproven peer is cut');
    assert.equal(p.serverErrors[0]?.code, 'frame-too-large');
    assert.match(p.serverErrors[0]?.message ?? '', /limit of 1024 bytes/);
  } finally {
    await p.cleanup();
  }
  const q = await pair({ handshake: { maxFrameBytes: 1024 } });
  try {
    q.server.attach(() => undefined);
    q.server.endHandshake();
    q.clientSocket.write(bulkyFrame(2000));
    await until(() => q.serverErrors.length > 0, 'the frame is read and refused by its schema');
    assert.equal(q.serverErrors[0]?.code, 'invalid-message');
    assert.equal(q.server.closed, false);
  } finally {
    await q.cleanup();
  }
});

test('framed-link - the message that ends the handshake lifts the limit for frames in the same chunk', async () => {
  const p = await pair({ handshake: { maxFrameBytes: 1024, endsWith: 'welcome' } });
  try {
    const welcome = encodeFrame(encodePayload({ v: 1, type: 'welcome', id: 1, body: { master: { name: 'master', type: 'master', version: '0.1.0', address: '127.0.0.1' }, address: '127.0.0.2' } }), CLUSTER_MAX_FRAME_BYTES);
    p.serverSocket.write(Buffer.concat([welcome, bulkyFrame(2000)]));
    const first = await within(p.client.nextFrame(HANG_MS), 'welcome');
    assert.equal(first.type, 'welcome');
    await until(() => p.clientErrors.length > 0, 'the frame behind the welcome is read');
    assert.equal(p.clientErrors[0]?.code, 'invalid-message');
    assert.equal(p.client.closed, false);
  } finally {
    await p.cleanup();
  }
});
