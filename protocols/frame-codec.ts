/**
 * Length-prefixed frames. Header: magic byte, format byte, uint32 BE payload length.
 * The declared length is checked against the limit before any payload is buffered,
 * and chunks are joined once per frame (not once per chunk).
 */
import { FrameError } from './errors.js';

export const FRAME_MAGIC = 0xc5;
export const FRAME_FORMAT = 1;
export const FRAME_HEADER_BYTES = 6;

export function encodeFrame(payload: Uint8Array, maxBytes: number): Buffer {
  if (payload.length > maxBytes) {
    throw new FrameError('frame-too-large', `frame of ${payload.length} bytes exceeds the limit of ${maxBytes} bytes`);
  }
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header[0] = FRAME_MAGIC;
  header[1] = FRAME_FORMAT;
  header.writeUInt32BE(payload.length, 2);
  return Buffer.concat([header, payload]);
}

/** Push-style decoder: feed it chunks as they arrive, get whole frame payloads back. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected: number | null = null;

  constructor(private maxBytes: number) {}

  /** Later frames may be this large (a link raises it once the peer has proven itself). */
  setLimit(maxBytes: number): void {
    this.maxBytes = maxBytes;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get pending(): number {
    return this.buffered;
  }

  /** Throws FrameError on a bad header or an oversized declared length; the stream is then unusable. */
  push(chunk: Buffer): Buffer[] {
    this.append(chunk);
    const out: Buffer[] = [];
    for (let p = this.next(); p !== null; p = this.next()) out.push(p);
    return out;
  }

  append(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next whole payload, or null. One at a time, so a frame can change the limit
   * that applies to the frames behind it. Throws as push does.
   */
  next(): Buffer | null {
    if (this.expected === null) {
      if (this.buffered < FRAME_HEADER_BYTES) return null;
      this.expected = this.readHeader();
    }
    if (this.buffered < FRAME_HEADER_BYTES + this.expected) return null;
    const payload = this.take(FRAME_HEADER_BYTES + this.expected).subarray(FRAME_HEADER_BYTES);
    this.expected = null;
    return payload;
  }

  private readHeader(): number {
    const head = this.peek(FRAME_HEADER_BYTES);
    if (head[0] !== FRAME_MAGIC) {
      throw new FrameError('bad-magic', `not a clusterd frame (first byte 0x${(head[0] ?? 0).toString(16).padStart(2, '0')})`);
    }
    if (head[1] !== FRAME_FORMAT) {
      throw new FrameError('bad-format', `unsupported frame format ${head[1] ?? '?'} (this node speaks ${FRAME_FORMAT})`);
    }
    const length = head.readUInt32BE(2);
    if (length > this.maxBytes) {
      throw new FrameError('frame-too-large', `declared frame length ${length} exceeds the limit of ${this.maxBytes} bytes`);
    }
    return length;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined.subarray(0, n);
  }

  private take(n: number): Buffer {
    const joined = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.chunks = joined.length > n ? [joined.subarray(n)] : [];
    this.buffered -= n;
    return joined.subarray(0, n);
  }
}
