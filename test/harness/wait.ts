/**
 * Waiting in tests without timing assertions: a bound that only turns a hang into a
 * failure, and a poll for a condition.
 */

/** Generous upper bound, only to turn a hang into a failure. */
export const HANG_MS = 15_000;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function within<T>(p: Promise<T>, what: string, ms = HANG_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} not within ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

export async function until(cond: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > HANG_MS) throw new Error(`hang: ${what}`);
    await sleep(5);
  }
}
