/**
 * The PCRE2 translator against real PCRE2 (10.34 in WASM, @stephen-riley/pcre2-wasm, a
 * dev-only oracle): every type="pcre2" pattern of the stock ruleset and its tests, on the
 * log lines of the upstream test suite, a few probes and the string values of its JSON
 * logs, compared on match, span and captures (pcre2_match's rc rule). Also a set of
 * hand-made tricky patterns, also run from later offsets: Wazuh passes the text from an
 * offset on as a new subject (`log + offset`, start offset 0), so those are compared with
 * PCRE2 run on the subject's tail, its end shifted back by the offset.
 *
 * The oracle is a 16-bit build with UTF always on, so it is fed the same byte view (one
 * code unit per byte, all below 0x100: the same characters as Wazuh's 8-bit build sees);
 * `(*UTF)` is stripped and `\N{U+hhhh}` spelled as its UTF-8 bytes for it. It is driven
 * through its Emscripten exports so that each subject is copied into its heap once and
 * each compiled pattern and match block is reused (its heap is a fixed 16 MB).
 *
 * The oracle is slow (an interpreter in WASM, about 0.4 ms a pair on the stock corpus) and
 * spends most of its time proving that a line without the pattern's required bytes does
 * not match. So every pair is run through our matcher, the oracle checks every pair whose
 * subject holds the translator's required bytes (tested here by our own scan) and a fixed
 * sample of the others, and our answer on those others must be "no match".
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { compilePcre2, translatePcre2 } from '../../../../engine/match/pcre2.js';
import { PatternError, toBytes, type Matcher } from '../../../../engine/types.js';
import { missingData, upstreamData } from '../../../harness/upstream-data.js';

// ------------------------------------------------------------------------------------
// The oracle

interface WasmModule {
  readonly loaded: Promise<void>;
  readonly HEAPU16: Uint16Array;
  readonly HEAPU32: Uint32Array;
  cwrap(name: string, ret: string | null, args: string[]): (...args: unknown[]) => number;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _match(code: number, subject: number, length: number, offset: number, matchData: number): number;
  _createMatchData(code: number): number;
  _destroyMatchData(matchData: number): void;
  _destroyCode(code: number): void;
  _getOvectorPointer(matchData: number): number;
}

/** What pcre2_match reported, in the shape the translator returns. */
type Outcome = { end: number; captures: string[] } | null | { error: number };

class Oracle {
  private readonly compileRaw: (pattern: Uint8Array, length: number, flags: string) => number;
  private subjectPtr = 0;
  private subjectCap = 0;
  private subject = '';

  private constructor(private readonly wasm: WasmModule) {
    this.compileRaw = wasm.cwrap('compile', 'number', ['array', 'number', 'string']);
  }

  static async load(): Promise<Oracle> {
    // The old Emscripten glue tries fetch() on a file path when fetch exists.
    const fetch = globalThis.fetch;
    Reflect.deleteProperty(globalThis, 'fetch');
    try {
      const wasm = createRequire(import.meta.url)('@stephen-riley/pcre2-wasm/dist/libpcre2.js') as WasmModule;
      await wasm.loaded;
      return new Oracle(wasm);
    } finally {
      globalThis.fetch = fetch;
    }
  }

  /** A compiled pattern (code and match block), or the compile error. */
  compile(pattern: string): { code: number; matchData: number } | { error: string } {
    const units = Buffer.from(forOracle(pattern), 'utf16le');
    const code = this.compileRaw(units, units.length / 2, '');
    if (code === 0) return { error: 'pcre2_compile failed' };
    return { code, matchData: this.wasm._createMatchData(code) };
  }

  free(compiled: { code: number; matchData: number }): void {
    this.wasm._destroyMatchData(compiled.matchData);
    this.wasm._destroyCode(compiled.code);
  }

  /** Copies the subject (byte view) into the heap; later matches run on it. */
  setSubject(subject: string): void {
    if (subject.length + 1 > this.subjectCap) {
      if (this.subjectPtr !== 0) this.wasm._free(this.subjectPtr);
      this.subjectCap = Math.max(subject.length + 1, 8192);
      this.subjectPtr = this.wasm._malloc(this.subjectCap * 2);
    }
    const heap = this.wasm.HEAPU16;
    const base = this.subjectPtr >>> 1;
    for (let i = 0; i < subject.length; i++) heap[base + i] = subject.charCodeAt(i);
    this.subject = subject;
  }

  /** pcre2_match on the whole subject from start offset 0, as Wazuh calls it. */
  match(compiled: { code: number; matchData: number }): Outcome {
    const rc = this.wasm._match(compiled.code, this.subjectPtr, this.subject.length, 0, compiled.matchData);
    if (rc === -1) return null;
    if (rc <= 0) return { error: rc };
    const ov = this.wasm._getOvectorPointer(compiled.matchData) >>> 2;
    const heap = this.wasm.HEAPU32;
    const captures: string[] = [];
    for (let k = 1; k < rc; k++) {
      const start = heap[ov + 2 * k]!;
      captures.push(start === 0xffffffff ? '' : this.subject.slice(start, heap[ov + 2 * k + 1]!));
    }
    return { end: heap[ov + 1]! - 1, captures };
  }
}

/** The oracle runs in UTF mode on code units: spell `\N{U+hhhh}` as UTF-8 byte escapes instead. */
function forOracle(pattern: string): string {
  const body = pattern.startsWith('(*UTF)') ? pattern.slice(6) : pattern;
  return body.replace(/\\N\{U\+([0-9A-Fa-f]+)\}/g, (_, hex: string) =>
    [...Buffer.from(String.fromCodePoint(parseInt(hex, 16)), 'utf8')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join(''));
}

// ------------------------------------------------------------------------------------
// The corpus

/** Raw text of every element with type="pcre2" (OS_XML keeps the text verbatim, `\<` included). */
function rulesetPatterns(root: string): string[] {
  const found: string[] = [];
  for (const dir of ['decoders', 'rules', path.join('testing', 'ruleset')]) {
    const folder = path.join(root, dir);
    for (const name of fs.readdirSync(folder).filter((f) => f.endsWith('.xml')).sort()) {
      const text = fs.readFileSync(path.join(folder, name), 'latin1').replace(/<!--[\s\S]*?-->/g, '');
      const element = /<(\w+)\b([^>]*\btype\s*=\s*["']pcre2["'][^>]*)>([\s\S]*?)<\/\1\s*>/g;
      for (let m = element.exec(text); m !== null; m = element.exec(text)) found.push(m[3]!);
    }
  }
  return found;
}

/** Log lines of testing/tests/*.ini (configparser strips the value) and the strings of the JSON ones. */
function suiteSubjects(root: string): { lines: string[]; jsonStrings: string[] } {
  const lines = new Set<string>();
  const strings = new Set<string>();
  const folder = path.join(root, 'testing', 'tests');
  for (const name of fs.readdirSync(folder).filter((f) => f.endsWith('.ini')).sort()) {
    for (const raw of fs.readFileSync(path.join(folder, name), 'latin1').split('\n')) {
      const m = /^log \d+ (?:pass|fail)\s*=(.*)$/.exec(raw);
      if (m === null) continue;
      const line = m[1]!.trim();
      lines.add(line);
      const brace = line.indexOf('{');
      if (brace >= 0) collectStrings(line.slice(brace), strings);
    }
  }
  for (const line of lines) strings.delete(line);
  return { lines: [...lines], jsonStrings: [...strings].sort() };
}

function collectStrings(byteView: string, into: Set<string>): void {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(byteView, 'latin1').toString('utf8'));
  } catch {
    return;
  }
  const walk = (v: unknown): void => {
    if (typeof v === 'string') into.add(toBytes(v));
    else if (v !== null && typeof v === 'object') for (const child of Object.values(v)) walk(child);
  };
  walk(value);
}

const PROBES = [
  'a\rb', 'line\r\n', 'abc\n', '\n', 'x\xa0y', '\xa0', toBytes('café Été'), '', 'N\\A', '-',
  toBytes('invoice\u202Etxt.exe'),
];

/** Every k-th pair that lacks the required bytes is still checked against the oracle. */
const REJECTED_SAMPLE_STEP = 97;

/** The test's own reading of the translator's required runs: a plain scan for each. */
function requiredScan(pattern: string): (subject: string) => boolean {
  const runs = translatePcre2(pattern).required;
  const holds = (run: readonly Uint8Array[], subject: string): boolean => {
    outer: for (let at = 0; at + run.length <= subject.length; at++) {
      for (let k = 0; k < run.length; k++) if (run[k]![subject.charCodeAt(at + k)] !== 1) continue outer;
      return true;
    }
    return false;
  };
  return (subject) => runs.every((run) => holds(run, subject));
}

// ------------------------------------------------------------------------------------
// Comparison

interface Tally {
  pairs: number;
  /** Pairs compared with the oracle. */
  checked: number;
  matches: number;
  disagreements: string[];
  oracleErrors: number;
}

/**
 * One pair: `matcher.exec(subject, from)` against the oracle, whose subject must already be
 * `subject.slice(from)` (Wazuh's `log + offset`); the oracle's end is shifted back by `from`.
 */
function compare(label: string, matcher: Matcher, oracle: Oracle, compiled: { code: number; matchData: number }, subject: string, tally: Tally, from = 0): void {
  const tail = oracle.match(compiled);
  tally.checked++;
  if (tail !== null && 'error' in tail) {
    tally.oracleErrors++;
    return;
  }
  const expected = tail && { end: tail.end + from, captures: tail.captures };
  const actual = matcher.exec(subject, from);
  if (expected !== null) tally.matches++;
  const tested = from === 0 ? matcher.test(subject) : actual !== null;
  if (JSON.stringify(actual) !== JSON.stringify(expected) || tested !== (expected !== null)) {
    tally.disagreements.push(`${label} ${JSON.stringify(matcher.source)} on ${JSON.stringify(subject.slice(0, 160))} from ${from}: `
      + `pcre2 ${JSON.stringify(expected)}, ours ${JSON.stringify(actual)}, test() ${tested}`);
  }
}

function report(t: test.TestContext, tally: Tally): void {
  for (const d of tally.disagreements.slice(0, 40)) t.diagnostic(d);
  assert.equal(tally.oracleErrors, 0, 'pcre2_match returned errors (match limit?)');
  assert.deepEqual(tally.disagreements, []);
}

test('pcre2 oracle - every stock pattern agrees with PCRE2 on the test-suite logs, probes and JSON strings', async (t) => {
  const root = upstreamData('wazuh-ruleset-v4.14.5');
  if (!root) {
    t.skip(missingData('wazuh-ruleset-v4.14.5'));
    return;
  }
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const oracle = await Oracle.load();
  const elements = rulesetPatterns(root);
  const patterns = [...new Set(elements)];
  const { lines, jsonStrings } = suiteSubjects(root);
  const subjects = [...new Set([...lines, ...PROBES, ...jsonStrings])];

  const refused: string[] = [];
  const pairs: { matcher: Matcher; compiled: { code: number; matchData: number }; admits: (s: string) => boolean }[] = [];
  for (const pattern of patterns) {
    const compiled = oracle.compile(pattern);
    let matcher: Matcher;
    try {
      matcher = compilePcre2(pattern);
    } catch (err) {
      if (!(err instanceof PatternError)) throw err;
      refused.push(err.message);
      if (!('error' in compiled)) oracle.free(compiled);
      continue;
    }
    assert.ok(!('error' in compiled), `PCRE2 refuses ${JSON.stringify(pattern)} but the translator accepts it`);
    pairs.push({ matcher, compiled, admits: requiredScan(pattern) });
  }

  const tally: Tally = { pairs: 0, checked: 0, matches: 0, disagreements: [], oracleErrors: 0 };
  let rejected = 0;
  for (const subject of subjects) {
    oracle.setSubject(subject);
    for (const { matcher, compiled, admits } of pairs) {
      tally.pairs++;
      if (admits(subject) || ++rejected % REJECTED_SAMPLE_STEP === 0) {
        compare('stock', matcher, oracle, compiled, subject, tally);
      } else if (matcher.exec(subject) !== null || matcher.test(subject)) {
        tally.disagreements.push(`${JSON.stringify(matcher.source)} matches ${JSON.stringify(subject.slice(0, 160))} without its required bytes`);
      }
    }
  }
  for (const { compiled } of pairs) oracle.free(compiled);

  t.diagnostic(`${elements.length} elements, ${patterns.length} distinct patterns, ${refused.length} refused`);
  t.diagnostic(`subjects ${subjects.length}: ${lines.length} ini log lines, ${PROBES.length} probes, `
    + `${jsonStrings.length} distinct string values of the JSON log lines`);
  t.diagnostic(`pairs ${tally.pairs}: ${tally.checked} checked against PCRE2 (${tally.pairs - rejected} holding the required bytes, `
    + `${tally.checked - (tally.pairs - rejected)} of the ${rejected} others, every ${REJECTED_SAMPLE_STEP}th), matches ${tally.matches}, `
    + `disagreements ${tally.disagreements.length}`);
  const cpu = process.cpuUsage(cpuStart);
  t.diagnostic(`${((performance.now() - started) / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU`);
  for (const r of refused) t.diagnostic(`refused: ${r}`);
  assert.ok(patterns.length > 400, `only ${patterns.length} patterns found`);
  assert.ok(lines.length > 1500, `only ${lines.length} log lines found`);
  assert.deepEqual(refused, []);
  report(t, tally);
});

/** Patterns where a naive RegExp mapping goes wrong, with subjects that show it. */
const HAND_PATTERNS = [
  '.+', '^.*$', 'a$', '(?m)^b$', '(?m)^$', '(?s)a.b', '(?U)a(.+)b', '(?U)a(.+?)b', '(\\S+)', '\\s+', '[\\s]+', '[^\\s]+',
  '[]a]+', '[^]a]+', 'x{2,3}', 'x{,', 'a{', '(a*)?b', '(a*)??b', '(a)|(b)', '(a)?(b)?(c)?', '()x', '(x)()',
  '(?i)abc[d-f]', '(?i)[^a-c]+', '[\\d-]+', '[a\\-z]+', '\\x41\\x', '\\0', '\\bfoo\\b', '\\Bo', '(?<=a)b', '(?<!a)b',
  '(?<=ab|c)d', 'a(?=b)', 'a(?!b)', '(?:(a)b)+', '(?:ab)*c', '(a|ab)(c|bcd)(d*)', '\\t\\n\\r\\f\\a', '\\.\\*\\<\\>',
  '(?mUs)ACTION :(.*)(?:^[A-Z\\s]+:)', '[\\x80-\\xff]+', '[\\w.]+@\\w+',
  '$', '^', '', 'a|', '|a', '(?-i)a', '(?i)(?-i)a', '\\d{2,}', '(?U)\\d{2,}', '(?U)\\d{2,}?',
  // Option settings in the middle, scoped, unset; Wazuh concatenates elements into such patterns.
  '^(?i)abc$', 'ab (?i)cd', 'a(?i)b|c', '(a(?i)b|c)', '(c|a(?i)b|d)', '((?i)a)b', '(?:(?i)a)+b', '(?i:a|b)c',
  '(?i)(?-i:a)b', '(?i:a(?-i)b|c)d', '(?i)(a|(?-i)b|c)', '(?i-s)a.b', '(?s)a(?-s:.)b', '(?s:a.)b.', 'a(?m)$\\n^b',
  '(?m:^b$)', '(?m)^a(?-m)$', '^(?:(?m)a$)\\n(b$)', '(.+)(?U)(.+)', '(?U:a(.+))b', '(?U)(?-U:(a))+', '(?<=(?i)a)b',
  '(?=(?i)a)A', '(?i)a(?^)b', '(?is)(?^)a.', '(?U)(?^)(a+)', '(?i-i)a', '(?)(?-)(?i-)a', '(?i)[a-c](?-i)[a-c]',
  '(?i)a{2}(?-i)b+', 'x(?i:\\w+)', 'A(?i)B|(?-i)C', '(?m)a$(?-m)|(b)$',
];

const HAND_SUBJECTS = [
  'a\rb', 'abc\n', 'abc', 'a\nb\n', 'b\n', '\n\n', 'axb\nay\nb', 'a\nb', 'aaab', 'ab', 'b', 'c', 'abcd', 'abcde',
  'x\xa0y z', toBytes('été ÉTÉ'), ']]a^', 'xxxx', 'x{,3}', 'a{', 'ABCDEF', 'cd', 'ad', 'foo bar', 'A\0', '\x09\n\r\x0c\x07',
  '.*<>', 'ACTION :[5] \'x\'\nDATABASE USER:[1] \'/\'\n', 'me@host', '12345', '', 'd', 'a1-2 3', 'a-z',
  'AbC', 'aBc', 'ABc', 'Ab', 'aB', 'AB', 'C', 'CD', 'cD', 'AbD', 'aAbB', 'aAB', 'a\nB', 'A\nb\n', 'aA\nBc',
  'ab CD', 'AB cd', 'xaBc', 'aaaAB', 'a\nbc',
];

test('pcre2 oracle - hand-made tricky patterns agree with PCRE2, from offset 0 and on the text from later offsets', async (t) => {
  const oracle = await Oracle.load();
  const tally: Tally = { pairs: 0, checked: 0, matches: 0, disagreements: [], oracleErrors: 0 };
  for (const pattern of HAND_PATTERNS) {
    const compiled = oracle.compile(pattern);
    assert.ok(!('error' in compiled), `PCRE2 refuses the hand pattern ${JSON.stringify(pattern)}`);
    const matcher = compilePcre2(pattern);
    for (const subject of HAND_SUBJECTS) {
      for (let from = 0; from <= Math.min(subject.length, 3); from++) {
        oracle.setSubject(subject.slice(from));
        compare('hand', matcher, oracle, compiled, subject, tally, from);
      }
    }
    oracle.free(compiled);
  }
  t.diagnostic(`${HAND_PATTERNS.length} patterns, pairs ${tally.checked}, matches ${tally.matches}, disagreements ${tally.disagreements.length}`);
  assert.ok(tally.matches > 200);
  report(t, tally);
});
