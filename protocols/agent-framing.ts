/**
 * TCP framing between agents and the manager (§4.1 of the agent protocol): a
 * 4-byte little-endian length, then that many payload bytes, no terminator.
 * A length above OS_MAXSTR (65 536) is corruption and the connection is closed.
 */

export const AGENT_MAX_FRAME = 65_536;
export const AGENT_FRAME_HEADER_BYTES = 4;

export type AgentFrameErrorReason = 'oversized' | 'empty';

export class AgentFrameError extends Error {
  constructor(readonly reason: AgentFrameErrorReason, message?: string) {
    super(message ?? (reason === 'oversized' ? `agent frame longer than ${AGENT_MAX_FRAME} bytes` : 'empty agent frame'));
    this.name = 'AgentFrameError';
  }
}

function checkLength(length: number): void {
  if (length > AGENT_MAX_FRAME) {
    throw new AgentFrameError('oversized', `agent frame of ${length} bytes exceeds the limit of ${AGENT_MAX_FRAME} bytes`);
  }
  if (length === 0) throw new AgentFrameError('empty');
}

/**
 * One frame, to be written with a single socket write. Throws AgentFrameError for an
 * empty or oversized payload (the decoder on the other side would refuse it).
 */
export function frameAgentMessage(payload: Buffer): Buffer {
  checkLength(payload.length);
  const out = Buffer.allocUnsafe(AGENT_FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  payload.copy(out, AGENT_FRAME_HEADER_BYTES);
  return out;
}

/**
 * Push-style decoder. Frames wholly inside one chunk come back as views of that
 * chunk (no copy); a frame split across chunks is assembled in a buffer of exactly
 * its declared length, so at most 4 + AGENT_MAX_FRAME bytes are ever held.
 * After an AgentFrameError the decoder is unusable: every later push throws it again.
 */
export class AgentFrameDecoder {
  private readonly head = Buffer.alloc(AGENT_FRAME_HEADER_BYTES);
  private headFill = 0;
  private body: Buffer | null = null;
  private bodyFill = 0;
  private failure: AgentFrameError | null = null;

  /** Bytes held while waiting for the rest of a frame. */
  get pending(): number {
    return this.headFill + this.bodyFill;
  }

  push(chunk: Buffer): Buffer[] {
    if (this.failure) throw this.failure;
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.body === null) {
        let length: number;
        if (this.headFill === 0 && chunk.length - pos >= AGENT_FRAME_HEADER_BYTES) {
          length = chunk.readUInt32LE(pos);
          pos += AGENT_FRAME_HEADER_BYTES;
        } else {
          const n = Math.min(AGENT_FRAME_HEADER_BYTES - this.headFill, chunk.length - pos);
          chunk.copy(this.head, this.headFill, pos, pos + n);
          this.headFill += n;
          pos += n;
          if (this.headFill < AGENT_FRAME_HEADER_BYTES) break;
          length = this.head.readUInt32LE(0);
          this.headFill = 0;
        }
        this.acceptLength(length);
        if (chunk.length - pos >= length) {
          out.push(chunk.subarray(pos, pos + length));
          pos += length;
          continue;
        }
        this.body = Buffer.allocUnsafe(length);
        this.bodyFill = 0;
      }
      const n = Math.min(this.body.length - this.bodyFill, chunk.length - pos);
      chunk.copy(this.body, this.bodyFill, pos, pos + n);
      this.bodyFill += n;
      pos += n;
      if (this.bodyFill === this.body.length) {
        out.push(this.body);
        this.body = null;
        this.bodyFill = 0;
      }
    }
    return out;
  }

  private acceptLength(length: number): void {
    try {
      checkLength(length);
    } catch (err) {
      this.failure = err as AgentFrameError;
      this.headFill = 0;
      this.body = null;
      this.bodyFill = 0;
      throw err;
    }
  }
}
