/**
 * The AgentRegistry actor under the real actor kit, writing through a real (master)
 * RegistryDb on a temp file, with a files port that records what it is asked to do:
 * a burst of enrolments is decided in order and committed in batches, the answers
 * come once client.keys is written, and the change log reaches the broadcaster in
 * revision order.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ActorSystem, type ActorRef } from '../../../../runtime/actor-kit.js';
import { createLogger, MemorySink } from '../../../../runtime/logger.js';
import { RegistryDb } from '../../../../runtime/storage/registry-db.js';
import {
  agentRegistrySpec, type AgentRegistryMsg, type Beacon, type CatchUp,
} from '../../../../actors/master/agent-registry.js';
import type { RegistryFiles } from '../../../../runtime/storage/registry-files.js';
import type { ForcePolicy } from '../../../../actors/master/registry-rules.js';
import {
  type EnrolmentOutcome, type ForwardedEnrolment, type RegistryCommand, type RegistryOutcome, type RevisedChange,
} from '../../../../protocols/registry.js';
import { newAgentKey, parseClientKeys } from '../../../../protocols/agent-keys.js';

const ASK_MS = 10_000;
const FORCE: ForcePolicy = { enabled: true, keyMismatch: true, disconnectedTimeSeconds: 3600, afterRegistrationTimeSeconds: 3600 };

interface FilesLog {
  keys: string[];
  merged: (readonly string[])[][];
  created: string[];
  removed: string[];
}

const fakeMd5 = (csv: string): string => Buffer.from(csv).toString('hex').padEnd(32, '0').slice(0, 32);

function recordingFiles(): { files: RegistryFiles; calls: FilesLog } {
  const calls: FilesLog = { keys: [], merged: [], created: [], removed: [] };
  const files: RegistryFiles = {
    createGroupDir: (group) => { calls.created.push(group); },
    removeGroupDir: async (group) => { calls.removed.push(group); },
    writeClientKeys: async (text) => {
      // A real write takes a while: later requests pile up behind it.
      await new Promise((r) => setTimeout(r, 2));
      calls.keys.push(text);
    },
    buildMerged: async (sets) => {
      calls.merged.push(sets.map((s) => [...s]));
      return new Map(sets.map((s) => [s.join(','), fakeMd5(s.join(','))]));
    },
  };
  return { files, calls };
}

interface Harness {
  store: RegistryDb;
  registry: ActorRef<AgentRegistryMsg>;
  calls: FilesLog;
  committed: RevisedChange[][];
  sink: MemorySink;
}

function harness(t: TestContext): Harness {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-agent-registry-'));
  const store = RegistryDb.open(path.join(dir, 'var', 'db', 'global.db'), 'master');
  store.commit([{ op: 'group-created', group: 'default' }]);
  const sys = new ActorSystem({ name: 'agent-registry-test', onGiveUp: (err) => assert.fail(`gave up: ${err.message}`) });
  t.after(() => {
    sys.stop();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const { files, calls } = recordingFiles();
  const committed: RevisedChange[][] = [];
  const sink = new MemorySink();
  const registry = sys.spawn(agentRegistrySpec({
    store, files, log: createLogger(sink, 'Master'), force: FORCE, managerName: 'manager-host', newKey: newAgentKey,
    onCommitted: (changes) => { committed.push([...changes]); },
  }));
  return { store, registry, calls, committed, sink };
}

const enrol = (h: Harness, name: string, extra: Partial<ForwardedEnrolment> = {}): Promise<EnrolmentOutcome> =>
  h.registry.ask<EnrolmentOutcome>((reply) => ({
    kind: 'enrol', request: { name, ip: 'any', groups: null, keyHash: null, version: null, ...extra }, reply,
  }), ASK_MS);

const command = (h: Harness, cmd: RegistryCommand): Promise<RegistryOutcome> =>
  h.registry.ask<RegistryOutcome>((reply) => ({ kind: 'command', command: cmd, reply }), ASK_MS);

test('agent registry - a burst of enrolments: distinct ids, duplicates refused, one keys file per batch', async (t) => {
  const h = harness(t);
  const startRev = h.store.revision;
  const names: string[] = [];
  // 50 distinct names, with 5 enrolments of the same name spread among them.
  const twinsAt = new Set([3, 12, 25, 37, 49]);
  for (let i = 0; i < 50; i++) {
    names.push(`agent-${String(i).padStart(2, '0')}`);
    if (twinsAt.has(i)) names.push('twin');
  }
  assert.equal(names.length, 55);
  const outcomes = await Promise.all(names.map((n) => enrol(h, n)));

  const twinOutcomes = outcomes.filter((_, i) => names[i] === 'twin');
  assert.equal(twinOutcomes.length, 5);
  assert.equal(twinOutcomes[0]?.ok, true, 'the first of the same name is enrolled');
  for (const o of twinOutcomes.slice(1)) assert.deepEqual(o, { ok: false, error: 'ERROR: Duplicate agent name: twin' });

  const ok = outcomes.flatMap((o) => (o.ok ? [o] : []));
  assert.equal(ok.length, 51, '50 distinct names plus the first twin');
  for (const [i, o] of outcomes.entries()) {
    if (names[i] !== 'twin') assert.equal(o.ok, true, `${names[i]} refused: ${o.ok ? '' : o.error}`);
  }
  const ids = ok.map((o) => o.agent.id).sort((a, b) => a - b);
  assert.deepEqual(ids, Array.from({ length: 51 }, (_, i) => i + 1), 'ids 1..51, each once');
  // Decided in arrival order: ids follow the order of the requests.
  assert.deepEqual(ok.map((o) => o.agent.id), ids);
  assert.equal(new Set(ok.map((o) => o.agent.key)).size, 51, 'every agent has its own key');
  for (const o of ok) {
    assert.deepEqual(o.agent.groups, ['default']);
    assert.ok(o.revision > startRev && o.revision <= h.store.revision);
    assert.deepEqual(h.store.agentById(o.agent.id)?.key, o.agent.key);
  }

  // The keys file as last written holds exactly the enrolled agents.
  assert.ok(h.calls.keys.length > 0);
  const last = h.calls.keys[h.calls.keys.length - 1] ?? '';
  assert.equal(last, h.store.clientKeysText());
  const parsed = parseClientKeys(last);
  assert.deepEqual(parsed.errors, []);
  assert.deepEqual(
    parsed.agents.map((a) => `${a.id} ${a.name} ${a.ip} ${a.key}`),
    ok.map((o) => `${o.agent.id} ${o.agent.name} ${o.agent.ip} ${o.agent.key}`).sort((a, b) => Number(a.split(' ')[0]) - Number(b.split(' ')[0])),
  );
  assert.ok(h.calls.keys.length < names.length, `batched: ${h.calls.keys.length} writes for ${names.length} enrolments`);

  // Committed changes reached the broadcaster once each, in revision order, with no gap.
  const revs = h.committed.flat().map((c) => c.rev);
  assert.deepEqual(revs, Array.from({ length: h.store.revision - startRev }, (_, i) => startRev + i + 1));
  assert.equal(h.committed.length, h.calls.keys.length, 'one commit batch, one keys file');
  assert.deepEqual(
    h.committed.flat().map((c) => (c.change.op === 'agent-added' ? c.change.agent.id : -1)),
    ids, 'only agent additions, in id order',
  );
  for (const o of ok) {
    const c = h.committed.flat().find((x) => x.rev === o.revision);
    assert.ok(c?.change.op === 'agent-added' && c.change.agent.id === o.agent.id, 'the revision answered holds the agent');
  }
  assert.ok(h.sink.lines.some((l) => l.includes("Agent 'twin' refused: ERROR: Duplicate agent name: twin")));
});

test('agent registry - refusals by the rules: manager name, unknown group, version', async (t) => {
  const h = harness(t);
  assert.deepEqual(await enrol(h, 'MANAGER-host'), { ok: false, error: 'ERROR: Invalid agent name: MANAGER-host' });
  assert.deepEqual(await enrol(h, 'a1', { groups: ['nope'] }), { ok: false, error: 'ERROR: Invalid group: nope' });
  assert.deepEqual(await enrol(h, 'a1', { version: 'v4.14.6' }), { ok: false, error: 'ERROR: Agent version must be lower or equal to manager version' });
  assert.equal(h.store.revision, 1, 'nothing committed');
  assert.equal(h.calls.keys.length, 0, 'nothing to write');
  assert.deepEqual(h.committed, []);
  const ok = await enrol(h, 'a1', { ip: '10.1.1.1' });
  assert.ok(ok.ok);
  assert.equal(ok.agent.id, 1);
  assert.deepEqual(await enrol(h, 'a2', { ip: '10.1.1.1' }), { ok: false, error: 'ERROR: Duplicate IP: 10.1.1.1' });
});

test('agent registry - operator commands: create, assign, then read them back', async (t) => {
  const h = harness(t);
  const a = await enrol(h, 'web-01');
  assert.ok(a.ok);
  const created = await command(h, { op: 'create-group', group: 'web' });
  assert.deepEqual(created, { ok: true, result: { kind: 'done', detail: "Group 'web' created.", revision: h.store.revision } });
  assert.deepEqual(h.calls.created, ['web'], 'the group folder is made before the commit');
  assert.deepEqual(await command(h, { op: 'create-group', group: 'web' }),
    { ok: false, error: { code: 'duplicate-group', text: "Group 'web' already exists." } });

  const assigned = await command(h, { op: 'assign-group', id: a.agent.id, group: 'web', replace: false });
  assert.ok(assigned.ok);
  assert.equal(assigned.result.kind, 'done');
  assert.ok(assigned.result.kind === 'done' && assigned.result.revision === h.store.revision);

  const got = await command(h, { op: 'get-agent', id: a.agent.id });
  assert.ok(got.ok && got.result.kind === 'agent');
  assert.deepEqual(got.result.agent, { ...a.agent, groups: ['default', 'web'] });
  assert.equal(got.result.revision, h.store.revision);

  const groups = await command(h, { op: 'list-groups' });
  assert.ok(groups.ok && groups.result.kind === 'groups');
  assert.deepEqual(groups.result.groups, [
    { name: 'default', agents: 1, mergedSum: fakeMd5('default') },
    { name: 'web', agents: 1, mergedSum: fakeMd5('web') },
  ]);
  assert.equal(groups.result.unassigned, 0);
  // The new group's merged.mg and the agent's new multigroup were built.
  assert.ok(h.calls.merged.some((sets) => sets.some((s) => s.join(',') === 'web')));
  assert.ok(h.calls.merged.some((sets) => sets.some((s) => s.join(',') === 'default,web')));

  const members = await command(h, { op: 'group-members', group: 'web' });
  assert.ok(members.ok && members.result.kind === 'agents');
  assert.deepEqual(members.result.agents.map((x) => [x.id, x.name, x.status]), [[a.agent.id, 'web-01', 'never_connected']]);
  assert.deepEqual(await command(h, { op: 'group-members', group: 'nope' }),
    { ok: false, error: { code: 'unknown-group', text: "Group 'nope' does not exist." } });

  const all = await command(h, { op: 'list-agents' });
  assert.ok(all.ok && all.result.kind === 'agents');
  assert.deepEqual(all.result.agents.map((x) => x.name), ['web-01']);

  const added = await command(h, { op: 'add-agent', name: 'db-01', ip: '10.2.2.2', groups: ['web'] });
  assert.ok(added.ok && added.result.kind === 'agent');
  assert.equal(added.result.agent.id, 2);
  assert.equal(added.result.revision, h.store.revision);
  assert.ok((h.calls.keys.at(-1) ?? '').includes('002 db-01 10.2.2.2 '));

  const deleted = await command(h, { op: 'delete-group', group: 'web' });
  assert.ok(deleted.ok);
  assert.deepEqual(h.calls.removed, ['web']);
  assert.deepEqual(h.store.agentById(2)?.groups, ['default'], 'left with no group: back to default');
  const revs = h.committed.flat().map((c) => c.rev);
  assert.deepEqual(revs, Array.from({ length: revs.length }, (_, i) => i + 2));
  assert.equal(revs.at(-1), h.store.revision);
});

test('agent registry - an unknown agent is an error outcome', async (t) => {
  const h = harness(t);
  const unknown = { ok: false, error: { code: 'unknown-agent', text: "Agent '042' does not exist." } };
  assert.deepEqual(await command(h, { op: 'get-agent', id: 42 }), unknown);
  assert.deepEqual(await command(h, { op: 'remove-agent', id: 42 }), unknown);
  assert.deepEqual(await command(h, { op: 'assign-group', id: 42, group: 'default', replace: false }), unknown);
  assert.deepEqual(await command(h, { op: 'unassign-group', id: 42, group: 'default' }), unknown);
  assert.equal(h.store.revision, 1);
});

test('agent registry - catch-up gives the log since a revision, or a snapshot; the beacon says where the log stands', async (t) => {
  const h = harness(t);
  for (const n of ['a1', 'a2', 'a3']) assert.ok((await enrol(h, n)).ok);
  assert.ok((await command(h, { op: 'create-group', group: 'web' })).ok);
  const catchUp = (since: number, full: boolean): Promise<CatchUp> =>
    h.registry.ask<CatchUp>((reply) => ({ kind: 'catchup', since, full, reply }), ASK_MS);

  const fromZero = await catchUp(0, false);
  assert.equal(fromZero.kind, 'changes');
  assert.ok(fromZero.kind === 'changes');
  assert.deepEqual(fromZero.changes, h.store.changesSince(0, 5000));
  assert.deepEqual(fromZero.changes.map((c) => c.rev), [1, 2, 3, 4, 5]);
  assert.deepEqual(fromZero.changes[0]?.change, { op: 'group-created', group: 'default' });

  const fromThree = await catchUp(3, false);
  assert.ok(fromThree.kind === 'changes');
  assert.deepEqual(fromThree.changes.map((c) => c.rev), [4, 5]);

  const upToDate = await catchUp(h.store.revision, false);
  assert.deepEqual(upToDate, { kind: 'changes', changes: [] });

  const full = await catchUp(0, true);
  assert.ok(full.kind === 'snapshot');
  assert.deepEqual(full.snapshot, h.store.snapshot());
  assert.equal(full.snapshot.revision, 5);
  assert.deepEqual(full.snapshot.groups, ['default', 'web']);
  assert.deepEqual(full.snapshot.agents.map((a) => a.name), ['a1', 'a2', 'a3']);

  // Ahead of the master (a replica from another cluster's past): a snapshot.
  const ahead = await catchUp(99, false);
  assert.equal(ahead.kind, 'snapshot');

  const beacon = await h.registry.ask<Beacon>((reply) => ({ kind: 'beacon', reply }), ASK_MS);
  assert.deepEqual(beacon, { revision: h.store.revision, checksum: h.store.checksum() });
  assert.match(beacon.checksum, /^[0-9a-f]{40}$/);
});
