/**
 * The simulated agent's connection to the manager's agent port: TCP with the 4-byte LE
 * framing or UDP with one datagram per message, behind one small interface so the
 * agent does not care which.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { AgentFrameDecoder, frameAgentMessage } from '../protocols/agent-framing.js';

const CLOSE_GRACE_MS = 2_000;

export interface Link {
  readonly closed: boolean;
  /** One message: one framed write (TCP) or one datagram (UDP). */
  send(msg: Buffer): void;
  /** Lets what was sent go out, then closes. */
  close(): Promise<void>;
  /** Closes at once. */
  destroy(): void;
}

export interface LinkEvents {
  message(msg: Buffer): void;
  error(err: Error): void;
  /** The other side closed (or the socket failed); not called after close()/destroy(). */
  lost(reason: string): void;
}

export function tcpLink(host: string, port: number, ev: LinkEvents, timeoutMs: number): Promise<Link> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const decoder = new AgentFrameDecoder();
    let connected = false;
    let closed = false;
    const link: Link = {
      get closed() { return closed; },
      send(msg) {
        if (!closed) socket.write(frameAgentMessage(msg));
      },
      close() {
        if (closed) return Promise.resolve();
        closed = true;
        return new Promise<void>((done) => {
          const t = setTimeout(() => { socket.destroy(); done(); }, CLOSE_GRACE_MS);
          socket.once('close', () => { clearTimeout(t); done(); });
          socket.end();
        });
      },
      destroy() {
        closed = true;
        socket.destroy();
      },
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`cannot connect to ${host}:${port}/tcp within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      connected = true;
      socket.setNoDelay(true);
      resolve(link);
    });
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        ev.error(err as Error);
        if (!closed) {
          closed = true;
          socket.destroy();
          ev.lost(`bad frame from the server: ${err instanceof Error ? err.message : String(err)}`);
        }
        return;
      }
      for (const f of frames) ev.message(f);
    });
    socket.on('error', (err) => {
      if (!connected) {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${host}:${port}/tcp: ${err.message}`));
      } else if (!closed) {
        ev.error(err);
      }
    });
    socket.on('close', () => {
      if (connected && !closed) {
        closed = true;
        ev.lost('connection closed by the server');
      }
    });
  });
}

export function udpLink(host: string, port: number, ev: LinkEvents, timeoutMs: number): Promise<Link> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    let connected = false;
    let closed = false;
    let inFlight = 0;
    let drained: (() => void) | null = null;
    const shut = (): void => {
      try {
        socket.close();
      } catch {
        // already closed
      }
    };
    const link: Link = {
      get closed() { return closed; },
      send(msg) {
        if (closed) return;
        inFlight++;
        socket.send(msg, (err) => {
          inFlight--;
          if (err && !closed) ev.error(err);
          if (inFlight === 0) drained?.();
        });
      },
      close() {
        if (closed) return Promise.resolve();
        closed = true;
        return new Promise<void>((done) => {
          const finish = (): void => { clearTimeout(t); drained = null; shut(); done(); };
          const t = setTimeout(finish, CLOSE_GRACE_MS);
          if (inFlight === 0) finish();
          else drained = finish;
        });
      },
      destroy() {
        if (closed) return;
        closed = true;
        shut();
      },
    };
    const timer = setTimeout(() => {
      shut();
      reject(new Error(`cannot reach ${host}:${port}/udp within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('message', (msg) => {
      if (!closed) ev.message(msg);
    });
    socket.on('error', (err) => {
      if (!connected) {
        clearTimeout(timer);
        shut();
        reject(new Error(`cannot reach ${host}:${port}/udp: ${err.message}`));
      } else if (!closed) {
        ev.error(err);
      }
    });
    socket.connect(port, host, () => {
      clearTimeout(timer);
      connected = true;
      resolve(link);
    });
  });
}
