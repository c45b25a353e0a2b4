/**
 * OS_Match: substring alternatives, per-alternative anchors, whole-pattern negation,
 * ASCII-only case folding, and the end index each match reports.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { compileOsMatch } from '../../../../engine/match/os-match.js';
import { PatternError, toBytes } from '../../../../engine/types.js';

const matches = (pattern: string, subject: string): boolean => compileOsMatch(pattern).test(subject);

test('a plain pattern is a substring test, case-insensitive for ASCII letters', () => {
  assert.equal(matches('fail', 'Authentication FAILURE'), true);
  assert.equal(matches('FAIL', 'authentication failure'), true);
  assert.equal(matches('failed', 'Authentication FAILURE'), false);
  assert.equal(matches('a.b', 'axb'), false);
  assert.equal(matches('a.b', 'xa.bx'), true);
  assert.equal(matches('a*', 'aaa'), false);
});

test('only ASCII letters fold: Latin-1 and UTF-8 bytes compare exactly', () => {
  assert.equal(matches('\u00e9', '\u00c9'), false);
  assert.equal(matches(toBytes('caf\u00e9'), toBytes('CAF\u00e9 au lait')), true);
  assert.equal(matches(toBytes('\u00e9t\u00e9'), toBytes('\u00c9T\u00c9')), false);
});

test('alternatives on | are tried in order; an empty alternative matches everything', () => {
  assert.equal(matches('abc|def', 'xxdefxx'), true);
  assert.equal(matches('abc|def', 'xxdexx'), false);
  assert.equal(matches('abc||def', 'nothing'), true);
  assert.equal(matches('abc|', 'nothing'), true);
  assert.equal(matches('', 'nothing'), true);
  assert.equal(matches('', ''), true);
});

test('^ and $ anchor each alternative; both make it an equality', () => {
  assert.equal(matches('^sshd', 'sshd[123]'), true);
  assert.equal(matches('^sshd', 'xsshd'), false);
  assert.equal(matches('sshd$', 'xSSHD'), true);
  assert.equal(matches('sshd$', 'sshdx'), false);
  assert.equal(matches('^sshd$', 'SSHD'), true);
  assert.equal(matches('^sshd$', 'sshd '), false);
  assert.equal(matches('^su$|^sudo$', 'sudo'), true);
  assert.equal(matches('xyz|^su', 'sudo'), true);
  // '^' alone is an empty prefix, '$' alone an empty suffix, '^$' only the empty subject.
  assert.equal(matches('^', 'anything'), true);
  assert.equal(matches('$', 'anything'), true);
  assert.equal(matches('^$', 'anything'), false);
  assert.equal(matches('^$', ''), true);
  // Nothing escapes them elsewhere: inner ^ and $ are plain characters.
  assert.equal(matches('a^b$c', 'xa^b$cx'), true);
});

test('a leading ! negates the whole pattern', () => {
  assert.equal(matches('!sshd', 'sshd'), false);
  assert.equal(matches('!sshd', 'cron'), true);
  assert.equal(matches('!^sshd|cron', 'cron[1]'), false);
  assert.equal(matches('!^sshd|cron', 'su'), true);
  assert.equal(matches('!', 'anything'), false);
  // Only the first byte negates: '!' anywhere else is a character.
  assert.equal(matches('a!b', 'xa!by'), true);
});

test('exec reports the index of the last byte matched; a negated match ends at the subject end', () => {
  assert.deepEqual(compileOsMatch('def').exec('abcdefgh'), { end: 5, captures: [] });
  assert.deepEqual(compileOsMatch('^abc').exec('abcdefgh'), { end: 2, captures: [] });
  assert.deepEqual(compileOsMatch('fgh$').exec('abcdefgh'), { end: 7, captures: [] });
  assert.deepEqual(compileOsMatch('^abcdefgh$').exec('abcdefgh'), { end: 7, captures: [] });
  assert.deepEqual(compileOsMatch('xyz|').exec('abc'), { end: -1, captures: [] });
  assert.deepEqual(compileOsMatch('!xyz').exec('abc'), { end: 2, captures: [] });
  assert.equal(compileOsMatch('!abc').exec('abc'), null);
  assert.equal(compileOsMatch('xyz').exec('abc'), null);
});

test('exec from an offset looks only at the rest of the subject', () => {
  const m = compileOsMatch('^two');
  assert.deepEqual(m.exec('one two', 4), { end: 6, captures: [] });
  assert.equal(m.exec('one two', 3), null);
  assert.equal(compileOsMatch('one').exec('one two', 1), null);
  assert.deepEqual(compileOsMatch('two$').exec('one two', 4), { end: 6, captures: [] });
  assert.equal(compileOsMatch('one two$').exec('one two', 1), null);
});

test('the folded subject is reused safely across patterns and subjects', () => {
  const a = compileOsMatch('alpha');
  const b = compileOsMatch('beta');
  assert.equal(a.test('ALPHA BETA'), true);
  assert.equal(b.test('ALPHA BETA'), true);
  assert.equal(a.test('GAMMA'), false);
  assert.equal(b.test('ALPHA BETA'), true);
});

test('case-sensitive compile follows C: unanchored capitals never match, anchored ones fold', () => {
  assert.equal(compileOsMatch('Root', { caseSensitive: true }).test('Root'), false);
  assert.equal(compileOsMatch('root', { caseSensitive: true }).test('ROOT'), true);
  assert.equal(compileOsMatch('^Root', { caseSensitive: true }).test('rOOT login'), true);
});

test('compile errors: longer than 20,480 bytes or holding a NUL', () => {
  assert.throws(() => compileOsMatch('a'.repeat(20481)), (e: unknown) => e instanceof PatternError && /longer/.test(e.reason));
  assert.throws(() => compileOsMatch('a\u0000b'), PatternError);
  assert.doesNotThrow(() => compileOsMatch('a'.repeat(20480)));
});

test('anchored alternatives fold in place; texts without letters search the subject as is', () => {
  assert.deepEqual(compileOsMatch('^fail').exec('FAILED x'), { end: 3, captures: [] });
  assert.equal(compileOsMatch('^fail').test('FAI'), false);
  assert.deepEqual(compileOsMatch('fail$').exec('x FAIL'), { end: 5, captures: [] });
  assert.equal(compileOsMatch('fail$').test('FAIL x'), false);
  assert.deepEqual(compileOsMatch('^fail$').exec('FAIL'), { end: 3, captures: [] });
  assert.deepEqual(compileOsMatch(': password').exec('X: PASSWORD'), { end: 10, captures: [] });
  assert.deepEqual(compileOsMatch('12:34').exec('at 12:34'), { end: 7, captures: [] });
  assert.equal(compileOsMatch('12:34').test('at 12:35'), false);
  assert.equal(compileOsMatch('!^fail').test('FAIL'), false);
  assert.equal(compileOsMatch('!^fail').test('ok'), true);
});

test('a long subject searched by many patterns: byte pairs rule texts out, never a folded match in', () => {
  const log = 'Dec 10 01:02:03 host sshd[12]: Authentication FAILURE for user ROOT from 10.0.0.1 port 22';
  const other = 'Dec 10 01:02:04 host kernel: usb 1-1: new high-speed USB device number 2 using ehci_hcd';
  const patterns = ['authentication failure', 'for user root', 'failure|denied', 'ssh2', 'usb device', 'root from 10', 'kernel:', 'ehci'];
  const answers = (subject: string): boolean[] => patterns.map((p) => compileOsMatch(p).test(subject));
  const expected = [true, true, true, false, false, true, false, false];
  assert.deepEqual(answers(log), expected);
  assert.deepEqual(answers(log), expected);
  assert.deepEqual(answers(other), [false, false, false, false, true, false, true, true]);
  assert.deepEqual(answers(log), expected);
  // Every pair of 'thost' is in the log ('th' in Authentication; 'ho', 'os', 'st' in host), the text is not.
  assert.equal(compileOsMatch('thost').test(log), false);
  assert.equal(compileOsMatch('n fail').test(log), true);
});
