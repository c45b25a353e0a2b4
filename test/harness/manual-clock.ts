/**
 * A clock tests advance by hand (pass it as `SystemOptions.clock`). Time stands
 * still until `advance`, which fires the timers falling due in time order and lets
 * the actors handle what they were told (nact dispatches on later turns of the
 * event loop) before the next one fires.
 */
import type { Clock, ClockTimer } from '../../runtime/clock.js';

interface Scheduled {
  readonly fn: () => void;
  /** Repeating period, or null for a one-shot timer. */
  readonly every: number | null;
  due: number;
  /** Order of setting (and of re-arming): ties on `due` fire in this order. */
  seq: number;
}

export interface ManualClockOptions {
  /** The time the clock starts at (ms since the epoch). */
  readonly start?: number;
  /** Event-loop turns `flush` lets pass (each one also drains the microtasks). */
  readonly turns?: number;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class ManualClock implements Clock {
  private time: number;
  private readonly turns: number;
  private readonly timers = new Set<Scheduled>();
  private seq = 0;

  constructor(opts: ManualClockOptions = {}) {
    this.time = opts.start ?? Date.UTC(2024, 0, 1);
    this.turns = opts.turns ?? 10;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    return this.schedule(fn, delay(ms, 0), null);
  }

  setInterval(fn: () => void, ms: number): ClockTimer {
    // Like Node, a period under 1 ms is 1 ms (and a zero period cannot loop forever).
    const period = delay(ms, 1);
    return this.schedule(fn, period, period);
  }

  clearTimer(timer: ClockTimer): void {
    this.timers.delete(timer as Scheduled);
  }

  /** Timers set and not yet fired (a repeating one counts until cleared). */
  pending(): number {
    return this.timers.size;
  }

  /** When the next timer falls due, or null if none is set. */
  nextDue(): number | null {
    return this.next()?.due ?? null;
  }

  /** Lets a few turns of the event loop pass, so dispatched messages and promise continuations run. */
  async flush(): Promise<void> {
    for (let i = 0; i < this.turns; i++) await turn();
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way in
   * time order (a repeating one as often as its period fits), with a flush before
   * the first and after each firing. Timers set meanwhile fire too if due in time.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new Error(`cannot advance a clock by ${ms} ms`);
    const target = this.time + ms;
    await this.flush();
    for (let t = this.next(); t && t.due <= target; t = this.next()) {
      this.time = t.due;
      if (t.every === null) {
        this.timers.delete(t);
      } else {
        t.due += t.every;
        t.seq = ++this.seq;
      }
      t.fn();
      await this.flush();
    }
    this.time = target;
  }

  private schedule(fn: () => void, ms: number, every: number | null): ClockTimer {
    const t: Scheduled = { fn, every, due: this.time + ms, seq: ++this.seq };
    this.timers.add(t);
    return t;
  }

  private next(): Scheduled | undefined {
    let best: Scheduled | undefined;
    for (const t of this.timers) if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    return best;
  }
}

function delay(ms: number, min: number): number {
  return Number.isFinite(ms) ? Math.max(min, ms) : min;
}
