/**
 * The logtest session table (A.7): tokens, the per-session lock, LRU eviction above
 * max_sessions and the idle sweep every session_timeout.
 *
 * Times are whole seconds, as analysisd's time(NULL): a session is idle when
 * `now - last_connection >= session_timeout` at a sweep, so it expires between 1x and 2x
 * the timeout after its last use. The table keeps sessions in order of last use; the
 * first is the one evicted (analysisd compares whole seconds and takes any of a tie).
 */
import type { Clock, ClockTimer } from '../clock.js';
import type { ByteString } from '../../protocols/cjson.js';
import type { LogtestSession } from './backend.js';

export interface SessionEntry {
  readonly token: ByteString;
  readonly session: LogtestSession;
  /** Whole seconds since the epoch of the last log_processing that used the token. */
  lastConnection: number;
  /** A request holds the session (analysisd's session mutex). */
  locked: boolean;
  /** Requests waiting for the lock, first come first served. */
  readonly waiters: (() => void)[];
  /** Out of the table (evicted while locked, or the server closed): closed when the lock is released. */
  gone: boolean;
}

export type RemoveOutcome = 'removed' | 'busy' | 'unknown';
export type RemovalCause = 'removed' | 'evicted' | 'expired' | 'closed';

export interface SessionTableOptions {
  readonly maxSessions: number;
  /** Seconds. */
  readonly sessionTimeout: number;
  readonly clock: Clock;
  /** A random unsigned 32-bit integer; tokens are its 8 lowercase hex digits. */
  readonly random32: () => number;
  readonly onRemoved?: (token: ByteString, cause: RemovalCause) => void;
  /** A backend's close threw; the session is gone all the same. */
  readonly onCloseError?: (token: ByteString, err: unknown) => void;
}

export class LogtestSessions {
  /** Insertion order is order of last use: the first entry is the least recently used. */
  private readonly table = new Map<ByteString, SessionEntry>();
  private sweepTimer: ClockTimer | undefined;
  private closed = false;

  constructor(private readonly opts: SessionTableOptions) {}

  get size(): number {
    return this.table.size;
  }

  /** Tokens from least to most recently used. */
  tokens(): ByteString[] {
    return [...this.table.keys()];
  }

  find(token: ByteString): SessionEntry | undefined {
    return this.table.get(token);
  }

  /** Starts the idle sweep; its timer never keeps the process alive. */
  startSweep(): void {
    if (this.sweepTimer !== undefined) return;
    this.sweepTimer = this.opts.clock.setInterval(() => this.sweep(), this.opts.sessionTimeout * 1000);
    (this.sweepTimer as { unref?: () => void }).unref?.();
  }

  private nowSeconds(): number {
    return Math.floor(this.opts.clock.now() / 1000);
  }

  private newToken(): ByteString {
    for (;;) {
      const token = (this.opts.random32() >>> 0).toString(16).padStart(8, '0');
      if (!this.table.has(token)) return token;
    }
  }

  /** Adds a new session, locked for the request that opened it; evicts the least recently used past max_sessions. */
  register(session: LogtestSession): SessionEntry {
    const entry: SessionEntry = { token: this.newToken(), session, lastConnection: this.nowSeconds(), locked: true, waiters: [], gone: false };
    // A request that was opening a session when the server closed: served, then the session closes.
    if (this.closed) {
      entry.gone = true;
      return entry;
    }
    if (this.table.size + 1 > this.opts.maxSessions) {
      const oldest = this.table.values().next().value;
      if (oldest) this.drop(oldest, 'evicted');
    }
    this.table.set(entry.token, entry);
    return entry;
  }

  /** A log_processing used the token: it becomes the most recently used. */
  touch(entry: SessionEntry): void {
    entry.lastConnection = this.nowSeconds();
    if (entry.gone) return;
    this.table.delete(entry.token);
    this.table.set(entry.token, entry);
  }

  lock(entry: SessionEntry): Promise<void> {
    if (!entry.locked) {
      entry.locked = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => entry.waiters.push(resolve));
  }

  unlock(entry: SessionEntry): void {
    const next = entry.waiters.shift();
    if (next) {
      next();
      return;
    }
    entry.locked = false;
    if (entry.gone) this.close(entry);
  }

  /** remove_session: only a session no request holds. */
  remove(token: ByteString): RemoveOutcome {
    const entry = this.table.get(token);
    if (!entry) return 'unknown';
    if (entry.locked) return 'busy';
    this.drop(entry, 'removed');
    return 'removed';
  }

  /** Removes every session idle for at least session_timeout that no request holds. */
  sweep(): void {
    const now = this.nowSeconds();
    for (const entry of [...this.table.values()]) {
      if (now - entry.lastConnection >= this.opts.sessionTimeout && !entry.locked) this.drop(entry, 'expired');
    }
  }

  /** Stops the sweep and drops every session (a held one closes when its request ends). */
  closeAll(): void {
    this.closed = true;
    if (this.sweepTimer !== undefined) this.opts.clock.clearTimer(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const entry of [...this.table.values()]) this.drop(entry, 'closed');
  }

  private drop(entry: SessionEntry, cause: RemovalCause): void {
    this.table.delete(entry.token);
    entry.gone = true;
    if (!entry.locked) this.close(entry);
    this.opts.onRemoved?.(entry.token, cause);
  }

  private close(entry: SessionEntry): void {
    try {
      entry.session.close();
    } catch (err) {
      this.opts.onCloseError?.(entry.token, err);
    }
  }
}
