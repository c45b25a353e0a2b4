import assert from 'node:assert/strict';
import test from 'node:test';
import { encodePayload, decodePayload } from '../../../protocols/envelope.js';
import { FrameError } from '../../../protocols/errors.js';
import { msgpackShapeProblem } from '../../../protocols/msgpack-shape.js';

const limits = { maxDepth: 32 };

test('msgpack-shape - every kind of plain value our encoder writes passes', () => {
  const values: unknown[] = [
    null, true, false, 0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32, 2 ** 40, -1, -33, -129, -40_000, -(2 ** 33), 1.5, Math.PI,
    '', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(300), 'x'.repeat(70_000),
    new Uint8Array(0), new Uint8Array(300), new Uint8Array(70_000),
    [], [1, [2, [3, []]]], Array.from({ length: 70_000 }, (_, i) => i),
    {}, { a: 1, b: { c: [null, 'd'] } }, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
    { present: 1, absent: undefined },
  ];
  for (const value of values) {
    const payload = encodePayload(value);
    assert.equal(msgpackShapeProblem(payload, limits), null, `refused ${JSON.stringify(value)?.slice(0, 60)}`);
  }
});

test('msgpack-shape - containers nested past the limit are refused before decoding (fuzz case)', () => {
  // test/fuzz (cluster-envelope, seed 3, case 21853): 10 MB of one-item arrays inside one another took 1.5 s to decode.
  const depth = 5_000_000;
  const payload = Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0xc0])]);
  assert.match(msgpackShapeProblem(payload, limits) ?? '', /nested deeper than 32 at byte 32/);
  const err = (() => { try { decodePayload(payload); } catch (e) { return e; } return null; })();
  assert.ok(err instanceof FrameError && err.code === 'undecodable');
  assert.equal(msgpackShapeProblem(Buffer.concat([Buffer.alloc(32, 0x91), Buffer.from([0xc0])]), limits), null);
});

test('msgpack-shape - a count larger than the bytes that follow is refused', () => {
  const array32 = Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0]);
  assert.match(msgpackShapeProblem(array32, limits) ?? '', /declares 4294967295 items but only 2 bytes follow/);
  const map16 = Buffer.from([0xde, 0x00, 0x02, 0xa1, 0x61, 0x01]);
  assert.match(msgpackShapeProblem(map16, limits) ?? '', /declares 4 items but only 3 bytes follow/);
});

test('msgpack-shape - extension types are refused: decoding yields plain data only', () => {
  assert.match(msgpackShapeProblem(encodePayload({ when: new Date(0) }), limits) ?? '', /extension type/);
  for (const header of [0xc7, 0xc8, 0xc9, 0xd5, 0xd6, 0xd7, 0xd8]) {
    assert.match(msgpackShapeProblem(Buffer.from([header, 0x01, 0x01, 0x01, 0x01, 0x01]), limits) ?? '', /extension type/, `0x${header.toString(16)}`);
  }
  assert.match(msgpackShapeProblem(Buffer.from([0xd4, 0x05, 0x00]), limits) ?? '', /extension type/);
  assert.match(msgpackShapeProblem(Buffer.from([0xc1]), limits) ?? '', /reserved byte 0xc1/);
});

test('msgpack-shape - truncated values and trailing bytes are refused', () => {
  assert.match(msgpackShapeProblem(Buffer.alloc(0), limits) ?? '', /truncated at byte 0/);
  assert.match(msgpackShapeProblem(Buffer.from([0xcb, 0, 0]), limits) ?? '', /truncated at byte 0/);
  assert.match(msgpackShapeProblem(Buffer.from([0xdb, 0, 0]), limits) ?? '', /truncated length at byte 0/);
  assert.match(msgpackShapeProblem(Buffer.from([0xa5, 0x61]), limits) ?? '', /truncated at byte 0/);
  assert.match(msgpackShapeProblem(Buffer.from([0x92, 0x01]), limits) ?? '', /declares 2 items but only 1 bytes follow/);
  assert.match(msgpackShapeProblem(Buffer.from([0x92, 0xa3, 0x61]), limits) ?? '', /truncated at byte 1/);
  assert.match(msgpackShapeProblem(Buffer.from([0x01, 0x02, 0x03]), limits) ?? '', /2 bytes after the value/);
});
