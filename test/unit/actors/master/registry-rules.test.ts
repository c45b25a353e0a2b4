/**
 * The master's registry decisions, read from a real (master) RegistryDb on a temp file:
 * who may enrol, who gives way to whom under the force rules, and what each operator
 * command changes. The changes a decision returns are committed to the same store to
 * prove they obey the store's own rules.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RegistryDb } from '../../../../runtime/storage/registry-db.js';
import {
  decideEnrolment, decideMutation, isMutation, replaceable,
  type EnrolmentContext, type ForcePolicy, type MutationDecision,
} from '../../../../actors/master/registry-rules.js';
import { formatAgentId, type AgentRecord, type ForwardedEnrolment, type RegistryChange, type RegistryCommand } from '../../../../protocols/registry.js';
import { ENROLMENT_ERRORS } from '../../../../protocols/enrolment.js';
import { enrolmentKeyHash } from '../../../../protocols/agent-keys.js';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

const keyFor = (seed: string): string => createHash('sha256').update(`key-${seed}`).digest('hex');

function openMaster(t: TestContext): RegistryDb {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-rules-'));
  const db = RegistryDb.open(path.join(dir, 'global.db'), 'master');
  t.after(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return db;
}

const FORCE: ForcePolicy = { enabled: true, keyMismatch: true, disconnectedTimeSeconds: 3600, afterRegistrationTimeSeconds: 3600 };

function context(force: Partial<ForcePolicy> = {}, managerName = 'manager-host', merged: ReadonlyMap<string, string> = new Map()): EnrolmentContext {
  let n = 0;
  return { now: NOW, force: { ...FORCE, ...force }, managerName, newKey: () => keyFor(`new-${++n}`), merged };
}

function agent(id: number, name: string, extra: Partial<AgentRecord> = {}): AgentRecord {
  return { id, name, ip: 'any', key: keyFor(name), registeredAt: NOW, groups: ['default'], ...extra };
}

/** `default` and `web`, agents 1 (alpha, any, recent) and 2 (old-one, 10.0.0.2, registered 2 h ago). */
function seeded(t: TestContext): RegistryDb {
  const db = openMaster(t);
  db.commit([
    { op: 'group-created', group: 'default' },
    { op: 'group-created', group: 'web' },
    { op: 'agent-added', agent: agent(1, 'alpha') },
    { op: 'agent-added', agent: agent(2, 'old-one', { ip: '10.0.0.2', registeredAt: NOW - 2 * HOUR }) },
  ]);
  return db;
}

function request(name: string, extra: Partial<ForwardedEnrolment> = {}): ForwardedEnrolment {
  return { name, ip: 'any', groups: null, keyHash: null, version: null, ...extra };
}

function refusal(d: { ok: boolean; error?: unknown }): unknown {
  assert.equal(d.ok, false, 'expected a refusal');
  return d.error;
}

// ---------------------------------------------------------------- enrolment

test('registry rules - a new agent gets the next id and the default group, or the groups it asked for', (t) => {
  const db = seeded(t);
  const revision = db.revision;
  const d = decideEnrolment(db, request('beta', { ip: '10.0.0.9' }), context());
  assert.ok(d.ok);
  assert.equal(d.result.id, db.nextAgentId());
  assert.equal(d.result.id, 3);
  assert.deepEqual(d.result.groups, ['default']);
  assert.equal(d.result.name, 'beta');
  assert.equal(d.result.ip, '10.0.0.9');
  assert.equal(d.result.registeredAt, NOW);
  assert.match(d.result.key, /^[0-9a-f]{64}$/);
  assert.deepEqual(d.changes, [{ op: 'agent-added', agent: d.result }]);
  assert.equal(db.revision, revision, 'a decision writes nothing');

  const withGroups = decideEnrolment(db, request('gamma', { groups: ['web', 'default'] }), context());
  assert.ok(withGroups.ok);
  assert.deepEqual(withGroups.result.groups, ['web', 'default'], 'the order asked for is kept');

  db.commit(d.changes);
  assert.equal(db.agentByName('beta')?.id, 3);
  const next = decideEnrolment(db, request('delta'), context());
  assert.ok(next.ok);
  assert.equal(next.result.id, 4);
});

test('registry rules - without a default group a new agent has no group', (t) => {
  const db = openMaster(t);
  db.commit([{ op: 'group-created', group: 'web' }]);
  const d = decideEnrolment(db, request('beta'), context());
  assert.ok(d.ok);
  assert.deepEqual(d.result.groups, []);
  assert.equal(d.result.id, 1);
});

test('registry rules - an unknown group is refused with authd\'s text', (t) => {
  const db = seeded(t);
  assert.equal(refusal(decideEnrolment(db, request('beta', { groups: ['web', 'x'] }), context())), 'ERROR: Invalid group: x');
  assert.equal(ENROLMENT_ERRORS.invalidGroup('x'), 'ERROR: Invalid group: x');
});

test('registry rules - a duplicate name is refused while the old agent is recent', (t) => {
  const db = seeded(t);
  assert.equal(refusal(decideEnrolment(db, request('alpha'), context())), 'ERROR: Duplicate agent name: alpha');
  // Force disabled: even an old agent keeps its name.
  assert.equal(refusal(decideEnrolment(db, request('old-one'), context({ enabled: false }))), 'ERROR: Duplicate agent name: old-one');
  // after_registration_time longer than the agent's age.
  assert.equal(refusal(decideEnrolment(db, request('old-one'), context({ afterRegistrationTimeSeconds: 3 * 3600 }))), 'ERROR: Duplicate agent name: old-one');
});

test('registry rules - an old never-connected agent gives way: removed, and the new one gets a new id', (t) => {
  const db = seeded(t);
  const old = db.agentByName('old-one');
  assert.ok(old);
  assert.equal(old.status, 'never_connected');
  const d = decideEnrolment(db, request('old-one'), context());
  assert.ok(d.ok);
  assert.equal(d.changes.length, 2);
  assert.deepEqual(d.changes[0], { op: 'agent-removed', id: old.id });
  assert.deepEqual(d.changes[1], { op: 'agent-added', agent: d.result });
  assert.notEqual(d.result.id, old.id);
  assert.equal(d.result.id, 3);
  assert.notEqual(d.result.key, old.key);
  db.commit(d.changes);
  assert.equal(db.agentById(old.id), undefined);
  assert.equal(db.agentByName('old-one')?.id, 3);
});

test('registry rules - an active agent, or one disconnected too recently, keeps its name', (t) => {
  const db = seeded(t);
  const ctx = context();
  assert.ok(db.setStatus(2, { status: 'active', lastKeepalive: NOW - MINUTE }));
  assert.equal(refusal(decideEnrolment(db, request('old-one'), ctx)), 'ERROR: Duplicate agent name: old-one');
  assert.ok(db.setStatus(2, { status: 'pending' }));
  assert.equal(refusal(decideEnrolment(db, request('old-one'), ctx)), 'ERROR: Duplicate agent name: old-one');
  assert.ok(db.setStatus(2, { status: 'disconnected', disconnectedAt: NOW - 10 * MINUTE }));
  assert.equal(refusal(decideEnrolment(db, request('old-one'), ctx)), 'ERROR: Duplicate agent name: old-one');
  // Disconnected, but without a time: it cannot be judged long gone.
  assert.ok(db.setStatus(2, { status: 'disconnected', disconnectedAt: null }));
  assert.equal(refusal(decideEnrolment(db, request('old-one'), ctx)), 'ERROR: Duplicate agent name: old-one');
  // Disconnected longer than disconnected_time: it gives way.
  assert.ok(db.setStatus(2, { status: 'disconnected', disconnectedAt: NOW - 61 * MINUTE }));
  const d = decideEnrolment(db, request('old-one'), ctx);
  assert.ok(d.ok);
  assert.deepEqual(d.changes[0], { op: 'agent-removed', id: 2 });
  // A disconnected agent registered too recently still keeps its name.
  assert.equal(refusal(decideEnrolment(db, request('old-one'), context({ afterRegistrationTimeSeconds: 4 * 3600 }))), 'ERROR: Duplicate agent name: old-one');
});

test('registry rules - an agent re-enrolling with the key it holds is not replaced when key_mismatch is on', (t) => {
  const db = seeded(t);
  const old = db.agentByName('old-one');
  assert.ok(old);
  const sameKey = enrolmentKeyHash(formatAgentId(old.id), old.name, old.key);
  assert.equal(refusal(decideEnrolment(db, request('old-one', { keyHash: sameKey }), context())), 'ERROR: Duplicate agent name: old-one');
  assert.equal(replaceable(old, sameKey, context()), false);
  // key_mismatch off: the hash does not matter.
  assert.ok(decideEnrolment(db, request('old-one', { keyHash: sameKey }), context({ keyMismatch: false })).ok);
  // A different key: replaced.
  const otherKey = enrolmentKeyHash(formatAgentId(old.id), old.name, keyFor('other'));
  assert.ok(decideEnrolment(db, request('old-one', { keyHash: otherKey }), context()).ok);
  assert.equal(replaceable(old, otherKey, context()), true);
  assert.equal(replaceable(old, null, context()), true);
});

test('registry rules - a duplicate IP follows the same rules', (t) => {
  const db = seeded(t);
  db.commit([{ op: 'agent-added', agent: agent(3, 'recent-ip', { ip: '10.0.0.3' }) }]);
  assert.equal(refusal(decideEnrolment(db, request('beta', { ip: '10.0.0.3' }), context())), 'ERROR: Duplicate IP: 10.0.0.3');
  // 'any' never clashes.
  assert.ok(decideEnrolment(db, request('beta', { ip: 'any' }), context()).ok);

  // The old agent on 10.0.0.2 gives way to a new name on its address.
  const d = decideEnrolment(db, request('beta', { ip: '10.0.0.2' }), context());
  assert.ok(d.ok);
  assert.deepEqual(d.changes, [{ op: 'agent-removed', id: 2 }, { op: 'agent-added', agent: d.result }]);
  assert.equal(d.result.id, 4);
  // Same name and same address: removed once.
  const both = decideEnrolment(db, request('old-one', { ip: '10.0.0.2' }), context());
  assert.ok(both.ok);
  assert.deepEqual(both.changes.filter((c) => c.op === 'agent-removed'), [{ op: 'agent-removed', id: 2 }]);
  db.commit(both.changes);
  assert.equal(db.agentByName('old-one')?.id, 4);

  // Active, recently disconnected, or holding its key: the address stays taken.
  db.commit([{ op: 'agent-added', agent: agent(5, 'old-ip', { ip: '10.0.0.5', registeredAt: NOW - 2 * HOUR }) }]);
  const old = db.agentById(5);
  assert.ok(old);
  assert.equal(refusal(decideEnrolment(db, request('beta', { ip: '10.0.0.5', keyHash: enrolmentKeyHash('005', 'old-ip', old.key) }), context())), 'ERROR: Duplicate IP: 10.0.0.5');
  db.setStatus(5, { status: 'disconnected', disconnectedAt: NOW - 5 * MINUTE });
  assert.equal(refusal(decideEnrolment(db, request('beta', { ip: '10.0.0.5' }), context())), 'ERROR: Duplicate IP: 10.0.0.5');
  db.setStatus(5, { status: 'active' });
  assert.equal(refusal(decideEnrolment(db, request('beta', { ip: '10.0.0.5' }), context())), 'ERROR: Duplicate IP: 10.0.0.5');
});

test('registry rules - the manager\'s host name is not an agent name, in any case', (t) => {
  const db = seeded(t);
  assert.equal(refusal(decideEnrolment(db, request('manager-host'), context())), 'ERROR: Invalid agent name: manager-host');
  assert.equal(refusal(decideEnrolment(db, request('Manager-HOST'), context())), 'ERROR: Invalid agent name: Manager-HOST');
  assert.equal(refusal(decideEnrolment(db, request('other'), context({}, 'OTHER'))), 'ERROR: Invalid agent name: other');
  assert.ok(decideEnrolment(db, request('manager-host2'), context()).ok);
});

test('registry rules - an agent newer than v4.14.5 is refused', (t) => {
  const db = seeded(t);
  const tooHigh = 'ERROR: Agent version must be lower or equal to manager version';
  assert.equal(refusal(decideEnrolment(db, request('beta', { version: 'v4.14.6' }), context())), tooHigh);
  assert.equal(refusal(decideEnrolment(db, request('beta', { version: 'v4.15.0' }), context())), tooHigh);
  assert.equal(refusal(decideEnrolment(db, request('beta', { version: 'v5.0.0' }), context())), tooHigh);
  // Checked first: even before an unknown group.
  assert.equal(refusal(decideEnrolment(db, request('beta', { version: 'v5.0.0', groups: ['x'] }), context())), tooHigh);
  for (const ok of ['v4.14.5', 'v4.9.0', '4.14.5', 'v3.13.6', 'garbage']) {
    assert.ok(decideEnrolment(db, request('beta', { version: ok }), context()).ok, ok);
  }
});

// ---------------------------------------------------------------- mutations

type Mutation = Parameters<typeof decideMutation>[1];

function mutate(db: RegistryDb, cmd: RegistryCommand): MutationDecision {
  assert.ok(isMutation(cmd), `${cmd.op} is a mutation`);
  return decideMutation(db, cmd as Mutation, context());
}

/** Decides and commits; returns the changes. */
function apply(db: RegistryDb, cmd: RegistryCommand): readonly RegistryChange[] {
  const d = mutate(db, cmd);
  assert.ok(d.ok, `${cmd.op} refused: ${d.ok ? '' : d.error.text}`);
  db.commit(d.changes);
  return d.changes;
}

function refused(d: MutationDecision): { code: string; text: string } {
  assert.equal(d.ok, false, 'expected a refusal');
  return (d as Extract<MutationDecision, { ok: false }>).error;
}

test('registry rules - read-only commands are not mutations', () => {
  for (const op of ['list-agents', 'list-groups'] as const) assert.equal(isMutation({ op }), false);
  assert.equal(isMutation({ op: 'get-agent', id: 1 }), false);
  assert.equal(isMutation({ op: 'group-members', group: 'web' }), false);
  assert.equal(isMutation({ op: 'remove-agent', id: 1 }), true);
  assert.equal(isMutation({ op: 'create-group', group: 'web' }), true);
});

test('registry rules - add-agent refuses a duplicate name, a duplicate ip and an unknown group', (t) => {
  const db = seeded(t);
  assert.deepEqual(refused(mutate(db, { op: 'add-agent', name: 'alpha' })), { code: 'duplicate-name', text: 'Duplicate agent name: alpha' });
  assert.deepEqual(refused(mutate(db, { op: 'add-agent', name: 'beta', ip: '10.0.0.2' })), { code: 'duplicate-ip', text: 'Duplicate IP: 10.0.0.2' });
  assert.deepEqual(refused(mutate(db, { op: 'add-agent', name: 'beta', groups: ['web', 'x'] })), { code: 'unknown-group', text: "Group 'x' does not exist." });
  // An operator's add never replaces, even an agent the force rules would let go.
  assert.equal(refused(mutate(db, { op: 'add-agent', name: 'old-one' })).code, 'duplicate-name');
  const d = mutate(db, { op: 'add-agent', name: 'beta', ip: '10.0.0.9' });
  assert.ok(d.ok);
  assert.equal(d.result?.kind, 'agent');
  assert.equal(d.changes.length, 1);
  const added = d.changes[0];
  assert.ok(added?.op === 'agent-added');
  assert.equal(added.agent.id, 3);
  assert.deepEqual(added.agent.groups, ['default']);
  db.commit(d.changes);
  const any = mutate(db, { op: 'add-agent', name: 'gamma', groups: ['web'] });
  assert.ok(any.ok);
  assert.ok(any.changes[0]?.op === 'agent-added' && any.changes[0].agent.ip === 'any' && any.changes[0].agent.groups[0] === 'web');
});

test('registry rules - remove-agent, create-group and delete-group refusals', (t) => {
  const db = seeded(t);
  assert.deepEqual(refused(mutate(db, { op: 'remove-agent', id: 99 })), { code: 'unknown-agent', text: "Agent '099' does not exist." });
  assert.deepEqual(apply(db, { op: 'remove-agent', id: 1 }), [{ op: 'agent-removed', id: 1 }]);
  assert.equal(db.agentById(1), undefined);
  assert.deepEqual(refused(mutate(db, { op: 'create-group', group: 'web' })), { code: 'duplicate-group', text: "Group 'web' already exists." });
  assert.deepEqual(apply(db, { op: 'create-group', group: 'db' }), [{ op: 'group-created', group: 'db' }]);
  assert.equal(db.groupExists('db'), true);
  assert.deepEqual(refused(mutate(db, { op: 'delete-group', group: 'default' })), { code: 'forbidden', text: 'The default group cannot be deleted.' });
  assert.deepEqual(refused(mutate(db, { op: 'delete-group', group: 'nope' })), { code: 'unknown-group', text: "Group 'nope' does not exist." });
});

test('registry rules - delete-group moves its members out (none left → default), then deletes it; the store accepts it', (t) => {
  const db = seeded(t);
  db.commit([
    { op: 'group-created', group: 'db' },
    { op: 'agent-added', agent: agent(3, 'only-web', { groups: ['web'] }) },
    { op: 'agent-added', agent: agent(4, 'web-db', { groups: ['web', 'db'] }) },
    { op: 'agent-added', agent: agent(5, 'def-web', { groups: ['default', 'web'] }) },
    { op: 'agent-added', agent: agent(6, 'db-only', { groups: ['db'] }) },
  ]);
  const d = mutate(db, { op: 'delete-group', group: 'web' });
  assert.ok(d.ok);
  assert.equal(d.result, null);
  assert.deepEqual(d.changes, [
    { op: 'groups-set', id: 3, groups: ['default'] },
    { op: 'groups-set', id: 4, groups: ['db'] },
    { op: 'groups-set', id: 5, groups: ['default'] },
    { op: 'group-deleted', group: 'web' },
  ]);
  assert.deepEqual(d.changes[d.changes.length - 1], { op: 'group-deleted', group: 'web' });
  const before = db.revision;
  const revised = db.commit(d.changes);
  assert.equal(revised.length, 4);
  assert.equal(db.revision, before + 4);
  assert.equal(db.groupExists('web'), false);
  assert.deepEqual(db.agentById(3)?.groups, ['default']);
  assert.deepEqual(db.agentById(4)?.groups, ['db']);
  assert.deepEqual(db.agentById(5)?.groups, ['default']);
  assert.deepEqual(db.agentById(6)?.groups, ['db']);
  assert.equal(db.unassignedCount(), 0);
  // The next group: its two members go back to default, then it goes.
  assert.equal(apply(db, { op: 'delete-group', group: 'db' }).length, 3);
  assert.deepEqual(db.agentById(4)?.groups, ['default']);
});

test('registry rules - assign-group appends in order, replace makes it the only one, twice is an error', (t) => {
  const db = seeded(t);
  db.commit([{ op: 'group-created', group: 'db' }]);
  assert.deepEqual(refused(mutate(db, { op: 'assign-group', id: 99, group: 'web', replace: false })).code, 'unknown-agent');
  assert.deepEqual(refused(mutate(db, { op: 'assign-group', id: 1, group: 'nope', replace: false })).code, 'unknown-group');
  assert.deepEqual(apply(db, { op: 'assign-group', id: 1, group: 'web', replace: false }), [{ op: 'groups-set', id: 1, groups: ['default', 'web'] }]);
  assert.deepEqual(apply(db, { op: 'assign-group', id: 1, group: 'db', replace: false }), [{ op: 'groups-set', id: 1, groups: ['default', 'web', 'db'] }]);
  assert.deepEqual(db.agentById(1)?.groups, ['default', 'web', 'db']);
  assert.deepEqual(refused(mutate(db, { op: 'assign-group', id: 1, group: 'web', replace: false })),
    { code: 'invalid', text: "Agent '001' already belongs to group 'web'." });
  assert.deepEqual(apply(db, { op: 'assign-group', id: 1, group: 'web', replace: true }), [{ op: 'groups-set', id: 1, groups: ['web'] }]);
  assert.deepEqual(db.agentById(1)?.groups, ['web']);
  assert.deepEqual(db.members('default').map((a) => a.id), [2]);
  assert.equal(refused(mutate(db, { op: 'assign-group', id: 1, group: 'web', replace: true })).code, 'invalid');
});

test('registry rules - the 129th group is over the limit', (t) => {
  const db = seeded(t);
  const groups = Array.from({ length: 129 }, (_, i) => `g${i}`);
  db.commit(groups.map((group) => ({ op: 'group-created', group })));
  db.commit([{ op: 'agent-added', agent: agent(3, 'many', { groups: groups.slice(0, 127) }) }]);
  assert.deepEqual(apply(db, { op: 'assign-group', id: 3, group: 'g127', replace: false }).length, 1);
  assert.equal(db.agentById(3)?.groups.length, 128);
  assert.deepEqual(refused(mutate(db, { op: 'assign-group', id: 3, group: 'g128', replace: false })),
    { code: 'limit', text: 'Maximum multigroup reached: Limit is 128' });
  // Replacing is always within the limit.
  assert.deepEqual(apply(db, { op: 'assign-group', id: 3, group: 'g128', replace: true }), [{ op: 'groups-set', id: 3, groups: ['g128'] }]);
});

test('registry rules - unassign-group: the last group gives way to default; not a member is an error', (t) => {
  const db = seeded(t);
  db.commit([
    { op: 'agent-added', agent: agent(3, 'only-web', { groups: ['web'] }) },
    { op: 'agent-added', agent: agent(4, 'def-web', { groups: ['default', 'web'] }) },
  ]);
  assert.equal(refused(mutate(db, { op: 'unassign-group', id: 99, group: 'web' })).code, 'unknown-agent');
  assert.equal(refused(mutate(db, { op: 'unassign-group', id: 3, group: 'nope' })).code, 'unknown-group');
  assert.deepEqual(refused(mutate(db, { op: 'unassign-group', id: 1, group: 'web' })),
    { code: 'invalid', text: "Agent '001' does not belong to group 'web'." });
  assert.deepEqual(apply(db, { op: 'unassign-group', id: 3, group: 'web' }), [{ op: 'groups-set', id: 3, groups: ['default'] }]);
  assert.deepEqual(db.agentById(3)?.groups, ['default']);
  assert.deepEqual(apply(db, { op: 'unassign-group', id: 4, group: 'default' }), [{ op: 'groups-set', id: 4, groups: ['web'] }]);
  assert.deepEqual(db.agentById(4)?.groups, ['web']);
  assert.equal(db.unassignedCount(), 0);
});

test('registry rules - an agent in default only cannot leave it (it would be left with no group)', (t) => {
  const db = seeded(t);
  assert.deepEqual(refused(mutate(db, { op: 'unassign-group', id: 1, group: 'default' })),
    { code: 'invalid', text: "Agent '001' belongs only to the default group." });
  assert.deepEqual(db.agentById(1)?.groups, ['default']);
});

test('registry rules - choose-group: the group whose merged.mg the agent holds, else default; never over an existing choice', (t) => {
  const store = openMaster(t);
  store.commit([{ op: 'group-created', group: 'default' }, { op: 'group-created', group: 'dbs' }, { op: 'group-created', group: 'web' }]);
  store.commit([{ op: 'agent-added', agent: agent(1, 'no-group', { groups: [] }) }, { op: 'agent-added', agent: agent(2, 'has-group', { groups: ['web'] }) }]);
  const merged = new Map([['default', 'a'.repeat(32)], ['dbs,web', 'b'.repeat(32)], ['web', 'c'.repeat(32)]]);
  const choose = (id: number, mergedSum: string | null) => decideMutation(store, { op: 'choose-group', id, mergedSum }, context({}, 'manager-host', merged));
  assert.deepEqual(choose(1, 'b'.repeat(32)), { ok: true, changes: [{ op: 'groups-set', id: 1, groups: ['dbs', 'web'] }], result: { kind: 'agent', agent: { ...agent(1, 'no-group'), groups: ['dbs', 'web'] }, revision: 0 } });
  const fallback = choose(1, 'f'.repeat(32));
  assert.ok(fallback.ok);
  assert.deepEqual(fallback.changes, [{ op: 'groups-set', id: 1, groups: ['default'] }]);
  const kept = choose(2, 'a'.repeat(32));
  assert.ok(kept.ok);
  assert.deepEqual(kept.changes, []);
  assert.equal(choose(9, null).ok, false);
});
