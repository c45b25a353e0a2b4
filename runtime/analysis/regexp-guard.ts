/**
 * V8 runs a RegExp with a backtracking engine that is exponential on some patterns
 * where PCRE2 is not. With this flag V8 switches a RegExp that backtracks too much to
 * its linear-time engine (which takes every translated PCRE2 pattern without
 * lookaround); results are identical, and normal traffic never pays for it. It must be
 * set before a pattern first runs, and it holds for the whole process and the worker
 * threads it starts later: every ruleset loader sets it.
 */
import v8 from 'node:v8';

let guarded = false;

export function guardRegExpBacktracking(): void {
  if (guarded) return;
  v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  guarded = true;
}
