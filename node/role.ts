/**
 * What a node's role (master or worker) gives the services around its actor tree.
 * The role is chosen once, in start-node.ts; every service below takes the role as
 * its port, so nothing else asks which role it runs in.
 */
import type { ActorRef, ActorSystem } from '../runtime/actor-kit.js';
import type { NodeConfig } from '../runtime/config/types.js';
import type { Logger } from '../runtime/logger.js';
import type { NodeEvents } from '../runtime/events.js';
import type { RegistryDb } from '../runtime/storage/registry-db.js';
import type { ManifestScanner } from '../runtime/storage/manifest.js';
import type { PemTls } from '../runtime/transport/tls-options.js';
import type { EnrolmentServiceDeps } from '../runtime/agents/enrolment-service.js';
import type { AgentReports } from '../runtime/agents/agent-gateway.js';
import type { ClusterHealth, NodeInfo } from '../protocols/cluster-messages.js';
import type { NodeStatus } from '../protocols/node-status.js';
import type { RegistryCommand, RegistryOutcome } from '../protocols/registry.js';
import { integrityScannerSpec, type IntegrityScannerMsg, type ManifestSnapshot } from '../actors/integrity-scanner.js';

/** The role's part of a node's status; the rest is common to both roles. */
export type RoleStatus = Pick<NodeStatus, 'type' | 'address' | 'connected' | 'lastKeepalive' | 'workers'> & {
  /** Worker: when its last sync from the master finished. */
  readonly lastSync: string | null;
};

export interface Role extends EnrolmentServiceDeps, AgentReports {
  readonly type: 'master' | 'worker';
  /** The node's file manifest, kept by the role's own integrity policy. */
  readonly integrity: ActorRef<IntegrityScannerMsg>;
  listNodes(): Promise<NodeInfo[]>;
  health(): Promise<ClusterHealth>;
  /** Agent and group commands: the master's registry decides, a worker forwards. */
  registryCommand(command: RegistryCommand): Promise<RegistryOutcome>;
  status(): Promise<RoleStatus>;
  /** A group's own files changed (not the merged.mg built from them). */
  sharedChanged(): void;
  stop(): Promise<void>;
}

/** What both roles are built from. */
export interface RoleParts {
  readonly config: NodeConfig;
  readonly system: ActorSystem;
  readonly log: Logger;
  /** How long an ask of an actor waits (timeout_cluster_request). */
  readonly askMs: number;
  readonly events: NodeEvents;
  readonly manifests: ManifestScanner;
  /** queue/db/global.db: the registry on the master, its replica on a worker. */
  readonly registryDb: RegistryDb;
  /** Mutual TLS for cluster links, when `<cluster>` names certificates. */
  readonly tls: PemTls | null;
  /** Agents the registry removed: the agent service closes their connections. */
  agentsRemoved(ids: readonly number[]): void;
  /** The folder watch pauses while a sync writes the tree. */
  holdWatch(held: boolean): void;
}

export interface IntegrityPolicy {
  readonly periodSeconds: number;
  /** The master logs its periodic walks like Wazuh's "Local integrity" task; a worker at debug level. */
  readonly verbose: boolean;
  readonly onChanged?: (snapshot: ManifestSnapshot) => void;
}

export function spawnIntegrityScanner(parts: RoleParts, policy: IntegrityPolicy): ActorRef<IntegrityScannerMsg> {
  const { manifests } = parts;
  return parts.system.spawn(integrityScannerSpec({
    ...policy,
    log: parts.log.task('Local integrity'),
    scan: () => manifests.scan(),
    seed: (written, removed) => manifests.seed(written, removed),
    onHold: (held) => parts.holdWatch(held),
  }));
}

/** An agent without a group: the master's registry picks one (by merged.mg checksum, else default); a failure is only logged. */
export function chooseGroup(role: Role, log: Logger, id: number, mergedSum: string | null): void {
  role.registryCommand({ op: 'choose-group', id, mergedSum }).then((outcome) => {
    if (!outcome.ok) log.warning(`No group for agent ${id}: ${outcome.error.text}`);
  }, (err: Error) => log.warning(`No group chosen for agent ${id} yet: ${err.message}`));
}
