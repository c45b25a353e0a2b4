/**
 * The stock ruleset's decoders (plus the test suite's own) load without error, and the
 * suite's .ini log lines decode to the decoder names the files expect. Reads the upstream
 * data from ../shared/data; skips with the reason when it is absent.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { compileDecoders, decodeEvent, newDecoderState, type DecoderSet } from '../../../../engine/decoders/index.js';
import { parseOsXml } from '../../../../engine/xml/os-xml.js';
import { predecode } from '../../../../engine/predecode.js';
import { toBytes, type EngineEvent } from '../../../../engine/types.js';
import { missingData, upstreamData } from '../../../harness/upstream-data.js';

const RULESET = 'wazuh-ruleset-v4.14.5';

/** Decoder files of the stock ruleset and of testing/ruleset, sorted by basename as analysisd loads them. */
function decoderFiles(root: string): string[] {
  const stock = fs.readdirSync(path.join(root, 'decoders')).map((f) => path.join(root, 'decoders', f));
  const testing = fs.readdirSync(path.join(root, 'testing', 'ruleset'))
    .filter((f) => f.endsWith('decoders.xml')).map((f) => path.join(root, 'testing', 'ruleset', f));
  const base = (f: string): string => path.basename(f);
  return [...stock, ...testing].sort((a, b) => (base(a) < base(b) ? -1 : base(a) > base(b) ? 1 : 0));
}

interface Run {
  readonly file: string;
  readonly section: string;
  readonly key: string;
  readonly lines: readonly string[];
  readonly decoder: string;
}

/** The "pass" runs of an .ini file, read with runtests.py's configparser semantics (repeats merged with newlines). */
function passRuns(file: string): Run[] {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    if (/^\s*[;#]/.test(line) || line.trim() === '') continue;
    const header = /^\[(.*)\]\s*$/.exec(line);
    if (header) {
      current = sections.get(header[1]!) ?? new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const option = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (!current || !option) continue;
    const key = option[1]!.trim().toLowerCase();
    const value = option[2]!.trim();
    current.set(key, current.has(key) ? `${current.get(key)}\n${value}` : value);
  }
  const runs: Run[] = [];
  for (const [section, options] of sections) {
    const decoder = options.get('decoder');
    if (!decoder) continue;
    for (const [key, value] of options) {
      if (key.startsWith('log ') && key.endsWith('pass')) runs.push({ file: path.basename(file), section, key, lines: value.split('\n'), decoder });
    }
  }
  return runs;
}

function eventOf(line: string): EngineEvent {
  return predecode(toBytes(`1:stdin:${line}`), { managerHostname: 'manager' });
}

/** The decoder name of the last event of a run, each run in a fresh session. */
function decodedName(set: DecoderSet, run: Run): string {
  const state = newDecoderState();
  let name = '';
  for (const line of run.lines) {
    const event = eventOf(line);
    decodeEvent(set, event, state, 0);
    name = event.decoder?.name ?? '';
  }
  return name;
}

function mismatches(set: DecoderSet, runs: readonly Run[]): string[] {
  return runs
    .map((run) => ({ run, got: decodedName(set, run) }))
    .filter(({ run, got }) => got !== run.decoder)
    .map(({ run, got }) => `${run.file} [${run.section}] ${run.key}: expected ${run.decoder}, got '${got}'`);
}

const root = upstreamData(RULESET);
let loaded: { set: DecoderSet; runs: Run[] } | undefined;

function stock(): { set: DecoderSet; runs: Run[] } {
  if (loaded) return loaded;
  const files = decoderFiles(root!).map((file) => ({ file, nodes: parseOsXml(toBytes(fs.readFileSync(file)), file) }));
  const set = compileDecoders(files);
  const testsDir = path.join(root!, 'testing', 'tests');
  const runs = fs.readdirSync(testsDir).filter((f) => f.endsWith('.ini') && !f.includes('geoip')).sort()
    .flatMap((f) => passRuns(path.join(testsDir, f)));
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
  const chosen = runs.filter((run) => ['sshd.ini', 'pam.ini', 'apache.ini'].includes(run.file) || run.decoder === 'json');
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

test('decoding speed over the suite lines (reported; bounded far above the engine budget)', (t) => {
  if (!root) {
    t.skip(missingData(RULESET));
    return;
  }
  const { set, runs } = stock();
  const lines = runs.flatMap((run) => run.lines);
  const templates = lines.map(eventOf);
  const rounds = 20;
  const events = Array.from({ length: rounds }, () => templates.map((e) => ({ ...e, fields: {}, dynamic: [] })));
  const state = newDecoderState();
  for (const e of templates.map((x) => ({ ...x, fields: {}, dynamic: [] }))) decodeEvent(set, e, state, 0);
  const started = process.hrtime.bigint();
  for (const round of events) for (const e of round) decodeEvent(set, e, state, 0);
  const nsPerEvent = Number(process.hrtime.bigint() - started) / (rounds * templates.length);
  t.diagnostic(`${templates.length} suite lines x ${rounds}: ${nsPerEvent.toFixed(0)} ns/event`);
  assert.ok(nsPerEvent < 50_000, `${nsPerEvent} ns/event`);
});
