/**
 * The worker's registry replica actor under the real actor kit: a real master
 * RegistryDb makes the changes, a real replica RegistryDb replays them, and a fake
 * PeerLink answers `registry-catchup` from the master store (the log, or a snapshot
 * streamed as registry-snapshot frames). Changes must land strictly in revision
 * order: a change pushed ahead of its predecessors waits for the catch-up.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ActorSystem, type ActorRef } from '../../../../runtime/actor-kit.js';
import { createLogger, MemorySink } from '../../../../runtime/logger.js';
import type { Clock } from '../../../../runtime/clock.js';
import { ManualClock } from '../../../harness/manual-clock.js';
import { RegistryDb } from '../../../../runtime/storage/registry-db.js';
import {
  registryReplicaSpec, type RegistryFrame, type ReplicaMsg, type ReplicaStatus,
} from '../../../../actors/worker/registry-replica.js';
import { snapshotParts } from '../../../../actors/master/worker-session.js';
import type { PeerLink } from '../../../../actors/ports.js';
import type { ClusterBody, ClusterFrame, ClusterType } from '../../../../protocols/cluster-messages.js';
import type { AgentRecord, RegistryChange, RevisedChange } from '../../../../protocols/registry.js';

const ASK_MS = 5_000;

const frame = <T extends ClusterType>(type: T, id: number, body: ClusterBody<T>): ClusterFrame => ({ v: 1, type, id, body } as ClusterFrame);
const registryFrame = <T extends RegistryFrame['type']>(type: T, body: ClusterBody<T>): RegistryFrame => frame(type, 0, body) as RegistryFrame;

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; !cond(); i++) {
    if (i > 600) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

const keyFor = (id: number, salt = ''): string => createHash('sha256').update(`key-${id}${salt}`).digest('hex');
function agent(id: number, groups: string[]): AgentRecord {
  return { id, name: `agent-${id}`, ip: `10.0.0.${id}`, key: keyFor(id), registeredAt: 1_700_000_000_000 + id, groups };
}

interface CatchupRequest { since: number; full: boolean }

/** A link whose catch-up requests the master store answers; `gate` holds the answers until released. */
interface FakeLink {
  link: PeerLink;
  requests: CatchupRequest[];
  /** While set, requests wait; `release()` answers them all. */
  hold: boolean;
  release(): void;
  /** Snapshot parts go to the actor before the catch-up's own reply (they may overtake it). */
  partsFirst: boolean;
}

function fakeLink(master: RegistryDb, target: () => ActorRef<ReplicaMsg>): FakeLink {
  const waiting: (() => void)[] = [];
  let ids = 0;
  const deliverParts = (): void => {
    for (const part of snapshotParts(master.snapshot())) target().tell({ kind: 'frame', frame: registryFrame('registry-snapshot', part) });
  };
  const answer = (req: CatchupRequest): ClusterFrame => {
    const id = ++ids;
    const changes = req.full ? null : master.changesSince(req.since, 5000);
    if (changes !== null) return frame('registry-changes', id, { changes });
    const snapshot = master.snapshot();
    const parts = snapshotParts(snapshot);
    if (fake.partsFirst) deliverParts();
    else setImmediate(deliverParts);
    return frame('registry-snapshot-follows', id, { revision: snapshot.revision, parts: parts.length, agents: snapshot.agents.length });
  };
  const fake: FakeLink = {
    requests: [],
    hold: false,
    partsFirst: false,
    release: () => { for (const go of waiting.splice(0)) go(); },
    link: {
      remoteAddress: '127.0.0.1',
      closed: false,
      send: () => 0,
      sendPaced: async () => undefined,
      reply: () => undefined,
      request: (type, body) => {
        assert.equal(type, 'registry-catchup');
        const req = { ...(body as unknown as ClusterBody<'registry-catchup'>) };
        fake.requests.push(req);
        if (!fake.hold) return Promise.resolve(answer(req));
        return new Promise<ClusterFrame>((resolve) => { waiting.push(() => resolve(answer(req))); });
      },
      attach: () => undefined,
      onClose: () => undefined,
      close: () => undefined,
    },
  };
  return fake;
}

interface Harness {
  master: RegistryDb;
  replica: RegistryDb;
  actor: ActorRef<ReplicaMsg>;
  fake: FakeLink;
  sink: MemorySink;
  status(): Promise<ReplicaStatus>;
  push(changes: RevisedChange[]): void;
  beacon(revision?: number, checksum?: string): void;
  commit(...changes: RegistryChange[]): RevisedChange[];
}

function harness(t: TestContext, clock?: Clock): Harness {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-replica-'));
  const master = RegistryDb.open(path.join(dir, 'master', 'global.db'), 'master');
  const replica = RegistryDb.open(path.join(dir, 'worker', 'global.db'), 'replica');
  const sys = new ActorSystem({ name: 'replica-test', ...(clock ? { clock } : {}), onGiveUp: (err) => assert.fail(`gave up: ${err.message}`) });
  t.after(() => {
    sys.stop();
    master.close();
    replica.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const sink = new MemorySink();
  const actor = sys.spawn(registryReplicaSpec({ store: replica, log: createLogger(sink, 'Worker w1'), requestTimeoutMs: ASK_MS, onRemoved: () => undefined }));
  const fake = fakeLink(master, () => actor);
  return {
    master, replica, actor, fake, sink,
    status: () => actor.ask<ReplicaStatus>((reply) => ({ kind: 'status', reply }), ASK_MS),
    push: (changes) => actor.tell({ kind: 'frame', frame: registryFrame('registry-changes', { changes }) }),
    beacon: (revision = master.revision, checksum = master.checksum()) =>
      actor.tell({ kind: 'frame', frame: registryFrame('registry-beacon', { revision, checksum }) }),
    commit: (...changes) => master.commit(changes),
  };
}

/** The replica never names an agent it lacks, nor a group it lacks. */
function assertConsistent(replica: RegistryDb, when: string): void {
  for (const g of replica.groups()) {
    for (const member of replica.members(g.name)) {
      assert.ok(replica.agentById(member.id), `${when}: group '${g.name}' holds agent ${member.id}, which the replica lacks`);
    }
  }
  for (const a of replica.agents()) {
    for (const g of a.groups) assert.ok(replica.groupExists(g), `${when}: agent ${a.id} is in '${g}', which the replica lacks`);
  }
}

async function linkUpAndSettle(h: Harness): Promise<void> {
  h.actor.tell({ kind: 'link-up', link: h.fake.link });
  for (let i = 0; ; i++) {
    const s = await h.status();
    if (!s.catchingUp && s.revision === h.master.revision) break;
    if (i > 600) throw new Error(`the catch-up did not end: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(h.fake.requests.length > 0, 'link-up asked the master');
}

/** A master with two groups and three agents, one of them in two groups (revisions 1..6). */
function populate(h: Harness): void {
  h.commit({ op: 'group-created', group: 'default' }, { op: 'group-created', group: 'web' });
  h.commit({ op: 'agent-added', agent: agent(1, ['default']) });
  h.commit({ op: 'agent-added', agent: agent(2, ['web']) });
  h.commit({ op: 'groups-set', id: 1, groups: ['default', 'web'] }, { op: 'agent-added', agent: agent(3, []) });
}

test('replica - link-up catches up from 0 to the master\'s revision', async (t) => {
  const h = harness(t);
  populate(h);
  assert.equal(h.master.revision, 6);
  assert.equal(h.replica.revision, 0);
  await linkUpAndSettle(h);
  assert.deepEqual(h.fake.requests, [{ since: 0, full: false }]);
  assert.equal(h.replica.revision, 6);
  assert.equal(h.replica.checksum(), h.master.checksum());
  assert.deepEqual(h.replica.agentById(1)?.groups, ['default', 'web']);
  assert.equal(h.replica.clientKeysText(), h.master.clientKeysText());
  assertConsistent(h.replica, 'after link-up');
});

test('replica - link-up with a log that no longer reaches back takes a snapshot', async (t) => {
  const h = harness(t);
  populate(h);
  h.master.compactLog(2);
  assert.equal(h.master.changesSince(0, 5000), null);
  await linkUpAndSettle(h);
  assert.deepEqual(h.fake.requests, [{ since: 0, full: false }]);
  assert.equal(h.replica.checksum(), h.master.checksum());
  assertConsistent(h.replica, 'after the snapshot');
  // From there on the log continues it.
  h.push(h.commit({ op: 'agent-removed', id: 3 }));
  assert.equal((await h.status()).revision, 7);
  assert.equal(h.replica.agentById(3), undefined);
});

test('replica - changes pushed in order apply at once', async (t) => {
  const h = harness(t);
  await linkUpAndSettle(h);
  assert.equal(h.replica.revision, 0);
  h.push(h.commit({ op: 'group-created', group: 'default' }));
  assert.equal((await h.status()).revision, 1);
  h.push(h.commit({ op: 'agent-added', agent: agent(1, ['default']) }, { op: 'group-created', group: 'db' }));
  let s = await h.status();
  assert.deepEqual(s, { revision: 3, catchingUp: false, held: 0 });
  h.push(h.commit({ op: 'groups-set', id: 1, groups: ['db', 'default'] }));
  s = await h.status();
  assert.equal(s.revision, 4);
  assert.deepEqual(h.replica.agentById(1)?.groups, ['db', 'default']);
  // An old change again is ignored.
  h.push(h.master.changesSince(0, 5000) ?? []);
  assert.deepEqual(await h.status(), { revision: 4, catchingUp: false, held: 0 });
  assert.deepEqual(h.fake.requests, [{ since: 0, full: false }], 'no catch-up was needed');
  assert.equal(h.replica.checksum(), h.master.checksum());
  assertConsistent(h.replica, 'after the pushes');
});

test('replica - a change ahead of the replica is held until the catch-up fills the gap', async (t) => {
  const h = harness(t);
  h.commit({ op: 'group-created', group: 'default' }, { op: 'group-created', group: 'web' });
  h.commit({ op: 'agent-added', agent: agent(1, ['default']) });
  await linkUpAndSettle(h);
  assert.equal(h.replica.revision, 3);
  assertConsistent(h.replica, 'at 3');

  // Revision 4 adds agent 2, revision 5 puts it in 'web'; the worker sees 5 first.
  const [rev4] = h.commit({ op: 'agent-added', agent: agent(2, ['default']) });
  const [rev5] = h.commit({ op: 'groups-set', id: 2, groups: ['web'] });
  assert.ok(rev4 && rev5);
  assert.equal(rev5.rev, 5);
  h.fake.hold = true;
  h.push([rev5]);
  let s = await h.status();
  assert.deepEqual(s, { revision: 3, catchingUp: true, held: 1 }, 'rev 5 is held while 4 is fetched');
  assert.deepEqual(h.fake.requests.at(-1), { since: 3, full: false });
  assert.equal(h.replica.agentById(2), undefined);
  assertConsistent(h.replica, 'while rev 5 is held');

  // Pushes that arrive during the catch-up wait too.
  const [rev6] = h.commit({ op: 'groups-set', id: 1, groups: ['default', 'web'] });
  assert.ok(rev6);
  h.push([rev6]);
  s = await h.status();
  assert.deepEqual(s, { revision: 3, catchingUp: true, held: 2 });
  assertConsistent(h.replica, 'while rev 5 and 6 are held');

  h.fake.hold = false;
  h.fake.release();
  await until(() => h.replica.revision === 6, 'revision 6');
  s = await h.status();
  assert.deepEqual(s, { revision: 6, catchingUp: false, held: 0 });
  assertConsistent(h.replica, 'after the catch-up');
  assert.deepEqual(h.replica.agentById(2)?.groups, ['web']);
  assert.deepEqual(h.replica.members('web').map((a) => a.id), [1, 2]);
  assert.equal(h.replica.checksum(), h.master.checksum());
  assert.ok(h.fake.requests.every((r) => !r.full), 'no snapshot was needed');
});

test('replica - a gap is filled even when the catch-up answers at once; every step stays consistent', async (t) => {
  const h = harness(t);
  await linkUpAndSettle(h);
  h.push(h.commit({ op: 'group-created', group: 'default' }, { op: 'group-created', group: 'web' }));
  assert.equal((await h.status()).revision, 2);
  // Agents 1..5 each added then moved to 'web'; the worker gets only every move.
  for (let id = 1; id <= 5; id++) {
    h.commit({ op: 'agent-added', agent: agent(id, ['default']) });
    const moved = h.commit({ op: 'groups-set', id, groups: ['web', 'default'] });
    h.push(moved);
    const s = await h.status();
    assertConsistent(h.replica, `after the move of agent ${id}`);
    assert.ok(s.revision <= h.master.revision);
  }
  await until(() => h.replica.revision === h.master.revision, 'the last move');
  assertConsistent(h.replica, 'at the end');
  assert.deepEqual(h.replica.members('web').map((a) => a.id), [1, 2, 3, 4, 5]);
  assert.equal(h.replica.checksum(), h.master.checksum());
  assert.ok(h.fake.requests.every((r) => !r.full));
});

test('replica - a beacon ahead of the replica triggers a catch-up', async (t) => {
  const h = harness(t);
  populate(h);
  await linkUpAndSettle(h);
  const requests = h.fake.requests.length;
  // Changes the worker never got pushed.
  h.commit({ op: 'group-created', group: 'db' });
  h.commit({ op: 'groups-set', id: 3, groups: ['db'] });
  // A beacon at the replica's own revision with the same checksum: nothing to do.
  h.beacon(6, h.replica.checksum());
  assert.equal((await h.status()).catchingUp, false);
  assert.equal(h.fake.requests.length, requests);

  h.beacon();
  await until(() => h.replica.revision === 8, 'revision 8');
  assert.deepEqual(h.fake.requests.slice(requests), [{ since: 6, full: false }]);
  assert.equal(h.replica.checksum(), h.master.checksum());
  assertConsistent(h.replica, 'after the beacon');
});

for (const partsFirst of [false, true]) {
  test(`replica - same revision, different checksum: a full snapshot makes them equal${partsFirst ? ' (parts before the reply)' : ''}`, async (t) => {
    const h = harness(t);
    populate(h);
    await linkUpAndSettle(h);
    // The replica drifted at the same revision (say, its file was edited): agent 2 has another key, agent 3 is gone.
    const drifted = h.master.snapshot().agents.filter((a) => a.id !== 3).map((a) => (a.id === 2 ? { ...a, key: keyFor(2, 'drift') } : a));
    h.replica.replaceAll(h.master.revision, h.master.snapshot().groups, drifted);
    h.replica.setStatus(1, { status: 'active', node: 'w1' });
    assert.equal(h.replica.revision, h.master.revision);
    assert.notEqual(h.replica.checksum(), h.master.checksum());
    const requests = h.fake.requests.length;
    h.fake.partsFirst = partsFirst;

    h.beacon();
    await until(() => h.replica.checksum() === h.master.checksum(), 'equal checksums');
    assert.deepEqual(h.fake.requests.slice(requests), [{ since: 6, full: true }]);
    assert.ok(h.sink.lines.some((l) => l.includes('Full snapshot applied')));
    const s = await h.status();
    assert.deepEqual(s, { revision: 6, catchingUp: false, held: 0 });
    assert.equal(h.replica.agentById(2)?.key, keyFor(2));
    assert.ok(h.replica.agentById(3));
    assert.equal(h.replica.agentById(1)?.status, 'active', 'an unchanged agent keeps what it reported');
    assert.ok(h.sink.lines.some((l) => l.includes('are different at revision 6')));
    assertConsistent(h.replica, 'after the snapshot');

    // A beacon now finds them equal.
    h.beacon();
    assert.equal((await h.status()).catchingUp, false);
    assert.equal(h.fake.requests.length, requests + 1);
  });
}

test('replica - wait-for answers true once the revision arrives, false after the timeout otherwise', async (t) => {
  const clock = new ManualClock();
  const h = harness(t, clock);
  populate(h);
  await linkUpAndSettle(h);
  const waitFor = (revision: number, timeoutMs: number): Promise<boolean> =>
    h.actor.ask<boolean>((reply) => ({ kind: 'wait-for', revision, timeoutMs, reply }), ASK_MS);

  assert.equal(await waitFor(6, 10), true, 'already there');
  assert.equal(await waitFor(3, 10), true, 'long past');

  const seven = waitFor(7, 3_000);
  const eight = waitFor(8, 3_000);
  await h.status();
  h.push(h.commit({ op: 'group-created', group: 'db' }));
  assert.equal(await seven, true);
  h.push(h.commit({ op: 'group-created', group: 'dmz' }));
  assert.equal(await eight, true);

  const answer: { value?: boolean } = {};
  const hundred = waitFor(100, 60).then((v) => { answer.value = v; });
  await h.status();
  await clock.advance(59);
  assert.equal(answer.value, undefined, 'answered before the timeout');
  await clock.advance(1);
  await hundred;
  assert.equal(answer.value, false);
  assert.equal(h.replica.revision, 8);
});
