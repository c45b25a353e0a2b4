/**
 * The logtest socket's framing (A.1): a 4-byte little-endian payload length, then the
 * payload (unformatted JSON). Requests are limited to 65,535 bytes; replies are not.
 */

export const LOGTEST_HEADER_BYTES = 4;
/** OS_MAXSTR - 1: a header announcing more is answered with error 5, body unread. */
export const LOGTEST_MAX_REQUEST = 65_535;

export function frameLogtest(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(LOGTEST_HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.set(payload, LOGTEST_HEADER_BYTES);
  return out;
}

export type FrameProgress =
  | { readonly kind: 'incomplete' }
  /** The header announced more than the reader's limit; nothing after it is read. */
  | { readonly kind: 'too-large'; readonly length: number }
  | { readonly kind: 'frame'; readonly body: Buffer };

/**
 * Collects one frame from socket chunks. Holds at most the header plus `limit` bytes;
 * bytes after the frame are ignored (one message per connection).
 */
export class LogtestFrameReader {
  private readonly header = Buffer.alloc(LOGTEST_HEADER_BYTES);
  private headerFill = 0;
  private body: Buffer | null = null;
  private bodyFill = 0;
  private done: FrameProgress = { kind: 'incomplete' };

  constructor(private readonly limit: number = LOGTEST_MAX_REQUEST) {}

  /** Bytes received so far toward the frame. */
  get received(): number {
    return this.headerFill + this.bodyFill;
  }

  push(chunk: Uint8Array): FrameProgress {
    if (this.done.kind !== 'incomplete') return this.done;
    let at = 0;
    if (this.body === null) {
      const take = Math.min(LOGTEST_HEADER_BYTES - this.headerFill, chunk.length);
      this.header.set(chunk.subarray(0, take), this.headerFill);
      this.headerFill += take;
      at = take;
      if (this.headerFill < LOGTEST_HEADER_BYTES) return this.done;
      const length = this.header.readUInt32LE(0);
      if (length > this.limit) return (this.done = { kind: 'too-large', length });
      this.body = Buffer.allocUnsafe(length);
    }
    const take = Math.min(this.body.length - this.bodyFill, chunk.length - at);
    this.body.set(chunk.subarray(at, at + take), this.bodyFill);
    this.bodyFill += take;
    if (this.bodyFill === this.body.length) this.done = { kind: 'frame', body: this.body };
    return this.done;
  }
}
