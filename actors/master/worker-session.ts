/**
 * WorkerSession (master): one per connected worker. Answers its keepalives and
 * requests, runs its integrity checks and syncs (one at a time), pushes the master's
 * manifest changes to it, and drops it when it falls silent for
 * max_allowed_time_without_keepalive.
 */
import { randomBytes } from 'node:crypto';
import type { ActorContext, ActorRef, ActorSpec, Reply } from '../../runtime/actor-kit.js';
import type { Logger } from '../../runtime/logger.js';
import type { Intervals } from '../../runtime/config/types.js';
import type { ClusterBody, ClusterFrame, NodeInfo, WorkerHealth } from '../../protocols/cluster-messages.js';
import { classify, fromEntries, planIsEmpty, planSync, type ManifestEntry, type SyncPlan } from '../../protocols/integrity.js';
import type { ManifestSnapshot } from '../integrity-scanner.js';
import { MAILBOX_HIGH_WATER, type PeerLink } from '../ports.js';
import type { AgentRegistryMsg, CatchUp, RegistrySnapshot } from './agent-registry.js';
import type { RegistryPush } from './groups-broadcaster.js';
import type { AgentInfoIngestMsg, IngestAck } from './agent-info-ingest.js';
import { REGISTRY_BATCH, type EnrolmentOutcome, type RegistryOutcome } from '../../protocols/registry.js';

type CoordinatorAsk = { readonly kind: 'list-nodes'; readonly reply: Reply<NodeInfo[]> } | { readonly kind: 'health'; readonly reply: Reply<ClusterBody<'health'>['health']> };
type ScannerAsk = { readonly kind: 'get-manifest'; readonly reply: Reply<ManifestSnapshot> };
type RegistryAsk = Extract<AgentRegistryMsg, { kind: 'enrol' | 'command' | 'catchup' }>;
type IngestAsk = Extract<AgentInfoIngestMsg, { kind: 'ingest' }>;
type CheckFrame = Extract<ClusterFrame, { type: 'integrity-check' }>;

export type WorkerSessionMsg =
  | { readonly kind: 'inbound'; readonly frame: ClusterFrame }
  | RegistryPush
  | { readonly kind: 'check-keepalive' }
  | { readonly kind: 'notify'; readonly revision: number; readonly digest: string }
  | { readonly kind: 'check-with'; readonly frame: CheckFrame; readonly snapshot: ManifestSnapshot; readonly started: number }
  | { readonly kind: 'check-failed'; readonly frame: CheckFrame; readonly error: Error }
  | { readonly kind: 'sent'; readonly syncId: string; readonly bytes: number }
  | { readonly kind: 'send-failed'; readonly syncId: string; readonly error: Error }
  /** The worker did not answer within timeout_receiving_file while the sync waited on it. */
  | { readonly kind: 'sync-timeout'; readonly syncId: string; readonly phase: ActiveSync['phase'] }
  | { readonly kind: 'health'; readonly reply: Reply<WorkerHealth> };

interface ActiveSync {
  readonly syncId: string;
  readonly plan: SyncPlan;
  readonly started: number;
  readonly phase: 'awaiting-start' | 'sending' | 'awaiting-applied';
}

type Span = { readonly start: string; readonly end: string } | null;

interface State {
  readonly lastKeepalive: number;
  readonly keepalives: number;
  readonly requests: number;
  readonly checks: number;
  readonly syncs: number;
  readonly lastCheck: Span;
  readonly lastSync: Span;
  readonly lastFiles: { readonly created: number; readonly updated: number; readonly deleted: number } | null;
  readonly lastOutcome: string | null;
  readonly sync: ActiveSync | null;
}

export interface SyncPort {
  readonly maxFileBytes: number;
  readonly maxSyncBytes: number;
  /** Streams files to the worker; resolves with the bytes sent. */
  send(link: PeerLink, syncId: string, files: readonly ManifestEntry[], log: Logger, cancelled: () => boolean): Promise<number>;
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
const secs = (ms: number): string => (ms / 1000).toFixed(3);

export function workerSessionSpec(deps: WorkerSessionDeps): ActorSpec<State, WorkerSessionMsg> {
  const { info, link, intervals } = deps;
  const askMs = intervals.communication.timeout_cluster_request * 1000;
  const keepaliveLog = deps.log.tagged('Master', 'Keep alive');
  const log = deps.log.tagged(`Worker ${info.name}`);
  const checkLog = log.task('Integrity check');
  const syncLog = log.task('Integrity sync');

  const answer = <T extends AnsweredType>(frame: Extract<ClusterFrame, { type: T }>, work: Promise<void>): void => {
    work.catch((err: Error) => link.reply(frame, 'error', { code: 'internal', message: err.message }));
  };

  const sendCatchUp = async (frame: { readonly id: number }, catchUp: CatchUp): Promise<void> => {
    if (catchUp.kind === 'changes') {
      link.reply(frame, 'registry-changes', { changes: catchUp.changes });
      return;
    }
    const parts = snapshotParts(catchUp.snapshot);
    link.reply(frame, 'registry-snapshot-follows', { revision: catchUp.snapshot.revision, parts: parts.length, agents: catchUp.snapshot.agents.length });
    deps.log.task('Agent-groups send full').info(`Sending ${catchUp.snapshot.agents.length} agents in ${parts.length} parts (revision ${catchUp.snapshot.revision}).`);
    for (const part of parts) {
      if (link.closed) return;
      await link.sendPaced('registry-snapshot', part);
    }
  };

  const startCheck = (ctx: ActorContext<WorkerSessionMsg>, s: State, frame: CheckFrame): State => {
    if (s.sync) {
      link.reply(frame, 'integrity-result', { status: 'busy', revision: 0, files: 0 });
      return s;
    }
    const started = ctx.now();
    checkLog.info('Starting.');
    ctx.pipe(
      deps.integrity.ask<ManifestSnapshot>((reply) => ({ kind: 'get-manifest', reply }), askMs),
      (snapshot) => ({ kind: 'check-with', frame, snapshot, started }),
      (error) => ({ kind: 'check-failed', frame, error }),
    );
    return s;
  };

  const checkWith = (ctx: ActorContext<WorkerSessionMsg>, s: State, msg: Extract<WorkerSessionMsg, { kind: 'check-with' }>): State => {
    const { frame, snapshot, started } = msg;
    const { revision, manifest } = snapshot;
    const done = (outcome: string): State => {
      checkLog.info(`Finished in ${secs(ctx.now() - started)}s. Received metadata of ${frame.body.files} files. ${outcome}`);
      return { ...s, checks: s.checks + 1, lastCheck: { start: iso(started), end: iso(ctx.now()) } };
    };
    if (frame.body.digest === snapshot.digest) {
      link.reply(frame, 'integrity-result', { status: 'in-sync', revision, files: manifest.size });
      return done('Sync not required.');
    }
    if (!frame.body.entries) {
      link.reply(frame, 'integrity-result', { status: 'need-manifest', revision, files: manifest.size });
      return s;
    }
    const plan = planSync(classify(manifest, fromEntries(frame.body.entries)), deps.sync.maxFileBytes, deps.sync.maxSyncBytes);
    for (const p of plan.tooLarge) syncLog.warning(`File too large to be synced: ${p} (limit ${deps.sync.maxFileBytes} bytes).`);
    if (planIsEmpty(plan)) {
      link.reply(frame, 'integrity-result', { status: 'in-sync', revision, files: manifest.size });
      return done('Sync not required.');
    }
    const syncId = randomBytes(8).toString('hex');
    link.reply(frame, 'integrity-plan', { syncId, revision, files: manifest.size, ...plan });
    const next = done('Sync required.');
    syncLog.info('Starting.');
    syncLog.info(`Files to create in worker: ${plan.create.length} | Files to update in worker: ${plan.update.length} | Files to delete in worker: ${plan.delete.length}`);
    if (plan.deferred > 0) syncLog.warning(`Maximum sync size reached: ${plan.deferred} files will follow in the next sync.`);
    waitForWorker(ctx, syncId, 'awaiting-start');
    return { ...next, sync: { syncId, plan, started: ctx.now(), phase: 'awaiting-start' } };
  };

  // The worker may never answer (killed mid-way): the slot frees itself. Sending has no
  // such limit: it runs at the pace of the socket, however long a big sync takes.
  const waitForWorker = (ctx: ActorContext<WorkerSessionMsg>, syncId: string, phase: ActiveSync['phase']): void => {
    ctx.after(intervals.communication.timeout_receiving_file * 1000, { kind: 'sync-timeout', syncId, phase });
  };

  const onSyncStart = (ctx: ActorContext<WorkerSessionMsg>, s: State, body: ClusterBody<'sync-start'>): State => {
    const sync = s.sync;
    if (!sync || sync.syncId !== body.syncId || sync.phase !== 'awaiting-start') return s;
    if (!body.accept) {
      syncLog.error(`Worker refused the sync: ${body.reason ?? 'no reason given'}`);
      return { ...s, sync: null, lastOutcome: `refused by worker: ${body.reason ?? ''}` };
    }
    const files = [...sync.plan.create, ...sync.plan.update];
    const cancelled = (): boolean => link.closed;
    ctx.pipe(deps.sync.send(link, sync.syncId, files, syncLog, cancelled),
      (bytes) => ({ kind: 'sent', syncId: sync.syncId, bytes }),
      (error) => ({ kind: 'send-failed', syncId: sync.syncId, error }));
    return { ...s, sync: { ...sync, phase: 'sending' } };
  };

  const onApplied = (ctx: ActorContext<WorkerSessionMsg>, s: State, body: ClusterBody<'sync-applied'>): State => {
    const sync = s.sync;
    if (!sync || sync.syncId !== body.syncId) return s;
    const end = ctx.now();
    if (!body.ok) {
      syncLog.error(`Worker could not apply the sync: ${body.error ?? 'unknown error'}`);
      return { ...s, sync: null, lastOutcome: `failed on worker: ${body.error ?? ''}` };
    }
    syncLog.info(`Finished in ${secs(end - sync.started)}s.`);
    return {
      ...s, sync: null, syncs: s.syncs + 1, lastSync: { start: iso(sync.started), end: iso(end) },
      lastFiles: { created: body.created, updated: body.updated, deleted: body.deleted }, lastOutcome: 'ok',
    };
  };

  const onFrame = (ctx: ActorContext<WorkerSessionMsg>, s: State, frame: ClusterFrame): State => {
    switch (frame.type) {
      case 'keepalive':
        link.reply(frame, 'keepalive-ack', { at: ctx.now() });
        keepaliveLog.debug(`Keepalive received from ${info.name}.`);
        return { ...s, lastKeepalive: ctx.now(), keepalives: s.keepalives + 1 };
      case 'nodes-request':
        answer(frame, deps.coordinator.ask<NodeInfo[]>((reply) => ({ kind: 'list-nodes', reply }), askMs).then((nodes) => link.reply(frame, 'nodes', { nodes })));
        return { ...s, requests: s.requests + 1 };
      case 'health-request':
        answer(frame, deps.coordinator.ask<ClusterBody<'health'>['health']>((reply) => ({ kind: 'health', reply }), askMs).then((health) => link.reply(frame, 'health', { health })));
        return { ...s, requests: s.requests + 1 };
      case 'integrity-check':
        return startCheck(ctx, s, frame);
      case 'enrol-request':
        answer(frame, deps.registry.ask<EnrolmentOutcome>((reply) => ({ kind: 'enrol', request: frame.body.request, reply }), askMs)
          .then((outcome) => link.reply(frame, 'enrol-result', { outcome })));
        return { ...s, requests: s.requests + 1 };
      case 'registry-request':
        answer(frame, deps.registry.ask<RegistryOutcome>((reply) => ({ kind: 'command', command: frame.body.command, reply }), askMs)
          .then((outcome) => link.reply(frame, 'registry-result', { outcome })));
        return { ...s, requests: s.requests + 1 };
      case 'agent-info':
        answer(frame, deps.agentInfo.ask<IngestAck>((reply) => ({ kind: 'ingest', node: info.name, updates: frame.body.updates, reply }), askMs)
          .then((ack) => link.reply(frame, 'agent-info-ack', ack)));
        return { ...s, requests: s.requests + 1 };
      case 'registry-catchup':
        answer(frame, deps.registry.ask<CatchUp>((reply) => ({ kind: 'catchup', since: frame.body.since, full: frame.body.full, reply }), askMs)
          .then((catchUp) => sendCatchUp(frame, catchUp)));
        return { ...s, requests: s.requests + 1 };
      case 'sync-start':
        return onSyncStart(ctx, s, frame.body);
      case 'sync-applied':
        return onApplied(ctx, s, frame.body);
      case 'bye':
        log.info(`Worker is leaving: ${frame.body.reason}`);
        return s;
      default:
        link.reply(frame, 'error', { code: 'unexpected', message: `unexpected '${frame.type}' from a worker` });
        return s;
    }
  };

  return {
    name: sessionActorName(info.name),
    init: (ctx) => {
      link.attach((frame) => ctx.self.tell({ kind: 'inbound', frame }), () => ctx.self.depth > MAILBOX_HIGH_WATER);
      ctx.every(intervals.master.check_worker_lastkeepalive * 1000, { kind: 'check-keepalive' });
      // After a restart the worker gets a whole new window, and re-checks its tree at its next interval.
      return {
        lastKeepalive: ctx.now(), keepalives: 0, requests: 0, checks: 0, syncs: 0,
        lastCheck: null, lastSync: null, lastFiles: null, lastOutcome: null, sync: null,
      };
    },
    receive: (s, msg, ctx) => {
      switch (msg.kind) {
        case 'inbound':
          return onFrame(ctx, s, msg.frame);
        case 'check-keepalive': {
          const limit = intervals.master.max_allowed_time_without_keepalive;
          if (ctx.now() - s.lastKeepalive > limit * 1000) {
            keepaliveLog.error(`No keep alives have been received from ${info.name} in the last ${limit}s. Disconnecting`);
            link.close(`no keepalive in the last ${limit}s`);
          }
          return s;
        }
        case 'notify':
          if (!link.closed) link.send('integrity-notice', { revision: msg.revision, digest: msg.digest });
          return s;
        case 'push-registry':
          if (!link.closed) link.send('registry-changes', { changes: [...msg.changes] });
          return s;
        case 'push-beacon':
          if (!link.closed) link.send('registry-beacon', { revision: msg.beacon.revision, checksum: msg.beacon.checksum });
          return s;
        case 'check-with':
          return checkWith(ctx, s, msg);
        case 'check-failed':
          checkLog.error(`Error checking integrity: ${msg.error.message}`);
          link.reply(msg.frame, 'integrity-result', { status: 'not-ready', revision: 0, files: 0 });
          return s;
        case 'sent':
          if (s.sync?.syncId !== msg.syncId) return s;
          if (!link.closed) link.send('sync-end', { syncId: msg.syncId, ok: true });
          syncLog.debug(`Sent ${msg.bytes} bytes; waiting for the worker to apply them.`);
          waitForWorker(ctx, msg.syncId, 'awaiting-applied');
          return { ...s, sync: { ...s.sync, phase: 'awaiting-applied' } };
        case 'sync-timeout':
          if (s.sync?.syncId !== msg.syncId || s.sync.phase !== msg.phase) return s;
          syncLog.error(`The worker did not answer within ${intervals.communication.timeout_receiving_file}s (${msg.phase}); the sync is abandoned.`);
          return { ...s, sync: null, lastOutcome: `timed out ${msg.phase}` };
        case 'send-failed':
          if (s.sync?.syncId !== msg.syncId) return s;
          syncLog.error(`Error sending files: ${msg.error.message}`);
          if (!link.closed) link.send('sync-end', { syncId: msg.syncId, ok: false, error: msg.error.message });
          return { ...s, sync: null, lastOutcome: `send failed: ${msg.error.message}` };
        case 'health':
          msg.reply.ok({
            info,
            lastKeepalive: iso(s.lastKeepalive),
            integrity: {
              syncing: s.sync !== null, checks: s.checks, syncs: s.syncs, lastCheck: s.lastCheck, lastSync: s.lastSync,
              lastFiles: s.lastFiles, lastOutcome: s.lastOutcome,
            },
          });
          return s;
      }
    },
    summary: (s) => ({
      worker: info.name, address: info.address, keepalives: s.keepalives, requests: s.requests, checks: s.checks,
      syncs: s.syncs, syncing: s.sync?.phase ?? null, lastKeepalive: iso(s.lastKeepalive),
    }),
  };
}
