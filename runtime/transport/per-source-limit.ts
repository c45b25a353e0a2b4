/**
 * How many connections one source address may hold while they have not yet proven
 * themselves (still in a handshake, or before an agent's first message). Counting
 * only those lets a load balancer carry thousands of working agents from one address
 * while one address still cannot fill a listener with idle or trickling sockets.
 */

import type { Logger } from '../logger.js';

/** Warnings about refusals from one source, at most this often. */
export const REFUSAL_WARNING_EVERY_MS = 10_000;

export class PerSourceLimit {
  private readonly held = new Map<string, number>();

  /** `limit` 0: no limit. */
  constructor(readonly limit: number) {}

  /** Takes a place for `source`; false when it already holds `limit`. */
  enter(source: string): boolean {
    const n = this.held.get(source) ?? 0;
    if (this.limit > 0 && n >= this.limit) return false;
    this.held.set(source, n + 1);
    return true;
  }

  /** Gives back a place taken by enter (once per successful enter). */
  leave(source: string): void {
    const n = this.held.get(source) ?? 0;
    if (n <= 1) this.held.delete(source);
    else this.held.set(source, n - 1);
  }

  holding(source: string): number {
    return this.held.get(source) ?? 0;
  }
}

/**
 * Decides which refusals become warnings: the first from a source, then one per
 * interval carrying how many were refused meanwhile, so a flood cannot flood the log.
 */
export class RefusalWarnings {
  private readonly last = new Map<string, { at: number; since: number }>();

  constructor(private readonly everyMs = REFUSAL_WARNING_EVERY_MS, private readonly maxSources = 10_000) {}

  /** null: stay quiet; a number: warn now, that many were refused quietly since the last warning. */
  refused(source: string, now: number): number | null {
    const seen = this.last.get(source);
    if (seen && now - seen.at < this.everyMs) {
      seen.since += 1;
      return null;
    }
    // Many spoofed-looking sources must not grow this without bound.
    if (!seen && this.last.size >= this.maxSources) this.last.clear();
    this.last.set(source, { at: now, since: 0 });
    return seen?.since ?? 0;
  }

  /** Logs a refusal (`text` without its final period): at `level` when the interval allows, else at debug. */
  report(log: Logger, level: 'warning' | 'error', source: string, text: string): void {
    const quiet = this.refused(source, Date.now());
    if (quiet === null) log.debug(`${text}.`);
    else log[level](`${text}${quiet > 0 ? ` (${quiet} more refused since the last report)` : ''}.`);
  }
}
