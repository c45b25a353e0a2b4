/**
 * The stock ruleset's decoders (plus the test suite's own) load without error, and the
 * suite's .ini log lines decode to the decoder names the files expect (decoder names
 * only: rules are not involved). Reads the upstream data from ../shared/data; skips
 * with the reason when it is absent.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { compileDecoders, decodeEvent, newDecoderState, type DecoderSet } from '../../../../engine/decoders/decoder-set.js';
import { parseOsXml } from '../../../../engine/xml/os-xml.js';
import { predecode } from '../../../../engine/predecode.js';
import { toBytes, type EngineEvent } from '../../../../engine/types.js';
import { missingData, upstreamData } from '../../../harness/upstream-data.js';
import { defaultSuiteFiles } from '../../../../scripts/ruleset-tests/runner.js';
import { suiteRuns, type SuiteRun } from '../../../../scripts/ruleset-tests/ini.js';

const RULESET = 'wazuh-ruleset-v4.14.5';

/** Decoder files of the stock ruleset and of testing/ruleset, sorted by basename as analysisd loads them. */
function decoderFiles(root: string): string[] {
  const stock = fs.readdirSync(path.join(root, 'decoders')).map((f) => path.join(root, 'decoders', f));
  const testing = fs.readdirSync(path.join(root, 'testing', 'ruleset'))
    .filter((f) => f.endsWith('decoders.xml')).map((f) => path.join(root, 'testing', 'ruleset', f));
  const base = (f: string): string => path.basename(f);
  return [...stock, ...testing].sort((a, b) => (base(a) < base(b) ? -1 : base(a) > base(b) ? 1 : 0));
}

function eventOf(line: string): EngineEvent {
  return predecode(toBytes(`1:stdin:${line}`), { managerHostname: 'manager' });
}

/** The decoder name of the last event of a run, each run in a fresh session. */
function decodedName(set: DecoderSet, run: SuiteRun): string {
  const state = newDecoderState();
  let name = '';
  for (const line of run.events) {
    const event = eventOf(line);
    decodeEvent(set, event, state, 0);
    name = event.decoder?.name ?? '';
  }
  return name;
}

function mismatches(set: DecoderSet, runs: readonly SuiteRun[]): string[] {
  return runs
    .map((run) => ({ run, got: decodedName(set, run) }))
    .filter(({ run, got }) => got !== run.expected.decoder)
    .map(({ run, got }) => `${run.file} [${run.section}] ${run.name}: expected ${run.expected.decoder}, got '${got}'`);
}

const root = upstreamData(RULESET);
let loaded: { set: DecoderSet; runs: SuiteRun[] } | undefined;

/** The stock decoders and the suite's "pass" runs that name a decoder (the default run: no geoip files). */
function stock(): { set: DecoderSet; runs: SuiteRun[] } {
  if (loaded) return loaded;
  const files = decoderFiles(root!).map((file) => ({ file, nodes: parseOsXml(toBytes(fs.readFileSync(file)), file) }));
  const set = compileDecoders(files);
  const testsDir = path.join(root!, 'testing', 'tests');
  const runs = defaultSuiteFiles(fs.readdirSync(testsDir))
    .flatMap((f) => suiteRuns(f, fs.readFileSync(path.join(testsDir, f), 'utf8')))
    .filter((run) => !run.negate && run.expected.decoder !== '');
  loaded = { set, runs };
  return loaded;
}

test('every stock and testing decoder file loads, in basename order, without error or warning', (t) => {
  if (!root) {
    t.skip(missingData(RULESET));
    return;
  }
  const paths = decoderFiles(root);
  const texts = paths.map((file) => toBytes(fs.readFileSync(file)));
  const started = performance.now();
  const files = paths.map((file, i) => ({ file, nodes: parseOsXml(texts[i]!, file) }));
  const parsed = performance.now();
  const set = compileDecoders(files);
  const compiled = performance.now();
  assert.ok(set.count > 1600, `${set.count} decoders`);
  assert.deepEqual(set.warnings, []);
  assert.ok(set.withProgramName.length > 100 && set.withoutProgramName.length > 90);
  t.diagnostic(`${paths.length} files, ${set.count} decoders: XML ${(parsed - started).toFixed(0)} ms, compile ${(compiled - parsed).toFixed(0)} ms`);
});

test('sshd, pam, apache and every JSON run of the suite decode to the decoder their .ini file expects', (t) => {
  if (!root) {
    t.skip(missingData(RULESET));
    return;
  }
  const { set, runs } = stock();
  const chosen = runs.filter((run) => ['sshd.ini', 'pam.ini', 'apache.ini'].includes(run.file) || run.expected.decoder === 'json');
  assert.ok(chosen.length > 850, `${chosen.length} runs`);
  assert.deepEqual(mismatches(set, chosen), []);
});

test('every "pass" run of the suite (geoip files aside) decodes to the expected decoder name', (t) => {
  if (!root) {
    t.skip(missingData(RULESET));
    return;
  }
  const { set, runs } = stock();
  assert.ok(runs.length >= 1700, `${runs.length} runs`);
  assert.deepEqual(mismatches(set, runs), []);
});

test('decoding speed over the suite lines (reported; bounded at 4x the whole engine budget of 50 us)', (t) => {
  if (!root) {
    t.skip(missingData(RULESET));
    return;
  }
  const { set, runs } = stock();
  const lines = runs.flatMap((run) => run.events);
  const templates = lines.map(eventOf);
  const rounds = 5;
  const events = Array.from({ length: rounds }, () => templates.map((e) => ({ ...e, fields: {}, dynamic: [] })));
  const state = newDecoderState();
  for (const e of templates.map((x) => ({ ...x, fields: {}, dynamic: [] }))) decodeEvent(set, e, state, 0);
  const started = process.hrtime.bigint();
  for (const round of events) for (const e of round) decodeEvent(set, e, state, 0);
  const nsPerEvent = Number(process.hrtime.bigint() - started) / (rounds * templates.length);
  t.diagnostic(`${templates.length} suite lines x ${rounds}: ${nsPerEvent.toFixed(0)} ns/event`);
  // A loose bound: it catches a pathological slowdown, not a busy machine.
  assert.ok(nsPerEvent < 200_000, `${nsPerEvent} ns/event`);
});
