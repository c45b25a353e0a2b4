import test from 'node:test';
import assert from 'node:assert/strict';
import { retryDelaySeconds } from '../../../../actors/worker/master-session.js';

test('worker session (worker) - reconnect delays start fast and settle at connection_retry', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelaySeconds(10, n)), [0.25, 0.5, 1, 2, 4, 8, 10, 10]);
  assert.equal(retryDelaySeconds(0.1, 1), 0.1);
});
