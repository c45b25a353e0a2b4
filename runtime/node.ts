/**
 * One clusterd node: the actor tree for its role and the runtime services around it
 * (cluster transport, control socket, Redis fan-out), started in dependency order
 * and stopped in reverse.
 */
import type { NodeConfig } from './config/types.js';
import { createLogger, type LogSink, type Logger } from './logger.js';
import { ActorSystem, type ActorRef } from './actor-kit.js';
import { ClusterServer } from './transport/cluster-server.js';
import { ClusterClient } from './transport/cluster-client.js';
import { loadLinkTls, type PemTls } from './transport/tls-options.js';
import { ControlServer, controlSocketPath, type ControlAnswer } from './control/control-server.js';
import { ManifestScanner } from './storage/manifest.js';
import { SYNCED_SET } from '../protocols/synced-set.js';
import { watchSyncedSet, type SyncedSetWatcher } from './storage/watcher.js';
import { sendFiles } from './storage/sync-sender.js';
import { SyncApplier, removeStaleTempFiles } from './storage/sync-applier.js';
import { NodeEvents } from './events.js';
import { masterCoordinatorSpec, type MasterCoordinatorMsg } from '../actors/master-coordinator.js';
import { masterSessionSpec, type MasterLinkStatus, type MasterSessionMsg } from '../actors/worker-session-on-worker.js';
import { integrityScannerSpec, type IntegrityScannerMsg, type ManifestSnapshot } from '../actors/integrity-scanner.js';
import type { SyncPort } from '../actors/worker-session-on-master.js';
import { agentInfoIngestOnMasterSpec, type AgentInfoIngestMsg } from '../actors/agent-info-ingest-on-master.js';
import { agentInfoIngestOnWorkerSpec, type WorkerIngestMsg } from '../actors/agent-info-ingest-on-worker.js';
import { AgentInfoStore } from './storage/agent-info-store.js';
import { agentRegistrySpec, type AgentRegistryMsg } from '../actors/agent-registry.js';
import { groupsBroadcasterOnMasterSpec, type GroupsBroadcasterMsg } from '../actors/groups-broadcaster-on-master.js';
import { groupsBroadcasterOnWorkerSpec, type ReplicaMsg } from '../actors/groups-broadcaster-on-worker.js';
import { RegistryDb } from './storage/registry-db.js';
import { registryFiles } from './storage/registry-files.js';
import { prepareRegistry } from './storage/registry-restore.js';
import { startEnrolmentService } from './agents/enrolment-service.js';
import type { EnrolmentServer } from './agents/enrolment-server.js';
import { startAgentService, type AgentService } from './agents/agent-service.js';
import type { AgentGatewayDeps } from './agents/agent-gateway.js';
import { newAgentKey } from '../protocols/agent-keys.js';
import type { EnrolmentOutcome, RegistryCommand, RegistryOutcome } from '../protocols/registry.js';
import os from 'node:os';
import path from 'node:path';
import type { ClusterHealth, NodeInfo } from '../protocols/cluster-messages.js';
import type { ControlFrame } from '../protocols/control-messages.js';
import type { NodeStatus } from '../protocols/node-status.js';
import { CLUSTERD_VERSION } from '../protocols/version.js';

export interface RunningNode {
  readonly config: NodeConfig;
  readonly events: NodeEvents;
  /** Resolves with the exit code the process should end with, once the node stopped by itself. */
  readonly failed: Promise<number>;
  stop(reason: string): Promise<void>;
}

type Role =
  | {
    readonly type: 'master'; readonly coordinator: ActorRef<MasterCoordinatorMsg>; readonly server: ClusterServer; readonly registry: ActorRef<AgentRegistryMsg>;
    readonly agentInfo: ActorRef<AgentInfoIngestMsg>; readonly infoStore: AgentInfoStore;
    readonly statusBus: { close(): Promise<void> } | null;
  }
  | {
    readonly type: 'worker'; readonly session: ActorRef<MasterSessionMsg>; readonly client: ClusterClient; readonly replica: ActorRef<ReplicaMsg>;
    readonly agentInfo: ActorRef<WorkerIngestMsg>;
  };

/** What the role-specific parts share. */
interface NodeParts {
  readonly config: NodeConfig;
  readonly system: ActorSystem;
  readonly log: Logger;
  readonly askMs: number;
  readonly integrity: ActorRef<IntegrityScannerMsg>;
  readonly events: NodeEvents;
  /** queue/db/global.db: the registry on the master, its replica on a worker. */
  readonly registryDb: RegistryDb;
  /** Agents the registry removed: the agent service closes their connections. */
  readonly agentsRemoved: (ids: readonly number[]) => void;
  /** Mutual TLS for cluster links and the enrolment service, when `<cluster>` names certificates. */
  readonly tls: PemTls | null;
}

export function nodeTag(config: NodeConfig): string {
  return config.cluster.nodeType === 'master' ? 'Master' : `Worker ${config.cluster.nodeName}`;
}

export async function startNode(config: NodeConfig, sink: LogSink): Promise<RunningNode> {
  const { cluster, intervals } = config;
  const log = createLogger(sink, nodeTag(config));
  const askMs = intervals.communication.timeout_cluster_request * 1000;
  let giveUp: (code: number) => void = () => undefined;
  const failed = new Promise<number>((resolve) => { giveUp = resolve; });

  const system = new ActorSystem({
    name: cluster.nodeName,
    onGiveUp: (err) => {
      log.error(`The actor tree failed beyond its restart budget (${err.message}). Stopping the node.`);
      giveUp(1);
    },
    onCrash: (path, err, decision) => log.error(`Actor ${path} crashed: ${err.message} (${decision}).`),
  });

  const isMaster = cluster.nodeType === 'master';
  const events = new NodeEvents();
  const manifests = new ManifestScanner(config.home);
  let watcher: SyncedSetWatcher | undefined;
  let coordinator: ActorRef<MasterCoordinatorMsg> | undefined;
  const integrity = system.spawn(integrityScannerSpec({
    periodSeconds: isMaster ? intervals.master.recalculate_integrity : intervals.worker.sync_integrity,
    verbose: isMaster,
    log: log.task('Local integrity'),
    scan: () => manifests.scan(),
    seed: (written, removed) => manifests.seed(written, removed),
    onHold: (held) => (held ? watcher?.pause() : watcher?.resume()),
    // Only the master announces its changes; a worker's local changes wait for its next check.
    ...(isMaster ? { onChanged: (m: ManifestSnapshot) => coordinator?.tell({ kind: 'manifest-changed', revision: m.revision, digest: m.digest }) } : {}),
  }));
  const registryDb = RegistryDb.open(path.join(config.home, 'queue', 'db', 'global.db'), isMaster ? 'master' : 'replica');
  let agentService: AgentService | null = null;
  const linkTls = cluster.tls ? await loadLinkTls(config.home, cluster.tls) : null;
  if (!linkTls) log.warning('Cluster links are not encrypted: <cluster> names no ssl_ca, ssl_cert and ssl_key; only the key proof protects them.');
  const parts: NodeParts = {
    tls: linkTls,
    config, system, log, askMs, integrity, events, registryDb,
    agentsRemoved: (ids) => agentService?.gateway.forget(ids),
  };

  // The control socket comes first: it also tells us whether another node already runs in this home.
  // Requests are answered once every service is up.
  let role: Role | undefined;
  let started: Role | undefined;
  let enrolment: EnrolmentServer | null = null;
  const control = new ControlServer(controlSocketPath(config.home), async (req) => {
    if (!role) return { type: 'error', body: { code: 'starting', message: 'the node is still starting' } };
    if (req.type === 'get-agent-service') {
      if (!agentService) return { type: 'error', body: { code: 'disabled', message: 'no agent service on this node' } };
      const { tcp, udpPeers } = agentService.server.figures();
      return { type: 'agent-service', body: { ...agentService.gateway.figures(), tcp, udpPeers } };
    }
    return answerControl(req, parts, role);
  }, log);
  try {
    await control.start();
    if (isMaster) {
      const master = await startMaster(parts);
      coordinator = master.coordinator;
      started = master;
    } else {
      started = await startWorker(parts);
    }
    const master = started.type === 'master' ? started : null;
    watcher = await watchSyncedSet(config.home, SYNCED_SET, (paths) => {
      integrity.tell({ kind: 'rescan', reason: 'watch' });
      if (master && paths.some(isSharedSource)) master.registry.tell({ kind: 'shared-changed' });
    }, {
      debounceMs: WATCH_DEBOUNCE_MS,
      onError: (err) => log.task('Local integrity').warning(`File watch error: ${err.message}; the periodic scan still runs.`),
    });
    if (!config.agents.auth.disabled) enrolment = await startEnrolmentService(config, enrolmentPorts(parts, started), log, linkTls);
    agentService = await startAgentService(config, gatewayPorts(parts, started), log);
    role = started;
  } catch (err) {
    await agentService?.stop();
    await enrolment?.stop();
    await control.stop();
    if (started) await stopRole(started);
    system.stop();
    await manifests.close();
    registryDb.close();
    throw err;
  }
  const running: Role = role;
  const status = (): Promise<NodeStatus> => nodeStatus(parts, running);

  // Loaded only when configured: the Redis client is a large part of start-up time.
  const bus = cluster.redisUrl
    ? new (await import('./redis/status-bus.js')).RedisStatusBus({
      url: cluster.redisUrl, cluster: cluster.name, heartbeatSeconds: intervals.communication.status_heartbeat, log,
    })
    : null;
  let heartbeat: NodeJS.Timeout | undefined;
  if (bus) {
    bus.start();
    const publish = (): void => { status().then((s) => bus.publishNode(s)).catch((err: Error) => log.debug(`Status not published: ${err.message}`)); };
    publish();
    heartbeat = setInterval(publish, intervals.communication.status_heartbeat * 1000);
  }

  let stopped = false;
  return {
    config,
    events,
    failed,
    async stop(reason) {
      if (stopped) return;
      stopped = true;
      log.info(`Stopping: ${reason}`);
      clearInterval(heartbeat);
      await watcher?.close();
      await agentService?.stop();
      await enrolment?.stop();
      await control.stop();
      await stopRole(running);
      system.stop();
      await manifests.close();
      registryDb.close();
      await bus?.close();
    },
  };
}

/** A group's own files changed (not the merged.mg built from them): merged.mg is rebuilt. */
const isSharedSource = (p: string): boolean => p.startsWith('etc/shared/') && !path.basename(p).startsWith('merged.mg');

/** How long a worker holds an enrolled agent's answer for the key to reach its own registry. */
const KEY_ARRIVAL_WAIT_MS = 2000;

function enrolmentPorts(parts: NodeParts, role: Role): Parameters<typeof startEnrolmentService>[1] {
  const { askMs } = parts;
  if (role.type === 'master') {
    return {
      decide: (request) => role.registry.ask<EnrolmentOutcome>((reply) => ({ kind: 'enrol', request, reply }), askMs),
      holds: () => Promise.resolve(true),
    };
  }
  return {
    decide: (request) => role.session.ask<EnrolmentOutcome>((reply) => ({ kind: 'enrol', request, reply }), askMs),
    holds: (revision) => role.replica.ask<boolean>((reply) => ({ kind: 'wait-for', revision, timeoutMs: KEY_ARRIVAL_WAIT_MS, reply }), KEY_ARRIVAL_WAIT_MS + askMs),
  };
}

function gatewayPorts(parts: NodeParts, role: Role): Omit<AgentGatewayDeps, 'home' | 'log'> {
  const { askMs, log, config } = parts;
  return {
    directory: parts.registryDb,
    report: role.type === 'master'
      ? (update) => role.agentInfo.tell({ kind: 'ingest', node: config.cluster.nodeName, updates: [update], reply: null })
      : (update) => role.agentInfo.tell({ kind: 'update', update }),
    chooseGroup: (id, mergedSum) => {
      registryCommand(role, { op: 'choose-group', id, mergedSum }, askMs).then((outcome) => {
        if (!outcome.ok) log.warning(`No group for agent ${id}: ${outcome.error.text}`);
      }, (err: Error) => log.warning(`No group chosen for agent ${id} yet: ${err.message}`));
    },
    // Event processing comes with the ruleset; until then events are counted.
    onEvent: () => undefined,
  };
}

/** Short enough to feel instant, long enough to fold a burst of writes into one rescan. */
const WATCH_DEBOUNCE_MS = 20;

function syncPort(config: NodeConfig): SyncPort {
  const { communication } = config.intervals;
  return {
    maxFileBytes: communication.max_zip_size,
    maxSyncBytes: communication.max_zip_size,
    send: async (link, syncId, files, log, cancelled) => {
      let lastProgress = Date.now();
      const mb = (n: number): string => (n / 1048576).toFixed(1);
      const result = await sendFiles(link, syncId, config.home, files, {
        compressLevel: communication.compress_level,
        cancelled,
        onProgress: (p) => {
          if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
          lastProgress = Date.now();
          log.info(`Sent ${p.files}/${p.totalFiles} files, ${mb(p.bytes)} of ${mb(p.totalBytes)} MB.`);
        },
      });
      if (result.gone.length) log.debug(`${result.gone.length} files vanished during the sync; the next check settles them.`);
      return result.bytes;
    },
  };
}

const PROGRESS_EVERY_MS = 2000;

async function startMaster(parts: NodeParts): Promise<Extract<Role, { type: 'master' }>> {
  const { config, system, log, askMs } = parts;
  const { cluster, intervals } = config;
  const self: NodeInfo = { name: cluster.nodeName, type: 'master', version: CLUSTERD_VERSION, address: cluster.masterAddress };
  let coordinator: ActorRef<MasterCoordinatorMsg> | undefined;
  const server = new ClusterServer({
    ...(parts.tls ? { tls: parts.tls } : {}),
    host: cluster.bindAddr,
    port: cluster.port,
    identity: { cluster: cluster.name, node: cluster.nodeName, version: CLUSTERD_VERSION, key: cluster.key },
    address: cluster.masterAddress,
    handshakeTimeoutMs: askMs,
    handshakesPerSource: cluster.handshakesPerSource,
    requestTimeoutMs: askMs,
    log,
    admit: (worker, link) => {
      if (!coordinator) return Promise.resolve({ accept: false, reject: 'shutting-down', detail: 'not ready' });
      return coordinator.ask((reply) => ({ kind: 'admit', worker, link, reply }), askMs);
    },
    onClosed: (worker, link, reason) => coordinator?.tell({ kind: 'link-closed', name: worker.name, link, reason }),
  });
  await prepareRegistry(config.home, parts.registryDb, log.task('Agent registry'));
  let broadcaster: ActorRef<GroupsBroadcasterMsg> | undefined;
  const registry = system.spawn(agentRegistrySpec({
    store: parts.registryDb,
    files: registryFiles(config.home),
    log,
    force: config.agents.auth.force,
    managerName: os.hostname(),
    newKey: newAgentKey,
    onCommitted: (changes) => {
      broadcaster?.tell({ kind: 'committed', changes });
      const removed = changes.flatMap(({ change }) => (change.op === 'agent-removed' ? [change.id] : []));
      if (removed.length > 0) parts.agentsRemoved(removed);
    },
  }));
  broadcaster = system.spawn(groupsBroadcasterOnMasterSpec({
    log, beaconSeconds: intervals.master.sync_agent_groups, askMs, registry,
    fanOut: (push) => coordinator?.tell({ kind: 'registry-push', push }),
  }));
  const infoStore = AgentInfoStore.open(path.join(config.home, 'queue', 'db', 'global.db'));
  // Agent status changes go to Redis when configured; the store's numbered log refills it after an outage.
  const statusBus = cluster.redisUrl
    ? new (await import('./redis/agent-status-bus.js')).AgentStatusBus({
      url: cluster.redisUrl, cluster: cluster.name, log: log.task('Agent status'), since: (seq, limit) => infoStore.since(seq, limit),
    })
    : null;
  statusBus?.start();
  const agentInfo = system.spawn(agentInfoIngestOnMasterSpec({
    table: infoStore, log, disconnectionSeconds: config.agents.disconnectionTimeSeconds,
    publish: (events) => statusBus?.publish(events),
  }));
  coordinator = system.spawn(masterCoordinatorSpec({
    cluster: cluster.name, self, intervals, log, integrity: parts.integrity, registry, agentInfo, sync: syncPort(config),
    openLinks: () => server.openLinks(),
    probeTimeoutMs: Math.min(askMs, 5000),
  }));
  await server.start();
  return { type: 'master', coordinator, server, registry, agentInfo, infoStore, statusBus };
}

async function startWorker(parts: NodeParts): Promise<Extract<Role, { type: 'worker' }>> {
  const { config, system, log, events } = parts;
  const { cluster, intervals } = config;
  // A process killed mid-sync leaves temp files behind: they never become part of the tree.
  const stale = await removeStaleTempFiles(config.home);
  if (stale.length) log.task('Integrity sync').info(`Removed ${stale.length} temporary files left by an interrupted sync.`);
  const client = new ClusterClient({
    ...(parts.tls ? { tls: parts.tls } : {}),
    host: cluster.masterAddress,
    port: cluster.port,
    identity: { cluster: cluster.name, node: cluster.nodeName, version: CLUSTERD_VERSION, key: cluster.key },
    // On a worker, a specific bind_addr is where its link leaves from (Wazuh ignores it there).
    ...(isWildcard(cluster.bindAddr) ? {} : { sourceAddress: cluster.bindAddr }),
    connectTimeoutMs: intervals.communication.timeout_cluster_request * 1000,
    requestTimeoutMs: intervals.communication.timeout_cluster_request * 1000,
    log: log.tagged(`Worker ${cluster.nodeName}`),
  });
  const replica = system.spawn(groupsBroadcasterOnWorkerSpec({
    store: parts.registryDb, log: log.tagged(`Worker ${cluster.nodeName}`), requestTimeoutMs: intervals.communication.timeout_cluster_request * 1000,
    onRemoved: parts.agentsRemoved,
  }));
  const agentInfo = system.spawn(agentInfoIngestOnWorkerSpec({
    log: log.tagged(`Worker ${cluster.nodeName}`), syncSeconds: intervals.worker.sync_agent_info, requestTimeoutMs: intervals.communication.timeout_cluster_request * 1000,
  }));
  const session = system.spawn(masterSessionSpec({
    nodeName: cluster.nodeName, intervals, log, replica, linkFollowers: [replica, agentInfo],
    connect: () => client.connect(),
    current: () => client.current(),
    scanner: parts.integrity,
    beginApply: (plan) => SyncApplier.begin(config.home, plan, { maxFileBytes: intervals.communication.max_zip_size }),
    onRulesetChanged: (paths) => events.emit('ruleset-changed', paths),
  }));
  return { type: 'worker', session, client, replica, agentInfo };
}

const isWildcard = (addr: string): boolean => addr === '0.0.0.0' || addr === '::';

async function stopRole(role: Role): Promise<void> {
  if (role.type === 'master') {
    await role.server.stop();
    await role.statusBus?.close();
    role.infoStore.close();
  } else {
    role.client.close('worker shutting down');
  }
}

async function listNodes(role: Role, askMs: number): Promise<NodeInfo[]> {
  return role.type === 'master'
    ? role.coordinator.ask<NodeInfo[]>((reply) => ({ kind: 'list-nodes', reply }), askMs)
    : role.session.ask<NodeInfo[]>((reply) => ({ kind: 'list-nodes', reply }), askMs);
}

async function clusterHealth(role: Role, askMs: number): Promise<ClusterHealth> {
  return role.type === 'master'
    ? role.coordinator.ask<ClusterHealth>((reply) => ({ kind: 'health', reply }), askMs)
    : role.session.ask<ClusterHealth>((reply) => ({ kind: 'health', reply }), askMs);
}

async function nodeStatus(parts: NodeParts, role: Role): Promise<NodeStatus> {
  const { config, system, askMs } = parts;
  const { cluster } = config;
  const figures = system.figures();
  const actorHealth = {
    actors: figures.length,
    restarts: figures.reduce((n, f) => n + f.restarts, 0),
    unhealthy: figures.filter((f) => f.status !== 'running').length,
  };
  const snapshot = await parts.integrity.ask<ManifestSnapshot>((reply) => ({ kind: 'get-manifest', reply }), askMs).catch(() => null);
  const integrity = (lastSync: string | null): NodeStatus['integrity'] =>
    snapshot ? { revision: snapshot.revision, files: snapshot.manifest.size, digest: snapshot.digest, lastSync } : null;
  const base = { cluster: cluster.name, node: cluster.nodeName, version: CLUSTERD_VERSION, actorHealth, at: new Date().toISOString() };
  if (role.type === 'master') {
    const nodes = await listNodes(role, askMs);
    return {
      ...base, type: 'master', address: cluster.masterAddress, connected: true, lastKeepalive: null,
      workers: nodes.slice(1).map((n) => n.name), integrity: integrity(null),
    };
  }
  const link = await role.session.ask<MasterLinkStatus>((reply) => ({ kind: 'status', reply }), askMs);
  const address = role.client.current()?.link.localAddress ?? cluster.bindAddr;
  return {
    ...base, type: 'worker', address, connected: link.connected,
    lastKeepalive: link.lastKeepalive === null ? null : new Date(link.lastKeepalive).toISOString(), workers: [],
    integrity: integrity(link.lastSync),
  };
}

function registryCommand(role: Role, command: RegistryCommand, askMs: number): Promise<RegistryOutcome> {
  return role.type === 'master'
    ? role.registry.ask<RegistryOutcome>((reply) => ({ kind: 'command', command, reply }), askMs)
    : role.session.ask<RegistryOutcome>((reply) => ({ kind: 'registry', command, reply }), askMs);
}

async function answerControl(req: ControlFrame, parts: NodeParts, role: Role): Promise<ControlAnswer> {
  const { config, system, askMs } = parts;
  switch (req.type) {
    case 'list-nodes':
      return { type: 'nodes', body: { nodes: await listNodes(role, askMs) } };
    case 'get-health':
      return { type: 'health', body: { health: await clusterHealth(role, askMs) } };
    case 'list-actors':
      return { type: 'actors', body: { node: config.cluster.nodeName, actors: system.figures().map((f) => ({ ...f, summary: { ...f.summary } })) } };
    case 'get-status':
      return { type: 'status', body: { status: await nodeStatus(parts, role) } };
    case 'registry':
      return { type: 'registry-result', body: { outcome: await registryCommand(role, req.body.command, askMs) } };
    case 'crash-actor':
      if (!config.faultInjection) return { type: 'error', body: { code: 'forbidden', message: 'fault injection is disabled on this node (set "fault_injection": true in etc/cluster.json)' } };
      return system.injectFault(req.body.path)
        ? { type: 'done', body: { detail: `fault injected into ${req.body.path}` } }
        : { type: 'error', body: { code: 'unknown-actor', message: `no running actor at ${req.body.path}` } };
    default:
      return { type: 'error', body: { code: 'unexpected', message: `'${req.type}' is not a request` } };
  }
}
