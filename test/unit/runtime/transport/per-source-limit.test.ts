import assert from 'node:assert/strict';
import test from 'node:test';
import { PerSourceLimit, RefusalWarnings } from '../../../../runtime/transport/per-source-limit.js';

test('per-source-limit - each source gets its own places up to the limit, and gets them back', () => {
  const limit = new PerSourceLimit(2);
  assert.equal(limit.enter('10.0.0.1'), true);
  assert.equal(limit.enter('10.0.0.1'), true);
  assert.equal(limit.enter('10.0.0.1'), false);
  assert.equal(limit.enter('10.0.0.2'), true, 'another source is not held back');
  limit.leave('10.0.0.1');
  assert.equal(limit.holding('10.0.0.1'), 1);
  assert.equal(limit.enter('10.0.0.1'), true);
  limit.leave('10.0.0.1');
  limit.leave('10.0.0.1');
  assert.equal(limit.holding('10.0.0.1'), 0);
  limit.leave('10.0.0.1');
  assert.equal(limit.holding('10.0.0.1'), 0, 'an extra leave never goes below zero');
});

test('per-source-limit - a limit of 0 means none', () => {
  const limit = new PerSourceLimit(0);
  for (let i = 0; i < 10_000; i++) assert.equal(limit.enter('10.0.0.1'), true);
  assert.equal(limit.holding('10.0.0.1'), 10_000);
});

test('per-source-limit - refusal warnings: the first, then one per interval with the quiet count', () => {
  const warnings = new RefusalWarnings(1000, 2);
  assert.equal(warnings.refused('a', 0), 0);
  assert.equal(warnings.refused('a', 10), null);
  assert.equal(warnings.refused('a', 999), null);
  assert.equal(warnings.refused('b', 999), 0, 'each source has its own interval');
  assert.equal(warnings.refused('a', 1000), 2);
  assert.equal(warnings.refused('a', 1001), null);
  assert.equal(warnings.refused('c', 1001), 0, 'past maxSources the memory is cleared');
  assert.equal(warnings.refused('a', 1002), 0);
});
