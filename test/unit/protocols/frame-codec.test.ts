import assert from 'node:assert/strict';
import test from 'node:test';
import { FrameError } from '../../../protocols/errors.js';
import { FRAME_FORMAT, FRAME_HEADER_BYTES, FRAME_MAGIC, FrameDecoder, encodeFrame } from '../../../protocols/frame-codec.js';

const LIMIT = 1024;

function payloads(): Buffer[] {
  return [
    Buffer.from('first frame'),
    Buffer.alloc(0),
    Buffer.from([0x00, 0xc5, 0x01, 0xff, 0x00, 0x00, 0x00, 0x10]), // bytes that look like a header
    Buffer.from('x'.repeat(40)),
  ];
}

function stream(ps: Buffer[]): Buffer {
  return Buffer.concat(ps.map((p) => encodeFrame(p, LIMIT)));
}

function header(length: number, magic = FRAME_MAGIC, format = FRAME_FORMAT): Buffer {
  const h = Buffer.alloc(FRAME_HEADER_BYTES);
  h[0] = magic;
  h[1] = format;
  h.writeUInt32BE(length, 2);
  return h;
}

function decodeChunks(chunks: Buffer[]): Buffer[] {
  const d = new FrameDecoder(LIMIT);
  const out: Buffer[] = [];
  for (const c of chunks) out.push(...d.push(c));
  assert.equal(d.pending, 0);
  return out;
}

function assertFrameError(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FrameError, `expected a FrameError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

test('frame-codec - encodes the 6-byte header: magic, format, uint32 BE length', () => {
  const f = encodeFrame(Buffer.from('abc'), LIMIT);
  assert.equal(f.length, FRAME_HEADER_BYTES + 3);
  assert.equal(f[0], FRAME_MAGIC);
  assert.equal(f[1], FRAME_FORMAT);
  assert.equal(f.readUInt32BE(2), 3);
  assert.equal(f.subarray(FRAME_HEADER_BYTES).toString(), 'abc');
});

test('frame-codec - round trip of one frame', () => {
  const payload = Buffer.from('hello, cluster');
  const d = new FrameDecoder(LIMIT);
  const out = d.push(encodeFrame(payload, LIMIT));
  assert.equal(out.length, 1);
  assert.deepEqual(out[0], payload);
  assert.equal(d.pending, 0);
});

test('frame-codec - several frames in one chunk', () => {
  const ps = payloads();
  const d = new FrameDecoder(LIMIT);
  assert.deepEqual(d.push(stream(ps)), ps);
  assert.equal(d.pending, 0);
});

test('frame-codec - empty payload', () => {
  const f = encodeFrame(Buffer.alloc(0), LIMIT);
  assert.equal(f.length, FRAME_HEADER_BYTES);
  const d = new FrameDecoder(LIMIT);
  const out = d.push(f);
  assert.equal(out.length, 1);
  assert.equal(out[0]?.length, 0);
  assert.equal(d.pending, 0);
});

test('frame-codec - splits at every byte: one byte at a time', () => {
  const ps = payloads();
  const buf = stream(ps);
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) chunks.push(buf.subarray(i, i + 1));
  assert.deepEqual(decodeChunks(chunks), ps);
});

test('frame-codec - splits at every byte: every single split point of a multi-frame buffer', () => {
  const ps = payloads();
  const buf = stream(ps);
  for (let i = 0; i <= buf.length; i++) {
    assert.deepEqual(decodeChunks([buf.subarray(0, i), buf.subarray(i)]), ps, `split at ${i}`);
  }
});

test('frame-codec - splits at every byte: every pair of split points', () => {
  const ps = payloads();
  const buf = stream(ps);
  for (let i = 0; i <= buf.length; i++) {
    for (let j = i; j <= buf.length; j++) {
      assert.deepEqual(decodeChunks([buf.subarray(0, i), buf.subarray(i, j), buf.subarray(j)]), ps, `split at ${i}, ${j}`);
    }
  }
});

test('frame-codec - a frame exactly at the limit is accepted', () => {
  const payload = Buffer.alloc(LIMIT, 7);
  const f = encodeFrame(payload, LIMIT);
  const d = new FrameDecoder(LIMIT);
  const out = d.push(f);
  assert.equal(out.length, 1);
  assert.deepEqual(out[0], payload);
});

test('frame-codec - limit+1 is refused from the header alone, before the payload arrives', () => {
  const d = new FrameDecoder(LIMIT);
  assertFrameError(() => d.push(header(LIMIT + 1)), 'frame-too-large');
});

test('frame-codec - a header declaring 2 GB is refused without any payload bytes', () => {
  const d = new FrameDecoder(16 * 1024 * 1024);
  assertFrameError(() => d.push(header(2 * 1024 * 1024 * 1024)), 'frame-too-large');
  const d2 = new FrameDecoder(16 * 1024 * 1024);
  assertFrameError(() => d2.push(header(0xffff_ffff)), 'frame-too-large');
});

test('frame-codec - an oversized header split over several chunks is refused once complete', () => {
  const d = new FrameDecoder(LIMIT);
  const h = header(LIMIT + 1);
  assert.deepEqual(d.push(h.subarray(0, 3)), []);
  assertFrameError(() => d.push(h.subarray(3)), 'frame-too-large');
});

test('frame-codec - encodeFrame refuses an oversized payload', () => {
  assertFrameError(() => encodeFrame(Buffer.alloc(LIMIT + 1), LIMIT), 'frame-too-large');
  assert.equal(encodeFrame(Buffer.alloc(LIMIT), LIMIT).length, LIMIT + FRAME_HEADER_BYTES);
});

test('frame-codec - garbage such as an HTTP request is refused as bad-magic', () => {
  const d = new FrameDecoder(LIMIT);
  assertFrameError(() => d.push(Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n')), 'bad-magic');
});

test('frame-codec - bad magic after a valid frame is refused', () => {
  const d = new FrameDecoder(LIMIT);
  const ok = encodeFrame(Buffer.from('ok'), LIMIT);
  assertFrameError(() => d.push(Buffer.concat([ok, header(1, 0x00)])), 'bad-magic');
});

test('frame-codec - bad format byte is refused as bad-format', () => {
  const d = new FrameDecoder(LIMIT);
  assertFrameError(() => d.push(Buffer.concat([header(2, FRAME_MAGIC, 2), Buffer.from('ab')])), 'bad-format');
  const d0 = new FrameDecoder(LIMIT);
  assertFrameError(() => d0.push(header(0, FRAME_MAGIC, 0)), 'bad-format');
});

test('frame-codec - a truncated frame yields nothing and pending reports the buffered bytes', () => {
  const f = encodeFrame(Buffer.from('0123456789'), LIMIT);
  const d = new FrameDecoder(LIMIT);
  assert.equal(d.pending, 0);
  assert.deepEqual(d.push(f.subarray(0, 3)), []);
  assert.equal(d.pending, 3);
  assert.deepEqual(d.push(f.subarray(3, 10)), []);
  assert.equal(d.pending, 10);
  const out = d.push(f.subarray(10));
  assert.equal(out.length, 1);
  assert.equal(out[0]?.toString(), '0123456789');
  assert.equal(d.pending, 0);
});

test('frame-codec - pending counts the partial tail after whole frames', () => {
  const a = encodeFrame(Buffer.from('a'), LIMIT);
  const b = encodeFrame(Buffer.from('bbbb'), LIMIT);
  const d = new FrameDecoder(LIMIT);
  const out = d.push(Buffer.concat([a, b.subarray(0, 7)]));
  assert.deepEqual(out, [Buffer.from('a')]);
  assert.equal(d.pending, 7);
});
