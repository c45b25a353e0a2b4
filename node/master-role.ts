/**
 * The master's role: the cluster server, the agent registry (single writer of
 * agents and groups), the groups broadcaster, the agent-info ingest with its Redis
 * fan-out, and the coordinator that gives each admitted worker a session.
 */
import os from 'node:os';
import path from 'node:path';
import type { ActorRef } from '../runtime/actor-kit.js';
import { ClusterServer } from '../runtime/transport/cluster-server.js';
import { AgentInfoStore } from '../runtime/storage/agent-info-store.js';
import { registryFiles } from '../runtime/storage/registry-files.js';
import { prepareRegistry } from '../runtime/storage/registry-restore.js';
import { sendFiles } from '../runtime/storage/sync-sender.js';
import type { NodeConfig } from '../runtime/config/types.js';
import type { AgentStatusBus } from '../runtime/redis/agent-status-bus.js';
import { newAgentKey } from '../protocols/agent-keys.js';
import type { AgentInfoUpdate } from '../protocols/agent-info.js';
import type { ClusterHealth, NodeInfo } from '../protocols/cluster-messages.js';
import type { EnrolmentOutcome, ForwardedEnrolment, RegistryCommand, RegistryOutcome } from '../protocols/registry.js';
import { CLUSTERD_VERSION } from '../protocols/version.js';
import { masterCoordinatorSpec, type MasterCoordinatorMsg } from '../actors/master/master-coordinator.js';
import type { SyncPort } from '../actors/master/worker-sync.js';
import { agentRegistrySpec, type AgentRegistryMsg } from '../actors/master/agent-registry.js';
import { groupsBroadcasterSpec, type GroupsBroadcasterMsg } from '../actors/master/groups-broadcaster.js';
import { agentInfoIngestSpec, type AgentInfoIngestMsg } from '../actors/master/agent-info-ingest.js';
import type { IntegrityScannerMsg } from '../actors/integrity-scanner.js';
import { chooseGroup, spawnIntegrityScanner, type Role, type RoleParts, type RoleStatus } from './role.js';

export class MasterRole implements Role {
  readonly type = 'master';

  private constructor(
    private readonly parts: RoleParts,
    readonly integrity: ActorRef<IntegrityScannerMsg>,
    private readonly coordinator: ActorRef<MasterCoordinatorMsg>,
    private readonly registry: ActorRef<AgentRegistryMsg>,
    private readonly agentInfo: ActorRef<AgentInfoIngestMsg>,
    private readonly server: ClusterServer,
    private readonly infoStore: AgentInfoStore,
    private readonly statusBus: AgentStatusBus | null,
  ) {}

  static async start(parts: RoleParts): Promise<MasterRole> {
    const { config, system, log, askMs } = parts;
    const { cluster, intervals } = config;
    // Actors are spawned before they are known to each other: late refs fill in at once.
    let coordinator: ActorRef<MasterCoordinatorMsg> | undefined;
    const integrity = spawnIntegrityScanner(parts, {
      periodSeconds: intervals.master.recalculate_integrity,
      verbose: true,
      // Only the master announces its changes; a worker's local changes wait for its next check.
      onChanged: (m) => coordinator?.tell({ kind: 'manifest-changed', revision: m.revision, digest: m.digest }),
    });
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
    const registry = spawnRegistry(parts, (changes) => broadcaster?.tell({ kind: 'committed', changes }));
    broadcaster = system.spawn(groupsBroadcasterSpec({
      log, beaconSeconds: intervals.master.sync_agent_groups, askMs, registry,
      fanOut: (push) => coordinator?.tell({ kind: 'registry-push', push }),
    }));
    const infoStore = AgentInfoStore.open(path.join(config.home, 'queue', 'db', 'global.db'));
    const statusBus = await startStatusBus(config, parts, infoStore);
    const agentInfo = system.spawn(agentInfoIngestSpec({
      table: infoStore, log, disconnectionSeconds: config.agents.disconnectionTimeSeconds,
      publish: (events) => statusBus?.publish(events),
    }));
    const self: NodeInfo = { name: cluster.nodeName, type: 'master', version: CLUSTERD_VERSION, address: cluster.masterAddress };
    coordinator = system.spawn(masterCoordinatorSpec({
      cluster: cluster.name, self, intervals, log, integrity, registry, agentInfo, sync: syncPort(config),
      openLinks: () => server.openLinks(),
      probeTimeoutMs: Math.min(askMs, 5000),
    }));
    await server.start();
    return new MasterRole(parts, integrity, coordinator, registry, agentInfo, server, infoStore, statusBus);
  }

  decide(request: ForwardedEnrolment): Promise<EnrolmentOutcome> {
    return this.registry.ask<EnrolmentOutcome>((reply) => ({ kind: 'enrol', request, reply }), this.parts.askMs);
  }

  /** The master's registry is where an enrolment is decided: it always holds the key. */
  holds(): Promise<boolean> {
    return Promise.resolve(true);
  }

  report(update: AgentInfoUpdate): void {
    this.agentInfo.tell({ kind: 'ingest', node: this.parts.config.cluster.nodeName, updates: [update], reply: null });
  }

  chooseGroup(id: number, mergedSum: string | null): void {
    chooseGroup(this, this.parts.log, id, mergedSum);
  }

  registryCommand(command: RegistryCommand): Promise<RegistryOutcome> {
    return this.registry.ask<RegistryOutcome>((reply) => ({ kind: 'command', command, reply }), this.parts.askMs);
  }

  listNodes(): Promise<NodeInfo[]> {
    return this.coordinator.ask<NodeInfo[]>((reply) => ({ kind: 'list-nodes', reply }), this.parts.askMs);
  }

  health(): Promise<ClusterHealth> {
    return this.coordinator.ask<ClusterHealth>((reply) => ({ kind: 'health', reply }), this.parts.askMs);
  }

  async status(): Promise<RoleStatus> {
    const nodes = await this.listNodes();
    return {
      type: 'master', address: this.parts.config.cluster.masterAddress, connected: true, lastKeepalive: null,
      workers: nodes.slice(1).map((n) => n.name), lastSync: null,
    };
  }

  sharedChanged(): void {
    this.registry.tell({ kind: 'shared-changed' });
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.statusBus?.close();
    this.infoStore.close();
  }
}

type Committed = Parameters<Parameters<typeof agentRegistrySpec>[0]['onCommitted']>[0];

function spawnRegistry(parts: RoleParts, committed: (changes: Committed) => void): ActorRef<AgentRegistryMsg> {
  const { config, log } = parts;
  return parts.system.spawn(agentRegistrySpec({
    store: parts.registryDb,
    files: registryFiles(config.home),
    log,
    force: config.agents.auth.force,
    managerName: os.hostname(),
    newKey: newAgentKey,
    onCommitted: (changes) => {
      committed(changes);
      const removed = changes.flatMap(({ change }) => (change.op === 'agent-removed' ? [change.id] : []));
      if (removed.length > 0) parts.agentsRemoved(removed);
    },
  }));
}

/** Agent status changes go to Redis when configured; the store's numbered log refills it after an outage. */
async function startStatusBus(config: NodeConfig, parts: RoleParts, infoStore: AgentInfoStore): Promise<AgentStatusBus | null> {
  const { cluster } = config;
  if (!cluster.redisUrl) return null;
  // Loaded only when configured: the Redis client is a large part of start-up time.
  const { AgentStatusBus: Bus } = await import('../runtime/redis/agent-status-bus.js');
  const bus = new Bus({
    url: cluster.redisUrl, cluster: cluster.name, log: parts.log.task('Agent status'), since: (seq, limit) => infoStore.since(seq, limit),
  });
  bus.start();
  return bus;
}

const PROGRESS_EVERY_MS = 2000;

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
