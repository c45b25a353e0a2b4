import assert from 'node:assert/strict';
import test from 'node:test';
import { AGENT_MAX_FRAME, AgentFrameDecoder, AgentFrameError, frameAgentMessage } from '../../../protocols/agent-framing.js';
import { pseudoRandom } from '../../harness/bytes.js';


const payloads = [Buffer.from('a'), pseudoRandom(37, 1), Buffer.from('#!-agent startup {"version":"v4.14.5"}')];
const stream = Buffer.concat(payloads.map(frameAgentMessage));

function header(length: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(length, 0);
  return h;
}

function feed(d: AgentFrameDecoder, chunks: Buffer[]): Buffer[] {
  return chunks.flatMap((c) => d.push(c));
}

function assertFrameError(fn: () => unknown, reason: 'oversized' | 'empty'): void {
  assert.throws(fn, (err: unknown) => err instanceof AgentFrameError && err.reason === reason);
}

test('agent-framing - frame layout: 4-byte little-endian length then the payload', () => {
  const f = frameAgentMessage(Buffer.from('hello'));
  assert.deepEqual(f, Buffer.concat([Buffer.from([5, 0, 0, 0]), Buffer.from('hello')]));
  const big = frameAgentMessage(Buffer.alloc(AGENT_MAX_FRAME, 7));
  assert.equal(big.readUInt32LE(0), AGENT_MAX_FRAME);
  assert.equal(big.length, AGENT_MAX_FRAME + 4);
  assertFrameError(() => frameAgentMessage(Buffer.alloc(AGENT_MAX_FRAME + 1)), 'oversized');
  assertFrameError(() => frameAgentMessage(Buffer.alloc(0)), 'empty');
});

test('agent-framing - whole stream in one chunk, then one byte at a time', () => {
  assert.deepEqual(new AgentFrameDecoder().push(stream), payloads);
  const d = new AgentFrameDecoder();
  const got: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) got.push(...d.push(stream.subarray(i, i + 1)));
  assert.deepEqual(got, payloads);
  assert.equal(d.pending, 0);
});

test('agent-framing - every 2-way split of a 3-frame stream gives the same payloads', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const d = new AgentFrameDecoder();
    assert.deepEqual(feed(d, [stream.subarray(0, cut), stream.subarray(cut)]), payloads, `cut at ${cut}`);
    assert.equal(d.pending, 0);
  }
});

test('agent-framing - every 3-way split, and empty chunks, give the same payloads', () => {
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b++) {
      const d = new AgentFrameDecoder();
      const chunks = [stream.subarray(0, a), Buffer.alloc(0), stream.subarray(a, b), stream.subarray(b)];
      assert.deepEqual(feed(d, chunks), payloads, `cuts at ${a}, ${b}`);
    }
  }
});

test('agent-framing - partial data is kept across pushes and reported as pending', () => {
  const d = new AgentFrameDecoder();
  const f = frameAgentMessage(Buffer.from('0123456789'));
  assert.deepEqual(d.push(f.subarray(0, 2)), []);
  assert.equal(d.pending, 2);
  assert.deepEqual(d.push(f.subarray(2, 9)), []);
  assert.equal(d.pending, 5);
  assert.deepEqual(d.push(Buffer.concat([f.subarray(9), f.subarray(0, 1)])), [Buffer.from('0123456789')]);
  assert.equal(d.pending, 1);
});

test('agent-framing - a max-size frame is accepted and memory stays bounded while it arrives', () => {
  const payload = pseudoRandom(AGENT_MAX_FRAME, 9);
  const f = frameAgentMessage(payload);
  const d = new AgentFrameDecoder();
  let maxPending = 0;
  const got: Buffer[] = [];
  for (let i = 0; i < f.length; i += 1000) {
    got.push(...d.push(f.subarray(i, i + 1000)));
    maxPending = Math.max(maxPending, d.pending);
  }
  assert.equal(got.length, 1);
  assert.ok(got[0]?.equals(payload));
  assert.ok(maxPending <= AGENT_MAX_FRAME + 4);
  // Many frames in one large chunk: all returned, nothing retained.
  const many = Buffer.concat(Array.from({ length: 40 }, () => f));
  const d2 = new AgentFrameDecoder();
  assert.equal(d2.push(many).length, 40);
  assert.equal(d2.pending, 0);
});

test('agent-framing - an oversized length header is refused before any body arrives, and the error sticks', () => {
  const d = new AgentFrameDecoder();
  assert.deepEqual(d.push(frameAgentMessage(Buffer.from('ok'))), [Buffer.from('ok')]);
  assert.deepEqual(d.push(header(AGENT_MAX_FRAME + 1).subarray(0, 3)), []);
  assertFrameError(() => d.push(header(AGENT_MAX_FRAME + 1).subarray(3)), 'oversized');
  assertFrameError(() => d.push(frameAgentMessage(Buffer.from('later'))), 'oversized');
  assertFrameError(() => new AgentFrameDecoder().push(header(0xffffffff)), 'oversized');
});

test('agent-framing - a zero length is refused', () => {
  assertFrameError(() => new AgentFrameDecoder().push(header(0)), 'empty');
  const d = new AgentFrameDecoder();
  assertFrameError(() => d.push(Buffer.concat([frameAgentMessage(Buffer.from('x')), header(0)])), 'empty');
});

test('agent-framing - garbage: an HTTP request and random bytes are refused or stay bounded', () => {
  // 'GET ' read as a little-endian length is about 542 million.
  assertFrameError(() => new AgentFrameDecoder().push(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), 'oversized');
  let refused = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const d = new AgentFrameDecoder();
    const junk = pseudoRandom(4096, seed);
    try {
      const frames = d.push(junk);
      const total = frames.reduce((n, f) => n + 4 + f.length, 0);
      assert.ok(total + d.pending <= junk.length);
      assert.ok(d.pending <= AGENT_MAX_FRAME + 4);
    } catch (err) {
      assert.ok(err instanceof AgentFrameError);
      refused++;
    }
  }
  // A random 32-bit length is almost never <= 65 536.
  assert.ok(refused > 290, `refused ${refused} of 300`);
});
