/**
 * A worker's role: the link to the master (connect, handshake, keepalive,
 * reconnect, apply what the master sends), the registry replica, and the
 * agent-info queue that the master drains.
 */
import type { ActorRef } from '../runtime/actor-kit.js';
import { ClusterClient } from '../runtime/transport/cluster-client.js';
import { SyncApplier, removeStaleTempFiles } from '../runtime/storage/sync-applier.js';
import type { AgentInfoUpdate } from '../protocols/agent-info.js';
import type { ClusterHealth, NodeInfo } from '../protocols/cluster-messages.js';
import type { EnrolmentOutcome, ForwardedEnrolment, RegistryCommand, RegistryOutcome } from '../protocols/registry.js';
import { CLUSTERD_VERSION } from '../protocols/version.js';
import { masterSessionSpec, type MasterLinkStatus, type MasterSessionMsg } from '../actors/worker/master-session.js';
import { registryReplicaSpec, type ReplicaMsg } from '../actors/worker/registry-replica.js';
import { agentInfoSenderSpec, type AgentInfoSenderMsg } from '../actors/worker/agent-info-sender.js';
import type { IntegrityScannerMsg } from '../actors/integrity-scanner.js';
import { chooseGroup, spawnIntegrityScanner, type Role, type RoleParts, type RoleStatus } from './role.js';

/** How long a worker holds an enrolled agent's answer for the key to reach its own registry. */
const KEY_ARRIVAL_WAIT_MS = 2000;

export class WorkerRole implements Role {
  readonly type = 'worker';

  private constructor(
    private readonly parts: RoleParts,
    readonly integrity: ActorRef<IntegrityScannerMsg>,
    private readonly session: ActorRef<MasterSessionMsg>,
    private readonly replica: ActorRef<ReplicaMsg>,
    private readonly agentInfo: ActorRef<AgentInfoSenderMsg>,
    private readonly client: ClusterClient,
  ) {}

  static async start(parts: RoleParts): Promise<WorkerRole> {
    const { config, system, log, events } = parts;
    const { cluster, intervals } = config;
    const requestTimeoutMs = intervals.communication.timeout_cluster_request * 1000;
    const workerLog = log.tagged(`Worker ${cluster.nodeName}`);
    const integrity = spawnIntegrityScanner(parts, { periodSeconds: intervals.worker.sync_integrity, verbose: false });
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
      connectTimeoutMs: requestTimeoutMs,
      requestTimeoutMs,
      log: workerLog,
    });
    const replica = system.spawn(registryReplicaSpec({
      store: parts.registryDb, log: workerLog, requestTimeoutMs, onRemoved: (ids) => parts.agentsRemoved(ids),
    }));
    const agentInfo = system.spawn(agentInfoSenderSpec({
      log: workerLog, syncSeconds: intervals.worker.sync_agent_info, requestTimeoutMs,
    }));
    const session = system.spawn(masterSessionSpec({
      nodeName: cluster.nodeName, intervals, log, replica, linkFollowers: [replica, agentInfo],
      connect: () => client.connect(),
      current: () => client.current(),
      scanner: integrity,
      beginApply: (plan) => SyncApplier.begin(config.home, plan, { maxFileBytes: intervals.communication.max_zip_size }),
      onRulesetChanged: (paths) => events.emit('ruleset-changed', paths),
    }));
    return new WorkerRole(parts, integrity, session, replica, agentInfo, client);
  }

  /** The master decides; the worker forwards. */
  decide(request: ForwardedEnrolment): Promise<EnrolmentOutcome> {
    return this.session.ask<EnrolmentOutcome>((reply) => ({ kind: 'enrol', request, reply }), this.parts.askMs);
  }

  /** The agent is answered once this worker's replica holds its key, so its first connection here is accepted. */
  holds(revision: number): Promise<boolean> {
    return this.replica.ask<boolean>((reply) => ({ kind: 'wait-for', revision, timeoutMs: KEY_ARRIVAL_WAIT_MS, reply }), KEY_ARRIVAL_WAIT_MS + this.parts.askMs);
  }

  report(update: AgentInfoUpdate): void {
    this.agentInfo.tell({ kind: 'update', update });
  }

  chooseGroup(id: number, mergedSum: string | null): void {
    chooseGroup(this, this.parts.log, id, mergedSum);
  }

  registryCommand(command: RegistryCommand): Promise<RegistryOutcome> {
    return this.session.ask<RegistryOutcome>((reply) => ({ kind: 'registry', command, reply }), this.parts.askMs);
  }

  listNodes(): Promise<NodeInfo[]> {
    return this.session.ask<NodeInfo[]>((reply) => ({ kind: 'list-nodes', reply }), this.parts.askMs);
  }

  health(): Promise<ClusterHealth> {
    return this.session.ask<ClusterHealth>((reply) => ({ kind: 'health', reply }), this.parts.askMs);
  }

  async status(): Promise<RoleStatus> {
    const link = await this.session.ask<MasterLinkStatus>((reply) => ({ kind: 'status', reply }), this.parts.askMs);
    return {
      type: 'worker',
      address: this.client.current()?.link.localAddress ?? this.parts.config.cluster.bindAddr,
      connected: link.connected,
      lastKeepalive: link.lastKeepalive === null ? null : new Date(link.lastKeepalive).toISOString(),
      workers: [],
      lastSync: link.lastSync,
    };
  }

  /** merged.mg is built on the master and reaches workers by integrity sync. */
  sharedChanged(): void {}

  async stop(): Promise<void> {
    this.client.close('worker shutting down');
  }
}

const isWildcard = (addr: string): boolean => addr === '0.0.0.0' || addr === '::';
