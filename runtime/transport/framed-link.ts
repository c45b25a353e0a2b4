/**
 * A framed, validated message link over one stream socket (TCP, TLS or Unix).
 * It owns the socket: decoding, schema checks, request/reply correlation with
 * timeouts, inbound backpressure and close. Its users see only validated frames.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { FrameDecoder, encodeFrame } from '../../protocols/frame-codec.js';
import { FrameError, RequestError } from '../../protocols/errors.js';
import {
  decodePayload, encodePayload, envelope,
  type Bodies, type BodyOf, type Catalogue, type FrameOf, type MessageType,
} from '../../protocols/envelope.js';

export interface FramedLinkOptions<B extends Bodies> {
  readonly catalogue: Catalogue<B>;
  readonly maxFrameBytes: number;
  /**
   * Until the handshake ends, frames from the peer may be at most this large: an
   * unproven peer must not make the node buffer and decode megabytes.
   */
  readonly handshake?: {
    readonly maxFrameBytes: number;
    /** The message that ends it when received (a worker's 'welcome'); otherwise endHandshake() does. */
    readonly endsWith?: MessageType<B>;
  };
  readonly requestTimeoutMs: number;
  /** Told about frames refused by the codec or a schema (the link closes on codec errors). */
  readonly onProtocolError?: (err: FrameError) => void;
}

interface Pending<B extends Bodies> {
  resolve(frame: FrameOf<B>): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const MAX_ID = 0xffff_ffff;
const BACKPRESSURE_POLL_MS = 10;

export class FramedLink<B extends Bodies> {
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending<B>>();
  private readonly queued: FrameOf<B>[] = [];
  private waiter: ((frame: FrameOf<B> | null) => void) | undefined;
  private handler: ((frame: FrameOf<B>) => void) | undefined;
  private busy: (() => boolean) | undefined;
  private closeHandlers: ((reason: string) => void)[] = [];
  private nextId = 1;
  private closedReason: string | null = null;
  private paused = false;
  readonly remoteAddress: string;
  readonly localAddress: string;

  constructor(private readonly socket: Duplex & { remoteAddress?: string | undefined; localAddress?: string | undefined }, private readonly opts: FramedLinkOptions<B>) {
    this.decoder = new FrameDecoder(opts.handshake?.maxFrameBytes ?? opts.maxFrameBytes);
    this.remoteAddress = socket.remoteAddress?.replace(/^::ffff:/, '') ?? 'local';
    this.localAddress = socket.localAddress?.replace(/^::ffff:/, '') ?? 'local';
    // Frames are whole messages: Nagle would hold a reply behind an unacknowledged push for a delayed ACK (~40 ms).
    if (socket instanceof net.Socket) socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) => this.shutdown(`connection error: ${err.message}`));
    socket.on('close', () => this.shutdown('connection closed by peer'));
    socket.on('end', () => this.shutdown('connection closed by peer'));
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** The peer has proven itself: its frames may now be as large as the protocol's limit. */
  endHandshake(): void {
    this.decoder.setLimit(this.opts.maxFrameBytes);
  }

  /** Sends a message that expects no reply; returns its id. */
  send<T extends MessageType<B>>(type: T, body: BodyOf<B, T>): number {
    const id = this.allocateId();
    this.write(envelope<B, T>(type, id, body));
    return id;
  }

  /**
   * Sends and waits until the socket can take more, so a bulk sender (file streams)
   * runs at the pace of the network and the peer instead of filling memory.
   */
  async sendPaced<T extends MessageType<B>>(type: T, body: BodyOf<B, T>): Promise<void> {
    if (this.write(envelope<B, T>(type, this.allocateId(), body))) return;
    await new Promise<void>((resolve, reject) => {
      const onDrain = (): void => { cleanup(); resolve(); };
      const onClose = (): void => { cleanup(); reject(new RequestError('link-closed', `link closed: ${this.closedReason ?? 'unknown'}`)); };
      const cleanup = (): void => { this.socket.off('drain', onDrain); this.socket.off('close', onClose); };
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
      if (this.closedReason !== null) onClose();
    });
  }

  reply<T extends MessageType<B>>(to: { readonly id: number }, type: T, body: BodyOf<B, T>): void {
    this.write(envelope<B, T>(type, this.allocateId(), body, to.id));
  }

  /** Sends a request and resolves with the reply frame; an `error` reply or a timeout rejects. */
  request<T extends MessageType<B>>(type: T, body: BodyOf<B, T>, timeoutMs = this.opts.requestTimeoutMs): Promise<FrameOf<B>> {
    if (this.closedReason !== null) return Promise.reject(new RequestError('link-closed', `link closed: ${this.closedReason}`));
    const id = this.allocateId();
    return new Promise<FrameOf<B>>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A late reply finds no entry and is dropped, never taken for a new request.
        this.pending.delete(id);
        reject(new RequestError('timeout', `Timeout sending request: ${type} (${timeoutMs} ms)`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      try {
        this.write(envelope<B, T>(type, id, body));
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** The next frame that is not a reply, for step-by-step protocols such as the handshake. */
  nextFrame(timeoutMs: number): Promise<FrameOf<B>> {
    const ready = this.queued.shift();
    if (ready) return Promise.resolve(ready);
    if (this.closedReason !== null) return Promise.reject(new RequestError('link-closed', `link closed: ${this.closedReason}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new RequestError('timeout', `no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (frame) => {
        clearTimeout(timer);
        this.waiter = undefined;
        if (frame) resolve(frame);
        else reject(new RequestError('link-closed', `link closed: ${this.closedReason ?? 'unknown'}`));
      };
    });
  }

  /**
   * Routes every later non-reply frame to `handler`. While `busy()` is true the
   * socket is paused, so a slow consumer holds the peer back instead of queuing.
   */
  attach(handler: (frame: FrameOf<B>) => void, busy?: () => boolean): void {
    this.handler = handler;
    this.busy = busy;
    for (const f of this.queued.splice(0)) handler(f);
    this.checkBackpressure();
  }

  onClose(handler: (reason: string) => void): void {
    if (this.closedReason !== null) handler(this.closedReason);
    else this.closeHandlers.push(handler);
  }

  close(reason: string): void {
    if (this.closedReason !== null) return;
    this.socket.end();
    // A peer that never reads must not keep the socket half-open.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.shutdown(reason);
  }

  /**
   * Returns false when the socket's buffer is full (the caller may wait for 'drain').
   * On a closed link it writes nothing: a send or reply there is a quiet no-op (the
   * keepalives notice the loss), so an answer that is ready after its link went away
   * never crashes its sender. A request or paced send still rejects.
   */
  private write(frame: FrameOf<B>): boolean {
    if (this.closedReason !== null) return false;
    return this.socket.write(encodeFrame(encodePayload(frame), this.opts.maxFrameBytes));
  }

  private allocateId(): number {
    const id = this.nextId;
    this.nextId = id >= MAX_ID ? 1 : id + 1;
    return id;
  }

  private onData(chunk: Buffer): void {
    if (this.closedReason !== null) return;
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
    let frame: FrameOf<B>;
    try {
      frame = this.opts.catalogue.parse(decodePayload(payload));
    } catch (err) {
      const fe = err as FrameError;
      // Bytes that are not msgpack mean the stream is not ours; a bad message is answered and skipped.
      this.refuse(fe, fe.code === 'undecodable');
      return;
    }
    // Lifted here, not when the handshake reads it: frames right behind it may share this chunk.
    if (frame.type === this.opts.handshake?.endsWith) this.endHandshake();
    // Replies settle their request; a late one (after its timeout) is dropped.
    if (frame.re !== undefined) this.settle(frame);
    else this.deliver(frame);
  }

  private settle(frame: FrameOf<B>): void {
    const p = frame.re === undefined ? undefined : this.pending.get(frame.re);
    if (!p) return;
    this.pending.delete(frame.re as number);
    clearTimeout(p.timer);
    if (frame.type === 'error') {
      const body = frame.body as { code?: string; message?: string };
      p.reject(new RequestError(body.code ?? 'error', body.message ?? 'error reply'));
    } else {
      p.resolve(frame);
    }
  }

  private deliver(frame: FrameOf<B>): void {
    if (this.waiter) this.waiter(frame);
    else if (this.handler) this.handler(frame);
    else this.queued.push(frame);
  }

  private refuse(err: FrameError, fatal: boolean): void {
    this.opts.onProtocolError?.(err);
    if (fatal) {
      this.close(err.message);
      return;
    }
    // Answer a refused request so the peer fails fast instead of waiting for its timeout.
    if (err.frameId !== undefined && this.opts.catalogue.has('error')) {
      const body = { code: err.code, message: err.message.slice(0, 4000) } as BodyOf<B, MessageType<B>>;
      this.write(envelope<B, MessageType<B>>('error' as MessageType<B>, this.allocateId(), body, err.frameId));
    }
  }

  private checkBackpressure(): void {
    if (!this.busy || this.paused || !this.busy()) return;
    this.paused = true;
    this.socket.pause();
    const poll = setInterval(() => {
      if (this.closedReason !== null || !this.busy?.()) {
        clearInterval(poll);
        this.paused = false;
        if (this.closedReason === null) this.socket.resume();
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
    this.waiter?.(null);
    // After our own end() the socket still flushes what was written (a reject, a bye);
    // close() set a backstop that destroys it if the peer never reads.
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.destroy();
    for (const h of this.closeHandlers.splice(0)) h(reason);
  }
}
