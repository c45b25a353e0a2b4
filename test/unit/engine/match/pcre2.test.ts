/**
 * The PCRE2 translator on hand cases: each translation rule (what Wazuh's 8-bit, non-UTF
 * PCRE2 does on bytes), option settings and their scope, the match result shape (end
 * pointer, rc captures, the text from an offset as a new subject), the required-bytes
 * prefilter, every refusal with the construct and offset it names, and the load-time
 * check against runaway backtracking (its measures, refusals, near misses, and the stock
 * corpus's figures against its limits).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BACKTRACK_LIMITS, compilePcre2, measureBacktracking, translatePcre2, type BacktrackMeasures } from '../../../../engine/match/pcre2.js';
import { PatternError, toBytes, type MatchResult } from '../../../../engine/types.js';
import { missingData, upstreamData } from '../../../harness/upstream-data.js';

/** exec from 0, checking that test() agrees. */
function run(pattern: string, subject: string, from = 0): MatchResult | null {
  const matcher = compilePcre2(pattern);
  const result = matcher.exec(subject, from);
  if (from === 0) assert.equal(matcher.test(subject), result !== null, `test() and exec() disagree for ${pattern}`);
  return result;
}

function matches(pattern: string, subject: string): boolean {
  return run(pattern, subject) !== null;
}

test('pcre2 - result shape: end is the last matched byte, captures follow pcre2_match rc', () => {
  assert.deepEqual(run('b(c)', 'abcd'), { end: 2, captures: ['c'] });
  assert.deepEqual(run('x*', 'abc'), { end: -1, captures: [] }, 'an empty match at 0 ends before the subject');
  assert.deepEqual(run('(a)|(b)', 'b'), { end: 0, captures: ['', 'b'] }, 'an unset middle group reads as empty');
  assert.deepEqual(run('(a)|(b)', 'a'), { end: 0, captures: ['a'] }, 'unset groups after the last set one are absent');
  assert.deepEqual(run('(a)?(b)?(c)?', 'b'), { end: 0, captures: ['', 'b'] });
  assert.deepEqual(run('(x)()', 'x'), { end: 0, captures: ['x', ''] }, 'a group set to empty counts');
  assert.equal(run('abc', 'abd'), null);
});

test('pcre2 - from an offset: the text from it is a new subject (Wazuh passes log + offset); end is in the whole subject', () => {
  assert.deepEqual(run('a(.)', 'abac', 1), { end: 3, captures: ['c'] });
  assert.deepEqual(run('^a', 'ba', 1), { end: 1, captures: [] }, '^ matches at the offset');
  assert.equal(run('(?<=a)b', 'ab', 1), null, 'lookbehind sees nothing before the offset');
  assert.deepEqual(run('\\bb', 'ab', 1), { end: 1, captures: [] }, '\\b sees nothing before the offset');
  assert.deepEqual(run('$', 'ab', 2), { end: 1, captures: [] });
  assert.equal(run('a', 'a', 2), null, 'an offset past the end never matches');
  assert.equal(run('a', 'a', -1), null);
});

test('pcre2 - `.` is any byte but LF (CR and 0xA0 included), and any byte at all under (?s)', () => {
  assert.deepEqual(run('a.b', 'a\rb'), { end: 2, captures: [] });
  assert.ok(matches('^.$', '\xa0'));
  assert.ok(!matches('a.b', 'a\nb'));
  assert.ok(matches('(?s)a.b', 'a\nb'));
  assert.deepEqual(run('(.+)', 'ab\ncd'), { end: 1, captures: ['ab'] });
});

test('pcre2 - `$` also matches before a final LF, which stays out of the span', () => {
  assert.deepEqual(run('c$', 'abc\n'), { end: 2, captures: [] });
  assert.deepEqual(run('(.+)$', 'abc\n'), { end: 2, captures: ['abc'] });
  assert.ok(!matches('b$', 'ab\nc'));
  assert.ok(!matches('c$', 'abc\n\n'));
  assert.deepEqual(run('^(?!^$).+$', 'abc\n'), { end: 2, captures: [] });
  assert.deepEqual(run('x$|(b)$', 'ab\n'), { end: 1, captures: ['b'] }, 'every top-level branch ending in $');
  assert.deepEqual(run('(b$)', 'ab\n'), { end: 1, captures: ['b'] }, 'a $ inside a group');
  assert.ok(!matches('^$', 'a'));
  assert.ok(matches('^$', '\n'));
});

test('pcre2 - (?m): ^ after an internal LF only, $ before any LF; CR is no line break', () => {
  assert.deepEqual(run('(?m)^b', 'a\nb'), { end: 2, captures: [] });
  assert.equal(run('(?m)\\n^', 'a\n'), null, 'not after the final LF');
  assert.deepEqual(run('(?m)a$', 'a\nb'), { end: 0, captures: [] });
  assert.ok(!matches('(?m)^b', 'a\rb'));
  assert.deepEqual(run('(?m)^LENGTH : \'(\\d+)\'\\n', "X\nLENGTH : '42'\nY"), { end: 15, captures: ['42'] });
});

test('pcre2 - (?U) swaps greedy and lazy; flag groups combine and unset', () => {
  assert.deepEqual(run('(?U)a(.+)b', 'axbyb'), { end: 2, captures: ['x'] });
  assert.deepEqual(run('(?U)a(.+?)b', 'axbyb'), { end: 4, captures: ['xby'] });
  assert.deepEqual(run('(?U)(\\d{2,})', '12345'), { end: 1, captures: ['12'] });
  assert.deepEqual(run('(?mUs)ACTION :(.*)(?:^[A-Z\\s]+:)', 'ACTION :1\n2\nB:'), { end: 13, captures: ['1\n2\n'] });
  assert.ok(!matches('(?i)(?-i)a', 'A'));
  assert.ok(matches('(?i-m)a', 'A'));
});

test('pcre2 - an option setting at top level lasts to the end of the pattern, later branches included', () => {
  assert.ok(matches('^a(?i)b$', 'aB'));
  assert.ok(!matches('^a(?i)b$', 'AB'), 'not before the setting');
  assert.ok(matches('^a(?i)b|c$', 'C'), 'a later top-level branch');
  assert.ok(!matches('^(?:c|a(?i)b)$', 'C'), 'not an earlier branch');
  assert.equal(translatePcre2('a(?i)b').regexp, 'a[Bb]');
  assert.ok(matches('^x(?m)$\\n^y', 'x\ny'), '(?m) from the middle');
  assert.ok(!matches('^x$\\n^y', 'x\ny'));
  assert.ok(matches('^a(?s).b', 'a\nb'));
  assert.ok(!matches('^a.(?s)b', 'a\nb'));
  assert.deepEqual(run('(.+)(?U)(.+)', 'abc'), { end: 2, captures: ['ab', 'c'] }, '(?U) from the middle');
});

test('pcre2 - an option setting inside a group lasts to its close, later branches of the group included', () => {
  assert.ok(matches('^(a(?i)b)c$', 'aBc'));
  assert.ok(!matches('^(a(?i)b)c$', 'aBC'), 'the group puts the options back at its close');
  assert.ok(matches('^(a(?i)b|c)$', 'C'), 'a later branch of the group');
  assert.ok(!matches('^(a(?i)b|c)$', 'Ab'));
  assert.ok(!matches('^(?:c|(?i)b|d)$', 'C'), 'not an earlier branch');
  assert.ok(matches('^(?:c|(?i)b|d)$', 'D'));
  assert.ok(!matches('^((?i)a)b$', 'AB'));
  assert.ok(matches('^((?i)a)b$', 'Ab'));
  assert.ok(matches('^(?:(?i)a)+b$', 'aAb'), 'inside a repeated group');
  assert.ok(!matches('^(?:(?i)a)+b$', 'aAB'));
  assert.ok(matches('(?<=(?i)a)b', 'Ab'), 'inside a lookbehind');
  assert.ok(!matches('(?<=(?i)a)b', 'AB'));
  assert.ok(matches('^(?=(?i)a)A', 'A'));
  assert.deepEqual(run('^(?:(?m)a$)\\n(b$)', 'a\nb\n'), { end: 2, captures: ['b'] }, '(?m) ends with its group');
  assert.equal(run('^(?:(?m)a$)\\nb$\\n', 'a\nb\n\n'), null);
});

test('pcre2 - scoped settings (?i:...) and (?-i:...) hold inside their group only and capture nothing', () => {
  assert.ok(matches('^(?i:a|b)c$', 'Bc'));
  assert.ok(!matches('^(?i:a|b)c$', 'BC'));
  assert.ok(matches('^(?i)(?-i:a)b$', 'aB'));
  assert.ok(!matches('^(?i)(?-i:a)b$', 'AB'));
  assert.deepEqual(run('(?i:(a))(b)', 'Ab'), { end: 1, captures: ['A', 'b'] });
  assert.ok(matches('^(?i:a(?-i)b|c)d$', 'Abd'));
  assert.ok(!matches('^(?i:a(?-i)b|c)d$', 'Cd'), 'an unscoped setting inside carries to the next branch');
  assert.ok(!matches('^(?i:a(?-i)b|c)d$', 'AbD'), 'the outer options come back after the group');
  assert.ok(matches('^(?s:a.)b.', 'a\nbc'));
  assert.ok(!matches('^(?s:a.)b.', 'a\nb\n'));
  assert.deepEqual(run('(?U:(.+))(.+)', 'abc'), { end: 2, captures: ['a', 'bc'] });
  assert.deepEqual(run('(?U)(?-U:(a))+', 'aaa'), { end: 0, captures: ['a'] }, 'the quantifier after the group takes the outer (?U)');
});

test('pcre2 - unsetting: (?-i), (?i-s), a letter on both sides of the hyphen, (?^) (i, m, s off; U kept)', () => {
  assert.ok(matches('(?i)a(?-i)b', 'Ab'));
  assert.ok(!matches('(?i)a(?-i)b', 'AB'));
  assert.ok(matches('^(?s)a(?i-s)b.', 'aBx'));
  assert.ok(!matches('^(?s)a(?i-s)b.', 'aB\n'));
  assert.ok(!matches('(?i-i)a', 'A'));
  assert.ok(!matches('(?is)(?^)a.', 'A\n'));
  assert.ok(!matches('(?is)(?^)a.', 'a\n'));
  assert.ok(matches('(?^i)a', 'A'));
  assert.deepEqual(run('(?U)(?^)(a+)', 'aaa'), { end: 0, captures: ['a'] });
  assert.ok(matches('^(?)(?-)(?i-)a$', 'A'), 'empty settings');
});

test('pcre2 - Wazuh-concatenated elements with an option setting in the middle', () => {
  // <program_name> elements ^(?i)test_ + pcre2_ + 0$, joined (the last element's type wins).
  const program = compilePcre2('^(?i)test_pcre2_0$');
  assert.ok(program.test('test_pcre2_0'));
  assert.ok(program.test('TEST_Pcre2_0'));
  assert.ok(!program.test('test_pcre2_00'));
  assert.ok(!program.test('xtest_pcre2_0'));
  // <match> elements "test_match " + "(?i)match_example_1".
  const match = compilePcre2('test_match (?i)match_example_1');
  assert.deepEqual(match.exec('test_match match_example_1'), { end: 25, captures: [] });
  assert.deepEqual(match.exec('x test_match MATCH_Example_1'), { end: 27, captures: [] });
  assert.equal(match.exec('TEST_MATCH match_example_1'), null, 'the text before (?i) stays case-sensitive');
  assert.equal(match.exec('test_match match_example_9'), null);
});

test('pcre2 - (?i) folds ASCII letters only (PCRE2 default tables), in literals and classes', () => {
  assert.ok(matches('(?i)abc', 'xAbC'));
  assert.ok(matches('(?i)[a-c]', 'B'));
  assert.ok(!matches('(?i)[^a-c]', 'B'));
  assert.ok(matches('(?i)[Z-a]', 'z'), 'a range across letters and punctuation folds its letters');
  assert.ok(!matches('(?i)\\xe9', '\xc9'), 'é and É (Latin-1) are not folded');
  assert.ok(!matches('(?i)[\\xe0-\\xef]', '\xc9'));
  assert.ok(!matches('abc', 'ABC'));
  assert.deepEqual(translatePcre2('(?i)a').regexp, '[Aa]', 'no RegExp i flag is used');
});

test('pcre2 - \\s and \\S are the exact PCRE2 byte sets (no 0xA0, VT included), in and out of classes', () => {
  for (const b of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]) assert.ok(matches('^\\s$', String.fromCharCode(b)), `\\s ${b}`);
  for (const b of [0xa0, 0x85, 0x1c, 0x00]) assert.ok(matches('^\\S$', String.fromCharCode(b)), `\\S ${b}`);
  assert.deepEqual(run('(\\S+)', toBytes('é à')), { end: 1, captures: ['\xc3\xa9'] });
  assert.ok(matches('^[\\s]$', '\x0b'));
  assert.ok(!matches('^[\\s]$', '\xa0'));
  assert.ok(matches('^[^\\s]$', '\xa0'));
  assert.ok(matches('^[\\S]$', '\xa0'));
});

test('pcre2 - \\w \\d \\b are ASCII; escapes and literal braces', () => {
  assert.ok(!matches('\\w', '\xe9'));
  assert.ok(!matches('\\d', '\xb2'));
  assert.ok(matches('\\bfoo\\b', 'a foo.'));
  assert.ok(!matches('\\bfoo\\b', '\xe9foo'.slice(1) + 'x'));
  assert.ok(matches('^\\t\\n\\r\\f\\a$', '\t\n\r\f\x07'));
  assert.ok(matches('^\\x41\\x$', 'A\0'), '\\x with no digits is NUL');
  assert.ok(matches('^\\012$', '\n'));
  assert.ok(matches('^\\.\\*\\<\\>\\/$', '.*<>/'));
  assert.ok(matches('^a{$', 'a{'));
  assert.ok(matches('^x{a}$', 'x{a}'));
  assert.ok(matches('^a}$', 'a}'));
  assert.ok(matches('^x{2,3}$', 'xxx'));
  assert.ok(!matches('^x{2,3}$', 'xxxx'));
  assert.ok(matches('^[\\b]$', '\b'), '\\b in a class is backspace');
});

test('pcre2 - classes: a leading ] is literal, hyphens at the edges are literal', () => {
  assert.deepEqual(run('([]a]+)', 'x]a]'), { end: 3, captures: [']a]'] });
  assert.deepEqual(run('([^]a]+)', ']]bc'), { end: 3, captures: ['bc'] });
  assert.ok(matches('^[\\d-]+$', '1-2'));
  assert.ok(matches('^[-a]+$', '-a'));
  assert.ok(matches('^[a-c-e]+$', 'b-e'));
  assert.ok(!matches('^[a-c-e]+$', 'd'));
  assert.ok(matches('^[\\x80-\\xff]+$', '\xc3\xa9'));
  assert.ok(matches('^[^a]$', '\n'), 'a negated class takes LF');
});

test('pcre2 - (*UTF) and \\N{U+hhhh}: the UTF-8 bytes, on valid UTF-8 subjects only', () => {
  const rlo = toBytes('invoice\u202Etxt.exe');
  assert.deepEqual(run('(*UTF)\\N{U+202E}', rlo), { end: 9, captures: [] });
  assert.equal(translatePcre2('(*UTF)\\N{U+202E}').regexp, '\\xe2\\x80\\xae');
  assert.equal(run('(*UTF)\\N{U+202E}', rlo + '\xff'), null, 'pcre2_match refuses an invalid UTF-8 subject');
  assert.equal(run('(*UTF)\\N{U+202E}', '\xe2\x80\xae\xc0\x80'), null, 'overlong form');
  assert.equal(run('(*UTF)\\N{U+202E}', '\xe2\x80\xae\xed\xa0\x80'), null, 'surrogate');
  assert.equal(run('(*UTF)\\N{U+202E}', '\xe2\x80\xae\xe2\x80'), null, 'truncated sequence');
  assert.equal(run('(*UTF)a', toBytes('éa'), 1), null, 'a start offset inside a character');
  assert.deepEqual(run('(*UTF)a', toBytes('éa'), 2), { end: 2, captures: [] });
  assert.deepEqual(run('(*UTF)(\\N{U+E9}+)', toBytes('xéé')), { end: 4, captures: ['\xc3\xa9\xc3\xa9'] }, 'a quantifier takes the whole character');
});

test('pcre2 - an optional item that can match empty sets its captures, as PCRE2 does', () => {
  assert.deepEqual(run('(a*)?b', 'b'), { end: 0, captures: [''] });
  assert.deepEqual(run('(a*)??b', 'b'), { end: 0, captures: [] });
  assert.deepEqual(run('(a*)?b', 'aab'), { end: 2, captures: ['aa'] });
  assert.deepEqual(run('(?:(a)b)+', 'abab'), { end: 3, captures: ['a'] }, 'a capture every iteration sets');
});

test('pcre2 - required runs: mandatory literal runs, longest first, case pairs under (?i), none for alternations', () => {
  const runs = (p: string): string[] => translatePcre2(p).required.map((run) => run.map((set) => {
    const members: string[] = [];
    set.forEach((on, b) => { if (on === 1) members.push(String.fromCharCode(b)); });
    return members.join('');
  }).join('|'));
  assert.deepEqual(runs('([^%]+)?%(FTD)-([0-7])-'), ['%|F|T|D|-', '-']);
  assert.deepEqual(runs('(?i)ab+c'), ['Aa|Bb', 'Bb|Cc']);
  assert.deepEqual(runs('a|bcd'), []);
  assert.deepEqual(runs('x(?=abcdef)'), ['x'], 'lookaround text does not count');
  assert.deepEqual(runs('(?:ab)?c'), ['c']);
  assert.deepEqual(runs('x(?:abc)+d'), ['x|a|b|c', 'd']);
  assert.deepEqual(runs('a\\d+bcd'), ['b|c|d', 'a']);
  assert.deepEqual(runs('a.b.cc.ddd.eeee.f'), ['e|e|e|e', 'd|d|d', 'c|c', 'a'], 'at most four, distinct');
  assert.deepEqual(runs('(*UTF)\\N{U+202E}'), ['\xe2|\x80|\xae']);
  assert.deepEqual(runs('ab(?i)c(?-i)d'), ['a|b|Cc|d'], 'each letter folded as read');
  assert.deepEqual(runs('test_match (?i)me'), ['t|e|s|t|_|m|a|t|c|h| |Mm|Ee']);
  assert.deepEqual(runs('(?i:a)b.(?i)AB'), ['Aa|b', 'Aa|Bb']);
  assert.deepEqual(runs('(?i)ab.(?-i)x.(?i)AB'), ['Aa|Bb', 'x'], 'distinct runs');
});

test('pcre2 - the prefilter checks every required run at or after the start offset, skipping quadratic scans', () => {
  const ftd = compilePcre2('([^%]+)?%(FTD)-([0-7])-([^:\\s]+):?\\s?((.+)\\sfor\\s(.+),\\sProcess\\s=\\s(\\S+))');
  const windowsLike = 'x'.repeat(20000) + ' Process = y';
  const started = performance.now();
  assert.equal(ftd.exec(windowsLike), null, 'a common run present, the rare one (%FTD-) absent');
  assert.ok(performance.now() - started < 50, 'the prefilter skips the scan');
  assert.deepEqual(ftd.exec('a%FTD-1-2: x for y, Process = z')?.captures, ['a', 'FTD', '1', '2', 'x for y, Process = z', 'x', 'y', 'z']);
  assert.equal(ftd.exec('a%FTD-1-2: x for y, Process = z', 2), null, 'a run before the start offset does not count');
});

test('pcre2 - the matcher keeps the source; a refusal is a PatternError naming the pattern', () => {
  assert.equal(compilePcre2('(?i)x').source, '(?i)x');
  assert.throws(() => compilePcre2('a++'), (err: unknown) => err instanceof PatternError && err.pattern === 'a++'
    && err.reason === 'possessive quantifier at offset 2');
});

/** Pattern, then the text the refusal must contain (construct and offset). */
const REFUSALS: readonly (readonly [string, string])[] = [
  ['a++', 'possessive quantifier at offset 2'],
  ['a*+', 'possessive quantifier at offset 2'],
  ['a{2}+', 'possessive quantifier at offset 4'],
  ['x(?>a)', 'atomic group (?> at offset 1'],
  ['a\\Kb', 'match-start reset \\K at offset 1'],
  ['\\Qa.b\\E', 'quoting \\Q at offset 0'],
  ['a\\E', 'quoting \\E at offset 1'],
  ['(?<n>a)', 'named group or named reference at offset 0'],
  ['(?P<n>a)', 'named group or named reference at offset 0'],
  ["(?'n'a)", 'named group or named reference at offset 0'],
  ['(a)\\k<n>', 'named backreference \\k at offset 3'],
  ['(a)\\1', 'backreference \\1 at offset 3'],
  ['(a)\\g1', 'backreference or subroutine \\g at offset 3'],
  ['a(?R)', 'recursion or subroutine call at offset 1'],
  ['(a)(?1)', 'recursion or subroutine call at offset 3'],
  ['(a)(?-1)', 'recursion or subroutine call at offset 3'],
  ['(?&n)', 'recursion or subroutine call at offset 0'],
  ['(?P>n)', 'named group or named reference at offset 0'],
  ['(?(1)a|b)', 'conditional group (?( at offset 0'],
  ['(?|(a)|(b))', 'branch reset group (?| at offset 0'],
  ['a(?#note)', 'comment group (?# at offset 1'],
  ['(?C1)a', 'callout (?C at offset 0'],
  ['\\Aa', 'anchor \\A at offset 0'],
  ['a\\Z', 'anchor \\Z at offset 1'],
  ['a\\z', 'anchor \\z at offset 1'],
  ['\\Ga', 'anchor \\G at offset 0'],
  ['\\h', 'horizontal-space class \\h at offset 0'],
  ['\\v', 'vertical-space class \\v at offset 0'],
  ['\\R', 'newline sequence \\R at offset 0'],
  ['\\X', 'extended grapheme \\X at offset 0'],
  ['[[:alpha:]]', 'POSIX class syntax [:...:] at offset 1'],
  ['\\p{L}', 'Unicode property \\p at offset 0'],
  ['\\P{L}', 'Unicode property \\P at offset 0'],
  ['\\x{41}', '\\x{...} at offset 0'],
  ['\\e', 'escape character \\e at offset 0'],
  ['\\cA', 'control escape \\c at offset 0'],
  ['\\C', 'single code unit \\C at offset 0'],
  ['\\o{101}', 'octal escape \\o at offset 0'],
  ['\\u0041', 'unsupported escape \\u at offset 0'],
  ['\\y', 'unrecognized escape \\y at offset 0'],
  ['\\N', '\\N (only \\N{U+hhhh} is supported) at offset 0'],
  ['[\\1]', 'octal escape \\1 at offset 1'],
  ['[\\N]', '\\N in a character class at offset 1'],
  ['[\\h]', 'horizontal-space class \\h at offset 1'],
  ['(?~a)', 'unknown group syntax (?~a) at offset 0'],
  ['(?x)a b', 'extended mode (?x) is not supported at offset 2'],
  ['a(?i:b(?x)c)', 'extended mode (?x) is not supported at offset 8'],
  ['(?in)a', "option letter 'n' is not supported at offset 3"],
  ['(?i-J)a', "option letter 'J' is not supported at offset 4"],
  ['a(?-n:b)', "option letter 'n' is not supported at offset 4"],
  ['(?i-m-s)a', 'misplaced hyphen in option setting at offset 5'],
  ['(?^-i)a', 'misplaced hyphen in option setting at offset 3'],
  ['(?i^)a', "unrecognized character '^' in option setting at offset 3"],
  ['(?i!)a', "unrecognized character '!' in option setting at offset 3"],
  ['a(?i', 'missing closing parenthesis for the group at offset 1'],
  ['(?i:a', 'missing closing parenthesis for the group at offset 0'],
  ['a(?i)*', 'quantifier does not follow a repeatable item at offset 5'],
  ['(?i){2}a', 'quantifier does not follow a repeatable item at offset 4'],
  ['caf\xc3\xa9', 'non-ASCII literal (code 195) at offset 3'],
  ['café', 'non-ASCII literal (code 233) at offset 3'],
  ['[é]', 'non-ASCII literal (code 233) at offset 1'],
  ['\\é', 'non-ASCII literal (code 233) at offset 0'],
  ['(?<=a+)b', 'lookbehind assertion is not fixed length at offset 0'],
  ['(?<=a|bc(d|ef))g', 'lookbehind assertion is not fixed length at offset 0'],
  ['(?<=(a))b', 'capturing group inside a lookbehind at offset 4'],
  ['^*a', 'quantifier after an assertion at offset 1'],
  ['a$?', 'quantifier after an assertion at offset 2'],
  ['\\b+', 'quantifier after an assertion at offset 2'],
  ['(?=a)*', 'quantifier after an assertion at offset 5'],
  ['*a', 'quantifier does not follow a repeatable item at offset 0'],
  ['a|+b', 'quantifier does not follow a repeatable item at offset 2'],
  ['({2}a)', 'quantifier does not follow a repeatable item at offset 1'],
  ['a**', 'nested quantifier at offset 2'],
  ['a{2}{3}', 'nested quantifier at offset 4'],
  ['a?*', 'nested quantifier at offset 2'],
  ['x{,3}', '{,m} (its meaning depends on the PCRE2 version) at offset 1'],
  ['x{3,2}', 'numbers out of order in {} quantifier at offset 1'],
  ['x{70000}', 'number too big in {} quantifier at offset 1'],
  ['a(*ANY)b', 'backtracking control verb (*...) at offset 1'],
  ['(*UCP)a', 'backtracking control verb (*...) at offset 0'],
  ['a(*UTF)', 'backtracking control verb (*...) at offset 1'],
  ['(a', 'missing closing parenthesis for the group at offset 0'],
  ['a)', 'unmatched closing parenthesis at offset 1'],
  ['[ab', 'missing terminating ] for character class at offset 0'],
  ['[]', 'missing terminating ] for character class at offset 0'],
  ['[z-a]', 'range out of order in character class at offset 1'],
  ['[\\d-z]', 'invalid range in character class (a class escape cannot bound a range) at offset 1'],
  ['[a-\\d]', 'invalid range in character class (a class escape cannot bound a range) at offset 3'],
  ['ab\\', '\\ at end of pattern at offset 2'],
  ['(?:(a)|b)+', 'repeated group holds a capture that an iteration may skip at offset 9'],
  ['(?:(a)?b)*', 'repeated group holds a capture that an iteration may skip at offset 9'],
  ['(?:x(?!(a)))+', 'repeated group holds a capture that an iteration may skip at offset 12'],
  ['(a*)+', 'repeated group that can match empty holds a capture at offset 4'],
  ['(a|)*', 'repeated group that can match empty holds a capture at offset 4'],
  ['\\N{U+202E}', '\\N{U+hhhh} without (*UTF) at offset 0'],
  ['(*UTF)\\N{U+D800}', '\\N{U+hhhh} is not a Unicode scalar value at offset 6'],
  ['(*UTF)\\N{U+110000}', '\\N{U+hhhh} is not a Unicode scalar value at offset 6'],
  ['(*UTF)a.b', "'.' under (*UTF) (it matches a whole UTF-8 character) at offset 7"],
  ['(*UTF)\\S', '\\S under (*UTF) (it matches a whole UTF-8 character) at offset 6'],
  ['(*UTF)[\\W]', '\\W under (*UTF) (it matches a whole UTF-8 character) at offset 7'],
  ['(*UTF)[^a]', 'negated class under (*UTF) (it matches a whole UTF-8 character) at offset 6'],
  ['(*UTF)\\xe9', '\\xhh above 0x7f under (*UTF) (a code point, not a byte) at offset 6'],
  ['(*UTF)[\\x80-\\x90]', '\\xhh above 0x7f under (*UTF) (a code point, not a byte) at offset 7'],
  ['(*UTF)(?i)k', '(?i) under (*UTF) (Unicode case folding) at offset 8'],
  ['(*UTF)a(?-m:b(?si:k))', '(?i) under (*UTF) (Unicode case folding) at offset 16'],
];

test('pcre2 - every construct outside the audited set is refused at load time, naming it and its offset', () => {
  for (const [pattern, reason] of REFUSALS) {
    assert.throws(() => compilePcre2(pattern), (err: unknown) => {
      assert.ok(err instanceof PatternError, `${pattern}: not a PatternError`);
      assert.equal(err.reason, reason, `refusal of ${JSON.stringify(pattern)}`);
      return true;
    }, `${JSON.stringify(pattern)} was accepted`);
  }
});

test('pcre2 - the audited constructs around the refusals are accepted', () => {
  for (const pattern of ['(?<=ab|c)d', '(?<!a\\d{2})b', '(?<=a(?:b|c))d', '(?:(a)b)+', '(a)?', '(?:ab|cd)+', '\\0',
    '[\\d-]', '[\\w.-]+', '(?i)(?m)(?s)(?U)a', '(*UTF)(?m)\\N{U+41}$', 'a{2}?', '(?:x(?=(a)))+', '',
    'a(?i)b', '(?i:a)', '(?^)a', '(?)a', '(?-:a)', '(*UTF)(?-i)k', '(*UTF)a(?m-s:b)']) {
    assert.doesNotThrow(() => compilePcre2(pattern), pattern);
  }
});

// ---------------------------------------------------------------------------------------
// Runaway backtracking

/** The measures that decide, for a compact comparison. */
function measured(pattern: string): Pick<BacktrackMeasures, 'run' | 'nestedAt' | 'linearFallback' | 'anchored' | 'degree'> {
  const { run, nestedAt, linearFallback, anchored, degree } = measureBacktracking(pattern);
  return { run, nestedAt, linearFallback, anchored, degree };
}

test('pcre2 - backtracking measures: a run goes on while the next repeat overlaps the last one and nothing between stops it', () => {
  assert.equal(measured('.+.+.+').run, 3);
  assert.equal(measured('.+x.+').run, 2, 'x is a byte . matches: the first .+ may stop before any x');
  assert.equal(measured('\\d+x.+').run, 1, 'x is no digit: \\d+ must stop right before it');
  assert.equal(measured('\\S+\\s\\S+').run, 1);
  assert.equal(measured('\\S+\\s+\\S+').run, 1, 'disjoint neighbours');
  assert.equal(measured('\\S+\\s*\\S+').run, 2, 'an optional item between stops nothing');
  assert.equal(measured('[^,]*,'.repeat(10)).run, 1);
  assert.equal(measured('a?'.repeat(5)).run, 5, 'bounded repeats count too');
  assert.equal(measured('(?:a|ab)(?:b|c)').run, 1, 'alternation whose branches start alike');
  assert.equal(measured('(?:ab|ac)(?:b|c)').run, 0, 'branches that differ at their second byte');
  assert.equal(measured('(?i:informational|low)+').run, 1);
  assert.equal(measured('(.*a){5}').run, 5, 'a counted group is unrolled');
  assert.equal(measured('(?:\\d+\\.){3}\\d+').run, 1);
  assert.equal(measured('^(?=.*a)(?=.*x)').run, 1, 'each lookaround runs on its own');
  assert.equal(measured('^.*(?=.*a)').run, 2, 'a lookaround runs again for every way of reaching it');
  assert.equal(measured('x(?:(?=.*a).)+').run, 2, 'and at every iteration of an enclosing repeat');
});

test('pcre2 - backtracking measures: nesting, anchoring, and whether V8 can fall back to its linear-time engine', () => {
  assert.equal(measured('(a+)+').nestedAt, 4);
  assert.equal(measured('(?:\\d+\\.)+').nestedAt, -1, 'each iteration ends at its dot');
  assert.equal(measured('(?:(\\S+)\\s)+').nestedAt, -1);
  assert.equal(measured('(?:ab|ac)+').nestedAt, -1);
  assert.deepEqual([measured('^a.+').anchored, measured('ACTION .+').anchored, measured('(?m)^DBID:.+').anchored], [true, true, true]);
  assert.deepEqual([measured('ab.+').anchored, measured('(?m)^.+').anchored, measured('^a|b').anchored], [false, false, false]);
  assert.deepEqual([measured('^a.+').degree, measured('a.+').degree], [1, 2], 'an unanchored pattern is tried from every byte');
  assert.equal(measured('a$|b$').linearFallback, true, 'a final $ is consumed, not looked ahead');
  for (const p of ['(?=a)', '(?<!a)b', '(?m)^a', '(a$)', 'a{17}', '(?:a{4}){5}', '(?:a+){9}']) assert.equal(measured(p).linearFallback, false, p);
  for (const p of ['a{16}', '(?:a{4}){4}', '(?:a+){8}', '\\bx\\B']) assert.equal(measured(p).linearFallback, true, p);
});

const NESTED = 'nested repeats: a repeated group whose iterations can match the same text in more than one way: matching could take exponential time';
const ANCHORED_LOOK = 'limit 2 in an anchored pattern with lookaround (written, or translating (?m)^ or a $ before the end), which V8\'s linear-time engine cannot run';
const UNANCHORED_LOOK = 'limit 1 in an unanchored pattern with lookaround (written, or translating (?m)^ or a $ before the end), which V8\'s linear-time engine cannot run';
const deepNest = ((): string => {
  let p = 'a?b';
  for (const c of 'cdefghijkl') p = `(?:${p})+${c}`;
  return p;
})();

/** Pattern, then its exact refusal. */
const BACKTRACK_REFUSALS: readonly (readonly [string, string])[] = [
  ['(a+)+', `${NESTED} at offset 4`],
  ['(\\w+\\s?)+$', `${NESTED} at offset 8`],
  ['^(a|aa)+$', `${NESTED} at offset 7`],
  ['(?:a?b|x?b)+', `${NESTED} at offset 11`],
  ['(?:(?:a*)*)*b', `${NESTED} at offset 11`],
  ['(x+x+)+y', `${NESTED} at offset 6`],
  ['(?:\\s*\\w+)+', `${NESTED} at offset 10`],
  ['(.+)'.repeat(17), 'ambiguous repeats: 17 repeats that can match the same text in a row (limit 16): matching could take too long at offset 66'],
  [`([^%]+)?%(FTD)-(\\d)-(\\d+): ${'(.+)'.repeat(140)}`,
    'ambiguous repeats: 140 repeats that can match the same text in a row (limit 16): matching could take too long at offset 585'],
  [`${'a?'.repeat(17)}${'a'.repeat(17)}!`, 'ambiguous repeats: 17 repeats that can match the same text in a row (limit 16): matching could take too long at offset 33'],
  [`^(?!^$)${'.+'.repeat(180)}$`, `ambiguous repeats: 180 repeats that can match the same text in a row (${ANCHORED_LOOK}): matching could take too long at offset 366`],
  ['^(?=x).*.*.*', `ambiguous repeats: 3 repeats that can match the same text in a row (${ANCHORED_LOOK}): matching could take too long at offset 11`],
  ['(?=.*.*admin)(\\w+)', `ambiguous repeats: 2 repeats that can match the same text in a row (${UNANCHORED_LOOK}): matching could take too long at offset 6`],
  ['(?m)^x.+.+', `ambiguous repeats: 2 repeats that can match the same text in a row (${UNANCHORED_LOOK}): matching could take too long at offset 9`],
  ['x(?:(?=.*a).)+', `ambiguous repeats: 2 repeats that can match the same text in a row (${UNANCHORED_LOOK}): matching could take too long at offset 8`],
  ['.{0,100}.{0,100}', 'ambiguous repeats: 2 repeats that can match the same text in a row (limit 1 in an unanchored pattern with repeat counts reaching 100, '
    + 'above the 16 V8\'s linear-time engine can run): matching could take too long at offset 9'],
  ['(?:a?){20}', 'ambiguous repeats: at least 18 repeats that can match the same text in a row (limit 1 in an unanchored pattern with repeat counts reaching 20, '
    + 'above the 16 V8\'s linear-time engine can run): matching could take too long at offset 4'],
  [deepNest, 'repeats nested too deeply to check for runaway backtracking at offset 31'],
];

test('pcre2 - backtracking check: patterns whose failing match can blow up are refused at load time, saying why and where', () => {
  for (const [pattern, reason] of BACKTRACK_REFUSALS) {
    assert.throws(() => compilePcre2(pattern), (err: unknown) => {
      assert.ok(err instanceof PatternError, `${pattern}: not a PatternError`);
      assert.equal(err.reason, reason, `refusal of ${JSON.stringify(pattern)}`);
      return true;
    }, `${JSON.stringify(pattern)} was accepted`);
  }
});

test('pcre2 - backtracking check: near misses are accepted', () => {
  for (const pattern of [
    '[^,]*,'.repeat(60), '(\\S+)\\s(\\S+)', '^(?=.*a)(?=.*x)', '(.+)'.repeat(16), `${'a?'.repeat(16)}${'a'.repeat(16)}!`,
    '(?:ab|ac)+', '(?:\\d+\\.)+\\d+', '(?:(\\S+)\\s)+', '(?=a)\\w+\\s+\\w+', '\\w+\\s*\\w+', '^(?=x).*.*', '(?=x).+', '(.*a){12}',
    '(?mUs)ACTION :(.*)(?:^[A-Z\\s]+:)', "(?m)^DATABASE USER:\\[\\d+] '(.+)'\\n", '(?i)(?:informational|low)+', '\\d{1,3}(?:\\.\\d{1,3}){3}',
  ]) {
    assert.doesNotThrow(() => compilePcre2(pattern), JSON.stringify(pattern));
  }
});

/** Raw text of every type="pcre2" element of the stock rules, decoders and test rulesets. */
function stockPatterns(root: string): string[] {
  const found = new Set<string>();
  for (const dir of ['decoders', 'rules', path.join('testing', 'ruleset')]) {
    const folder = path.join(root, dir);
    for (const name of fs.readdirSync(folder).filter((f) => f.endsWith('.xml'))) {
      const text = fs.readFileSync(path.join(folder, name), 'latin1').replace(/<!--[\s\S]*?-->/g, '');
      const element = /<(\w+)\b[^>]*\btype\s*=\s*["']pcre2["'][^>]*>([\s\S]*?)<\/\1\s*>/g;
      for (let m = element.exec(text); m !== null; m = element.exec(text)) found.add(m[2]!);
    }
  }
  return [...found];
}

test('pcre2 - backtracking check: every stock pattern passes, each measure inside its limit with a margin', (t) => {
  const root = upstreamData('wazuh-ruleset-v4.14.5');
  if (!root) {
    t.skip(missingData('wazuh-ruleset-v4.14.5'));
    return;
  }
  const patterns = stockPatterns(root);
  const most = { run: [0, ''], fallbackRun: [0, ''], degree: [0, ''], lookDegree: [0, ''], replication: [0, ''] } as Record<string, [number, string]>;
  const raise = (key: string, value: number, pattern: string): void => {
    if (value > most[key]![0]) most[key] = [value, pattern];
  };
  let nested = 0;
  let withoutFallback = 0;
  for (const pattern of patterns) {
    const m = measureBacktracking(pattern);
    assert.doesNotThrow(() => compilePcre2(pattern), pattern);
    if (m.nestedAt >= 0) nested++;
    raise('run', m.run, pattern);
    raise('replication', m.replication, pattern);
    if (m.linearFallback) raise('fallbackRun', m.run, pattern);
    else {
      withoutFallback++;
      raise('degree', m.degree, pattern);
      if (/\(\?<?[=!]/.test(pattern)) raise('lookDegree', m.degree, pattern);
    }
  }
  const show = (key: string): string => `${most[key]![0]} (${most[key]![1].slice(0, 90)})`;
  const limits = BACKTRACK_LIMITS;
  t.diagnostic(`${patterns.length} distinct stock patterns, ${withoutFallback} without V8's linear-time fallback, ${nested} with nested repeats (limit 0)`);
  t.diagnostic(`longest run: ${show('run')}; with the fallback: ${show('fallbackRun')} (limit ${limits.maxRun})`);
  t.diagnostic(`highest degree without the fallback: ${show('degree')}; written lookaround: ${show('lookDegree')} (limit ${limits.maxDegreeWithoutFallback})`);
  t.diagnostic(`largest count product: ${show('replication')} (V8's linear-time engine takes up to ${limits.maxLinearReplication})`);
  assert.ok(patterns.length > 400, `only ${patterns.length} stock patterns found`);
  assert.equal(nested, 0);
  assert.ok(2 * most.fallbackRun![0] <= limits.maxRun, 'the run limit keeps twice the stock maximum');
  // Without the fallback the limit is what V8 already costs anyway (quadratic), not a margin over the stock.
  assert.ok(most.degree![0] <= limits.maxDegreeWithoutFallback);
  assert.ok(most.lookDegree![0] < limits.maxDegreeWithoutFallback, 'written lookarounds keep a margin');
});
