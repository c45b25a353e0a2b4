/**
 * Waiting in tests without timing assertions: a bound that only turns a hang into a
 * failure, a poll for a condition, and a wait for a request's refusal.
 */
import assert from 'node:assert/strict';
import { RequestError } from '../../protocols/errors.js';

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

/** Awaits `p`, which must reject with a RequestError of `code` (and that message, when given); returns it. */
export async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp | string): Promise<RequestError> {
  let caught: unknown;
  try {
    await within(p, `rejection '${code}'`);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof RequestError, `expected a RequestError '${code}', got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else if (message) assert.match(caught.message, message);
  return caught;
}
