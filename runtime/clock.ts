/**
 * Where the actor kit reads time and sets its timers. The system clock is the
 * default; tests pass a clock they advance by hand (test/harness/manual-clock.ts).
 */

/** An opaque handle to a timer set on a Clock; only the clock that set it can clear it. */
export type ClockTimer = object;

export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now(): number;
  /** Calls `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): ClockTimer;
  /** Calls `fn` every `ms` until cleared. */
  setInterval(fn: () => void, ms: number): ClockTimer;
  /** Clears a one-shot or repeating timer; clearing it twice, or after it fired, does nothing. */
  clearTimer(timer: ClockTimer): void;
}

/** The real clock: Date.now and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** Resolves after `ms` on `clock`. */
export function sleepOn(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => { clock.setTimeout(resolve, ms); });
}
