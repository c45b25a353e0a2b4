/**
 * One clusterd node: the runtime services around the actor tree of its role
 * (control socket, folder watch, enrolment and agent services, logtest, Redis status),
 * started in dependency order and stopped in reverse. The role is chosen here, once.
 */
import path from 'node:path';
import type { NodeConfig } from '../runtime/config/types.js';
import { createLogger, type LogSink, type Logger } from '../runtime/logger.js';
import { ActorSystem } from '../runtime/actor-kit.js';
import { loadLinkTls } from '../runtime/transport/tls-options.js';
import { ControlServer, controlSocketPath } from '../runtime/control/control-server.js';
import { ManifestScanner } from '../runtime/storage/manifest.js';
import { SYNCED_SET } from '../protocols/synced-set.js';
import { watchSyncedSet, type SyncedSetWatcher } from '../runtime/storage/watcher.js';
import { RegistryDb } from '../runtime/storage/registry-db.js';
import { NodeEvents } from '../runtime/events.js';
import { startEnrolmentService } from '../runtime/agents/enrolment-service.js';
import type { EnrolmentServer } from '../runtime/agents/enrolment-server.js';
import { startAgentService, type AgentService } from '../runtime/agents/agent-service.js';
import { startLogtestService } from '../runtime/analysis/logtest-service.js';
import type { LogtestServer } from '../runtime/logtest/logtest-server.js';
import { MasterRole } from './master-role.js';
import { WorkerRole } from './worker-role.js';
import { answerControl, nodeStatus, type ControlContext } from './control-answers.js';
import type { Role, RoleParts } from './role.js';

export interface RunningNode {
  readonly config: NodeConfig;
  readonly events: NodeEvents;
  /** Resolves with the exit code the process should end with, once the node stopped by itself. */
  readonly failed: Promise<number>;
  stop(reason: string): Promise<void>;
}

export function nodeTag(config: NodeConfig): string {
  return config.cluster.nodeType === 'master' ? 'Master' : `Worker ${config.cluster.nodeName}`;
}

/** Short enough to feel instant, long enough to fold a burst of writes into one rescan. */
const WATCH_DEBOUNCE_MS = 20;

/** The one place the node's type decides anything: what its registry is, and which role starts. */
const ROLES = {
  master: { registry: 'master', start: (parts: RoleParts): Promise<Role> => MasterRole.start(parts) },
  worker: { registry: 'replica', start: (parts: RoleParts): Promise<Role> => WorkerRole.start(parts) },
} as const;

export async function startNode(config: NodeConfig, sink: LogSink): Promise<RunningNode> {
  const { intervals } = config;
  const log = createLogger(sink, nodeTag(config));
  const askMs = intervals.communication.timeout_cluster_request * 1000;
  let giveUp: (code: number) => void = () => undefined;
  const failed = new Promise<number>((resolve) => { giveUp = resolve; });
  const system = new ActorSystem({
    name: config.cluster.nodeName,
    onGiveUp: (err) => {
      log.error(`The actor tree failed beyond its restart budget (${err.message}). Stopping the node.`);
      giveUp(1);
    },
    onCrash: (actorPath, err, decision) => log.error(`Actor ${actorPath} crashed: ${err.message} (${decision}).`),
  });

  const events = new NodeEvents();
  const manifests = new ManifestScanner(config.home);
  const kind = ROLES[config.cluster.nodeType];
  const registryDb = RegistryDb.open(path.join(config.home, 'queue', 'db', 'global.db'), kind.registry);
  let watcher: SyncedSetWatcher | undefined;
  let agentService: AgentService | null = null;
  const tls = config.cluster.tls ? await loadLinkTls(config.home, config.cluster.tls) : null;
  if (!tls) log.warning('Cluster links are not encrypted: <cluster> names no ssl_ca, ssl_cert and ssl_key; only the key proof protects them.');
  const parts: RoleParts = {
    config, system, log, askMs, events, manifests, registryDb, tls,
    agentsRemoved: (ids) => agentService?.gateway.forget(ids),
    holdWatch: (held) => (held ? watcher?.pause() : watcher?.resume()),
  };

  // The control socket comes first: it also tells us whether another node already runs in this home.
  // Requests are answered once every service is up.
  let ready: ControlContext | undefined;
  const control = new ControlServer(controlSocketPath(config.home), (req) => (ready
    ? answerControl(req, ready)
    : Promise.resolve({ type: 'error', body: { code: 'starting', message: 'the node is still starting' } })), log);
  let role: Role | undefined;
  let enrolment: EnrolmentServer | null = null;
  let logtest: LogtestServer | null = null;
  try {
    await control.start();
    role = await kind.start(parts);
    watcher = await watchFiles(config, role, log);
    if (!config.agents.auth.disabled) enrolment = await startEnrolmentService(config, role, log, tls);
    agentService = await startAgentService(config, { directory: registryDb, reports: role, onEvent: ignoreEvent }, log);
    logtest = await startLogtestService(config.home, log);
  } catch (err) {
    await logtest?.close();
    await agentService?.stop();
    await enrolment?.stop();
    await control.stop();
    await role?.stop();
    system.stop();
    await manifests.close();
    registryDb.close();
    throw err;
  }
  const node: ControlContext = { config, system, askMs, role, agentService };
  ready = node;
  const bus = await startStatusHeartbeat(node, log);

  let stopped = false;
  const running = role;
  return {
    config,
    events,
    failed,
    async stop(reason) {
      if (stopped) return;
      stopped = true;
      log.info(`Stopping: ${reason}`);
      bus?.stop();
      await watcher?.close();
      await logtest?.close();
      await agentService?.stop();
      await enrolment?.stop();
      await control.stop();
      await running.stop();
      system.stop();
      await manifests.close();
      registryDb.close();
      await bus?.close();
    },
  };
}

/** Event processing comes with the ruleset; until then events are counted by the gateway. */
const ignoreEvent = (): void => undefined;

/** A group's own files changed (not the merged.mg built from them): merged.mg is rebuilt. */
const isSharedSource = (p: string): boolean => p.startsWith('etc/shared/') && !path.basename(p).startsWith('merged.mg');

function watchFiles(config: NodeConfig, role: Role, log: Logger): Promise<SyncedSetWatcher> {
  return watchSyncedSet(config.home, SYNCED_SET, (paths) => {
    role.integrity.tell({ kind: 'rescan', reason: 'watch' });
    if (paths.some(isSharedSource)) role.sharedChanged();
  }, {
    debounceMs: WATCH_DEBOUNCE_MS,
    onError: (err) => log.task('Local integrity').warning(`File watch error: ${err.message}; the periodic scan still runs.`),
  });
}

interface StatusHeartbeat {
  stop(): void;
  close(): Promise<void>;
}

/** With `<redis_url>`, the node's status goes to Redis every status_heartbeat. */
async function startStatusHeartbeat(node: ControlContext, log: Logger): Promise<StatusHeartbeat | null> {
  const { cluster, intervals } = node.config;
  if (!cluster.redisUrl) return null;
  // Loaded only when configured: the Redis client is a large part of start-up time.
  const { RedisStatusBus } = await import('../runtime/redis/status-bus.js');
  const bus = new RedisStatusBus({
    url: cluster.redisUrl, cluster: cluster.name, heartbeatSeconds: intervals.communication.status_heartbeat, log,
  });
  bus.start();
  const publish = (): void => { nodeStatus(node).then((s) => bus.publishNode(s)).catch((err: Error) => log.debug(`Status not published: ${err.message}`)); };
  publish();
  const heartbeat = setInterval(publish, intervals.communication.status_heartbeat * 1000);
  return { stop: () => clearInterval(heartbeat), close: () => bus.close() };
}
