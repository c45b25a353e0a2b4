/**
 * The stock ruleset's decoders load without error, the test suite's own decoders too, and the suite's .ini log lines decode to the
 * decoder names the files expect (decoder names only: rules are not involved). Reads
 * the upstream data from ../shared/data; skips with the reason when it is absent.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { compileDecoders, decodeEvent, decoderId, newDecoderState, type DecoderSet } from '../../../../engine/decoders/decoder-set.js';
import { parseOsXml } from '../../../../engine/xml/os-xml.js';
import { predecode } from '../../../../engine/predecode.js';
import { toBytes, type EngineEvent, type XmlNode } from '../../../../engine/types.js';
import { missingData, upstreamData } from '../../../harness/upstream-data.js';
import { defaultSuiteFiles } from '../../../../scripts/ruleset-tests/runner.js';
import { suiteRuns, type SuiteRun } from '../../../../scripts/ruleset-tests/ini.js';

const RULESET = 'wazuh-ruleset-v4.14.5';

/** Files of a folder, sorted by basename with strcmp as analysisd sorts them. */
function sortedFiles(dir: string, keep: (name: string) => boolean = () => true): string[] {
  return fs.readdirSync(dir).filter(keep).sort(byteOrder).map((f) => path.join(dir, f));
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function parsed(file: string): { file: string; nodes: readonly XmlNode[] } {
  return { file, nodes: parseOsXml(toBytes(fs.readFileSync(file)), file) };
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
let loaded: { set: DecoderSet; refused: string[]; runs: SuiteRun[] } | undefined;

/**
 * Stock plus testing decoders, leaving out (and naming) a testing file the engine
 * refuses, and the suite's "pass" runs that name a decoder (the default run: no geoip files).
 */
function suite(): { set: DecoderSet; refused: string[]; runs: SuiteRun[] } {
  if (loaded) return loaded;
  const refused: string[] = [];
  // testing/ruleset's names (test_*) all sort after the stock ones.
  let files = sortedFiles(path.join(root!, 'decoders')).map(parsed);
  let set = compileDecoders(files);
  for (const file of sortedFiles(path.join(root!, 'testing', 'ruleset'), (f) => f.endsWith('decoders.xml'))) {
    const next = [...files, parsed(file)];
    try {
      set = compileDecoders(next);
      files = next;
    } catch (err) {
      refused.push(String(err));
    }
  }
  const testsDir = path.join(root!, 'testing', 'tests');
  const runs = defaultSuiteFiles(fs.readdirSync(testsDir))
    .flatMap((f) => suiteRuns(f, fs.readFileSync(path.join(testsDir, f), 'utf8')))
    .filter((run) => !run.negate && run.expected.decoder !== '');
  loaded = { set, refused, runs };
  return loaded;
}

test('every stock decoder file loads, in basename order, without error or warning', (t) => {
  if (!root) {
    t.skip(missingData(RULESET));
    return;
  }
  const paths = sortedFiles(path.join(root, 'decoders'));
  const texts = paths.map((file) => toBytes(fs.readFileSync(file)));
  const started = performance.now();
  const files = paths.map((file, i) => ({ file, nodes: parseOsXml(texts[i]!, file) }));
  const parsedAt = performance.now();
  const set = compileDecoders(files);
  const compiled = performance.now();
  assert.equal(set.count, 1575);
  assert.deepEqual(set.warnings, []);
  assert.deepEqual([set.withProgramName.length, set.withoutProgramName.length], [109, 99]);
  t.diagnostic(`${paths.length} files, ${set.count} decoders: XML ${(parsedAt - started).toFixed(0)} ms, compile ${(compiled - parsedAt).toFixed(0)} ms`);
});

test('the testing decoders load too', (t) => {
  if (!root) {
    t.skip(missingData(RULESET));
    return;
  }
  assert.deepEqual(suite().refused, []);
});

test('sshd, pam, apache and every JSON run of the suite decode to the decoder their .ini file expects', (t) => {
  if (!root) {
    t.skip(missingData(RULESET));
    return;
  }
  const { set, runs } = suite();
  const chosen = runs.filter((run) => ['sshd.ini', 'pam.ini', 'apache.ini'].includes(run.file) || run.expected.decoder === 'json');
  assert.ok(chosen.length > 850, `${chosen.length} runs`);
  assert.deepEqual(mismatches(set, chosen), []);
});

test('every "pass" run of the suite (geoip files aside) decodes to the expected decoder name', (t) => {
  if (!root) {
    t.skip(missingData(RULESET));
    return;
  }
  const { set, runs } = suite();
  assert.deepEqual(runs.filter((run) => decoderId(set, run.expected.decoder) === undefined).map((r) => r.expected.decoder), []);
  assert.deepEqual(mismatches(set, runs), []);
});

test('decoding speed over the suite lines (reported; bounded at 4x the whole engine budget of 50 us)', (t) => {
  if (!root) {
    t.skip(missingData(RULESET));
    return;
  }
  const { set, runs } = suite();
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
