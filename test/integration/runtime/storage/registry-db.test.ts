/**
 * The agent registry on real SQLite files: the master's commit and change log, a
 * replica replaying it or swapping in a snapshot, the rules a change must obey, and
 * the derived views (checksum, client.keys, ids).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import type { AgentRecord, RegistryChange } from '../../../../protocols/registry.js';
import { RegistryDb, RegistryGapError } from '../../../../runtime/storage/registry-db.js';

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-registry-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens a db in a fresh temp dir (in a subfolder that does not exist yet) and closes it after the test. */
function openDb(t: TestContext, role: 'master' | 'replica', file?: string): { db: RegistryDb; file: string } {
  const f = file ?? path.join(tempDir(t), 'queue', 'db', `${role}.db`);
  const db = RegistryDb.open(f, role);
  t.after(() => db.close());
  return { db, file: f };
}

const keyFor = (id: number, salt = ''): string => createHash('sha256').update(`key-${id}${salt}`).digest('hex');

function agent(id: number, groups: string[] = [], extra: Partial<AgentRecord> = {}): AgentRecord {
  return { id, name: `agent-${id}`, ip: `10.0.${Math.floor(id / 256) % 256}.${id % 256}`, key: keyFor(id), registeredAt: 1_700_000_000_000 + id, groups, ...extra };
}

const added = (a: AgentRecord): RegistryChange => ({ op: 'agent-added', agent: a });
const created = (group: string): RegistryChange => ({ op: 'group-created', group });

/** A master with a few groups and agents, and a couple of later changes. */
function populate(db: RegistryDb): void {
  db.commit([created('default'), created('web'), created('db')]);
  db.commit([added(agent(1, ['default'])), added(agent(2, ['default', 'web'])), added(agent(3))]);
  db.commit([{ op: 'groups-set', id: 3, groups: ['db', 'web'] }, added(agent(4, ['web']))]);
  db.commit([{ op: 'agent-removed', id: 1 }, created('empty')]);
}

test('registry-db - commit assigns consecutive revisions and persists across close/open', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'a', 'b', 'global.db');
  const db = RegistryDb.open(file, 'master');
  assert.equal(db.isNew, true);
  assert.equal(db.revision, 0);
  assert.equal(db.nextAgentId(), 1);
  const first = db.commit([created('default'), added(agent(1, ['default']))]);
  assert.deepEqual(first.map((c) => c.rev), [1, 2]);
  const second = db.commit([added(agent(2))]);
  assert.deepEqual(second, [{ rev: 3, change: added(agent(2)) }]);
  assert.deepEqual(db.commit([]), []);
  assert.equal(db.revision, 3);
  const sum = db.checksum();
  const keys = db.clientKeysText();
  db.close();

  const again = RegistryDb.open(file, 'master');
  t.after(() => again.close());
  assert.equal(again.isNew, false);
  assert.equal(again.revision, 3);
  assert.equal(again.checksum(), sum);
  assert.equal(again.clientKeysText(), keys);
  assert.deepEqual(again.agentById(1)?.groups, ['default']);
  assert.equal(again.agentById(1)?.status, 'never_connected');
  assert.equal(again.nextAgentId(), 3);
  assert.deepEqual(again.changesSince(0, 100)?.map((c) => c.rev), [1, 2, 3]);
  assert.deepEqual(again.commit([created('web')]).map((c) => c.rev), [4]);
});

test('registry-db - the stored schema: group CSV, group hash, belongs priorities, pragmas', (t) => {
  const { db, file } = openDb(t, 'master');
  populate(db);
  db.close();
  const raw = new Database(file, { readonly: true });
  t.after(() => raw.close());
  const row = raw.prepare('SELECT "group" AS csv, group_hash AS hash FROM agent WHERE id = 3').get() as { csv: string; hash: string };
  assert.equal(row.csv, 'db,web');
  assert.equal(row.hash, createHash('sha256').update('db,web').digest('hex').slice(0, 8));
  const four = raw.prepare('SELECT "group" AS csv, group_hash AS hash FROM agent WHERE id = 4').get() as { csv: string | null };
  assert.equal(four.csv, 'web');
  const belongs = raw.prepare(`SELECT g.name AS name, b.priority AS priority FROM belongs b JOIN "group" g ON g.id = b.id_group
    WHERE b.id_agent = 3 ORDER BY b.priority`).all();
  assert.deepEqual(belongs, [{ name: 'db', priority: 0 }, { name: 'web', priority: 1 }]);
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
});

test('registry-db - an invalid change in a batch rolls back the whole batch', (t) => {
  const { db } = openDb(t, 'master');
  populate(db);
  const rev = db.revision;
  const sum = db.checksum();
  const next = db.nextAgentId();
  const bad: RegistryChange[][] = [
    [added(agent(10)), created('new'), added(agent(11, ['missing']))],
    [added(agent(10)), added(agent(2))],
    [added(agent(10)), added(agent(11, [], { name: 'agent-2' }))],
    [created('new'), { op: 'groups-set', id: 99, groups: [] }],
    [created('new'), { op: 'agent-removed', id: 1 }],
    [created('new'), created('web')],
    [created('new'), { op: 'group-deleted', group: 'nope' }],
    [created('new'), { op: 'groups-set', id: 2, groups: ['web', 'web'] }],
    [created('new'), { op: 'agent-added', agent: { ...agent(12), key: 'not a key!' } }],
  ];
  const messages = [
    /group 'missing' does not exist/, /agent 002 already exists/, /agent name 'agent-2' already exists/,
    /agent 099 does not exist/, /agent 001 does not exist/, /group 'web' already exists/, /group 'nope' does not exist/,
    /twice/, /invalid/,
  ];
  bad.forEach((batch, i) => {
    assert.throws(() => db.commit(batch), messages[i]!);
    assert.equal(db.revision, rev, `batch ${i}`);
    assert.equal(db.checksum(), sum, `batch ${i}`);
  });
  assert.equal(db.agentById(10), undefined);
  assert.equal(db.groupExists('new'), false);
  assert.equal(db.nextAgentId(), next);
  assert.deepEqual(db.changesSince(rev, 10), []);
});

test('registry-db - a replica replaying changesSince matches the master', (t) => {
  const { db: master } = openDb(t, 'master');
  const { db: replica } = openDb(t, 'replica');
  populate(master);
  // Pull in small pages, as a worker would.
  for (;;) {
    const page = master.changesSince(replica.revision, 3);
    assert.notEqual(page, null);
    if (page === null || page.length === 0) break;
    assert.equal(replica.replay(page), page.length);
  }
  assert.equal(replica.revision, master.revision);
  assert.equal(replica.checksum(), master.checksum());
  assert.equal(replica.clientKeysText(), master.clientKeysText());
  assert.deepEqual(replica.snapshot(), master.snapshot());
  assert.deepEqual(replica.groups(), master.groups());
  assert.deepEqual(replica.groups(), [{ name: 'db', agents: 1 }, { name: 'default', agents: 1 }, { name: 'empty', agents: 0 }, { name: 'web', agents: 3 }]);
  assert.equal(replica.nextAgentId(), 5);
  // The replica keeps no log.
  assert.equal(replica.changesSince(0, 10), null);
  // Roles are enforced.
  assert.throws(() => replica.commit([created('x')]), /only allowed on the master/);
  assert.throws(() => master.replay([]), /only allowed on the replica/);
  assert.throws(() => master.replaceAll(0, [], []), /only allowed on the replica/);
});

test('registry-db - replay skips already-applied changes and throws RegistryGapError on a gap', (t) => {
  const { db: master } = openDb(t, 'master');
  const { db: replica } = openDb(t, 'replica');
  populate(master);
  const all = master.changesSince(0, 100) ?? [];
  assert.equal(all.length, master.revision);
  assert.equal(replica.replay(all.slice(0, 4)), 4);
  // Overlap: 1..4 are skipped, 5..6 applied.
  assert.equal(replica.replay(all.slice(0, 6)), 2);
  assert.equal(replica.revision, 6);
  assert.equal(replica.replay(all.slice(0, 6)), 0);
  // Gap: 7 applies, 9 does not follow 7; nothing from 9 on is applied.
  const gapped = [all[6]!, all[8]!, all[9]!];
  const err = (() => {
    try {
      replica.replay(gapped);
    } catch (e) {
      return e;
    }
    return null;
  })();
  assert.ok(err instanceof RegistryGapError);
  assert.equal(err.have, 7);
  assert.equal(err.got, 9);
  assert.equal(err.message, 'change 9 does not follow revision 7');
  assert.equal(replica.revision, 7);
  assert.equal(replica.replay(all), all.length - 7);
  assert.equal(replica.checksum(), master.checksum());
});

test('registry-db - a group row never exists for a missing agent; a bad replay call is rolled back', (t) => {
  const { db: replica, file } = openDb(t, 'replica');
  replica.replay([{ rev: 1, change: created('web') }]);
  const sum = replica.checksum();
  assert.throws(() => replica.replay([
    { rev: 2, change: created('db') },
    { rev: 3, change: { op: 'groups-set', id: 7, groups: ['web'] } },
  ]), /agent 007 does not exist/);
  assert.equal(replica.revision, 1);
  assert.equal(replica.groupExists('db'), false);
  assert.equal(replica.checksum(), sum);
  replica.close();
  const raw = new Database(file);
  t.after(() => raw.close());
  assert.equal((raw.prepare('SELECT COUNT(*) AS n FROM belongs').get() as { n: number }).n, 0);
  // The schema itself refuses one (foreign keys on).
  raw.pragma('foreign_keys = ON');
  assert.throws(() => raw.prepare('INSERT INTO belongs (id_agent, id_group, priority) VALUES (7, 1, 0)').run(), /FOREIGN KEY/);
});

test('registry-db - replaceAll gives the master checksum and keeps status of unchanged agents', (t) => {
  const { db: master } = openDb(t, 'master');
  const { db: replica } = openDb(t, 'replica');
  populate(master);
  replica.replay(master.changesSince(0, 100) ?? []);
  assert.equal(replica.setStatus(2, { status: 'active', node: 'worker-1', version: 'Wazuh v4.14.0', lastKeepalive: 123 }), true);
  assert.equal(replica.setStatus(3, { status: 'disconnected', disconnectedAt: 456 }), true);
  assert.equal(replica.setStatus(4, { status: 'active', node: 'worker-2' }), true);
  assert.equal(replica.setStatus(999, { status: 'active' }), false);
  assert.equal(replica.agentById(3)?.status, 'disconnected');

  // The master moves on while the replica is away: agent 4 removed, agent 3 regrouped, a new agent.
  master.commit([
    { op: 'agent-removed', id: 4 },
    { op: 'groups-set', id: 3, groups: ['web'] },
    added(agent(5, ['db'])),
    { op: 'group-deleted', group: 'empty' },
  ]);
  const snap = master.snapshot();
  const rekeyed = { ...agent(4, ['web']), key: keyFor(4, 'new') };
  replica.replaceAll(snap.revision, snap.groups, snap.agents);
  assert.equal(replica.revision, master.revision);
  assert.equal(replica.checksum(), master.checksum());
  assert.equal(replica.clientKeysText(), master.clientKeysText());
  const a2 = replica.agentById(2);
  assert.equal(a2?.status, 'active');
  assert.equal(a2?.node, 'worker-1');
  assert.equal(a2?.version, 'Wazuh v4.14.0');
  assert.equal(a2?.lastKeepalive, 123);
  assert.equal(replica.agentById(3)?.status, 'disconnected');
  assert.equal(replica.agentById(3)?.disconnectedAt, 456);
  assert.deepEqual(replica.agentById(3)?.groups, ['web']);
  assert.equal(replica.agentById(4), undefined);
  assert.equal(replica.agentById(5)?.status, 'never_connected');

  // Same id, different key: the status is not kept.
  replica.replaceAll(snap.revision, snap.groups, [...snap.agents, rekeyed].sort((a, b) => a.id - b.id));
  replica.setStatus(4, { status: 'active', node: 'worker-3' });
  replica.replaceAll(snap.revision, snap.groups, [...snap.agents, { ...rekeyed, key: keyFor(4, 'newer') }].sort((a, b) => a.id - b.id));
  assert.equal(replica.agentById(4)?.status, 'never_connected');
  assert.equal(replica.agentById(4)?.node, null);
  assert.equal(replica.agentById(2)?.status, 'active');

  // An inconsistent snapshot is refused and changes nothing.
  const before = replica.checksum();
  assert.throws(() => replica.replaceAll(99, ['web'], [agent(7, ['nope'])]), /group 'nope' does not exist/);
  assert.equal(replica.checksum(), before);
  assert.equal(replica.revision, snap.revision);
});

test('registry-db - batch: one transaction, nested batches are savepoints', (t) => {
  const { db } = openDb(t, 'master');
  db.commit([created('default')]);
  const sum = db.checksum();
  // The outer batch fails: nothing of it stays, and no checksum computed inside survives.
  assert.throws(() => db.batch(() => {
    db.commit([added(agent(1, ['default']))]);
    assert.notEqual(db.checksum(), sum);
    assert.equal(db.revision, 2);
    throw new Error('boom');
  }), /boom/);
  assert.equal(db.revision, 1);
  assert.equal(db.checksum(), sum);
  assert.equal(db.agentById(1), undefined);
  // An inner failure that the caller catches undoes only the inner part.
  const revs = db.batch(() => {
    const a = db.commit([added(agent(1, ['default']))]);
    assert.throws(() => db.batch(() => db.commit([added(agent(2)), added(agent(3, ['nope']))])), /group 'nope' does not exist/);
    assert.throws(() => db.batch(() => {
      db.commit([added(agent(4))]);
      throw new Error('inner');
    }), /inner/);
    const b = db.commit([added(agent(5))]);
    return [...a, ...b].map((c) => c.rev);
  });
  assert.deepEqual(revs, [2, 3]);
  assert.deepEqual(db.agents().map((a) => a.id), [1, 5]);
  assert.deepEqual(db.changesSince(1, 10)?.map((c) => c.rev), [2, 3]);
  assert.equal(db.nextAgentId(), 6);
});

test('registry-db - changesSince and compactLog', (t) => {
  const { db } = openDb(t, 'master');
  const batch = Array.from({ length: 20 }, (_, i) => created(`g${i}`));
  db.commit(batch);
  assert.equal(db.revision, 20);
  assert.deepEqual(db.changesSince(20, 5), []);
  assert.equal(db.changesSince(21, 5), null);
  assert.deepEqual(db.changesSince(3, 2), [{ rev: 4, change: created('g3') }, { rev: 5, change: created('g4') }]);
  db.compactLog(5);
  assert.deepEqual(db.changesSince(15, 100)?.map((c) => c.rev), [16, 17, 18, 19, 20]);
  assert.equal(db.changesSince(14, 100), null);
  assert.equal(db.changesSince(0, 100), null);
  assert.deepEqual(db.changesSince(20, 100), []);
  db.compactLog(0);
  assert.deepEqual(db.changesSince(20, 100), []);
  assert.equal(db.changesSince(19, 100), null);
  // The log continues after compaction.
  db.commit([created('after')]);
  assert.deepEqual(db.changesSince(20, 100), [{ rev: 21, change: created('after') }]);
});

test('registry-db - nextAgentId never reuses a removed id and honours reserveIds', (t) => {
  const { db, file } = openDb(t, 'master');
  db.commit([added(agent(1)), added(agent(2)), added(agent(3))]);
  assert.equal(db.nextAgentId(), 4);
  db.commit([{ op: 'agent-removed', id: 3 }]);
  assert.equal(db.nextAgentId(), 4);
  db.commit([{ op: 'agent-removed', id: 2 }, { op: 'agent-removed', id: 1 }]);
  assert.equal(db.nextAgentId(), 4);
  db.reserveIds(10);
  assert.equal(db.nextAgentId(), 11);
  db.reserveIds(5);
  assert.equal(db.nextAgentId(), 11);
  const rev = db.revision;
  db.commit([added(agent(11))]);
  assert.equal(db.nextAgentId(), 12);
  assert.equal(db.revision, rev + 1);
  db.close();
  const again = RegistryDb.open(file, 'master');
  t.after(() => again.close());
  assert.equal(again.nextAgentId(), 12);
});

test('registry-db - group-deleted with members throws; after unassigning it works', (t) => {
  const { db } = openDb(t, 'master');
  db.commit([created('web'), created('db'), added(agent(1, ['web'])), added(agent(2, ['db', 'web']))]);
  assert.throws(() => db.commit([{ op: 'group-deleted', group: 'web' }]), /group 'web' still has 2 agents/);
  assert.equal(db.groupExists('web'), true);
  assert.deepEqual(db.members('web').map((a) => a.id), [1, 2]);
  assert.equal(db.unassignedCount(), 0);
  db.commit([
    { op: 'groups-set', id: 1, groups: [] },
    { op: 'groups-set', id: 2, groups: ['db'] },
    { op: 'group-deleted', group: 'web' },
  ]);
  assert.equal(db.groupExists('web'), false);
  assert.deepEqual(db.agentById(1)?.groups, []);
  assert.equal(db.unassignedCount(), 1);
  assert.deepEqual(db.groups(), [{ name: 'db', agents: 1 }]);
});

test('registry-db - lookups, clientKeysText and checksum formats', (t) => {
  const { db } = openDb(t, 'master');
  db.commit([
    created('web'), created('default'),
    added(agent(1, ['default'], { ip: 'any' })),
    added(agent(1000, ['web', 'default'], { ip: '10.1.1.1' })),
    added(agent(42, [], { ip: '10.1.1.1' })),
  ]);
  assert.equal(db.clientKeysText(), [
    `001 agent-1 any ${keyFor(1)}\n`,
    `042 agent-42 10.1.1.1 ${keyFor(42)}\n`,
    `1000 agent-1000 10.1.1.1 ${keyFor(1000)}\n`,
  ].join(''));
  const expected = createHash('sha1').update([
    `1 agent-1 any ${keyFor(1)} default\n`,
    `42 agent-42 10.1.1.1 ${keyFor(42)} \n`,
    `1000 agent-1000 10.1.1.1 ${keyFor(1000)} web,default\n`,
    '#default\n#web\n',
  ].join('')).digest('hex');
  assert.equal(db.checksum(), expected);
  assert.equal(db.checksum(), expected);
  // Status changes do not touch the content checksum; content changes do.
  db.setStatus(1, { status: 'active' });
  assert.equal(db.checksum(), expected);
  db.commit([created('x')]);
  assert.notEqual(db.checksum(), expected);

  assert.deepEqual(db.agentsByIp('10.1.1.1').map((a) => a.id), [42, 1000]);
  assert.deepEqual(db.agentsByIp('10.9.9.9'), []);
  assert.equal(db.agentByName('agent-1000')?.id, 1000);
  assert.equal(db.agentByName('nobody'), undefined);
  assert.deepEqual(db.agents().map((a) => a.id), [1, 42, 1000]);
  const a = db.agentById(1000);
  assert.deepEqual(a, {
    id: 1000, name: 'agent-1000', ip: '10.1.1.1', key: keyFor(1000), registeredAt: 1_700_000_001_000, groups: ['web', 'default'],
    status: 'never_connected', node: null, version: null, lastKeepalive: null, disconnectedAt: null,
  });
  // Partial status updates leave other fields alone; null clears.
  db.setStatus(1000, { status: 'active', node: 'master', lastKeepalive: 5 });
  db.setStatus(1000, { version: 'v4' });
  db.setStatus(1000, { node: null });
  const b = db.agentById(1000);
  assert.equal(b?.status, 'active');
  assert.equal(b?.node, null);
  assert.equal(b?.version, 'v4');
  assert.equal(b?.lastKeepalive, 5);
  assert.equal(db.setStatus(1000, {}), true);
  assert.deepEqual(db.members('default').map((m) => m.id), [1, 1000]);
  assert.deepEqual(db.members('nope'), []);
});

test('registry-db - 100,000 agents committed in batches of 5,000', (t) => {
  const { db: master } = openDb(t, 'master');
  const { db: replica } = openDb(t, 'replica');
  master.commit([created('default'), created('web')]);
  const total = 100_000;
  const started = Date.now();
  for (let start = 1; start <= total; start += 5_000) {
    const batch: RegistryChange[] = [];
    for (let id = start; id < start + 5_000; id++) batch.push(added(agent(id, id % 3 === 0 ? ['default', 'web'] : id % 3 === 1 ? ['default'] : [])));
    master.commit(batch);
  }
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 120_000, `took ${elapsed} ms`);
  const snap = master.snapshot();
  assert.equal(snap.revision, total + 2);
  assert.equal(snap.agents.length, total);
  assert.deepEqual(snap.groups, ['default', 'web']);
  assert.equal(snap.agents[0]?.id, 1);
  assert.equal(snap.agents[total - 1]?.id, total);
  assert.equal(master.nextAgentId(), total + 1);
  assert.equal(master.unassignedCount(), Math.floor(total / 3) + (total % 3 === 2 ? 1 : 0));
  // A replica catching up by snapshot matches.
  replica.replaceAll(snap.revision, snap.groups, snap.agents);
  assert.equal(replica.checksum(), master.checksum());
  master.compactLog(10);
  assert.equal(master.changesSince(0, 10), null);
});
