/**
 * What the Redis buses share about their connection: one client made the same way
 * (no offline queue, reconnecting with a capped backoff), its state as the cluster
 * logs it ("Redis unavailable …" once when it goes away, "restored" once when it is
 * back), and closing it as a shutdown, not an outage (no handlers left to log it),
 * never waiting long for a quit.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import { parseRedisUrl, redactRedisUrl, type RedisUrlOptions } from './redis-url.js';

const QUIT_TIMEOUT_MS = 1000;
const MAX_BACKOFF_MS = 2_000;

const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export interface RedisLinkOptions {
  /** redis://, rediss:// or unix://; a bad URL throws at construction (a configuration error). */
  url: string;
  /** Already the bus's task logger. */
  log: Logger;
  /** What stops while Redis is away, logged after "Redis unavailable at URL: reason." */
  paused: string;
  /** What starts again, logged after "Redis connection restored at URL." */
  resumed: string;
  /** The bus's own command policy. */
  client: Pick<RedisOptions, 'maxRetriesPerRequest' | 'autoResendUnfulfilledCommands' | 'commandTimeout' | 'connectTimeout'>;
  /** Each time the connection becomes usable. */
  onReady: () => void;
  /** When an outage begins (once, with its warning). */
  onDown?: () => void;
}

export type RedisLinkState = 'unknown' | 'up' | 'down';

/** One bus's Redis connection and its up/down state, each change logged once. */
export class RedisLink {
  readonly safeUrl: string;
  private readonly target: RedisUrlOptions;
  private current: Redis | null = null;
  private state: RedisLinkState = 'unknown';
  /** Last connection error, for callers that need Redis now. */
  lastError = 'not connected yet';

  constructor(private readonly opts: RedisLinkOptions) {
    this.target = parseRedisUrl(opts.url);
    this.safeUrl = redactRedisUrl(opts.url);
  }

  get client(): Redis | null {
    return this.current;
  }

  get connected(): boolean {
    return this.current?.status === 'ready';
  }

  /** The client, made and connecting on first call. */
  connect(): Redis {
    if (this.current) return this.current;
    const client = new Redis({
      ...this.target,
      lazyConnect: true,
      enableOfflineQueue: false,
      ...this.opts.client,
      retryStrategy: (attempt) => Math.min(attempt * 100, MAX_BACKOFF_MS),
    });
    client.on('error', (err: unknown) => {
      this.lastError = reasonOf(err);
      this.markDown(this.lastError);
    });
    client.on('close', () => this.markDown('connection lost'));
    client.on('ready', () => this.opts.onReady());
    // Failures surface through the handlers above; retryStrategy keeps trying.
    client.connect().catch(() => undefined);
    this.current = client;
    return client;
  }

  /** Redis went away: a warning the first time, nothing until it is back. */
  markDown(reason: string): void {
    if (this.state === 'down') return;
    this.state = 'down';
    this.opts.onDown?.();
    this.opts.log.warning(`Redis unavailable at ${this.safeUrl}: ${reason}. ${this.opts.paused}`);
  }

  /**
   * Redis works: "restored" after an outage, a debug line on the first connection,
   * nothing when it already was up. `detail` ends each line (e.g. "; 3 events refilled").
   * Returns the state before.
   */
  markUp(detail: { restored: string; connected: string } = { restored: '', connected: '' }): RedisLinkState {
    const before = this.state;
    if (before === 'up') return before;
    if (before === 'down') this.opts.log.info(`Redis connection restored at ${this.safeUrl}. ${this.opts.resumed}${detail.restored}.`);
    else this.opts.log.debug(`Connected to Redis at ${this.safeUrl}${detail.connected}.`);
    this.state = 'up';
    return before;
  }

  /** Closes the client as a shutdown; a later `connect` makes a new one. */
  async close(): Promise<void> {
    const client = this.current;
    if (!client) return;
    this.current = null;
    await closeQuietly(client);
  }
}

export async function closeQuietly(client: Redis): Promise<void> {
  client.removeAllListeners();
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`quit timed out after ${QUIT_TIMEOUT_MS} ms`)), QUIT_TIMEOUT_MS);
  });
  try {
    await Promise.race([client.quit(), timeout]);
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
