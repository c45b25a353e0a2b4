import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentInfoStore } from '../../../../runtime/storage/agent-info-store.js';
import { RegistryDb } from '../../../../runtime/storage/registry-db.js';
import type { AgentInfoUpdate } from '../../../../protocols/agent-info.js';

function stores(t: TestContext): { registry: RegistryDb; info: AgentInfoStore } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-info-'));
  const file = path.join(dir, 'global.db');
  const registry = RegistryDb.open(file, 'master');
  registry.commit([
    { op: 'group-created', group: 'default' },
    ...[1, 2].map((id) => ({ op: 'agent-added' as const, agent: { id, name: `a${id}`, ip: 'any', key: 'k'.repeat(64), registeredAt: 1000, groups: ['default'] } })),
  ]);
  const info = AgentInfoStore.open(file);
  t.after(() => {
    info.close();
    registry.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { registry, info };
}

const report = {
  uname: 'Linux |h |5 |#1 |x86_64 [Ubuntu|ubuntu: 22.04 LTS (Jammy Jellyfish)]', configSum: 'c'.repeat(32), mergedSum: 'm'.repeat(32), agentIp: '10.0.0.9', labels: '"env":ci',
  os: { name: 'Ubuntu', platform: 'ubuntu', version: '22.04', codename: 'Jammy Jellyfish', major: '22', minor: '04', build: null, arch: 'x86_64' },
};
const upd = (id: number, kind: AgentInfoUpdate['kind'], status: AgentInfoUpdate['status']): AgentInfoUpdate =>
  ({ id, kind, status, statusCode: 0, version: 'Wazuh v4.14.5', at: 1, report: kind === 'full' ? report : null });

test('agent-info store - a batch stores known agents, skips unknown ones, and logs each status change once, in order', (t) => {
  const { registry, info } = stores(t);
  const r1 = info.apply([upd(1, 'status', 'pending'), upd(1, 'full', 'active'), upd(99, 'full', 'active'), upd(2, 'keepalive', 'active')], 'w1', 5000);
  assert.equal(r1.stored, 3);
  assert.equal(r1.unknown, 1);
  assert.deepEqual(r1.events.map((e) => [e.seq, e.id, e.status, e.node]), [[1, 1, 'pending', 'w1'], [2, 1, 'active', 'w1'], [3, 2, 'active', 'w1']]);
  assert.equal(registry.agentById(99), undefined, 'an unknown agent is never created');
  const a1 = registry.agentById(1);
  assert.deepEqual([a1?.status, a1?.node, a1?.version, a1?.lastKeepalive], ['active', 'w1', 'Wazuh v4.14.5', 5000]);
  // The same status through another node is a change too: the agent moved.
  const r2 = info.apply([upd(1, 'keepalive', 'active')], 'w2', 6000);
  assert.deepEqual(r2.events.map((e) => [e.seq, e.status, e.node]), [[4, 'active', 'w2']]);
  assert.deepEqual(info.since(2, 10).map((e) => e.seq), [3, 4]);
});

test('agent-info store - silence beyond the threshold disconnects active and pending agents only', (t) => {
  const { registry, info } = stores(t);
  info.apply([upd(1, 'keepalive', 'active'), upd(2, 'status', 'pending')], 'w1', 10_000);
  assert.deepEqual(info.sweep(12_000, 3000), []);
  const swept = info.sweep(13_001, 3000);
  assert.deepEqual(swept.map((e) => [e.id, e.status]).sort(), [[1, 'disconnected'], [2, 'disconnected']]);
  assert.equal(registry.agentById(1)?.disconnectedAt, 13_001);
  assert.deepEqual(info.sweep(20_000, 3000), [], 'a disconnected agent is not swept again');
  info.trimLog(1);
  assert.deepEqual(info.since(0, 10).map((e) => e.seq), [4]);
});
