#!/usr/bin/env node
/**
 * The long fuzz run: every decoder target (or one), for N minutes, in worker threads
 * under a watchdog (test/fuzz/targets.ts). Progress goes to stderr every 10 s; the last
 * line on stdout is `{"cases":…,"crashes":…,"casesPerSecond":…,"seed":…}`.
 *
 * A crash (an exception that is not the decoder's documented error, a broken invariant,
 * a case over --hang-ms, a case that exhausts the worker's heap) is written to
 * fuzz-crashes/<target>-<n>.txt with its input in hex and its stack, and the run goes on;
 * the exit code is 1 if there was any. The same bug is written at most --keep times.
 *
 *   node dist/scripts/fuzz.js [--minutes 10] [--seed S] [--target NAME] [--jobs J]
 *   node dist/scripts/fuzz.js --target NAME --seed S --case I      # replays one case
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { hashSeed } from '../test/fuzz/generators.js';
import {
  CI_PROFILE, LONG_PROFILE, TARGETS, crashSignature, inputFor, runCase, runJob, targetNamed,
  type CrashReport, type FuzzInput, type FuzzProfile, type JobFigures,
} from '../test/fuzz/targets.js';

const PROGRESS_EVERY_MS = 10_000;
/** Case indices of the parts of one target split over several workers. */
const PART_STRIDE = 1_000_000_000;

const argv = await yargs(hideBin(process.argv))
  .scriptName('fuzz')
  .usage('$0 [--minutes N] [--seed S] [--target NAME] [--jobs J] | --target NAME --seed S --case I')
  .option('minutes', { type: 'number', default: 10, describe: 'How long to run (wall clock)' })
  .option('seed', { type: 'number', describe: 'PRNG seed (default: random, printed)' })
  .option('target', { type: 'string', describe: `One of: ${TARGETS.map((t) => t.name).join(', ')} (default: all)` })
  .option('jobs', { type: 'number', default: os.availableParallelism(), describe: 'Worker threads at once' })
  .option('profile', { choices: ['long', 'ci'] as const, default: 'long' as const, describe: 'How huge "huge" values get' })
  .option('hang-ms', { type: 'number', default: 1000, describe: 'A case slower than this is a crash (hang)' })
  .option('kill-ms', { type: 'number', default: 10_000, describe: 'A case still running after this is killed' })
  .option('max-heap-mb', { type: 'number', default: 1024, describe: 'Worker heap: a case needing more is a crash (memory)' })
  .option('out', { type: 'string', default: 'fuzz-crashes', describe: 'Where crash files go' })
  .option('keep', { type: 'number', default: 3, describe: 'Crash files per distinct crash' })
  .option('case', { type: 'number', describe: 'Replay this case index of --target under --seed, and exit' })
  .strict()
  .parseAsync();

const seed = (argv.seed ?? hashSeed(Date.now(), process.pid)) >>> 0;
const profile: FuzzProfile = argv.profile === 'ci' ? CI_PROFILE : LONG_PROFILE;
const log = (line: string): void => { process.stderr.write(`[fuzz] ${line}\n`); };

/** Inputs up to this size are written in hex into the crash file; bigger ones go to a .bin file next to it. */
const HEX_LIMIT_BYTES = 8 * 1024 * 1024;

function describeInput(input: FuzzInput, binFile?: string): string[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf16le') : input;
  const kind = typeof input === 'string' ? `text (${input.length} UTF-16 code units, hex of UTF-16LE)` : `bytes (${input.length})`;
  const lines = [`input-kind: ${kind}`];
  if (bytes.length <= HEX_LIMIT_BYTES || !binFile) lines.push(`input-hex: ${bytes.subarray(0, HEX_LIMIT_BYTES).toString('hex')}`);
  else {
    fs.writeFileSync(binFile, bytes);
    lines.push(`input-file: ${binFile} (raw; too big for hex here)`);
  }
  if (typeof input === 'string') lines.push(`input-json: ${JSON.stringify(input.length > 4096 ? `${input.slice(0, 4096)}…` : input)}`);
  return lines;
}

if (argv.case !== undefined) {
  if (!argv.target) {
    log('--case needs --target and --seed');
    process.exit(2);
  }
  const target = targetNamed(argv.target);
  const input = inputFor(target, seed, argv.case, profile);
  const outcome = runCase(target, input, argv['hang-ms']);
  for (const line of describeInput(input.slice(0, 4096))) log(line.length > 400 ? `${line.slice(0, 400)}…` : line);
  if (!outcome.ok) log(outcome.error.stack ?? outcome.error.message);
  process.stdout.write(`${JSON.stringify({ target: target.name, seed, case: argv.case, ok: outcome.ok, ms: Math.round(outcome.ms), ...(outcome.ok ? {} : { kind: outcome.kind, message: outcome.error.message }) })}\n`);
  process.exit(outcome.ok ? 0 : 1);
}

const targets = argv.target ? [targetNamed(argv.target)] : [...TARGETS];
const jobs = Math.max(1, Math.floor(argv.jobs));
const totalMs = Math.max(1, argv.minutes * 60_000);

interface Unit { readonly target: string; readonly part: number; readonly budgetMs: number }
// Fewer targets than workers: each target is split into parts over disjoint case ranges.
// More: targets take turns, each with an equal share of the worker time.
const units: Unit[] = targets.length < jobs
  ? targets.flatMap((t) => Array.from({ length: Math.ceil(jobs / targets.length) }, (_, part) => ({ target: t.name, part, budgetMs: totalMs })))
  : targets.map((t) => ({ target: t.name, part: 0, budgetMs: (totalMs * jobs) / targets.length }));

const started = Date.now();
const running = new Map<string, JobFigures>();
const finished: JobFigures[] = [];
const signatures = new Map<string, number>();
const perTarget = new Map<string, number>();
let crashes = 0;

log(`seed ${seed}, ${targets.length} target(s), ${jobs} worker(s), ${argv.minutes} min, profile ${argv.profile}, crash files in ${argv.out}/`);

function writeCrash(c: CrashReport): void {
  try {
    recordCrash(c);
  } catch (err) {
    log(`could not record a crash of ${c.target} case ${c.index}: ${(err as Error).message}`);
  }
}

function recordCrash(c: CrashReport): void {
  crashes++;
  const sig = crashSignature(c);
  const seen = (signatures.get(sig) ?? 0) + 1;
  signatures.set(sig, seen);
  if (seen === 1) log(`CRASH ${c.target} case ${c.index} (${c.kind}): ${c.message.slice(0, 200)}`);
  if (seen > argv.keep) return;
  const n = (perTarget.get(c.target) ?? 0) + 1;
  perTarget.set(c.target, n);
  fs.mkdirSync(argv.out, { recursive: true });
  const file = path.join(argv.out, `${c.target}-${n}.txt`);
  const text = [
    `target: ${c.target}`,
    `seed: ${c.seed}`,
    `case: ${c.index}`,
    `kind: ${c.kind}`,
    `ms: ${Math.round(c.ms)}`,
    `message: ${c.message}`,
    `replay: node dist/scripts/fuzz.js --profile ${argv.profile} --target ${c.target} --seed ${c.seed} --case ${c.index}`,
    ...describeInput(c.input, path.join(argv.out, `${c.target}-${n}.bin`)),
    'stack:',
    c.stack,
    '',
  ].join('\n');
  fs.writeFileSync(file, text);
}

const totals = (): { cases: number; busyMs: number } => {
  let cases = 0;
  let busyMs = 0;
  for (const f of [...finished, ...running.values()]) {
    cases += f.cases;
    busyMs += f.busyMs;
  }
  return { cases, busyMs };
};

const progress = setInterval(() => {
  const { cases } = totals();
  const s = (Date.now() - started) / 1000;
  const now = [...running.values()].map((f) => `${f.target} ${f.cases}`).join(', ');
  log(`${s.toFixed(0)} s: ${cases} cases (${Math.round(cases / s)}/s), ${crashes} crash(es)${now ? `; running: ${now}` : ''}`);
}, PROGRESS_EVERY_MS);

const queue = [...units];
async function lane(): Promise<void> {
  for (let unit = queue.shift(); unit; unit = queue.shift()) {
    const key = `${unit.target}#${unit.part}`;
    const figures = await runJob({
      target: unit.target,
      seed,
      from: unit.part * PART_STRIDE,
      to: Number.POSITIVE_INFINITY,
      deadline: Math.min(Date.now() + unit.budgetMs, started + totalMs + 1000),
      profile,
      hangMs: argv['hang-ms'],
      killMs: argv['kill-ms'],
      maxHeapMb: argv['max-heap-mb'],
      checkEvery: 1000,
    }, {
      onCrash: writeCrash,
      onProgress: (f) => running.set(key, f),
    });
    running.delete(key);
    finished.push(figures);
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, units.length) }, () => lane()));
clearInterval(progress);

const byTarget = new Map<string, { cases: number; wallMs: number; busyMs: number; slowestMs: number; slowestIndex: number; crashes: number }>();
for (const f of finished) {
  const t = byTarget.get(f.target) ?? { cases: 0, wallMs: 0, busyMs: 0, slowestMs: 0, slowestIndex: -1, crashes: 0 };
  t.cases += f.cases;
  t.wallMs += f.wallMs;
  t.busyMs += f.busyMs;
  if (f.slowestMs > t.slowestMs) {
    t.slowestMs = f.slowestMs;
    t.slowestIndex = f.slowestIndex;
  }
  t.crashes += f.crashes;
  byTarget.set(f.target, t);
}
for (const [name, t] of byTarget) {
  // Per worker: generating a case counts (wall time of the worker), and so does the decoder alone (in run()).
  const perSecond = (ms: number): number => Math.round((t.cases / Math.max(ms, 1)) * 1000);
  log(`${name}: ${t.cases} cases, ${perSecond(t.wallMs)} cases/s per worker (${perSecond(t.busyMs)}/s inside the decoder), slowest ${t.slowestMs.toFixed(0)} ms (case ${t.slowestIndex}), ${t.crashes} crash(es)`);
}
const { cases } = totals();
const seconds = (Date.now() - started) / 1000;
if (signatures.size > 0) log(`${signatures.size} distinct crash(es); files in ${argv.out}/`);
process.stdout.write(`${JSON.stringify({ cases, crashes, casesPerSecond: Math.round(cases / seconds), seed })}\n`);
process.exit(crashes > 0 ? 1 : 0);
