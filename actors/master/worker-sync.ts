/**
 * WorkerSync (master): a WorkerSession's child that runs that worker's integrity checks
 * and syncs, one at a time: compares the worker's manifest with the master's, sends the
 * plan, waits for the worker to start, streams the files, and waits for the worker to
 * apply them (each wait bounded by timeout_receiving_file). A check that arrives while a
 * sync runs is answered 'busy'. It reports its figures to the session after every change
 * (for the session's inspector summary) and answers the session's health with them.
 */
import { randomBytes } from 'node:crypto';
import type { ActorContext, ActorRef, ActorSpec, Reply } from '../../runtime/actor-kit.js';
import type { Logger } from '../../runtime/logger.js';
import type { Intervals } from '../../runtime/config/types.js';
import type { ClusterBody, ClusterFrame, WorkerHealth } from '../../protocols/cluster-messages.js';
import { classify, fromEntries, planIsEmpty, planSync, type ManifestEntry, type SyncPlan } from '../../protocols/integrity.js';
import type { ManifestSnapshot } from '../integrity-scanner.js';
import type { PeerLink } from '../ports.js';

export type ScannerAsk = { readonly kind: 'get-manifest'; readonly reply: Reply<ManifestSnapshot> };
export type CheckFrame = Extract<ClusterFrame, { type: 'integrity-check' }>;
export type SyncPhase = 'awaiting-start' | 'sending' | 'awaiting-applied';
export type IntegrityFigures = WorkerHealth['integrity'];

/** What the sync tells its session after every change of its figures. */
export type SyncFiguresMsg = { readonly kind: 'sync-figures'; readonly figures: IntegrityFigures; readonly phase: SyncPhase | null };

export type WorkerSyncMsg =
  | { readonly kind: 'check'; readonly frame: CheckFrame }
  | { readonly kind: 'sync-start'; readonly body: ClusterBody<'sync-start'> }
  | { readonly kind: 'sync-applied'; readonly body: ClusterBody<'sync-applied'> }
  | { readonly kind: 'check-with'; readonly frame: CheckFrame; readonly snapshot: ManifestSnapshot; readonly started: number }
  | { readonly kind: 'check-failed'; readonly frame: CheckFrame; readonly error: Error }
  | { readonly kind: 'sent'; readonly syncId: string; readonly bytes: number }
  | { readonly kind: 'send-failed'; readonly syncId: string; readonly error: Error }
  /** The worker did not answer within timeout_receiving_file while the sync waited on it. */
  | { readonly kind: 'sync-timeout'; readonly syncId: string; readonly phase: SyncPhase }
  | { readonly kind: 'figures'; readonly reply: Reply<IntegrityFigures> };

export interface SyncPort {
  readonly maxFileBytes: number;
  readonly maxSyncBytes: number;
  /** Streams files to the worker; resolves with the bytes sent. */
  send(link: PeerLink, syncId: string, files: readonly ManifestEntry[], log: Logger, cancelled: () => boolean): Promise<number>;
}

export interface WorkerSyncDeps {
  readonly link: PeerLink;
  readonly intervals: Intervals;
  /** The session's logger (tagged with the worker's name). */
  readonly log: Logger;
  readonly integrity: ActorRef<ScannerAsk>;
  readonly sync: SyncPort;
  readonly session: ActorRef<SyncFiguresMsg>;
}

interface ActiveSync {
  readonly syncId: string;
  readonly plan: SyncPlan;
  readonly started: number;
  readonly phase: SyncPhase;
}

type Span = { readonly start: string; readonly end: string } | null;

interface State {
  readonly checks: number;
  readonly syncs: number;
  readonly lastCheck: Span;
  readonly lastSync: Span;
  readonly lastFiles: { readonly created: number; readonly updated: number; readonly deleted: number } | null;
  readonly lastOutcome: string | null;
  readonly sync: ActiveSync | null;
}

interface Env {
  readonly deps: WorkerSyncDeps;
  readonly checkLog: Logger;
  readonly syncLog: Logger;
  readonly askMs: number;
}

type Ctx = ActorContext<WorkerSyncMsg>;

const iso = (ms: number): string => new Date(ms).toISOString();
const secs = (ms: number): string => (ms / 1000).toFixed(3);

export function workerSyncSpec(deps: WorkerSyncDeps): ActorSpec<State, WorkerSyncMsg> {
  const log = deps.log;
  const env: Env = {
    deps, checkLog: log.task('Integrity check'), syncLog: log.task('Integrity sync'),
    askMs: deps.intervals.communication.timeout_cluster_request * 1000,
  };
  return {
    name: 'worker-sync',
    init: () => {
      const s: State = { checks: 0, syncs: 0, lastCheck: null, lastSync: null, lastFiles: null, lastOutcome: null, sync: null };
      // After a restart of its own the session's copy of the figures starts over with it.
      report(deps, s);
      return s;
    },
    receive: (s, msg, ctx) => {
      const next = step(env, ctx, s, msg);
      if (next !== s) report(deps, next);
      return next;
    },
    summary: (s) => ({ checks: s.checks, syncs: s.syncs, phase: s.sync?.phase ?? null, lastOutcome: s.lastOutcome }),
  };
}

function step(env: Env, ctx: Ctx, s: State, msg: WorkerSyncMsg): State {
  switch (msg.kind) {
    case 'check':
      return startCheck(env, ctx, s, msg.frame);
    case 'check-with':
      return checkWith(env, ctx, s, msg);
    case 'check-failed':
      env.checkLog.error(`Error checking integrity: ${msg.error.message}`);
      env.deps.link.reply(msg.frame, 'integrity-result', { status: 'not-ready', revision: 0, files: 0 });
      return s;
    case 'sync-start':
      return onSyncStart(env, ctx, s, msg.body);
    case 'sent':
      return onSent(env, ctx, s, msg);
    case 'send-failed':
      return onSendFailed(env, s, msg);
    case 'sync-applied':
      return onApplied(env, ctx, s, msg.body);
    case 'sync-timeout':
      if (s.sync?.syncId !== msg.syncId || s.sync.phase !== msg.phase) return s;
      env.syncLog.error(`The worker did not answer within ${env.deps.intervals.communication.timeout_receiving_file}s (${msg.phase}); the sync is abandoned.`);
      return { ...s, sync: null, lastOutcome: `timed out ${msg.phase}` };
    case 'figures':
      msg.reply.ok(figures(s));
      return s;
  }
}

function figures(s: State): IntegrityFigures {
  return {
    syncing: s.sync !== null, checks: s.checks, syncs: s.syncs, lastCheck: s.lastCheck, lastSync: s.lastSync,
    lastFiles: s.lastFiles, lastOutcome: s.lastOutcome,
  };
}

function report(deps: WorkerSyncDeps, s: State): void {
  deps.session.tell({ kind: 'sync-figures', figures: figures(s), phase: s.sync?.phase ?? null });
}

/** One check or sync at a time: a check during a sync is told to come back later. */
function startCheck(env: Env, ctx: Ctx, s: State, frame: CheckFrame): State {
  if (s.sync) {
    env.deps.link.reply(frame, 'integrity-result', { status: 'busy', revision: 0, files: 0 });
    return s;
  }
  const started = ctx.now();
  env.checkLog.info('Starting.');
  ctx.pipe(
    env.deps.integrity.ask<ManifestSnapshot>((reply) => ({ kind: 'get-manifest', reply }), env.askMs),
    (snapshot) => ({ kind: 'check-with', frame, snapshot, started }),
    (error) => ({ kind: 'check-failed', frame, error }),
  );
  return s;
}

/** Same digest: in sync. Otherwise the worker's manifest (asked for if missing) becomes a plan. */
function checkWith(env: Env, ctx: Ctx, s: State, msg: Extract<WorkerSyncMsg, { kind: 'check-with' }>): State {
  const { link, sync: port } = env.deps;
  const { frame, snapshot, started } = msg;
  const { revision, manifest } = snapshot;
  const done = (outcome: string): State => {
    env.checkLog.info(`Finished in ${secs(ctx.now() - started)}s. Received metadata of ${frame.body.files} files. ${outcome}`);
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
  const plan = planSync(classify(manifest, fromEntries(frame.body.entries)), port.maxFileBytes, port.maxSyncBytes);
  for (const p of plan.tooLarge) env.syncLog.warning(`File too large to be synced: ${p} (limit ${port.maxFileBytes} bytes).`);
  if (planIsEmpty(plan)) {
    link.reply(frame, 'integrity-result', { status: 'in-sync', revision, files: manifest.size });
    return done('Sync not required.');
  }
  const syncId = randomBytes(8).toString('hex');
  link.reply(frame, 'integrity-plan', { syncId, revision, files: manifest.size, ...plan });
  const next = done('Sync required.');
  env.syncLog.info('Starting.');
  env.syncLog.info(`Files to create in worker: ${plan.create.length} | Files to update in worker: ${plan.update.length} | Files to delete in worker: ${plan.delete.length}`);
  if (plan.deferred > 0) env.syncLog.warning(`Maximum sync size reached: ${plan.deferred} files will follow in the next sync.`);
  waitForWorker(env, ctx, syncId, 'awaiting-start');
  return { ...next, sync: { syncId, plan, started: ctx.now(), phase: 'awaiting-start' } };
}

// The worker may never answer (killed mid-way): the slot frees itself. Sending has no
// such limit: it runs at the pace of the socket, however long a big sync takes.
function waitForWorker(env: Env, ctx: Ctx, syncId: string, phase: SyncPhase): void {
  ctx.after(env.deps.intervals.communication.timeout_receiving_file * 1000, { kind: 'sync-timeout', syncId, phase });
}

/** The worker accepted the plan: stream its files, off the handler. */
function onSyncStart(env: Env, ctx: Ctx, s: State, body: ClusterBody<'sync-start'>): State {
  const { link } = env.deps;
  const sync = s.sync;
  if (!sync || sync.syncId !== body.syncId || sync.phase !== 'awaiting-start') return s;
  if (!body.accept) {
    env.syncLog.error(`Worker refused the sync: ${body.reason ?? 'no reason given'}`);
    return { ...s, sync: null, lastOutcome: `refused by worker: ${body.reason ?? ''}` };
  }
  const files = [...sync.plan.create, ...sync.plan.update];
  const cancelled = (): boolean => link.closed;
  ctx.pipe(env.deps.sync.send(link, sync.syncId, files, env.syncLog, cancelled),
    (bytes) => ({ kind: 'sent', syncId: sync.syncId, bytes }),
    (error) => ({ kind: 'send-failed', syncId: sync.syncId, error }));
  return { ...s, sync: { ...sync, phase: 'sending' } };
}

function onSent(env: Env, ctx: Ctx, s: State, msg: Extract<WorkerSyncMsg, { kind: 'sent' }>): State {
  if (s.sync?.syncId !== msg.syncId) return s;
  if (!env.deps.link.closed) env.deps.link.send('sync-end', { syncId: msg.syncId, ok: true });
  env.syncLog.debug(`Sent ${msg.bytes} bytes; waiting for the worker to apply them.`);
  waitForWorker(env, ctx, msg.syncId, 'awaiting-applied');
  return { ...s, sync: { ...s.sync, phase: 'awaiting-applied' } };
}

function onSendFailed(env: Env, s: State, msg: Extract<WorkerSyncMsg, { kind: 'send-failed' }>): State {
  if (s.sync?.syncId !== msg.syncId) return s;
  env.syncLog.error(`Error sending files: ${msg.error.message}`);
  if (!env.deps.link.closed) env.deps.link.send('sync-end', { syncId: msg.syncId, ok: false, error: msg.error.message });
  return { ...s, sync: null, lastOutcome: `send failed: ${msg.error.message}` };
}

function onApplied(env: Env, ctx: Ctx, s: State, body: ClusterBody<'sync-applied'>): State {
  const sync = s.sync;
  if (!sync || sync.syncId !== body.syncId) return s;
  const end = ctx.now();
  if (!body.ok) {
    env.syncLog.error(`Worker could not apply the sync: ${body.error ?? 'unknown error'}`);
    return { ...s, sync: null, lastOutcome: `failed on worker: ${body.error ?? ''}` };
  }
  env.syncLog.info(`Finished in ${secs(end - sync.started)}s.`);
  return {
    ...s, sync: null, syncs: s.syncs + 1, lastSync: { start: iso(sync.started), end: iso(end) },
    lastFiles: { created: body.created, updated: body.updated, deleted: body.deleted }, lastOutcome: 'ok',
  };
}
