/**
 * Runs Wazuh's ruleset test files against any evaluator (the logtest socket in
 * practice): each run is a fresh session fed the run's events; only the last event's
 * (rule id, level, decoder name) counts, with wazuh-logtest -U's exit-code semantics.
 */
import { runSucceeds, suiteRuns, type SuiteRun, type Triple } from './ini.js';

/** Feeds one run's events to a fresh session and returns the last event's triple. */
export type Evaluate = (events: readonly string[]) => Promise<Triple | undefined>;

export interface RunOutcome {
  readonly run: SuiteRun;
  readonly got: Triple | undefined;
  readonly ok: boolean;
}

export interface FileOutcome {
  readonly file: string;
  readonly passed: number;
  readonly failed: number;
  readonly failures: readonly RunOutcome[];
}

export interface SuiteOutcome {
  readonly files: readonly FileOutcome[];
  readonly runs: number;
  readonly passed: number;
  readonly failed: number;
}

/** Test files the default upstream run takes: every .ini but the geoip ones, by name. */
export function defaultSuiteFiles(names: readonly string[]): string[] {
  return names.filter((n) => n.endsWith('.ini') && !n.endsWith('geoip.ini')).sort();
}

/** Runs every file's runs in order, `parallel` runs at a time. */
export async function runSuite(
  files: readonly { readonly name: string; readonly text: string }[],
  evaluate: Evaluate,
  options: { parallel?: number; onFile?: (outcome: FileOutcome) => void } = {},
): Promise<SuiteOutcome> {
  const outcomes: FileOutcome[] = [];
  for (const file of files) {
    const runs = suiteRuns(file.name, file.text);
    const results = await mapLimited(runs, options.parallel ?? 4, async (run): Promise<RunOutcome> => {
      const got = run.events.length === 0 ? undefined : await evaluate(run.events);
      return { run, got, ok: runSucceeds(run, got) };
    });
    const failures = results.filter((r) => !r.ok);
    const outcome = { file: file.name, passed: results.length - failures.length, failed: failures.length, failures };
    outcomes.push(outcome);
    options.onFile?.(outcome);
  }
  const passed = outcomes.reduce((n, f) => n + f.passed, 0);
  const failed = outcomes.reduce((n, f) => n + f.failed, 0);
  return { files: outcomes, runs: passed + failed, passed, failed };
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** One line per failing run: where it is, what it wanted, what it got. */
export function describeFailure(f: RunOutcome): string {
  const want = `${f.run.expected.rule}/${f.run.expected.level}/${f.run.expected.decoder}`;
  const got = f.got ? f.got.join('/') : 'no output';
  return `${f.run.file} [${f.run.section}] ${f.run.name}: expected ${f.run.negate ? 'anything but ' : ''}${want}, got ${got}`;
}
