import test from 'node:test';
import assert from 'node:assert/strict';
import { acknowledge, enqueue } from '../../../../actors/worker/agent-info-sender.js';
import type { AgentInfoUpdate } from '../../../../protocols/agent-info.js';

const report = {
  uname: 'Linux |h |5 |#1 |x86_64 [Debian GNU/Linux|debian: 10 (buster)]', configSum: null, mergedSum: 'x', agentIp: null, labels: '',
  os: { name: 'Debian GNU/Linux', platform: 'debian', version: '10', codename: 'buster', major: '10', minor: null, build: null, arch: 'x86_64' },
};
const u = (status: AgentInfoUpdate['status'], kind: AgentInfoUpdate['kind'], at: number, withReport = false): AgentInfoUpdate =>
  ({ id: 1, kind, status, statusCode: status === 'disconnected' ? 3 : 0, version: 'Wazuh v4.14.5', at, report: withReport ? report : null });

test('agent-info ingest (worker) - same-status updates fold, a full report is not downgraded, every status change stays a step', () => {
  let q = enqueue(undefined, u('pending', 'status', 1));
  q = enqueue(q, u('active', 'full', 2, true));
  q = enqueue(q, u('active', 'keepalive', 3));
  q = enqueue(q, u('active', 'keepalive', 4));
  q = enqueue(q, u('disconnected', 'status', 5));
  assert.deepEqual(q.updates.map((x) => [x.status, x.kind, x.at]), [['pending', 'status', 1], ['active', 'full', 4], ['disconnected', 'status', 5]]);
  assert.deepEqual(q.updates[1]?.report, report);
});

test('agent-info ingest (worker) - nothing in flight is folded into; an ack removes only what was sent', () => {
  const sent = { ...enqueue(undefined, u('active', 'full', 1, true)), inFlight: 1 };
  const more = enqueue(sent, u('active', 'keepalive', 2));
  assert.equal(more.updates.length, 2, 'the update in flight is left as sent');
  const after = acknowledge(new Map([[1, more]]));
  assert.deepEqual(after.get(1)?.updates.map((x) => x.at), [2]);
  assert.equal(after.get(1)?.inFlight, 0);
  assert.equal(acknowledge(new Map([[1, sent]])).size, 0);
});
