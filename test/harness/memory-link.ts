/**
 * An in-memory cluster link pair for tests that run master and worker actor trees in
 * one process (like moleculer's fake transporter; a fixture the node never imports).
 *
 * Each end is the runtime's own FramedLink over an in-memory socket, so everything
 * FramedLink does holds here by construction: frames are encoded and size-checked,
 * decoded and validated by the cluster schemas at the receiver (a body the wire would
 * refuse is refused here too, and a refused request is answered with an `error`),
 * requests are correlated and time out, `send` and `reply` on a closed link are quiet
 * no-ops, close runs the handlers once, and `busy()` pauses reading.
 *
 * The socket pair delivers asynchronously (never inside `send`), in order, and holds
 * a writer back once the reader has `highWaterBytes` unread, as a socket does. An end
 * that ends or is destroyed lets the peer see 'connection closed by peer' after it
 * read what was sent. For the test: `cut(reason)` is a connection reset (both ends
 * close now with `connection error: <reason>`, frames in flight are lost), and
 * `stall()` a connection that dies without a word (frames and closes vanish: only a
 * heartbeat can notice).
 */
import { Duplex } from 'node:stream';
import { FrameDecoder } from '../../protocols/frame-codec.js';
import type { FrameError } from '../../protocols/errors.js';
import { decodePayload } from '../../protocols/envelope.js';
import { ClusterCatalogue, CLUSTER_MAX_FRAME_BYTES, type ClusterBodies, type ClusterFrame, type ClusterType } from '../../protocols/cluster-messages.js';
import { FramedLink } from '../../runtime/transport/framed-link.js';

export type End = 'a' | 'b';

export interface MemoryLinkOptions {
  /** Default timeout of `request`. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Largest frame either end sends or accepts. Default CLUSTER_MAX_FRAME_BYTES. */
  readonly maxFrameBytes?: number;
  /** Unread bytes at a receiver above which its writer is held back (`sendPaced` waits). Default 16 KiB. */
  readonly highWaterBytes?: number;
  /** `remoteAddress` of end a (where b is) and of end b (where a is). */
  readonly addresses?: { readonly a?: string; readonly b?: string };
  /** Told about frames an end refused (codec or schema). */
  readonly onProtocolError?: (end: End, err: FrameError) => void;
}

/** One frame that passed the cluster schemas on its way to the other end. */
export interface TracedFrame {
  readonly from: End;
  readonly frame: ClusterFrame;
}

/** A FramedLink end that also remembers why it closed. */
export class MemoryLink extends FramedLink<ClusterBodies> {
  closeReason: string | null = null;
}

export interface MemoryLinkPair {
  readonly a: MemoryLink;
  readonly b: MemoryLink;
  /** Every frame that passed validation, in the order it was delivered. */
  readonly trace: TracedFrame[];
  /** A lost connection (reset): both ends close now with `connection error: <reason>`; frames in flight are lost. */
  cut(reason?: string): void;
  /** A connection that dies silently: from now on frames (and a close) vanish both ways and neither end is told. */
  stall(): void;
}

interface Wire {
  stalled: boolean;
  readonly trace: TracedFrame[];
}

/** One end of an in-memory stream socket; what it writes, its peer reads. */
class MemorySocket extends Duplex {
  peer!: MemorySocket;
  /** A write waiting for this socket's reader to take more. */
  private held: (() => void) | null = null;
  private peerEnded = false;
  private readonly tracer: FrameDecoder;

  constructor(readonly from: End, readonly remoteAddress: string, private readonly wire: Wire, highWaterBytes: number, maxFrameBytes: number) {
    super({ readableHighWaterMark: highWaterBytes, writableHighWaterMark: highWaterBytes });
    this.tracer = new FrameDecoder(maxFrameBytes);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.wire.stalled) {
      done();
      return;
    }
    // Delivered on a later turn, in order: a receiver never runs inside its sender's call.
    setImmediate(() => {
      if (this.wire.stalled || this.peer.destroyed) {
        done();
        return;
      }
      this.traceFrames(chunk);
      if (this.peer.push(chunk)) done();
      else this.peer.held = done;
    });
  }

  override _read(): void {
    const held = this.held;
    this.held = null;
    held?.();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.endPeer();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.endPeer();
    this.held = null;
    done(err);
  }

  /** The peer reads end-of-stream after what was already sent: once, and never on a stalled wire. */
  private endPeer(): void {
    if (this.wire.stalled || this.peerEnded) return;
    this.peerEnded = true;
    setImmediate(() => {
      if (!this.wire.stalled && !this.peer.destroyed) this.peer.push(null);
    });
  }

  private traceFrames(chunk: Buffer): void {
    try {
      this.tracer.append(chunk);
      for (let payload = this.tracer.next(); payload !== null; payload = this.tracer.next()) {
        try {
          this.wire.trace.push({ from: this.from, frame: ClusterCatalogue.parse(decodePayload(payload)) });
        } catch {
          // Refused by the schemas: the receiving FramedLink reports it.
        }
      }
    } catch {
      // Not a frame stream: the receiving FramedLink closes on it.
    }
  }
}

/** Two joined ends: whatever `a` sends, `b` receives, and back. */
export function memoryLinkPair(options: MemoryLinkOptions = {}): MemoryLinkPair {
  const wire: Wire = { stalled: false, trace: [] };
  const maxFrameBytes = options.maxFrameBytes ?? CLUSTER_MAX_FRAME_BYTES;
  const highWater = options.highWaterBytes ?? DEFAULT_HIGH_WATER;
  const sa = new MemorySocket('a', options.addresses?.a ?? '127.0.0.2', wire, highWater, maxFrameBytes);
  const sb = new MemorySocket('b', options.addresses?.b ?? '127.0.0.1', wire, highWater, maxFrameBytes);
  sa.peer = sb;
  sb.peer = sa;
  const end = (name: End, socket: MemorySocket): MemoryLink => {
    const onError = options.onProtocolError;
    const link = new MemoryLink(socket, {
      catalogue: ClusterCatalogue,
      maxFrameBytes,
      requestTimeoutMs: options.requestTimeoutMs ?? 5000,
      ...(onError ? { onProtocolError: (err: FrameError) => onError(name, err) } : {}),
    });
    link.onClose((reason) => { link.closeReason = reason; });
    return link;
  };
  return {
    a: end('a', sa),
    b: end('b', sb),
    trace: wire.trace,
    // Both sockets fail at once, as on a reset: neither end reads the other's close first.
    cut: (reason = 'read ECONNRESET') => {
      sa.destroy(new Error(reason));
      sb.destroy(new Error(reason));
    },
    stall: () => {
      wire.stalled = true;
    },
  };
}

const DEFAULT_HIGH_WATER = 16 * 1024;

/** The frames of one type in a trace, typed. */
export function framesOf<T extends ClusterType>(trace: readonly TracedFrame[], type: T, from?: End): Extract<ClusterFrame, { type: T }>[] {
  return trace
    .filter((t) => t.frame.type === type && (from === undefined || t.from === from))
    .map((t) => t.frame as Extract<ClusterFrame, { type: T }>);
}
