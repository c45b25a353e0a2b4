/**
 * A throwaway redis-server for integration tests: unix socket only (TCP off, so
 * it never collides with a Redis on 6379), no persistence, own temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export interface RedisServerHandle {
  /** `unix://<socketPath>`, for RedisStatusBus and parseRedisUrl. */
  readonly url: string;
  readonly socketPath: string;
  readonly dir: string;
  /** SIGTERM, then SIGKILL if still running after 3 s. */
  stop(): Promise<void>;
  /** Stops, then starts again on the same socket path. */
  restart(): Promise<void>;
  /** Stops and removes the temp dir if this harness created it. */
  cleanup(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const KILL_AFTER_MS = 3_000;
const MAX_OUTPUT_CHARS = 8_000;

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function startRedisServer(opts: { dir?: string } = {}): Promise<RedisServerHandle> {
  const binary = await findOnPath('redis-server');
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? await fs.mkdtemp(path.join(os.tmpdir(), 'clusterd-redis-'));
  const socketPath = path.join(dir, 'redis.sock');
  const args = ['--port', '0', '--unixsocket', socketPath, '--unixsocketperm', '700',
    '--save', '', '--appendonly', 'no', '--dir', dir];
  let server: RedisProcess | null = null;

  const start = async (): Promise<void> => {
    server = await launch(binary, args, socketPath);
  };
  const stop = async (): Promise<void> => {
    const running = server;
    server = null;
    if (running) await terminate(running.child);
  };
  try {
    await start();
  } catch (err) {
    if (ownDir) await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `unix://${socketPath}`,
    socketPath,
    dir,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    cleanup: async () => {
      await stop();
      if (ownDir) await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

interface RedisProcess {
  child: ChildProcess;
  output: () => string;
}

async function findOnPath(name: string): Promise<string> {
  for (const entry of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (!entry) continue;
    const candidate = path.join(entry, name);
    try {
      await fs.access(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  throw new Error(`${name} not found on PATH`);
}

async function launch(binary: string, args: string[], socketPath: string): Promise<RedisProcess> {
  // A SIGKILLed server leaves its socket file behind.
  await fs.rm(socketPath, { force: true });
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-MAX_OUTPUT_CHARS);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const server: RedisProcess = { child, output: () => output };
  try {
    await waitUntilReady(server, socketPath);
  } catch (err) {
    await terminate(child);
    throw new Error(`redis-server did not start on ${socketPath}: ${messageOf(err)}\n--- output ---\n${output}`);
  }
  return server;
}

async function waitUntilReady(server: RedisProcess, socketPath: string): Promise<void> {
  const exited = once(server.child, 'exit').then(([code, signal]) => {
    throw new Error(`exited early (code ${String(code)}, signal ${String(signal)})`);
  });
  const spawnFailed = once(server.child, 'error').then(([err]) => {
    throw err instanceof Error ? err : new Error(String(err));
  });
  const abort = new AbortController();
  try {
    await Promise.race([pingUntilAnswered(socketPath, abort.signal), exited, spawnFailed]);
  } finally {
    abort.abort();
  }
}

async function pingUntilAnswered(socketPath: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = 'no answer yet';
  while (!signal.aborted) {
    if (Date.now() > deadline) throw new Error(`PING unanswered after ${READY_TIMEOUT_MS} ms (${lastError})`);
    try {
      if (await pingOnce(socketPath) === 'PONG') return;
    } catch (err) {
      lastError = messageOf(err);
    }
    await sleep(50);
  }
}

async function pingOnce(socketPath: string): Promise<string> {
  const client = new Redis({
    path: socketPath,
    lazyConnect: true,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    commandTimeout: 1000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  const gone = child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
  if (gone) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
