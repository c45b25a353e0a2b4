/**
 * One logtest request over the socket, as wazuh-logtest and the framework send it: a new
 * connection, the framed request, the framed reply, close.
 */
import net from 'node:net';
import { LogtestFrameReader, frameLogtest } from '../../protocols/logtest/framing.js';

/** Replies are unbounded in the protocol; past this a client gives up rather than run out of memory. */
export const LOGTEST_CLIENT_MAX_REPLY = 256 * 1024 * 1024;

export class LogtestConnectionError extends Error {
  constructor(readonly socketPath: string, cause: string) {
    super(`no logtest reply on ${socketPath}: ${cause}`);
    this.name = 'LogtestConnectionError';
  }
}

/** Sends `payload` and resolves with the reply's payload; rejects with LogtestConnectionError otherwise. */
export function logtestRequest(socketPath: string, payload: Uint8Array, timeoutMs = 60_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const reader = new LogtestFrameReader(LOGTEST_CLIENT_MAX_REPLY);
    let settled = false;
    const finish = (err: Error | null, reply?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply as Buffer);
    };
    const timer = setTimeout(() => finish(new LogtestConnectionError(socketPath, `timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => socket.write(frameLogtest(payload)));
    socket.on('data', (chunk: Buffer) => {
      const progress = reader.push(chunk);
      if (progress.kind === 'frame') finish(null, progress.body);
      else if (progress.kind === 'too-large') finish(new LogtestConnectionError(socketPath, `reply of ${progress.length} bytes`));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(new LogtestConnectionError(socketPath, err.code ?? err.message)));
    socket.on('close', () => finish(new LogtestConnectionError(socketPath, 'closed without a reply')));
  });
}
