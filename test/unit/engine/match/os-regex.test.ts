/**
 * OS_Regex against Wazuh's own execution table (v4.14.5) and against hand cases taken
 * from the C engine's behaviour: classes, escapes, anchors, alternatives, lazy runs,
 * the end pointer and capture quirks, compile errors.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { compileOsRegex } from '../../../../engine/match/os-regex.js';
import { PatternError, toBytes, type MatchResult } from '../../../../engine/types.js';
import { missingData, upstreamData } from '../../../harness/upstream-data.js';

interface TableCase {
  readonly pattern: string;
  readonly log: string;
  readonly end_match: string | null;
  readonly captured_groups: readonly string[];
  readonly skip_test?: boolean;
  readonly ignore_result?: boolean;
  readonly [key: string]: unknown;
}

const TABLE = ['wazuh-os-regex-v4.14.5', 'test_os_regex_execute.json'] as const;

function loadTable(): TableCase[] | undefined {
  const file = upstreamData(...TABLE);
  if (!file) return undefined;
  const suites = JSON.parse(fs.readFileSync(file, 'utf8')) as { batch_test: TableCase[] }[];
  return suites.flatMap((suite) => suite.batch_test);
}

/** The notes Wazuh attached to a case whose intended values the C code does not produce. */
function knownIssue(c: TableCase): string {
  return Object.entries(c)
    .filter(([key]) => /^__know/i.test(key))
    .map(([, value]) => String(value))
    .join(' || ');
}

function run(c: TableCase): { subject: string; result: MatchResult | null } {
  const subject = toBytes(c.log);
  return { subject, result: compileOsRegex(toBytes(c.pattern)).exec(subject) };
}

function describe(c: TableCase): string {
  return `pattern ${JSON.stringify(c.pattern)} on ${JSON.stringify(c.log)}`;
}

test('Wazuh table: every case its C harness asserts gives the same end pointer and groups', (t) => {
  const cases = loadTable();
  if (!cases) {
    t.skip(missingData(...TABLE));
    return;
  }
  // The C harness stops on a mismatch unless the case says ignore_result (its "known
  // failure" flag); skip_test cases are not run at all. The rest hold for the C code,
  // including 22 whose known-issue note predates a fix and no longer describes it.
  const asserted = cases.filter((c) => !c.skip_test && !c.ignore_result);
  for (const c of asserted) {
    const { subject, result } = run(c);
    const wanted = c.end_match === null ? null : toBytes(c.end_match);
    assert.equal(result === null ? null : subject.slice(result.end), wanted, describe(c));
    if (result) assert.deepEqual(result.captures, c.captured_groups.map(toBytes), describe(c));
  }
  assert.equal(asserted.length, 290);
  assert.equal(asserted.filter((c) => knownIssue(c) !== '').length, 22);
});

/**
 * What a known-issue note says the C code does, when it says it concretely, as a check
 * on the C result; undefined for notes that only link an issue or name no outcome.
 */
function claimOf(c: TableCase): ((subject: string, r: MatchResult | null) => boolean) | undefined {
  const note = knownIssue(c);
  const intendedEnd = c.end_match === null ? undefined : toBytes(c.log).length - toBytes(c.end_match).length;
  if (/adjacent capture groups/.test(note)) {
    // The label was pasted onto some patterns without adjacent groups; it applies only to ')('.
    return c.pattern.includes(')(') ? (_s, r) => r === null : undefined;
  }
  if (/states stack|recoverage/.test(note)) {
    // The fifth saved point is dropped: the match fails, or stops at the first candidate.
    return (_s, r) => r === null || (intendedEnd !== undefined && r.end < intendedEnd);
  }
  if (/one byte before the beginning/.test(note)) return (_s, r) => r !== null && r.end === -1;
  if (/does not capture the empty group|group is not captured/.test(note)) {
    return (_s, r) => r !== null && r.captures.length < c.captured_groups.length;
  }
  if (/should match but does not|does NOT match|doesn't match|does not match even though/.test(note)) {
    return (_s, r) => r === null;
  }
  if (/last character matched|Bad end_match|Wrong end_match/.test(note) && intendedEnd !== undefined) {
    return (_s, r) => r !== null && (r.end !== intendedEnd || r.captures.length !== c.captured_groups.length);
  }
  if (/it does match|the regex does match/.test(note)) return (_s, r) => r !== null;
  return undefined;
}

test('Wazuh table: known-issue cases behave as their notes say the C code does', (t) => {
  const cases = loadTable();
  if (!cases) {
    t.skip(missingData(...TABLE));
    return;
  }
  const flagged = cases.filter((c) => (c.skip_test || c.ignore_result) && knownIssue(c) !== '');
  let checked = 0;
  for (const c of flagged) {
    const claim = claimOf(c);
    if (!claim) continue;
    const { subject, result } = run(c);
    assert.ok(claim(subject, result), `${describe(c)}: ${knownIssue(c)} / got ${JSON.stringify(result)}`);
    checked++;
  }
  assert.equal(flagged.length, 202);
  assert.equal(checked, 146);
});

/** [pattern, subject, what subject.slice(end) must be (null: no match), groups]. */
type Case = readonly [string, string, string | null, (readonly string[])?];

function check([pattern, subject, rest, groups = []]: Case, options?: { captures?: boolean }): void {
  const bytes = toBytes(subject);
  const result = compileOsRegex(toBytes(pattern), options).exec(bytes);
  const label = `${pattern} on ${JSON.stringify(subject)}`;
  assert.equal(result === null ? null : bytes.slice(result.end), rest === null ? null : toBytes(rest), label);
  if (result) assert.deepEqual(result.captures, groups.map(toBytes), label);
}

test('the lazy matcher misses what a RegExp finds (syslog.ini relies on it)', () => {
  check(['(\\w+): (\\.+) (\\S+):(\\S+)', 'kernel: nouveau E[  PGRAPH][0000:0f:00.0] DATA_ERROR', null]);
  assert.ok(/(\w+): (.+) (\S+):(\S+)/.test('kernel: nouveau E[  PGRAPH][0000:0f:00.0] DATA_ERROR'));
});

test('^(\\S+): \\.+ (\\S+): lazy middle run, end pointer at the last run\'s first byte', () => {
  const line = '3924923: *Oct  6 03:32:04.114 gmt: %SEC-6-IPACCESSLOGP: list bcv_out denied tcp 10.0.3.100(50150)';
  const result = compileOsRegex('^(\\S+): \\.+ (\\S+)').exec(line);
  assert.deepEqual(result?.captures, ['3924923', '03:32:04.114']);
  assert.equal(result?.end, line.indexOf('03:32'));
  // A RegExp with a lazy middle captures the next token instead.
  assert.deepEqual(/^(\S+): [\s\S]+? (\S+)/.exec(line)?.slice(1), ['3924923', '6']);
});

test('class tables: \\w holds - @ _, \\s is the space alone, \\p and \\. as in the C maps', () => {
  check(['^\\w+ ', 'a-b@c_d9 x', ' x']);
  check(['^\\w+ ', 'a.b x', null]);
  check(['^\\d\\d\\D', '12a', 'a']);
  check(['^a\\sb', 'a\tb', null]);
  check(['^a\\tb', 'a\tb', 'b']);
  check(['^a\\Sb', 'a\tb', 'b']);
  for (const b of '!"#$%&\'()*+,-.:;<=>?[]{|}') check(['^\\p', b, b]);
  for (const b of '/@\\^_`~ a0') check(['^\\p', b, null]);
  check(['^\\W', '@', null]);
  check(['^\\W', '/', '/']);
  check(['^\\.\\.', '\n\u0001', '\u0001']);
});

test('escapes \\( \\) \\\\ \\$ \\| \\< are literal bytes; other escapes are refused', () => {
  check(['^\\(\\)\\\\\\$\\|\\<', '()\\$|<', '<']);
  check(['a\\|b', 'a|b', 'b']);
  check(['a\\|b', 'b', null]);
  assert.throws(() => compileOsRegex('a\\qb'), (e: unknown) => e instanceof PatternError && /unknown escape '\\q'/.test(e.reason));
  assert.throws(() => compileOsRegex('ab\\'), (e: unknown) => e instanceof PatternError && /lone backslash/.test(e.reason));
});

test('. [ ] { } ? are literals; + and * quantify only a class', () => {
  check(['a.b', 'axb', null]);
  check(['a.b', 'a.b', 'b']);
  check(['[x]{2}?', '[x]{2}?', '?']);
  check(['ab+', 'abbb', null]);
  check(['ab+', 'ab+', '+']);
  check(['^\\d+x', '123x', 'x']);
  check(['^\\d*x', 'x', 'x']);
});

test('literals compare ASCII case-insensitively; case-sensitive compile keeps capitals (which then never match)', () => {
  check(['HELLO', 'say hello', 'o']);
  check(['hello', 'SAY HELLO', 'O']);
  check(['\u00e9t\u00e9', '\u00c9T\u00c9', null]);
  const sensitive = compileOsRegex('Hello', { caseSensitive: true });
  assert.equal(sensitive.test('Hello'), false);
  assert.equal(compileOsRegex('hello', { caseSensitive: true }).test('HeLLo'), true);
});

test('alternatives are tried one after another over the whole subject, not leftmost first', () => {
  check(['world|hello', 'hello world', 'd']);
  check(['zzz|^hello|world', 'hello world', 'o world']);
  // Groups are numbered within the alternative that matched.
  check(['a(\\d+)x|b(\\w+)y', 'bcdy', 'y', ['cd']]);
  // An empty alternative is attempted like any other (the trailing '|' of split regexes).
  check(['nothere|', 'abc', 'abc']);
});

test('^ and $ anchor only at the ends of an alternative; elsewhere they are literals', () => {
  check(['^abc', 'xabc', null]);
  check(['abc$', 'abcx', null]);
  check(['abc$', 'xabc', 'c']);
  check(['a^b$c', 'a^b$c', 'c']);
  check(['^abc$|^x', 'x', 'x']);
  check(['^\\w+$', 'abc def', null]);
});

test('literal-only alternatives: first occurrence, ^ and $ against the NUL-ended subject', () => {
  check(['abc', 'xxABCabc', 'Cabc']);
  check(['abc$', 'abcabc', 'c']);
  check(['abc$', 'abc\u0000x', 'c\u0000x']);
  check(['x$', 'abc\u0000x', null]);
  check(['^abc$', 'ABC', 'C']);
  check(['^abc$', 'abcd', null]);
  check(['bc', 'ab\u0000bc', null]);
  // Latin-1 capitals are bytes like any other: no folding beyond ASCII.
  assert.equal(compileOsRegex('\u00e9x').test('\u00c9x'), false);
  assert.equal(compileOsRegex('\u00e9x').test('A\u00e9X'), true);
  // Empty alternatives: '^' matches at once, '$' only on an empty subject.
  check(['^', 'abc', 'abc']);
  check(['$', 'abc', null]);
  check(['$', '', '']);
});

test('end pointer: a literal ends on itself; a trailing run ends on the next byte or on its first byte', () => {
  check(['hi Wazuh', 'fixhi Wazuhsub', 'hsub']);
  check(['id=\\d+', 'id=123 rest', ' rest']);
  check(['id=\\d+', 'id=123', '123']);
  check(['id=(\\d+)', 'id=123 rest', '123 rest', ['123']]);
  check(['id=(\\d+)', 'id=123', '123', ['123']]);
});

test('captures: groups up to the first one never closed; adjacent groups never match', () => {
  check(['xyz(\\w*)', 'xyz', 'z', []]);
  check(['(\\w*)', '', '', []]);
  check(['(\\w+)\\s*', 'w ', 'w ', ['w']]);
  check(['(hi)(Wazuh)', 'hiWazuh', null]);
});

test('UTF-8 bytes are \\S, \\W and \\D one by one', () => {
  const word = toBytes('caf\u00e9');
  assert.equal(word.length, 5);
  assert.equal(compileOsRegex('^caf\\S\\S$').exec(word)?.end, 4);
  assert.equal(compileOsRegex('^caf\\W\\W$').exec(word)?.end, 4);
  assert.equal(compileOsRegex('^caf\\D\\D$').test(word), true);
  assert.equal(compileOsRegex('^caf\\S$').test(word), false);
  assert.equal(compileOsRegex('^caf\\w').test(word), false);
});

test('exec from an offset starts the subject there; ^ anchors at the offset', () => {
  const re = compileOsRegex('^(\\w+) ');
  assert.deepEqual(re.exec('one two three', 4), { end: 7, captures: ['two'] });
  assert.equal(re.exec('one two three', 5)?.captures[0], 'wo');
});

test('a NUL byte ends the subject as it ends a C string', () => {
  check(['b\\w+', 'ab\u0000cd', null]);
  check(['ab', 'ab\u0000cd', 'b\u0000cd']);
  assert.equal(compileOsRegex('cd').test('ab\u0000cd'), false);
});

test('group recording changes the C end check (decoder <regex> records, rules and <prematch> do not)', () => {
  // Recording first steps over trailing starred classes to note where a group opens.
  check(['ab\\s*(\\w+)', 'ab ', ' ', []]);
  check(['ab\\s*(\\w+)', 'ab ', null], { captures: false });
});

test('a group whose close was recorded before its open voids the match', () => {
  // dovecot's " (\S*)$" on a log ending in a space: the open lands one byte after a stale
  // close, and the C copy of that negative length cannot succeed.
  const line = 'test_action wazuh content="x" RESULT=success ';
  check([' (\\S*)$', line, null]);
  check([' (\\S*)$', line, ' ', []], { captures: false });
});

test('compile errors: nesting, unbalanced groups, | in a group, size, empty', () => {
  const refuses = (pattern: string, reason: RegExp): void => {
    assert.throws(() => compileOsRegex(pattern), (e: unknown) => e instanceof PatternError && reason.test(e.reason), pattern);
  };
  refuses('((a))', /nested group/);
  refuses('a)b', /without '\('/);
  refuses('(ab', /unclosed group/);
  refuses('(a|b)', /'\|' inside a group/);
  refuses('', /empty pattern/);
  refuses('a'.repeat(20481), /longer than 20480/);
  assert.doesNotThrow(() => compileOsRegex('a'.repeat(20480)));
  assert.doesNotThrow(() => compileOsRegex('(a)(b)|c|'));
});

test('test() agrees with exec() and a compiled matcher can be reused', () => {
  const re = compileOsRegex('user (\\S+) from (\\S+)');
  const line = 'Failed password for invalid user admin from 192.168.1.2 port 22';
  assert.equal(re.test(line), true);
  assert.deepEqual(re.exec(line)?.captures, ['admin', '192.168.1.2']);
  assert.deepEqual(re.exec(line)?.captures, ['admin', '192.168.1.2']);
  assert.equal(re.test('nothing here'), false);
  assert.equal(re.source, 'user (\\S+) from (\\S+)');
});

test('a text every match needs is looked for before the walk, without changing what matches', () => {
  const exec = (pattern: string, subject: string, from = 0, captures = true): MatchResult | null =>
    compileOsRegex(pattern, { captures }).exec(subject, from);
  // The C look-ahead ends a match on a failing class just before a final literal: that literal is not needed.
  assert.deepEqual(exec('\\w+\\d\\d%', 'a1x', 0, false), { end: 2, captures: [] });
  assert.deepEqual(exec('\\w+\\d\\d%', 'a1x'), { end: 2, captures: [] });
  assert.equal(exec('\\w+\\d\\d%', 'zz'), null);
  // The second of two adjacent group marks takes a '(' byte: '-' and ':' are not adjacent in a match.
  assert.deepEqual(exec('(-)(:)', ' b:x2-(:1'), { end: 7, captures: ['-'] });
  assert.equal(exec('(-)(:)', ' b:x2-:1'), null);
  // Letters are looked for folded; a capital kept by a case-sensitive compile is never found.
  assert.deepEqual(exec('\\d+ FAILED', '3 failed'), { end: 7, captures: [] });
  assert.equal(exec('\\d+ FAILED', '3 passed'), null);
  assert.equal(compileOsRegex('\\d+Ab', { caseSensitive: true }).test('12Ab'), false);
  assert.equal(compileOsRegex('\\d+ab', { caseSensitive: true }).test('12AB'), true);
  // Only the text after the offset counts.
  assert.equal(exec('\\d+ x', '1 x 2 ', 3), null);
  assert.deepEqual(exec('\\d+ x', '1 x 2 X', 3), { end: 6, captures: [] });
});

test('literal-only alternatives compare in place at the anchors and search the folded subject otherwise', () => {
  const re = (pattern: string): ReturnType<typeof compileOsRegex> => compileOsRegex(pattern);
  assert.deepEqual(re('^wazuh: ').exec('WAZUH: x'), { end: 6, captures: [] });
  assert.equal(re('^wazuh: ').exec('x wazuh: '), null);
  assert.equal(re('^wazuh: ').exec('wazuh:'), null);
  assert.deepEqual(re('abc$').exec('xABC'), { end: 3, captures: [] });
  assert.deepEqual(re('abc$').exec('xABC\u0000d'), { end: 3, captures: [] });
  assert.deepEqual(re('ab:').exec('xAB:'), { end: 3, captures: [] });
  assert.deepEqual(re('1:2').exec('x1:2'), { end: 3, captures: [] });
  assert.equal(re('abc').exec('x\u0000ABC'), null);
  assert.equal(re('1:2').exec('x\u00001:2'), null);
});

test('a needed text counts only after a byte the tokens before it may leave, runs that can be empty included', () => {
  const exec = (pattern: string, subject: string, captures = true): MatchResult | null =>
    compileOsRegex(pattern, { captures }).exec(subject);
  // '%' must follow the \s+ run: an URL-encoded '%20' after a letter does not count.
  assert.equal(exec('\\w+\\s+%', 'ab%20'), null);
  assert.deepEqual(exec('\\w+\\s+%', 'a%20b %'), { end: 6, captures: [] });
  assert.deepEqual(exec('\\w+\\s+%', 'ab %x'), { end: 3, captures: [] });
  // A literal before the text stands for both cases of its letter.
  assert.deepEqual(exec('\\w\\d+a', 'x1A'), { end: 2, captures: [] });
  assert.equal(exec('\\w\\d+a', 'xAa'), null);
  // After a single class a '+' run may take no byte at all (the C run state is left over):
  // what precedes the text is then the byte of an earlier token.
  assert.deepEqual(exec('\\W(\\s*\\D*\\.\\s+) ', '2\ta '), { end: 3, captures: ['a'] });
  assert.deepEqual(exec('1\\.|\\w+(\\.\\d+ \\d*)', 'BX % B(a:%:x2', false), { end: 2, captures: [] });
});
