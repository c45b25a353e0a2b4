/**
 * The in-memory link pair keeps FramedLink's semantics: frames go through the wire's
 * encoding and schema checks, arrive asynchronously and in order, requests correlate
 * by id and time out, and a closed or cut link behaves as a closed socket would.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { FrameError } from '../../../protocols/errors.js';
import type { ClusterBody, ClusterFrame } from '../../../protocols/cluster-messages.js';
import { framesOf, memoryLinkPair, type End } from '../../harness/memory-link.js';
import { rejectsWith, sleep, until, within } from '../../harness/wait.js';


/** Bodies the schemas refuse, smuggled past the compiler as a peer would past the type system. */
const bad = <T>(body: unknown): T => body as T;

test('memory link - frames arrive asynchronously, in order, after validation', async () => {
  const { a, b, trace } = memoryLinkPair();
  const got: ClusterFrame[] = [];
  b.attach((f) => got.push(f));
  const id1 = a.send('ping', {});
  const id2 = a.send('keepalive', { sentAt: 5 });
  assert.equal(got.length, 0, 'nothing is delivered inside send');
  await until(() => got.length === 2, 'two frames');
  assert.deepEqual(got.map((f) => [f.type, f.id, f.body]), [['ping', id1, {}], ['keepalive', id2, { sentAt: 5 }]]);
  assert.deepEqual(trace.map((t) => [t.from, t.frame.type]), [['a', 'ping'], ['a', 'keepalive']]);
  assert.deepEqual(framesOf(trace, 'keepalive', 'a').map((f) => f.body.sentAt), [5]);
  assert.equal(id2, id1 + 1, 'ids count up per end');
});

test('memory link - frames that arrive before attach wait for it', async () => {
  const { a, b, trace } = memoryLinkPair();
  a.send('ping', {});
  a.send('pong', {});
  await until(() => trace.length === 2, 'both frames read');
  const got: string[] = [];
  b.attach((f) => got.push(f.type));
  assert.deepEqual(got, ['ping', 'pong']);
});

test('memory link - replies correlate by id, whatever their order; an error reply rejects with its code', async () => {
  const { a, b } = memoryLinkPair();
  const held: Extract<ClusterFrame, { type: 'keepalive' }>[] = [];
  b.attach((f) => {
    if (f.type === 'keepalive') {
      held.push(f);
      // Answered newest first: correlation is by `re`, not by order.
      if (held.length === 2) for (const k of [...held].reverse()) b.reply(k, 'keepalive-ack', { at: k.body.sentAt * 10 });
    } else if (f.type === 'nodes-request') {
      b.reply(f, 'error', { code: 'not-here', message: 'no nodes today' });
    }
  });
  const [r1, r2] = await within(Promise.all([a.request('keepalive', { sentAt: 1 }), a.request('keepalive', { sentAt: 2 })]), 'two replies');
  assert.deepEqual([r1.type, r1.body, r1.re], ['keepalive-ack', { at: 10 }, held[0]?.id]);
  assert.deepEqual([r2.type, r2.body, r2.re], ['keepalive-ack', { at: 20 }, held[1]?.id]);
  await rejectsWith(a.request('nodes-request', {}), 'not-here', /no nodes today/);
});

test('memory link - a body the wire refuses is refused here: the receiver reports it and a request fails fast', async () => {
  const refused: [End, FrameError][] = [];
  const { a, b } = memoryLinkPair({ onProtocolError: (end, err) => refused.push([end, err]), requestTimeoutMs: 60_000 });
  const got: ClusterFrame[] = [];
  b.attach((f) => got.push(f));
  // An extra field in a strict body, and a keepalive whose time is text.
  await rejectsWith(a.request('ping', bad<ClusterBody<'ping'>>({ extra: 1 })), 'invalid-message', /invalid 'ping' message/);
  a.send('keepalive', bad<ClusterBody<'keepalive'>>({ sentAt: 'soon' }));
  await until(() => refused.length === 2, 'two refusals');
  assert.deepEqual(refused.map(([end, err]) => [end, err.code]), [['b', 'invalid-message'], ['b', 'invalid-message']]);
  assert.match(refused[1]?.[1].message ?? '', /body\.sentAt/);
  // Values msgpack cannot carry as sent do not arrive as sent: a Map becomes a plain object the schema refuses.
  await rejectsWith(a.request('nodes', bad<ClusterBody<'nodes'>>({ nodes: new Map() })), 'invalid-message');
  assert.equal(got.length, 0, 'nothing refused reaches the handler');
  assert.equal(a.closed || b.closed, false, 'a refused message does not close the link');
  a.send('ping', {});
  await until(() => got.length === 1, 'a valid frame after the refusals');
});

test('memory link - a frame over the size limit is refused when sending, as on the wire', async () => {
  const { a } = memoryLinkPair({ maxFrameBytes: 64 });
  assert.throws(() => a.send('error', { code: 'x', message: 'y'.repeat(200) }), (e: unknown) => e instanceof FrameError && e.code === 'frame-too-large');
  await assert.rejects(a.request('error', { code: 'x', message: 'y'.repeat(200) }), (e: unknown) => e instanceof FrameError && e.code === 'frame-too-large');
  assert.equal(a.closed, false);
});

test('memory link - an unanswered request times out; its late reply is dropped', async () => {
  const { a, b } = memoryLinkPair();
  const held: ClusterFrame[] = [];
  b.attach((f) => held.push(f));
  await rejectsWith(a.request('ping', {}, 20), 'timeout', /Timeout sending request: ping \(20 ms\)/);
  const late = held[0];
  assert.ok(late);
  b.reply(late, 'pong', {});
  // The next request is answered with its own reply, never with the late one.
  const next = a.request('ping', {}, 60_000);
  await until(() => held.length === 2, 'the second ping');
  const second = held[1];
  assert.ok(second);
  b.reply(second, 'pong', {});
  const answer = await within(next, 'the second pong');
  assert.equal(answer.re, second.id);
});

test('memory link - close: handlers run once on both ends, pending requests fail, sent frames still arrive, further use fails', async () => {
  const { a, b } = memoryLinkPair({ requestTimeoutMs: 60_000 });
  const aReasons: string[] = [];
  const bReasons: string[] = [];
  a.onClose((r) => aReasons.push(r));
  b.onClose((r) => bReasons.push(r));
  const got: string[] = [];
  b.attach((f) => got.push(f.type));
  a.attach(() => undefined);
  const aPending = rejectsWith(a.request('ping', {}), 'link-closed', /going away/);
  const bPending = rejectsWith(b.request('ping', {}), 'link-closed', /connection closed by peer/);
  a.send('bye', { reason: 'going away' });
  a.close('going away');
  assert.equal(a.closed, true);
  assert.deepEqual(aReasons, ['going away'], 'this end closes at once');
  await aPending;
  // The peer reads what was sent before the close, then learns the connection ended.
  await until(() => b.closed, 'the peer closes');
  assert.deepEqual(got, ['ping', 'bye']);
  assert.deepEqual(bReasons, ['connection closed by peer']);
  await bPending;
  a.close('again');
  b.close('again');
  await sleep(10);
  assert.deepEqual([aReasons, bReasons], [['going away'], ['connection closed by peer']], 'handlers ran once');
  const late: string[] = [];
  a.onClose((r) => late.push(r));
  assert.deepEqual(late, ['going away'], 'a handler added after the close runs at once');
  // A send or reply on a closed link is a quiet no-op, as on FramedLink: the keepalives notice the loss.
  assert.doesNotThrow(() => a.send('ping', {}));
  assert.doesNotThrow(() => b.reply({ id: 1 }, 'pong', {}));
  await rejectsWith(a.request('ping', {}), 'link-closed');
  await rejectsWith(a.sendPaced('ping', {}), 'link-closed');
});

test('memory link - what the peer sends before it hears of the close is lost quietly', async () => {
  const { a, b } = memoryLinkPair();
  const got: string[] = [];
  a.attach((f) => got.push(f.type));
  a.close('done');
  assert.equal(b.closed, false, 'the peer has not heard yet');
  assert.doesNotThrow(() => b.send('ping', {}));
  await until(() => b.closed, 'the peer closes');
  assert.deepEqual(got, []);
});

test('memory link - cut: both ends close with the reset, frames in flight are lost', async () => {
  const pair = memoryLinkPair({ requestTimeoutMs: 60_000 });
  const { a, b } = pair;
  const reasons: string[] = [];
  a.onClose((r) => reasons.push(`a: ${r}`));
  b.onClose((r) => reasons.push(`b: ${r}`));
  const got: string[] = [];
  b.attach((f) => got.push(f.type));
  const pending = rejectsWith(a.request('ping', {}), 'link-closed', /cable pulled/);
  a.send('pong', {});
  pair.cut('cable pulled');
  // As on a socket, the error reaches each end on the next tick.
  await until(() => reasons.length === 2, 'both ends closed');
  assert.deepEqual(reasons, ['a: connection error: cable pulled', 'b: connection error: cable pulled']);
  await pending;
  await sleep(10);
  assert.deepEqual(got, [], 'frames in flight are lost');
  assert.doesNotThrow(() => b.send('ping', {}));
  await rejectsWith(b.request('ping', {}), 'link-closed');
});

test('memory link - stall: frames vanish, requests time out, and neither end is told', async () => {
  const pair = memoryLinkPair();
  const { a, b } = pair;
  const got: string[] = [];
  b.attach((f) => { got.push(f.type); if (f.type === 'ping') b.reply(f, 'pong', {}); });
  await within(a.request('ping', {}), 'a pong before the stall');
  pair.stall();
  await rejectsWith(a.request('ping', {}, 30), 'timeout');
  assert.deepEqual(got, ['ping']);
  assert.equal(a.closed || b.closed, false);
  a.close('giving up');
  await sleep(20);
  assert.equal(b.closed, false, 'not even the close reaches the peer');
});

test('memory link - a busy consumer stops the reading, and a paced sender waits for it', async () => {
  const { a, b } = memoryLinkPair({ highWaterBytes: 1 });
  let holding = true;
  const got: number[] = [];
  // The consumer falls behind with the first frame, until the test lets it go.
  b.attach((f) => { if (f.type === 'keepalive') got.push(f.body.sentAt); }, () => holding && got.length > 0);
  a.send('keepalive', { sentAt: 1 });
  a.send('keepalive', { sentAt: 2 });
  let paced = false;
  const sending = a.sendPaced('keepalive', { sentAt: 3 }).then(() => { paced = true; });
  await until(() => got.length === 1, 'the first frame');
  await sleep(50);
  assert.deepEqual(got, [1], 'nothing more is read while the consumer is busy');
  assert.equal(paced, false, 'the paced sender waits for the peer to read');
  holding = false;
  await within(sending, 'the paced send');
  assert.deepEqual(got, [1, 2, 3]);
});
