/**
 * Two PeerLink ends joined in memory, so master and worker actor trees can talk in one
 * process without sockets. A test fixture: the core never imports it.
 *
 * It keeps FramedLink's semantics (runtime/transport/framed-link.ts):
 * - every frame goes through the wire's path: envelope → msgpack → length-prefixed frame
 *   (the size limit is checked when sending), then frame decoder → msgpack decode →
 *   ClusterCatalogue schema check on the receiving end. A body the wire would refuse is
 *   refused here too: the receiver reports it (`onProtocolError`) and answers an `error`
 *   frame to its id, so a request fails fast with the schema's reason;
 * - frames arrive asynchronously (never inside `send`), in order, one direction
 *   independent of the other;
 * - `send` and `reply` on a link that knows it is closed do nothing, and `sendPaced`
 *   and `request` reject RequestError 'link-closed', as FramedLink does; frames sent
 *   towards an end that has closed but before this end has heard of it are lost
 *   quietly, as on a socket;
 * - ids count up from 1 per end; a frame with `re` settles the request with that id (an
 *   `error` reply rejects it with its code), a late or unknown reply is dropped;
 * - requests time out with RequestError 'timeout', and those pending at close are
 *   rejected with 'link-closed';
 * - `close(reason)` runs this end's onClose handlers with `reason`; the frames it sent
 *   before still reach the peer, which then closes with 'connection closed by peer'.
 *   onClose handlers run once; one added after the close runs at once;
 * - frames that arrive before `attach` wait for it; while `busy()` is true the receiving
 *   end stops reading (polled every 10 ms) and the sender's queue grows;
 * - `sendPaced` resolves once the frame is sent and the queue towards the peer is under
 *   the high-water mark; otherwise when the peer has read it all (a socket's 'drain').
 *
 * For the test: `cut(reason)` is a connection reset (both ends close at once with
 * `connection error: <reason>`, frames in flight are lost), and `stall()` is a
 * connection that dies without a word (frames and closes vanish, no end is told: only a
 * heartbeat can notice).
 */
import { FrameDecoder, encodeFrame } from '../../protocols/frame-codec.js';
import { FrameError, RequestError } from '../../protocols/errors.js';
import { decodePayload, encodePayload, envelope } from '../../protocols/envelope.js';
import {
  ClusterCatalogue, CLUSTER_MAX_FRAME_BYTES, type ClusterBodies, type ClusterBody, type ClusterFrame, type ClusterType,
} from '../../protocols/cluster-messages.js';
import type { PeerLink } from '../../actors/ports.js';

export type End = 'a' | 'b';

export interface MemoryLinkOptions {
  /** Default timeout of `request` (FramedLink's requestTimeoutMs). Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Largest frame either end sends or accepts. Default CLUSTER_MAX_FRAME_BYTES. */
  readonly maxFrameBytes?: number;
  /** Bytes queued towards a peer above which `send` reports a full buffer and `sendPaced` waits. Default 16 KiB (a socket's). */
  readonly highWaterBytes?: number;
  /** `remoteAddress` of end a (where b is) and of end b (where a is). */
  readonly addresses?: { readonly a?: string; readonly b?: string };
  /** Told about frames an end refused (codec or schema), as FramedLink's option. */
  readonly onProtocolError?: (end: End, err: FrameError) => void;
}

/** One frame as the receiving end decoded and validated it. */
export interface TracedFrame {
  readonly from: End;
  readonly frame: ClusterFrame;
}

export interface MemoryLinkPair {
  readonly a: MemoryLink;
  readonly b: MemoryLink;
  /** Every frame that passed validation at its receiver, in delivery order. */
  readonly trace: TracedFrame[];
  /** A lost connection (reset): both ends close now with `connection error: <reason>`; frames in flight are lost. */
  cut(reason?: string): void;
  /** A connection that dies silently: from now on frames (and a close) vanish both ways and neither end is told. */
  stall(): void;
}

interface Pending {
  resolve(frame: ClusterFrame): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const MAX_ID = 0xffff_ffff;
const BACKPRESSURE_POLL_MS = 10;
const DEFAULT_HIGH_WATER = 16 * 1024;

interface Shared {
  readonly opts: Required<Omit<MemoryLinkOptions, 'addresses' | 'onProtocolError'>> & Pick<MemoryLinkOptions, 'onProtocolError'>;
  readonly trace: TracedFrame[];
  stalled: boolean;
}

export class MemoryLink implements PeerLink {
  private peer!: MemoryLink;
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  private readonly queued: ClusterFrame[] = [];
  /** Encoded frames sent by the peer, not yet read by this end. */
  private readonly inbox: Buffer[] = [];
  private inboxBytes = 0;
  /** The peer closed after sending what is in the inbox: once it is read, this end closes too. */
  private peerEnded = false;
  private pumpScheduled = false;
  private paused = false;
  /** This end's sendPaced calls waiting for the peer to read its inbox. */
  private drainWaiters: { resolve(): void; reject(err: Error): void }[] = [];
  private handler: ((frame: ClusterFrame) => void) | undefined;
  private busy: (() => boolean) | undefined;
  private closeHandlers: ((reason: string) => void)[] = [];
  private nextId = 1;
  private closedReason: string | null = null;

  /** @internal use memoryLinkPair() */
  constructor(readonly name: End, readonly remoteAddress: string, private readonly shared: Shared) {
    this.decoder = new FrameDecoder(shared.opts.maxFrameBytes);
  }

  /** @internal */
  join(peer: MemoryLink): void {
    this.peer = peer;
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** Why this end closed, or null while open. */
  get closeReason(): string | null {
    return this.closedReason;
  }

  send<T extends ClusterType>(type: T, body: ClusterBody<T>): number {
    const id = this.allocateId();
    this.write(envelope<ClusterBodies, T>(type, id, body));
    return id;
  }

  async sendPaced<T extends ClusterType>(type: T, body: ClusterBody<T>): Promise<void> {
    if (this.closedReason !== null) throw new RequestError('link-closed', `link closed: ${this.closedReason}`);
    if (this.write(envelope<ClusterBodies, T>(type, this.allocateId(), body))) return;
    await new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  reply<T extends ClusterType>(to: { readonly id: number }, type: T, body: ClusterBody<T>): void {
    this.write(envelope<ClusterBodies, T>(type, this.allocateId(), body, to.id));
  }

  request<T extends ClusterType>(type: T, body: ClusterBody<T>, timeoutMs = this.shared.opts.requestTimeoutMs): Promise<ClusterFrame> {
    if (this.closedReason !== null) return Promise.reject(new RequestError('link-closed', `link closed: ${this.closedReason}`));
    const id = this.allocateId();
    return new Promise<ClusterFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError('timeout', `Timeout sending request: ${type} (${timeoutMs} ms)`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      try {
        this.write(envelope<ClusterBodies, T>(type, id, body));
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  attach(handler: (frame: ClusterFrame) => void, busy?: () => boolean): void {
    this.handler = handler;
    this.busy = busy;
    for (const f of this.queued.splice(0)) handler(f);
    this.checkBackpressure();
  }

  onClose(handler: (reason: string) => void): void {
    if (this.closedReason !== null) handler(this.closedReason);
    else this.closeHandlers.push(handler);
  }

  /** Closes this end; what it already sent still reaches the peer, which then closes with 'connection closed by peer'. */
  close(reason: string): void {
    if (this.closedReason !== null) return;
    this.peer.endFromPeer();
    this.shutdown(reason);
  }

  /** @internal The connection is gone at once (pair.cut). */
  reset(reason: string): void {
    this.inbox.length = 0;
    this.inboxBytes = 0;
    this.shutdown(reason);
  }

  /** Returns false when the peer's queue is over the high-water mark (the caller may wait for it to drain). */
  private write(frame: ClusterFrame): boolean {
    if (this.closedReason !== null) return false;
    const bytes = encodeFrame(encodePayload(frame), this.shared.opts.maxFrameBytes);
    return this.peer.receive(bytes);
  }

  /** Bytes from the peer's socket: queued, read later. */
  private receive(bytes: Buffer): boolean {
    // Written into a connection this end has left (or one that died silently): lost, nobody is told.
    if (this.closedReason !== null || this.peerEnded || this.shared.stalled) return true;
    this.inbox.push(bytes);
    this.inboxBytes += bytes.length;
    this.schedulePump();
    return this.inboxBytes < this.shared.opts.highWaterBytes;
  }

  private endFromPeer(): void {
    // A connection that died silently carries no close either.
    if (this.closedReason !== null || this.shared.stalled) return;
    this.peerEnded = true;
    this.schedulePump();
  }

  private allocateId(): number {
    const id = this.nextId;
    this.nextId = id >= MAX_ID ? 1 : id + 1;
    return id;
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Reads the inbox one chunk (= one frame) at a time, as long as the consumer keeps up. */
  private pump(): void {
    while (this.closedReason === null && !this.paused) {
      const chunk = this.inbox.shift();
      if (!chunk) break;
      this.inboxBytes -= chunk.length;
      this.onData(chunk);
    }
    if (this.closedReason !== null) return;
    if (this.inbox.length === 0) {
      this.peer.drained();
      if (this.peerEnded) this.shutdown('connection closed by peer');
    }
  }

  /** The peer has read everything this end sent: paced senders go on. */
  private drained(): void {
    for (const w of this.drainWaiters.splice(0)) w.resolve();
  }

  private onData(chunk: Buffer): void {
    this.decoder.append(chunk);
    for (;;) {
      let payload: Buffer | null;
      try {
        payload = this.decoder.next();
      } catch (err) {
        this.refuse(err as FrameError, true);
        return;
      }
      if (payload === null) break;
      this.onPayload(payload);
      if (this.closedReason !== null) return;
    }
    this.checkBackpressure();
  }

  private onPayload(payload: Buffer): void {
    let frame: ClusterFrame;
    try {
      frame = ClusterCatalogue.parse(decodePayload(payload));
    } catch (err) {
      const fe = err as FrameError;
      this.refuse(fe, fe.code === 'undecodable');
      return;
    }
    this.shared.trace.push({ from: this.peer.name, frame });
    if (frame.re !== undefined) this.settle(frame);
    else this.deliver(frame);
  }

  private settle(frame: ClusterFrame): void {
    const p = frame.re === undefined ? undefined : this.pending.get(frame.re);
    if (!p) return;
    this.pending.delete(frame.re as number);
    clearTimeout(p.timer);
    if (frame.type === 'error') p.reject(new RequestError(frame.body.code, frame.body.message));
    else p.resolve(frame);
  }

  private deliver(frame: ClusterFrame): void {
    if (this.handler) this.handler(frame);
    else this.queued.push(frame);
  }

  private refuse(err: FrameError, fatal: boolean): void {
    this.shared.opts.onProtocolError?.(this.name, err);
    if (fatal) {
      this.close(err.message);
      return;
    }
    if (err.frameId !== undefined) {
      this.write(envelope<ClusterBodies, 'error'>('error', this.allocateId(), { code: err.code, message: err.message.slice(0, 4000) }, err.frameId));
    }
  }

  private checkBackpressure(): void {
    if (!this.busy || this.paused || !this.busy()) return;
    this.paused = true;
    const poll = setInterval(() => {
      if (this.closedReason !== null || !this.busy?.()) {
        clearInterval(poll);
        this.paused = false;
        if (this.closedReason === null) this.schedulePump();
      }
    }, BACKPRESSURE_POLL_MS);
  }

  private shutdown(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RequestError('link-closed', `link closed: ${reason}`));
      this.pending.delete(id);
    }
    for (const w of this.drainWaiters.splice(0)) w.reject(new RequestError('link-closed', `link closed: ${reason}`));
    // What the peer sent and this end never read is gone; the peer's paced senders are not held by it.
    this.inbox.length = 0;
    this.inboxBytes = 0;
    this.peer.drained();
    for (const h of this.closeHandlers.splice(0)) h(reason);
  }
}

/** Two joined ends: whatever `a` sends, `b` receives, and back. */
export function memoryLinkPair(options: MemoryLinkOptions = {}): MemoryLinkPair {
  const shared: Shared = {
    opts: {
      requestTimeoutMs: options.requestTimeoutMs ?? 5000,
      maxFrameBytes: options.maxFrameBytes ?? CLUSTER_MAX_FRAME_BYTES,
      highWaterBytes: options.highWaterBytes ?? DEFAULT_HIGH_WATER,
      ...(options.onProtocolError ? { onProtocolError: options.onProtocolError } : {}),
    },
    trace: [],
    stalled: false,
  };
  const a = new MemoryLink('a', options.addresses?.a ?? '127.0.0.2', shared);
  const b = new MemoryLink('b', options.addresses?.b ?? '127.0.0.1', shared);
  a.join(b);
  b.join(a);
  return {
    a,
    b,
    trace: shared.trace,
    cut: (reason = 'read ECONNRESET') => {
      a.reset(`connection error: ${reason}`);
      b.reset(`connection error: ${reason}`);
    },
    stall: () => {
      shared.stalled = true;
    },
  };
}

/** The frames of one type in a trace, typed. */
export function framesOf<T extends ClusterType>(trace: readonly TracedFrame[], type: T, from?: End): Extract<ClusterFrame, { type: T }>[] {
  return trace
    .filter((t) => t.frame.type === type && (from === undefined || t.from === from))
    .map((t) => t.frame as Extract<ClusterFrame, { type: T }>);
}
