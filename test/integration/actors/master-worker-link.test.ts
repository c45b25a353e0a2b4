/**
 * A master's and a worker's actor trees in one process, joined by the in-memory link
 * pair instead of TCP: the master's MasterCoordinator, WorkerSessions, AgentRegistry,
 * GroupsBroadcaster and AgentInfoIngest on a real RegistryDb/AgentInfoStore, and the
 * worker's session, registry replica and AgentInfoIngest on its own replica database.
 * Only what is not the subject is faked: the file scanners (both sides report the same
 * tree, so integrity checks find it in sync), the registry's files and the file sender.
 * The wiring follows runtime/node.ts (startMaster / startWorker); the `connect` dep
 * plays ClusterClient + ClusterServer: it asks the coordinator to admit the master's
 * end, and hands the session the worker's end.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ActorSystem, type ActorRef } from '../../../runtime/actor-kit.js';
import { createLogger, MemorySink } from '../../../runtime/logger.js';
import { DEFAULT_INTERVALS } from '../../../runtime/config/defaults.js';
import type { Intervals } from '../../../runtime/config/types.js';
import { RegistryDb } from '../../../runtime/storage/registry-db.js';
import { AgentInfoStore } from '../../../runtime/storage/agent-info-store.js';
import { masterCoordinatorSpec, type AdmitVerdict, type MasterCoordinatorMsg } from '../../../actors/master/master-coordinator.js';
import { masterSessionSpec, type MasterConnection, type MasterLinkStatus, type MasterSessionMsg } from '../../../actors/worker/master-session.js';
import { agentRegistrySpec, type AgentRegistryMsg } from '../../../actors/master/agent-registry.js';
import type { RegistryFiles } from '../../../runtime/storage/registry-files.js';
import { groupsBroadcasterSpec, type GroupsBroadcasterMsg } from '../../../actors/master/groups-broadcaster.js';
import { registryReplicaSpec, type ReplicaMsg, type ReplicaStatus } from '../../../actors/worker/registry-replica.js';
import { agentInfoIngestSpec } from '../../../actors/master/agent-info-ingest.js';
import { agentInfoSenderSpec, type AgentInfoSenderMsg } from '../../../actors/worker/agent-info-sender.js';
import type { IntegrityScannerMsg, ManifestSnapshot } from '../../../actors/integrity-scanner.js';
import type { AdmittedWorker } from '../../../actors/ports.js';
import type { ClusterHealth, NodeInfo } from '../../../protocols/cluster-messages.js';
import { describeReject } from '../../../protocols/errors.js';
import { manifestDigest } from '../../../protocols/integrity.js';
import { newAgentKey } from '../../../protocols/agent-keys.js';
import type { AgentStatusEvent, AgentInfoUpdate } from '../../../protocols/agent-info.js';
import type { RegistryOutcome } from '../../../protocols/registry.js';
import { framesOf, memoryLinkPair, type MemoryLinkPair } from '../../harness/memory-link.js';
import { until, within } from '../../harness/wait.js';

const ASK_MS = 5000;
const MASTER: NodeInfo = { name: 'master-node', type: 'master', version: '0.1.0', address: '10.0.0.1' };
const WORKER = 'worker-1';

/** Fast heartbeats and retries; a silent worker is dropped after a second. */
const INTERVALS: Intervals = {
  worker: { ...DEFAULT_INTERVALS.worker, keep_alive: 0.05, connection_retry: 0.05, max_failed_keepalive_attempts: 2, sync_agent_info: 0.05 },
  master: { ...DEFAULT_INTERVALS.master, check_worker_lastkeepalive: 0.05, max_allowed_time_without_keepalive: 1 },
  communication: { ...DEFAULT_INTERVALS.communication, timeout_cluster_request: ASK_MS / 1000 },
};

/** Both nodes hold the same tree: every integrity check is in sync, no files move. */
const tree = new Map([['etc/shared/default/agent.conf', { md5: 'a'.repeat(32), size: 3, mtimeMs: 1 }]]);
const SNAPSHOT: ManifestSnapshot = { manifest: tree, digest: manifestDigest(tree), revision: 1 };

const noFiles: RegistryFiles = {
  createGroupDir: () => undefined,
  removeGroupDir: async () => undefined,
  writeClientKeys: async () => undefined,
  buildMerged: async (sets) => new Map(sets.map((s) => [s.join(','), 'c'.repeat(32)])),
};

interface Cluster {
  readonly masterDb: RegistryDb;
  readonly workerDb: RegistryDb;
  readonly coordinator: ActorRef<MasterCoordinatorMsg>;
  readonly registry: ActorRef<AgentRegistryMsg>;
  readonly session: ActorRef<MasterSessionMsg>;
  readonly replica: ActorRef<ReplicaMsg>;
  readonly workerIngest: ActorRef<AgentInfoSenderMsg>;
  readonly published: AgentStatusEvent[];
  /** Every pair the worker's session connected over, newest last. */
  readonly pairs: MemoryLinkPair[];
  readonly masterLog: MemorySink;
  readonly workerLog: MemorySink;
  status(): Promise<MasterLinkStatus>;
  nodes(): Promise<string[]>;
}

function scannerSpec(): Parameters<ActorSystem['spawn']>[0] {
  return {
    name: 'integrity-scanner',
    init: () => null,
    receive: (s: null, m: IntegrityScannerMsg) => {
      if (m.kind === 'get-manifest') m.reply.ok(SNAPSHOT);
      return s;
    },
  };
}

function cluster(t: TestContext, opts: { requestTimeoutMs?: number } = {}): Cluster {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-memlink-'));
  const masterFile = path.join(dir, 'master', 'global.db');
  const workerFile = path.join(dir, 'worker', 'global.db');
  fs.mkdirSync(path.dirname(masterFile), { recursive: true });
  fs.mkdirSync(path.dirname(workerFile), { recursive: true });
  const masterDb = RegistryDb.open(masterFile, 'master');
  // Known before the worker ever connects: it reaches the replica by catch-up.
  masterDb.commit([
    { op: 'group-created', group: 'default' },
    { op: 'agent-added', agent: { id: 1, name: 'agent-one', ip: 'any', key: 'k'.repeat(64), registeredAt: 1000, groups: ['default'] } },
  ]);
  const infoStore = AgentInfoStore.open(masterFile);
  const workerDb = RegistryDb.open(workerFile, 'replica');
  const masterLog = new MemorySink();
  const workerLog = new MemorySink();
  const mlog = createLogger(masterLog, 'Master');
  const wlog = createLogger(workerLog, `Worker ${WORKER}`);
  const onGiveUp = (err: Error): void => assert.fail(`an actor tree gave up: ${err.message}`);
  const masterSys = new ActorSystem({ name: 'memlink-master', onGiveUp });
  const workerSys = new ActorSystem({ name: 'memlink-worker', onGiveUp });
  t.after(() => {
    workerSys.stop();
    masterSys.stop();
    for (const p of pairs) p.cut('test over');
    infoStore.close();
    masterDb.close();
    workerDb.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // --- the master, as startMaster wires it ---
  const masterScanner = masterSys.spawn(scannerSpec()) as ActorRef<IntegrityScannerMsg>;
  let coordinator: ActorRef<MasterCoordinatorMsg> | undefined;
  let broadcaster: ActorRef<GroupsBroadcasterMsg> | undefined;
  const registry = masterSys.spawn(agentRegistrySpec({
    store: masterDb, files: noFiles, log: mlog, managerName: 'manager-host', newKey: newAgentKey,
    force: { enabled: true, keyMismatch: true, disconnectedTimeSeconds: 3600, afterRegistrationTimeSeconds: 3600 },
    onCommitted: (changes) => broadcaster?.tell({ kind: 'committed', changes }),
  }));
  broadcaster = masterSys.spawn(groupsBroadcasterSpec({
    log: mlog, beaconSeconds: INTERVALS.master.sync_agent_groups, askMs: ASK_MS, registry,
    fanOut: (push) => coordinator?.tell({ kind: 'registry-push', push }),
  }));
  const published: AgentStatusEvent[] = [];
  const agentInfo = masterSys.spawn(agentInfoIngestSpec({
    table: infoStore, log: mlog, disconnectionSeconds: 600, publish: (events) => { published.push(...events); },
  }));
  /** What ClusterServer.openLinks() would list. */
  const welcomed = new Map<MemoryLinkPair['a'], NodeInfo>();
  coordinator = masterSys.spawn(masterCoordinatorSpec({
    cluster: 'wazuh', self: MASTER, intervals: INTERVALS, log: mlog, integrity: masterScanner, registry, agentInfo,
    sync: { maxFileBytes: 1e9, maxSyncBytes: 1e9, send: async () => 0 },
    openLinks: (): AdmittedWorker[] => [...welcomed].filter(([l]) => !l.closed).map(([link, info]) => ({ info, link })),
    probeTimeoutMs: 500,
  }));
  const coord = coordinator;

  // --- the transport: ClusterServer's admission and ClusterClient's held link, in memory ---
  const pairs: MemoryLinkPair[] = [];
  let held: MasterConnection | null = null;
  const connect = async (): Promise<MasterConnection> => {
    held?.link.close('reconnecting');
    held = null;
    const pair = memoryLinkPair({ addresses: { a: '10.0.0.2', b: MASTER.address }, requestTimeoutMs: opts.requestTimeoutMs ?? ASK_MS });
    pairs.push(pair);
    const worker: NodeInfo = { name: WORKER, type: 'worker', version: '0.1.0', address: pair.a.remoteAddress };
    const verdict = await coord.ask<AdmitVerdict>((reply) => ({ kind: 'admit', worker, link: pair.a, reply }), ASK_MS);
    if (!verdict.accept) {
      pair.a.close(describeReject(verdict.reject, verdict.detail));
      throw new Error(describeReject(verdict.reject, verdict.detail));
    }
    welcomed.set(pair.a, worker);
    pair.a.onClose((reason) => {
      welcomed.delete(pair.a);
      coord.tell({ kind: 'link-closed', name: worker.name, link: pair.a, reason });
    });
    held = { link: pair.b, master: MASTER };
    return held;
  };

  // --- the worker, as startWorker wires it ---
  const workerScanner = workerSys.spawn(scannerSpec()) as ActorRef<IntegrityScannerMsg>;
  const replica = workerSys.spawn(registryReplicaSpec({ store: workerDb, log: wlog, requestTimeoutMs: ASK_MS, onRemoved: () => undefined }));
  const workerIngest = workerSys.spawn(agentInfoSenderSpec({ log: wlog, syncSeconds: INTERVALS.worker.sync_agent_info, requestTimeoutMs: ASK_MS }));
  const session = workerSys.spawn(masterSessionSpec({
    nodeName: WORKER, intervals: INTERVALS, log: wlog, replica, linkFollowers: [replica, workerIngest],
    connect,
    current: () => (held && !held.link.closed ? held : null),
    scanner: workerScanner,
    beginApply: () => Promise.reject(new Error('no sync expected: both trees are the same')),
    onRulesetChanged: () => undefined,
  }));

  return {
    masterDb, workerDb, coordinator: coord, registry, session, replica, workerIngest, published, pairs, masterLog, workerLog,
    status: () => session.ask<MasterLinkStatus>((reply) => ({ kind: 'status', reply }), ASK_MS),
    nodes: () => coord.ask<NodeInfo[]>((reply) => ({ kind: 'list-nodes', reply }), ASK_MS).then((n) => n.map((x) => x.name)),
  };
}

/** Polls an async condition with the bounded wait. */
async function eventually(cond: () => Promise<boolean>, what: string): Promise<void> {
  let ok = false;
  const poll = async (): Promise<void> => {
    for (;;) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await within(poll().then(() => { ok = true; }), what);
  assert.ok(ok);
}

const connected = (c: Cluster): Promise<void> => eventually(async () => (await c.status()).connected, 'the worker connected');

const update = (id: number, status: AgentInfoUpdate['status']): AgentInfoUpdate =>
  ({ id, kind: 'status', status, statusCode: 0, version: 'Wazuh v4.14.5', at: Date.now(), report: null });

test('master-worker link - the worker connects through the coordinator, and its keepalives are answered', async (t) => {
  const c = cluster(t);
  await connected(c);
  assert.deepEqual(await c.nodes(), [MASTER.name, WORKER]);
  const pair = c.pairs[0];
  assert.ok(pair);
  await until(() => framesOf(pair.trace, 'keepalive-ack', 'a').length >= 2, 'two keepalives answered');
  // Every ack answers a keepalive the worker sent.
  const sent = new Set(framesOf(pair.trace, 'keepalive', 'b').map((f) => f.id));
  assert.ok(framesOf(pair.trace, 'keepalive-ack', 'a').every((f) => f.re !== undefined && sent.has(f.re)));
  await eventually(async () => (await c.status()).lastKeepalive !== null, 'the worker records a keepalive answer');
  const status = await c.status();
  assert.equal(status.master?.name, MASTER.name);
  assert.equal(status.lastError, null);
  // The master's session records them too; the integrity check on connect found the trees alike.
  const health = await c.coordinator.ask<ClusterHealth>((reply) => ({ kind: 'health', reply }), ASK_MS);
  assert.equal(health.workers.length, 1);
  assert.equal(health.workers[0]?.info.name, WORKER);
  assert.equal(health.workers[0]?.info.address, '10.0.0.2');
  await until(() => framesOf(pair.trace, 'integrity-result', 'a').length >= 1, 'the first integrity check');
  assert.equal(framesOf(pair.trace, 'integrity-result', 'a')[0]?.body.status, 'in-sync');
});

test('master-worker link - list-nodes asked on the worker is answered by the master', async (t) => {
  const c = cluster(t);
  await connected(c);
  const nodes = await c.session.ask<NodeInfo[]>((reply) => ({ kind: 'list-nodes', reply }), ASK_MS);
  assert.deepEqual(nodes.map((n) => [n.name, n.type]), [[MASTER.name, 'master'], [WORKER, 'worker']]);
  assert.equal(framesOf(c.pairs[0]?.trace ?? [], 'nodes', 'a').length, 1, 'the answer came over the link');
});

test('master-worker link - agent-info from the worker is stored by the master and acknowledged', async (t) => {
  const c = cluster(t);
  await connected(c);
  c.workerIngest.tell({ kind: 'update', update: update(1, 'active') });
  c.workerIngest.tell({ kind: 'update', update: update(99, 'active') });
  await until(() => c.masterDb.agentById(1)?.status === 'active', 'agent 1 active on the master');
  assert.equal(c.masterDb.agentById(1)?.node, WORKER, 'stored as reported by this worker');
  assert.deepEqual(c.published.map((e) => [e.id, e.status, e.node]), [[1, 'active', WORKER]]);
  const acks = (): { stored: number; unknown: number }[] => framesOf(c.pairs[0]?.trace ?? [], 'agent-info-ack', 'a').map((f) => f.body);
  await until(() => acks().reduce((n, a) => n + a.stored + a.unknown, 0) === 2, 'both updates acknowledged');
  assert.equal(acks().reduce((n, a) => n + a.unknown, 0), 1, 'the unknown agent is counted, not created');
  assert.equal(c.masterDb.agentById(99), undefined);
});

test('master-worker link - registry changes reach the worker replica: by catch-up on connect, then pushed as they commit', async (t) => {
  const c = cluster(t);
  await connected(c);
  await until(() => c.workerDb.agentById(1)?.name === 'agent-one', 'the agent known before the connection');
  const outcome = await c.registry.ask<RegistryOutcome>((reply) => ({ kind: 'command', command: { op: 'add-agent', name: 'agent-two' }, reply }), ASK_MS);
  assert.ok(outcome.ok, JSON.stringify(outcome));
  await until(() => c.workerDb.agentByName('agent-two') !== undefined, 'the new agent on the worker');
  await until(() => c.workerDb.revision === c.masterDb.revision, 'the replica at the master revision');
  assert.equal(c.workerDb.checksum(), c.masterDb.checksum());
  assert.equal(c.workerDb.agentByName('agent-two')?.key, c.masterDb.agentByName('agent-two')?.key);
  assert.ok(framesOf(c.pairs[0]?.trace ?? [], 'registry-changes', 'a').length >= 1, 'pushed over the link');
  const status = await c.replica.ask<ReplicaStatus>((reply) => ({ kind: 'status', reply }), ASK_MS);
  assert.equal(status.revision, c.masterDb.revision);
});

test('master-worker link - a cut link: the master drops the session, the worker reports it and reconnects', async (t) => {
  const c = cluster(t);
  await connected(c);
  const first = c.pairs[0];
  assert.ok(first);
  first.cut('cable pulled');
  // Both sides notice: the coordinator forgets the worker, the session says why.
  await eventually(async () => (await c.nodes()).length === 1 || c.pairs.length > 1, 'the master drops the session');
  await eventually(async () => {
    const s = await c.status();
    return s.lastError === 'connection error: cable pulled' || c.pairs.length > 1;
  }, 'the worker notices the cut');
  assert.ok(c.workerLog.lines.some((l) => l.includes('Connection with the master lost: connection error: cable pulled')), 'the worker logs the loss');
  await until(() => c.masterLog.lines.some((l) => l.includes(`Disconnected ${WORKER}: connection error: cable pulled`)), 'the master logs the loss');
  // And it comes back over a new link, admitted again under the same name.
  await until(() => c.pairs.length === 2, 'a second connection');
  await connected(c);
  await eventually(async () => (await c.nodes()).join() === [MASTER.name, WORKER].join(), 'the worker listed again');
  const second = c.pairs[1];
  assert.ok(second);
  await until(() => framesOf(second.trace, 'keepalive-ack', 'a').length >= 1, 'keepalives on the new link');
  const nodes = await c.session.ask<NodeInfo[]>((reply) => ({ kind: 'list-nodes', reply }), ASK_MS);
  assert.equal(nodes.length, 2);
});

test('master-worker link - a link that dies silently: heartbeats notice on both sides', async (t) => {
  const c = cluster(t, { requestTimeoutMs: 100 });
  await connected(c);
  const first = c.pairs[0];
  assert.ok(first);
  first.stall();
  // The worker's keepalives time out: after max_failed_keepalive_attempts it gives the link up and reconnects.
  await until(() => c.workerLog.lines.some((l) => l.includes('Maximum number of failed keep alives reached')), 'the worker gives up the link');
  await until(() => first.b.closed, 'the worker end closed');
  // The master hears nothing (not even the close). Its dead session goes either by the keepalive
  // check (max_allowed_time_without_keepalive) or, when the worker is back first, because it does
  // not answer the probe the coordinator sends before letting the same name in again.
  await until(() => first.a.closed, 'the master end closed');
  assert.match(first.a.closeReason ?? '', /^(no keepalive in the last 1s|replaced by a new connection of the same node)$/);
  await until(() => c.pairs.length >= 2, 'a new connection');
  await connected(c);
  await eventually(async () => (await c.nodes()).join() === [MASTER.name, WORKER].join(), 'the worker listed once');
});

test('master-worker link - a second connection under a live name is refused; the live session keeps it', async (t) => {
  const c = cluster(t);
  await connected(c);
  const intruder = memoryLinkPair();
  t.after(() => intruder.cut('test over'));
  const worker: NodeInfo = { name: WORKER, type: 'worker', version: '0.1.0', address: '10.0.0.66' };
  const verdict = await c.coordinator.ask<AdmitVerdict>((reply) => ({ kind: 'admit', worker, link: intruder.a, reply }), ASK_MS);
  assert.equal(verdict.accept, false);
  assert.equal(verdict.accept ? null : verdict.reject, 'duplicate-name');
  // The probe went over the live link and was answered by the worker's session.
  assert.ok(framesOf(c.pairs[0]?.trace ?? [], 'pong', 'b').length >= 1);
  assert.deepEqual(await c.nodes(), [MASTER.name, WORKER]);
  assert.equal((await c.status()).connected, true);
});
