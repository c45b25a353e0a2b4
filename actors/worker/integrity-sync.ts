/**
 * IntegritySync (worker), a child of the MasterSession: runs one integrity check at
 * a time against the master and applies the sync it plans. Checks every
 * sync_integrity, on connect and on the master's notice; validates the plan and
 * prepares the writes (the runtime's applier), holds the scanner while the files
 * arrive, and reports the outcome to the master. A lost link drops the sync and
 * leaves the tree as it was.
 */
import type { ActorContext, ActorRef, ActorSpec } from '../../runtime/actor-kit.js';
import type { Logger } from '../../runtime/logger.js';
import type { ClusterBody, ClusterFrame, NodeInfo } from '../../protocols/cluster-messages.js';
import { toEntries } from '../../protocols/integrity.js';
import type { IntegrityScannerMsg, ManifestSnapshot } from '../integrity-scanner.js';
import type { PeerLink } from '../ports.js';

/** What a worker needs to apply a sync; the runtime's SyncApplier provides it. */
export interface ActiveApply {
  chunk(body: ClusterBody<'sync-data'>): void;
  readonly queuedBytes: number;
  readonly receivedBytes: number;
  finish(): Promise<ApplyOutcome>;
  abort(reason: string): Promise<void>;
}

export interface ApplyOutcome {
  readonly created: number;
  readonly updated: number;
  readonly deleted: number;
  readonly written: readonly { readonly path: string; readonly md5: string; readonly size: number; readonly mtimeMs: number }[];
  readonly removed: readonly string[];
  readonly rulesetChanged: readonly string[];
}

export type PlanFrame = ClusterBody<'integrity-plan'>;

/**
 * The applier receiving files now, if any. The transport asks whether the link may
 * read more synchronously, so the session reads it here rather than by message;
 * a new one is made for every incarnation of the session.
 */
export interface ApplyPressure {
  applier: ActiveApply | null;
}

/** What the session reports of syncs: its status answer and the inspector show it. */
export interface SyncFigures {
  readonly phase: WorkerSync['phase'] | null;
  readonly syncs: number;
  readonly lastSync: string | null;
}

interface WorkerSync {
  readonly phase: 'checking' | 'preparing' | 'receiving' | 'finishing';
  readonly started: number;
  readonly plan: PlanFrame | null;
  readonly applier: ActiveApply | null;
  readonly lastProgress: number;
}

export type IntegritySyncMsg =
  | { readonly kind: 'link-up'; readonly link: PeerLink; readonly master: NodeInfo }
  | { readonly kind: 'link-down' }
  | { readonly kind: 'check'; readonly reason: string }
  /** sync-data and sync-end frames of the current link. */
  | { readonly kind: 'frame'; readonly frame: Extract<ClusterFrame, { type: 'sync-data' | 'sync-end' }> }
  | { readonly kind: 'check-manifest'; readonly snapshot: ManifestSnapshot }
  | { readonly kind: 'check-reply'; readonly frame: ClusterFrame; readonly snapshot: ManifestSnapshot }
  | { readonly kind: 'check-failed'; readonly error: Error }
  | { readonly kind: 'apply-ready'; readonly syncId: string; readonly applier: ActiveApply }
  | { readonly kind: 'apply-refused'; readonly syncId: string; readonly error: Error }
  | { readonly kind: 'applied'; readonly syncId: string; readonly outcome: ApplyOutcome }
  | { readonly kind: 'apply-failed'; readonly syncId: string; readonly error: Error };

interface State {
  readonly link: PeerLink | null;
  readonly master: string | null;
  readonly sync: WorkerSync | null;
  /** A check asked for while a sync runs: it runs right after. */
  readonly checkQueued: boolean;
  readonly syncs: number;
  readonly lastSync: string | null;
}

export interface IntegritySyncDeps {
  readonly syncIntegritySeconds: number;
  readonly askMs: number;
  /** Tagged with the worker's name. */
  readonly log: Logger;
  readonly scanner: ActorRef<IntegrityScannerMsg>;
  readonly pressure: ApplyPressure;
  /** Validates a plan (every path) and prepares to write it; rejects if the plan is refused. */
  readonly beginApply: (plan: PlanFrame) => Promise<ActiveApply>;
  /** Rules, decoders, lists or SCA policies changed: event processing reloads. */
  readonly onRulesetChanged: (paths: readonly string[]) => void;
  /** Told whenever the figures change. */
  readonly report: (figures: SyncFigures) => void;
}

const PROGRESS_EVERY_MS = 2000;
const secs = (ms: number): string => (ms / 1000).toFixed(3);
const mb = (n: number): string => (n / 1048576).toFixed(1);

type Ctx = ActorContext<IntegritySyncMsg>;

interface Env {
  readonly deps: IntegritySyncDeps;
  readonly checkLog: Logger;
  readonly syncLog: Logger;
}

export function integritySyncSpec(deps: IntegritySyncDeps): ActorSpec<State, IntegritySyncMsg> {
  const env: Env = { deps, checkLog: deps.log.task('Integrity check'), syncLog: deps.log.task('Integrity sync') };
  return {
    name: 'integrity-sync',
    init: (ctx) => {
      deps.pressure.applier = null;
      ctx.every(deps.syncIntegritySeconds * 1000, { kind: 'check', reason: 'periodic' });
      return { link: null, master: null, sync: null, checkQueued: false, syncs: 0, lastSync: null };
    },
    receive: (s, msg, ctx) => {
      const next = receive(env, ctx, s, msg);
      if (next.sync?.phase !== s.sync?.phase || next.syncs !== s.syncs) {
        deps.report({ phase: next.sync?.phase ?? null, syncs: next.syncs, lastSync: next.lastSync });
      }
      return next;
    },
    summary: (s) => ({ sync: s.sync?.phase ?? null, syncs: s.syncs, lastSync: s.lastSync, checkQueued: s.checkQueued }),
  };
}

function receive(env: Env, ctx: Ctx, s: State, msg: IntegritySyncMsg): State {
  switch (msg.kind) {
    case 'link-up':
      // After a (re)connection the tree is verified against the master at once.
      ctx.self.tell({ kind: 'check', reason: 'connected' });
      return { ...dropSync(env, s, 'superseded by a new link'), link: msg.link, master: msg.master.name };
    case 'link-down':
      return { ...dropSync(env, s, 'link lost'), link: null };
    case 'check':
      return startCheck(env, ctx, s);
    case 'frame':
      return msg.frame.type === 'sync-data' ? onChunk(env, ctx, s, msg.frame.body) : onSyncEnd(env, ctx, s, msg.frame.body);
    case 'check-manifest':
      return s.sync?.phase === 'checking' ? sendCheck(ctx, s, msg.snapshot, false) : s;
    case 'check-reply':
      return onCheckReply(env, ctx, s, msg.frame, msg.snapshot);
    case 'check-failed':
      if (s.sync?.phase !== 'checking') return s;
      env.checkLog.error(`Error synchronizing integrity: ${msg.error.message}`);
      return { ...s, sync: null };
    case 'apply-ready':
      return onApplyReady(env, s, msg.syncId, msg.applier);
    case 'apply-refused':
      return onApplyFailed(env, s, msg.syncId, msg.error, true);
    case 'applied':
      return onApplied(env, ctx, s, msg.syncId, msg.outcome);
    case 'apply-failed':
      return onApplyFailed(env, s, msg.syncId, msg.error, false);
  }
}

function dropSync(env: Env, s: State, reason: string): State {
  if (s.sync?.applier) {
    void s.sync.applier.abort(reason);
    env.deps.scanner.tell({ kind: 'release' });
  }
  env.deps.pressure.applier = null;
  return { ...s, sync: null };
}

function startCheck(env: Env, ctx: Ctx, s: State): State {
  if (!s.link) return s;
  if (s.sync) return { ...s, checkQueued: true };
  env.checkLog.info('Starting.');
  ctx.pipe(env.deps.scanner.ask<ManifestSnapshot>((reply) => ({ kind: 'get-manifest', reply }), env.deps.askMs),
    (snapshot) => ({ kind: 'check-manifest', snapshot }), (error) => ({ kind: 'check-failed', error }));
  return { ...s, checkQueued: false, sync: { phase: 'checking', started: ctx.now(), plan: null, applier: null, lastProgress: 0 } };
}

/** The digest first; the whole manifest only when the master asks for it. */
function sendCheck(ctx: Ctx, s: State, snapshot: ManifestSnapshot, withEntries: boolean): State {
  if (!s.link) return { ...s, sync: null };
  const body = { digest: snapshot.digest, files: snapshot.manifest.size, ...(withEntries ? { entries: toEntries(snapshot.manifest) } : {}) };
  ctx.pipe(s.link.request('integrity-check', body), (frame) => ({ kind: 'check-reply', frame, snapshot }), (error) => ({ kind: 'check-failed', error }));
  return s;
}

function finishCheck(env: Env, ctx: Ctx, s: State, outcome: string): State {
  const started = s.sync?.started ?? ctx.now();
  env.checkLog.info(`Finished in ${secs(ctx.now() - started)}s. ${outcome}`);
  if (s.checkQueued) ctx.self.tell({ kind: 'check', reason: 'queued' });
  return { ...s, sync: null };
}

function onCheckReply(env: Env, ctx: Ctx, s: State, frame: ClusterFrame, snapshot: ManifestSnapshot): State {
  if (s.sync?.phase !== 'checking') return s;
  if (frame.type === 'integrity-result') {
    switch (frame.body.status) {
      case 'in-sync': return finishCheck(env, ctx, s, 'Sync not required.');
      case 'need-manifest': return sendCheck(ctx, s, snapshot, true);
      default: return finishCheck(env, ctx, s, `The master is ${frame.body.status === 'busy' ? 'busy with this worker' : 'not ready'}; trying again later.`);
    }
  }
  if (frame.type !== 'integrity-plan') return finishCheck(env, ctx, s, `Unexpected '${frame.type}' from the master.`);
  const plan = frame.body;
  env.checkLog.info(`Finished in ${secs(ctx.now() - s.sync.started)}s. Sync required.`);
  env.syncLog.info('Starting.');
  env.syncLog.info(`Files to create: ${plan.create.length} | Files to update: ${plan.update.length} | Files to delete: ${plan.delete.length}`);
  ctx.pipe(env.deps.beginApply(plan), (applier) => ({ kind: 'apply-ready', syncId: plan.syncId, applier }), (error) => ({ kind: 'apply-refused', syncId: plan.syncId, error }));
  return { ...s, sync: { phase: 'preparing', started: ctx.now(), plan, applier: null, lastProgress: ctx.now() } };
}

function onApplyReady(env: Env, s: State, syncId: string, applier: ActiveApply): State {
  const sync = s.sync;
  if (sync?.plan?.syncId !== syncId || !s.link) {
    void applier.abort('superseded');
    return s;
  }
  env.deps.pressure.applier = applier;
  env.deps.scanner.tell({ kind: 'hold' });
  s.link.send('sync-start', { syncId, accept: true });
  return { ...s, sync: { ...sync, phase: 'receiving', applier } };
}

function onChunk(env: Env, ctx: Ctx, s: State, body: ClusterBody<'sync-data'>): State {
  const sync = s.sync;
  if (!sync?.applier || sync.plan?.syncId !== body.syncId) return s;
  sync.applier.chunk(body);
  const now = ctx.now();
  if (now - sync.lastProgress < PROGRESS_EVERY_MS) return s;
  const total = sync.plan.bytes;
  env.syncLog.info(`Received ${mb(sync.applier.receivedBytes)} of ${mb(total)} MB (${total ? Math.floor((100 * sync.applier.receivedBytes) / total) : 100}%).`);
  return { ...s, sync: { ...sync, lastProgress: now } };
}

function onSyncEnd(env: Env, ctx: Ctx, s: State, body: ClusterBody<'sync-end'>): State {
  const sync = s.sync;
  if (!sync?.applier || sync.plan?.syncId !== body.syncId) return s;
  if (!body.ok) {
    env.syncLog.error(`The master could not send the files: ${body.error ?? 'unknown error'}. The tree is unchanged.`);
    return dropSync(env, s, 'master failed');
  }
  const { syncId } = body;
  ctx.pipe(sync.applier.finish(), (outcome) => ({ kind: 'applied', syncId, outcome }), (error) => ({ kind: 'apply-failed', syncId, error }));
  return { ...s, sync: { ...sync, phase: 'finishing' } };
}

function onApplied(env: Env, ctx: Ctx, s: State, syncId: string, outcome: ApplyOutcome): State {
  const sync = s.sync;
  if (sync?.plan?.syncId !== syncId) return s;
  env.deps.pressure.applier = null;
  const ms = ctx.now() - sync.started;
  env.deps.scanner.tell({ kind: 'applied', written: outcome.written, removed: outcome.removed });
  if (outcome.rulesetChanged.length > 0) {
    env.syncLog.info(`Ruleset changed (${outcome.rulesetChanged.length} files in rules, decoders, lists or SCA policies): reload requested.`);
    env.deps.onRulesetChanged(outcome.rulesetChanged);
  }
  env.syncLog.info(`Finished in ${secs(ms)}s.`);
  s.link?.send('sync-applied', { syncId, ok: true, created: outcome.created, updated: outcome.updated, deleted: outcome.deleted, ms });
  // Files left for later, or a change announced meanwhile: check again now, not at the next interval.
  if (sync.plan.deferred > 0 || s.checkQueued) ctx.self.tell({ kind: 'check', reason: 'follow-up' });
  return { ...s, sync: null, checkQueued: false, syncs: s.syncs + 1, lastSync: new Date(ctx.now()).toISOString() };
}

function onApplyFailed(env: Env, s: State, syncId: string, error: Error, refused: boolean): State {
  if (s.sync?.plan?.syncId !== syncId) return s;
  env.deps.pressure.applier = null;
  if (!refused) env.deps.scanner.tell({ kind: 'release' });
  if (refused) {
    env.syncLog.error(`Refused the sync from master ${s.master ?? '?'}: ${error.message}. Nothing was changed.`);
    s.link?.send('sync-start', { syncId, accept: false, reason: error.message.slice(0, 4000) });
  } else {
    env.syncLog.error(`Error synchronizing files: ${error.message}. The tree keeps its last good state.`);
    s.link?.send('sync-applied', { syncId, ok: false, created: 0, updated: 0, deleted: 0, ms: 0, error: error.message.slice(0, 4000) });
  }
  return { ...s, sync: null };
}
