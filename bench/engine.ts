/**
 * The analysis engine alone, on one core: the stock Wazuh ruleset (read from a Wazuh
 * ruleset folder, by default ../shared/data/wazuh-ruleset-v4.14.5) analysing the
 * upstream suite's 2,013 events replayed in a loop, as the event path runs them
 * (pre-decoding, decoding, rules, and the alert object for events that alert).
 * Baseline in the same run: pre-decoding alone over the same events. Also the ruleset
 * load time (cold, then cached) and the RSS of a loaded engine.
 * Prints one JSON line; progress goes to stderr.
 *
 * Sizes: SECONDS per measurement (default 5), RULESET (folder).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnalysisSession } from '../engine/engine.js';
import { predecode } from '../engine/predecode.js';
import { toBytes } from '../engine/types.js';
import { RulesetLoader } from '../runtime/analysis/ruleset-loader.js';
import { defaultSuiteFiles } from '../scripts/ruleset-tests/runner.js';
import { suiteRuns } from '../scripts/ruleset-tests/ini.js';
import { writeSuiteHome } from '../scripts/ruleset-tests/suite-home.js';
import { repoRoot } from '../test/harness/upstream-data.js';

const SECONDS = Number(process.env['SECONDS_PER_RUN'] ?? 5);
const RULESET = process.env['RULESET'] ?? path.resolve(repoRoot(), '..', 'shared', 'data', 'wazuh-ruleset-v4.14.5');
const progress = (msg: string): void => { process.stderr.write(`[engine] ${msg}\n`); };

if (!fs.existsSync(path.join(RULESET, 'testing', 'tests'))) {
  process.stdout.write(`${JSON.stringify({ bench: 'engine', skipped: `no Wazuh ruleset folder at ${RULESET} (set RULESET)` })}\n`);
  process.exit(0);
}

/** The suite's events as the event path receives them (`1:location:line`). */
function suiteEvents(): string[] {
  const dir = path.join(RULESET, 'testing', 'tests');
  return defaultSuiteFiles(fs.readdirSync(dir))
    .flatMap((name) => suiteRuns(name, fs.readFileSync(path.join(dir, name), 'utf8')))
    .flatMap((run) => run.events)
    .map((line) => toBytes(`1:[001] (bench-agent) 10.0.0.5->/var/log/syslog:${line}`));
}

/** Runs `fn` over the events in a loop for SECONDS of CPU; events per CPU second. */
function perCpuSecond(events: readonly string[], fn: (e: string) => void): { eventsPerSecond: number; cpuUsPerEvent: number } {
  let n = 0;
  const start = process.cpuUsage();
  let used = 0;
  while (used < SECONDS * 1e6) {
    for (const e of events) fn(e);
    n += events.length;
    const d = process.cpuUsage(start);
    used = d.user + d.system;
  }
  return { eventsPerSecond: Math.round((n * 1e6) / used), cpuUsPerEvent: Number((used / n).toFixed(2)) };
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-bench-engine-'));
try {
  await writeSuiteHome(home, RULESET, { tests: false });
  const loader = new RulesetLoader(home);
  let t0 = performance.now();
  const loaded = await loader.load('analysisd');
  const loadMs = performance.now() - t0;
  t0 = performance.now();
  await loader.load('analysisd');
  const cachedLoadMs = performance.now() - t0;
  global.gc?.();
  const rssMb = process.memoryUsage().rss / 2 ** 20;
  const events = suiteEvents();
  progress(`ruleset loaded in ${loadMs.toFixed(0)} ms (${loaded.files.decoders.length} decoder files, ${loaded.files.rules.length} rule files); ${events.length} events`);

  const session = new AnalysisSession(loaded.ruleset, { managerName: os.hostname() }, 'analysisd');
  const now = new Date();
  let alerts = 0;
  const analyse = (e: string): void => {
    const a = session.analyze(e, now);
    if (a.fired && a.fired.rule.level >= 3 && !a.fired.suppressed) {
      session.render(a);
      alerts++;
    }
  };
  for (const e of events) analyse(e); // warm-up: JIT and the pattern caches
  alerts = 0;
  progress('engine...');
  const engine = perCpuSecond(events, analyse);
  progress('pre-decoding alone...');
  const ctx = { managerHostname: 'bench' };
  const base = perCpuSecond(events, (e) => { predecode(e, ctx); });

  process.stdout.write(`${JSON.stringify({
    bench: 'engine',
    value: engine.eventsPerSecond, unit: 'events/s on one core (stock ruleset, the suite\'s events in a loop)',
    cpu_us_per_event: engine.cpuUsPerEvent,
    target: 20000,
    baseline: { name: 'pre-decoding alone', value: base.eventsPerSecond, unit: 'events/s', cpu_us_per_event: base.cpuUsPerEvent },
    ratio: Number((engine.eventsPerSecond / base.eventsPerSecond).toFixed(4)),
    events: events.length,
    alerting_share: Number((alerts / (engine.eventsPerSecond * SECONDS)).toFixed(3)),
    ruleset_load_ms: Math.round(loadMs), ruleset_cached_load_ms: Math.round(cachedLoadMs), load_target_ms: 1000,
    rss_mb: Math.round(rssMb), rss_target_mb: 250,
    wazuh_analysisd: { events_per_second: 20657, cpu_us_per_event: 89, note: 'the real analysisd, both cores (reference)' },
  })}\n`);
} finally {
  fs.rmSync(home, { recursive: true, force: true });
}
