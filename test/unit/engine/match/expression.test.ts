/**
 * compileExpression: the dialect switch rules and decoders go through, negation as the
 * rule attribute negate="yes" applies it, exact strings, and the shared compile cache.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { compileExpression } from '../../../../engine/match/expression.js';
import { PatternError } from '../../../../engine/types.js';

test('each type compiles its own dialect', () => {
  const line = 'Failed password for root from 10.0.0.1 port 22';
  const osregex = compileExpression('osregex', 'for (\\S+) from');
  assert.equal(osregex.type, 'osregex');
  assert.equal(osregex.negate, false);
  assert.deepEqual(osregex.exec(line), { end: 28, captures: ['root'] });

  const osmatch = compileExpression('osmatch', 'FAILED PASSWORD');
  assert.equal(osmatch.type, 'osmatch');
  assert.deepEqual(osmatch.exec(line), { end: 14, captures: [] });

  const pcre2 = compileExpression('pcre2', 'for (\\w+) from');
  assert.equal(pcre2.type, 'pcre2');
  assert.equal(pcre2.test(line), true);
  assert.deepEqual(pcre2.exec(line)?.captures, ['root']);
  assert.equal(pcre2.test('FOR root FROM'), false);
});

test("'string' is an exact, case-sensitive comparison of the whole subject", () => {
  const action = compileExpression('string', 'drop');
  assert.equal(action.test('drop'), true);
  assert.equal(action.test('DROP'), false);
  assert.equal(action.test('drops'), false);
  assert.equal(action.test(' drop'), false);
  assert.deepEqual(action.exec('drop'), { end: 3, captures: [] });
  assert.deepEqual(action.exec('x drop', 2), { end: 5, captures: [] });
  assert.equal(compileExpression('string', '').test(''), true);
  // Pattern syntax means nothing to it.
  assert.equal(compileExpression('string', 'a|b').test('a'), false);
  assert.equal(compileExpression('string', 'a|b').test('a|b'), true);
});

test('negate flips test(); exec() matches, to the subject end, exactly when the pattern does not', () => {
  const notRoot = compileExpression('osregex', '^root$', { negate: true });
  assert.equal(notRoot.negate, true);
  assert.equal(notRoot.test('root'), false);
  assert.equal(notRoot.test('admin'), true);
  assert.deepEqual(notRoot.exec('admin'), { end: 4, captures: [] });
  assert.equal(notRoot.exec('root'), null);
  assert.equal(notRoot.exec('xroot', 1), null);
  assert.deepEqual(notRoot.exec('rootx', 1), { end: 4, captures: [] });

  const notDrop = compileExpression('string', 'drop', { negate: true });
  assert.equal(notDrop.test('drop'), false);
  assert.equal(notDrop.test('accept'), true);

  const notSshd = compileExpression('pcre2', '^sshd$', { negate: true });
  assert.equal(notSshd.test('sshd'), false);
  assert.equal(notSshd.test('cron'), true);
});

test("negate composes with OS_Match's own leading '!' (the rule attribute applies on top)", () => {
  const inner = compileExpression('osmatch', '!sshd');
  const both = compileExpression('osmatch', '!sshd', { negate: true });
  for (const subject of ['sshd', 'cron']) assert.equal(both.test(subject), !inner.test(subject));
  assert.equal(both.test('sshd'), true);
});

test('compiled expressions are shared by type, pattern, case and negation', () => {
  const a = compileExpression('osregex', 'user (\\S+)');
  assert.equal(compileExpression('osregex', 'user (\\S+)'), a);
  assert.notEqual(compileExpression('osregex', 'user (\\S+)', { negate: true }), a);
  assert.notEqual(compileExpression('osregex', 'user (\\S+)', { caseSensitive: true }), a);
  assert.notEqual(compileExpression('osregex', 'user (\\S+)', { captures: false }), a);
  assert.notEqual(compileExpression('osmatch', 'user (\\S+)'), a);
  // Options a dialect ignores do not split the cache.
  const s = compileExpression('string', 'drop');
  assert.equal(compileExpression('string', 'drop', { caseSensitive: true, captures: false }), s);
});

test('without group recording an OS_Regex expression reports no captures', () => {
  const rule = compileExpression('osregex', 'for (\\S+) from', { captures: false });
  assert.deepEqual(rule.exec('Failed password for root from 10.0.0.1'), { end: 28, captures: [] });
});

test('case-sensitive OS_Regex keeps capitals, which the folded subject then never meets', () => {
  assert.equal(compileExpression('osregex', 'Root', { caseSensitive: true }).test('Root'), false);
  assert.equal(compileExpression('osregex', 'Root').test('ROOT'), true);
});

test('invalid patterns throw PatternError and are not cached as successes', () => {
  assert.throws(() => compileExpression('osregex', '(a(b))'), PatternError);
  assert.throws(() => compileExpression('osregex', '(a(b))'), PatternError);
  assert.throws(() => compileExpression('osregex', 'a\\x'), (e: unknown) => e instanceof PatternError && e.pattern === 'a\\x');
});
