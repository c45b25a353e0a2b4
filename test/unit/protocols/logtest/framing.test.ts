import assert from 'node:assert/strict';
import test from 'node:test';
import { LOGTEST_MAX_REQUEST, LogtestFrameReader, frameLogtest } from '../../../../protocols/logtest/framing.js';

test('logtest framing - a 4-byte little-endian length, then the payload', () => {
  assert.deepEqual(frameLogtest(Buffer.from('{}')), Buffer.from([2, 0, 0, 0, 0x7b, 0x7d]));
  assert.equal(frameLogtest(Buffer.alloc(70_000)).readUInt32LE(0), 70_000, 'replies have no limit');
});

test('logtest framing - the reader assembles a frame from any split and ignores what follows', () => {
  const frame = Buffer.concat([frameLogtest(Buffer.from('{"command":"x"}')), Buffer.from('trailing')]);
  for (let cut = 0; cut <= frame.length; cut++) {
    const reader = new LogtestFrameReader();
    const first = reader.push(frame.subarray(0, cut));
    const second = reader.push(frame.subarray(cut));
    const done = first.kind === 'frame' ? first : second;
    assert.equal(done.kind, 'frame', `cut at ${cut}`);
    assert.equal(done.kind === 'frame' ? done.body.toString() : '', '{"command":"x"}');
  }
  const byByte = new LogtestFrameReader();
  let last = byByte.push(Buffer.alloc(0));
  for (const b of frameLogtest(Buffer.from('abc'))) last = byByte.push(Buffer.from([b]));
  assert.deepEqual(last, { kind: 'frame', body: Buffer.from('abc') });
});

test('logtest framing - a header above the limit stops the reader at once; the limit itself is a frame', () => {
  const over = new LogtestFrameReader();
  const h = Buffer.alloc(4);
  h.writeUInt32LE(LOGTEST_MAX_REQUEST + 1);
  assert.deepEqual(over.push(h.subarray(0, 3)), { kind: 'incomplete' });
  assert.deepEqual(over.push(h.subarray(3)), { kind: 'too-large', length: LOGTEST_MAX_REQUEST + 1 });
  assert.deepEqual(over.push(Buffer.from('more')), { kind: 'too-large', length: LOGTEST_MAX_REQUEST + 1 });
  assert.equal(over.received, 4, 'nothing after the header is held');
  const at = new LogtestFrameReader();
  const frame = frameLogtest(Buffer.alloc(LOGTEST_MAX_REQUEST, 0x20));
  assert.equal(at.push(frame).kind, 'frame');
  assert.deepEqual(new LogtestFrameReader().push(Buffer.alloc(4)), { kind: 'frame', body: Buffer.alloc(0) });
  assert.equal(new LogtestFrameReader(10).push(frameLogtest(Buffer.alloc(11))).kind, 'too-large');
});
