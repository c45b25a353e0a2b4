/**
 * WorkerSession (master): one per connected worker. Answers its keepalives and
 * requests, hands its integrity checks and syncs to its child WorkerSync
 * (worker-sync.ts, one at a time), pushes the master's manifest and registry changes
 * to it, and drops it when it falls silent for max_allowed_time_without_keepalive.
 */
import type { ActorContext, ActorRef, ActorSpec, Reply } from '../../runtime/actor-kit.js';
import type { Logger } from '../../runtime/logger.js';
import type { Intervals } from '../../runtime/config/types.js';
import type { ClusterBody, ClusterFrame, NodeInfo, WorkerHealth } from '../../protocols/cluster-messages.js';
import { MAILBOX_HIGH_WATER, type PeerLink } from '../ports.js';
import type { AgentRegistryMsg, CatchUp, RegistrySnapshot } from './agent-registry.js';
import type { RegistryPush } from './groups-broadcaster.js';
import type { AgentInfoIngestMsg, IngestAck } from './agent-info-ingest.js';
import {
  workerSyncSpec, type IntegrityFigures, type ScannerAsk, type SyncFiguresMsg, type SyncPhase, type SyncPort, type WorkerSyncMsg,
} from './worker-sync.js';
import { REGISTRY_BATCH, type EnrolmentOutcome, type RegistryOutcome } from '../../protocols/registry.js';


type CoordinatorAsk = { readonly kind: 'list-nodes'; readonly reply: Reply<NodeInfo[]> } | { readonly kind: 'health'; readonly reply: Reply<ClusterBody<'health'>['health']> };
type RegistryAsk = Extract<AgentRegistryMsg, { kind: 'enrol' | 'command' | 'catchup' }>;
type IngestAsk = Extract<AgentInfoIngestMsg, { kind: 'ingest' }>;

export type WorkerSessionMsg =
  | { readonly kind: 'inbound'; readonly frame: ClusterFrame }
  | RegistryPush
  | { readonly kind: 'check-keepalive' }
  | { readonly kind: 'notify'; readonly revision: number; readonly digest: string }
  | SyncFiguresMsg
  | { readonly kind: 'health'; readonly reply: Reply<WorkerHealth> };

interface State {
  readonly lastKeepalive: number;
  readonly keepalives: number;
  readonly requests: number;
  /** The child that runs this worker's integrity checks and syncs. */
  readonly integrity: ActorRef<WorkerSyncMsg>;
  /** Its figures as it last reported them, for the summary. */
  readonly figures: IntegrityFigures;
  readonly phase: SyncPhase | null;
}

export interface WorkerSessionDeps {
  readonly info: NodeInfo;
  readonly link: PeerLink;
  readonly intervals: Intervals;
  readonly log: Logger;
  readonly coordinator: ActorRef<CoordinatorAsk>;
  readonly integrity: ActorRef<ScannerAsk>;
  readonly registry: ActorRef<RegistryAsk>;
  readonly agentInfo: ActorRef<IngestAsk>;
  readonly sync: SyncPort;
}

/** A full snapshot as the frames that carry it. */
export function snapshotParts(snapshot: RegistrySnapshot): ClusterBody<'registry-snapshot'>[] {
  const parts: ClusterBody<'registry-snapshot'>[] = [];
  const count = Math.max(1, Math.ceil(snapshot.agents.length / REGISTRY_BATCH));
  for (let part = 0; part < count; part += 1) {
    parts.push({
      revision: snapshot.revision, part, groups: part === 0 ? snapshot.groups : [],
      agents: snapshot.agents.slice(part * REGISTRY_BATCH, (part + 1) * REGISTRY_BATCH), last: part === count - 1,
    });
  }
  return parts;
}

/** nact accepts only [a-z0-9-$_.+!*'(),] in names; node names may hold more. */
export function sessionActorName(node: string): string {
  return `worker-session-${node.replace(/[^a-z0-9\-_.+!'()]/gi, (c) => `$${c.charCodeAt(0).toString(16)}`)}`;
}

type AnsweredType = 'nodes-request' | 'health-request' | 'enrol-request' | 'registry-request' | 'registry-catchup' | 'agent-info';

const iso = (ms: number): string => new Date(ms).toISOString();

/** What the module-level handlers below need besides the actor's context. */
interface Env {
  readonly deps: WorkerSessionDeps;
  readonly log: Logger;
  readonly keepaliveLog: Logger;
  readonly askMs: number;
}

type Ctx = ActorContext<WorkerSessionMsg>;

const NO_FIGURES: IntegrityFigures = {
  syncing: false, checks: 0, syncs: 0, lastCheck: null, lastSync: null, lastFiles: null, lastOutcome: null,
};

export function workerSessionSpec(deps: WorkerSessionDeps): ActorSpec<State, WorkerSessionMsg> {
  const { info, link, intervals } = deps;
  const log = deps.log.tagged(`Worker ${info.name}`);
  const env: Env = {
    deps, log, keepaliveLog: deps.log.tagged('Master', 'Keep alive'),
    askMs: intervals.communication.timeout_cluster_request * 1000,
  };
  return {
    name: sessionActorName(info.name),
    init: (ctx) => {
      link.attach((frame) => ctx.self.tell({ kind: 'inbound', frame }), () => ctx.self.depth > MAILBOX_HIGH_WATER);
      ctx.every(intervals.master.check_worker_lastkeepalive * 1000, { kind: 'check-keepalive' });
      const integrity = ctx.spawn(workerSyncSpec({ link, intervals, log, integrity: deps.integrity, sync: deps.sync, session: ctx.self }));
      // After a restart the worker gets a whole new window, and re-checks its tree at its next interval.
      return { lastKeepalive: ctx.now(), keepalives: 0, requests: 0, integrity, figures: NO_FIGURES, phase: null };
    },
    receive: (s, msg, ctx) => {
      switch (msg.kind) {
        case 'inbound':
          return onFrame(env, ctx, s, msg.frame);
        case 'check-keepalive':
          checkKeepalive(env, ctx, s);
          return s;
        case 'notify':
          if (!link.closed) link.send('integrity-notice', { revision: msg.revision, digest: msg.digest });
          return s;
        case 'push-registry':
          if (!link.closed) link.send('registry-changes', { changes: [...msg.changes] });
          return s;
        case 'push-beacon':
          if (!link.closed) link.send('registry-beacon', { revision: msg.beacon.revision, checksum: msg.beacon.checksum });
          return s;
        case 'sync-figures':
          return { ...s, figures: msg.figures, phase: msg.phase };
        case 'health':
          answerHealth(env, s, msg.reply);
          return s;
      }
    },
    summary: (s) => ({
      worker: info.name, address: info.address, keepalives: s.keepalives, requests: s.requests, checks: s.figures.checks,
      syncs: s.figures.syncs, syncing: s.phase, lastKeepalive: iso(s.lastKeepalive),
    }),
  };
}

/** Drops a worker silent for longer than max_allowed_time_without_keepalive. */
function checkKeepalive(env: Env, ctx: Ctx, s: State): void {
  const limit = env.deps.intervals.master.max_allowed_time_without_keepalive;
  if (ctx.now() - s.lastKeepalive > limit * 1000) {
    env.keepaliveLog.error(`No keep alives have been received from ${env.deps.info.name} in the last ${limit}s. Disconnecting`);
    env.deps.link.close(`no keepalive in the last ${limit}s`);
  }
}

/**
 * The integrity figures come from the child itself, not from the session's copy: its
 * answer follows every frame already handed to it, as when the session held them.
 */
function answerHealth(env: Env, s: State, reply: Reply<WorkerHealth>): void {
  const { info } = env.deps;
  const lastKeepalive = iso(s.lastKeepalive);
  s.integrity.tell({
    kind: 'figures',
    reply: { ok: (integrity) => reply.ok({ info, lastKeepalive, integrity }), fail: (reason) => reply.fail(reason) },
  });
}

/** A forwarded request is answered when its work settles; a failure becomes an error frame. */
function answer<T extends AnsweredType>(link: PeerLink, frame: Extract<ClusterFrame, { type: T }>, work: Promise<void>): void {
  work.catch((err: Error) => link.reply(frame, 'error', { code: 'internal', message: err.message }));
}

/** A catch-up is either the changes since the worker's revision or a full snapshot, paced in parts. */
async function sendCatchUp(env: Env, frame: { readonly id: number }, catchUp: CatchUp): Promise<void> {
  const { link } = env.deps;
  if (catchUp.kind === 'changes') {
    link.reply(frame, 'registry-changes', { changes: catchUp.changes });
    return;
  }
  const parts = snapshotParts(catchUp.snapshot);
  link.reply(frame, 'registry-snapshot-follows', { revision: catchUp.snapshot.revision, parts: parts.length, agents: catchUp.snapshot.agents.length });
  env.deps.log.task('Agent-groups send full').info(`Sending ${catchUp.snapshot.agents.length} agents in ${parts.length} parts (revision ${catchUp.snapshot.revision}).`);
  for (const part of parts) {
    if (link.closed) return;
    await link.sendPaced('registry-snapshot', part);
  }
}

function onFrame(env: Env, ctx: Ctx, s: State, frame: ClusterFrame): State {
  const { link, info } = env.deps;
  switch (frame.type) {
    case 'keepalive':
      link.reply(frame, 'keepalive-ack', { at: ctx.now() });
      env.keepaliveLog.debug(`Keepalive received from ${info.name}.`);
      return { ...s, lastKeepalive: ctx.now(), keepalives: s.keepalives + 1 };
    // Integrity frames belong to the sync child, in the order they came.
    case 'integrity-check':
      s.integrity.tell({ kind: 'check', frame });
      return s;
    case 'sync-start':
      s.integrity.tell({ kind: 'sync-start', body: frame.body });
      return s;
    case 'sync-applied':
      s.integrity.tell({ kind: 'sync-applied', body: frame.body });
      return s;
    case 'bye':
      env.log.info(`Worker is leaving: ${frame.body.reason}`);
      return s;
    case 'nodes-request': case 'health-request': case 'enrol-request': case 'registry-request': case 'agent-info': case 'registry-catchup':
      forward(env, frame);
      return { ...s, requests: s.requests + 1 };
    default:
      link.reply(frame, 'error', { code: 'unexpected', message: `unexpected '${frame.type}' from a worker` });
      return s;
  }
}

/** Requests the worker forwards for the master's actors to answer. */
function forward(env: Env, frame: Extract<ClusterFrame, { type: AnsweredType }>): void {
  const { deps, askMs } = env;
  const { link, info } = deps;
  switch (frame.type) {
    case 'nodes-request':
      answer(link, frame, deps.coordinator.ask<NodeInfo[]>((reply) => ({ kind: 'list-nodes', reply }), askMs).then((nodes) => link.reply(frame, 'nodes', { nodes })));
      return;
    case 'health-request':
      answer(link, frame, deps.coordinator.ask<ClusterBody<'health'>['health']>((reply) => ({ kind: 'health', reply }), askMs).then((health) => link.reply(frame, 'health', { health })));
      return;
    case 'enrol-request':
      answer(link, frame, deps.registry.ask<EnrolmentOutcome>((reply) => ({ kind: 'enrol', request: frame.body.request, reply }), askMs)
        .then((outcome) => link.reply(frame, 'enrol-result', { outcome })));
      return;
    case 'registry-request':
      answer(link, frame, deps.registry.ask<RegistryOutcome>((reply) => ({ kind: 'command', command: frame.body.command, reply }), askMs)
        .then((outcome) => link.reply(frame, 'registry-result', { outcome })));
      return;
    case 'agent-info':
      answer(link, frame, deps.agentInfo.ask<IngestAck>((reply) => ({ kind: 'ingest', node: info.name, updates: frame.body.updates, reply }), askMs)
        .then((ack) => link.reply(frame, 'agent-info-ack', ack)));
      return;
    case 'registry-catchup':
      answer(link, frame, deps.registry.ask<CatchUp>((reply) => ({ kind: 'catchup', since: frame.body.since, full: frame.body.full, reply }), askMs)
        .then((catchUp) => sendCatchUp(env, frame, catchUp)));
      return;
  }
}
