/**
 * MasterSession (worker): its link to the master. Connects and reconnects every
 * connection_retry, sends keepalives every keep_alive, gives up the link after
 * max_failed_keepalive_attempts failures, and answers what the master asks.
 */
import type { ActorContext, ActorRef, ActorSpec, Cancel, Reply } from '../../runtime/actor-kit.js';
import type { Logger } from '../../runtime/logger.js';
import type { Intervals } from '../../runtime/config/types.js';
import type { ClusterBody, ClusterFrame, ClusterHealth, NodeInfo } from '../../protocols/cluster-messages.js';
import { toEntries } from '../../protocols/integrity.js';
import type { IntegrityScannerMsg, ManifestSnapshot } from '../integrity-scanner.js';
import type { EnrolmentOutcome, ForwardedEnrolment, RegistryCommand, RegistryOutcome } from '../../protocols/registry.js';
import type { RegistryFrame, ReplicaMsg } from './registry-replica.js';
import { MAILBOX_HIGH_WATER, type PeerLink } from '../ports.js';

export interface MasterConnection {
  readonly link: PeerLink;
  readonly master: NodeInfo;
}

export interface MasterLinkStatus {
  readonly connected: boolean;
  readonly master: NodeInfo | null;
  readonly lastKeepalive: number | null;
  readonly lastError: string | null;
  readonly lastSync: string | null;
}

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

type PlanFrame = ClusterBody<'integrity-plan'>;

interface WorkerSync {
  readonly phase: 'checking' | 'preparing' | 'receiving' | 'finishing';
  readonly started: number;
  readonly plan: PlanFrame | null;
  readonly applier: ActiveApply | null;
  readonly lastProgress: number;
}

export type MasterSessionMsg =
  | { readonly kind: 'connect' }
  | { readonly kind: 'integrity-tick' }
  | { readonly kind: 'check'; readonly reason: string }
  | { readonly kind: 'check-manifest'; readonly snapshot: ManifestSnapshot }
  | { readonly kind: 'check-reply'; readonly frame: ClusterFrame; readonly snapshot: ManifestSnapshot }
  | { readonly kind: 'check-failed'; readonly error: Error }
  | { readonly kind: 'apply-ready'; readonly syncId: string; readonly applier: ActiveApply }
  | { readonly kind: 'apply-refused'; readonly syncId: string; readonly error: Error }
  | { readonly kind: 'applied'; readonly syncId: string; readonly outcome: ApplyOutcome }
  | { readonly kind: 'apply-failed'; readonly syncId: string; readonly error: Error }
  | { readonly kind: 'health'; readonly reply: Reply<ClusterHealth> }
  | { readonly kind: 'connected'; readonly attempt: number; readonly conn: MasterConnection }
  | { readonly kind: 'connect-failed'; readonly attempt: number; readonly error: Error }
  | { readonly kind: 'link-lost'; readonly link: PeerLink; readonly reason: string }
  | { readonly kind: 'keepalive-tick' }
  | { readonly kind: 'keepalive-ok' }
  | { readonly kind: 'keepalive-failed'; readonly error: Error }
  | { readonly kind: 'inbound'; readonly frame: ClusterFrame }
  | { readonly kind: 'list-nodes'; readonly reply: Reply<NodeInfo[]> }
  /** An agent enrolling here: the master decides. */
  | { readonly kind: 'enrol'; readonly request: ForwardedEnrolment; readonly reply: Reply<EnrolmentOutcome> }
  /** manage_agents / agent_groups / cluster_control -a run on this worker. */
  | { readonly kind: 'registry'; readonly command: RegistryCommand; readonly reply: Reply<RegistryOutcome> }
  | { readonly kind: 'status'; readonly reply: Reply<MasterLinkStatus> };

type Phase = 'connecting' | 'connected' | 'waiting';

interface State {
  readonly phase: Phase;
  readonly attempt: number;
  readonly conn: MasterConnection | null;
  readonly keepaliveTimer: Cancel | null;
  readonly failedKeepalives: number;
  readonly lastKeepalive: number | null;
  readonly lastError: string | null;
  readonly connects: number;
  /** Consecutive failed attempts: the retry delay grows with them up to connection_retry. */
  readonly failures: number;
  readonly sync: WorkerSync | null;
  /** A check asked for while a sync runs: it runs right after. */
  readonly checkQueued: boolean;
  readonly syncs: number;
  readonly lastSync: string | null;
}

export interface MasterSessionDeps {
  readonly nodeName: string;
  readonly intervals: Intervals;
  readonly log: Logger;
  /** Opens a link and completes the handshake; rejects with the reason otherwise. */
  readonly connect: () => Promise<MasterConnection>;
  /** The link the transport holds open now, if any: the source of truth on restart. */
  readonly current: () => MasterConnection | null;
  readonly scanner: ActorRef<IntegrityScannerMsg>;
  /** The registry replica (GroupsBroadcaster): it gets the registry frames. */
  readonly replica: ActorRef<Extract<ReplicaMsg, { kind: 'frame' }>>;
  /** Actors that talk to the master over the link themselves (the replica, AgentInfoIngest): told when it comes and goes. */
  readonly linkFollowers: readonly ActorRef<LinkEvent>[];
  /** Validates a plan (every path) and prepares to write it; rejects if the plan is refused. */
  readonly beginApply: (plan: PlanFrame) => Promise<ActiveApply>;
  /** Rules, decoders, lists or SCA policies changed: event processing reloads. */
  readonly onRulesetChanged: (paths: readonly string[]) => void;
}

/** Compressed bytes a sync may hold unwritten before the link stops reading. */
const APPLY_HIGH_WATER = 32 * 1024 * 1024;
const PROGRESS_EVERY_MS = 2000;

const FIRST_RETRY_SECONDS = 0.25;
const secs = (ms: number): string => (ms / 1000).toFixed(3);

/** First retries come fast (a master that is starting up), then every connection_retry. */
export function retryDelaySeconds(connectionRetry: number, failures: number): number {
  return Math.min(connectionRetry, FIRST_RETRY_SECONDS * 2 ** Math.max(0, failures - 1));
}

export type LinkEvent = { readonly kind: 'link-up'; readonly link: PeerLink } | { readonly kind: 'link-down' };

type ForwardedType = 'health-request' | 'nodes-request' | 'enrol-request' | 'registry-request';

/** Wazuh's error text for a request that needs the master while it is unreachable. */
export const NOT_CONNECTED = 'Error 3023 - Worker node is not connected to master';

export function masterSessionSpec(deps: MasterSessionDeps): ActorSpec<State, MasterSessionMsg> {
  const { intervals } = deps;
  const log = deps.log.tagged(`Worker ${deps.nodeName}`);
  const kaLog = log.task('Keep Alive');
  const checkLog = log.task('Integrity check');
  const syncLog = log.task('Integrity sync');
  const askMs = intervals.communication.timeout_cluster_request * 1000;

  // The applier of the sync in progress, for the link's backpressure check.
  let applying: ActiveApply | null = null;
  const busy = (self: ActorRef<MasterSessionMsg>) => (): boolean =>
    self.depth > MAILBOX_HIGH_WATER || (applying?.queuedBytes ?? 0) > APPLY_HIGH_WATER;

  const adopt = (ctx: ActorContext<MasterSessionMsg>, s: State, conn: MasterConnection): State => {
    const { link } = conn;
    link.attach((frame) => ctx.self.tell({ kind: 'inbound', frame }), busy(ctx.self));
    link.onClose((reason) => ctx.self.tell({ kind: 'link-lost', link, reason }));
    const keepaliveTimer = ctx.every(intervals.worker.keep_alive * 1000, { kind: 'keepalive-tick' });
    // After a (re)connection the tree is verified against the master at once, and the registry catches up.
    ctx.self.tell({ kind: 'check', reason: 'connected' });
    for (const f of deps.linkFollowers) f.tell({ kind: 'link-up', link });
    return { ...s, phase: 'connected', conn, keepaliveTimer, failedKeepalives: 0, lastError: null, failures: 0, sync: null };
  };

  const dropSync = (s: State, reason: string): State => {
    if (s.sync?.applier) {
      void s.sync.applier.abort(reason);
      deps.scanner.tell({ kind: 'release' });
    }
    applying = null;
    return { ...s, sync: null };
  };

  const waitAndRetry = (ctx: ActorContext<MasterSessionMsg>, prev: State, error: string, say: (delay: string) => void): State => {
    const s = dropSync(prev, error);
    s.keepaliveTimer?.cancel();
    if (s.conn) for (const f of deps.linkFollowers) f.tell({ kind: 'link-down' });
    const failures = s.failures + 1;
    const delay = retryDelaySeconds(intervals.worker.connection_retry, failures);
    say(`${Number(delay.toFixed(3))}`);
    ctx.after(delay * 1000, { kind: 'connect' });
    return { ...s, phase: 'waiting', conn: null, keepaliveTimer: null, lastError: error, failures };
  };

  /** Asks the master on behalf of a local request; fails at once while there is no link. */
  const forward = <T, K extends ForwardedType>(s: State, reply: Reply<T>, type: K, body: ClusterBody<K>, pick: (f: ClusterFrame) => T | undefined): State => {
    const link = s.conn?.link;
    if (s.phase !== 'connected' || !link) {
      reply.fail(NOT_CONNECTED);
      return s;
    }
    link.request(type, body).then((f) => {
      const value = pick(f);
      if (value === undefined) reply.fail(`unexpected '${f.type}' reply`);
      else reply.ok(value);
    }, (err: Error) => reply.fail(err.message));
    return s;
  };

  const onFrame = (ctx: ActorContext<MasterSessionMsg>, s: State, frame: ClusterFrame): State => {
    const link = s.conn?.link;
    if (!link) return s;
    switch (frame.type) {
      case 'ping':
        link.reply(frame, 'pong', {});
        return s;
      case 'bye':
        log.info(`The master is closing the connection: ${frame.body.reason}`);
        return s;
      case 'integrity-notice':
        checkLog.debug(`Master manifest changed (revision ${frame.body.revision}).`);
        ctx.self.tell({ kind: 'check', reason: 'notice' });
        return s;
      case 'sync-data':
        return onChunk(ctx, s, frame.body);
      case 'registry-changes':
      case 'registry-beacon':
      case 'registry-snapshot':
        deps.replica.tell({ kind: 'frame', frame: frame as RegistryFrame });
        return s;
      case 'sync-end':
        return onSyncEnd(ctx, s, frame.body);
      default:
        link.reply(frame, 'error', { code: 'unexpected', message: `unexpected '${frame.type}' from the master` });
        return s;
    }
  };

  const onChunk = (ctx: ActorContext<MasterSessionMsg>, s: State, body: ClusterBody<'sync-data'>): State => {
    const sync = s.sync;
    if (!sync?.applier || sync.plan?.syncId !== body.syncId) return s;
    sync.applier.chunk(body);
    const now = ctx.now();
    if (now - sync.lastProgress < PROGRESS_EVERY_MS) return s;
    const mb = (n: number): string => (n / 1048576).toFixed(1);
    const total = sync.plan.bytes;
    syncLog.info(`Received ${mb(sync.applier.receivedBytes)} of ${mb(total)} MB (${total ? Math.floor((100 * sync.applier.receivedBytes) / total) : 100}%).`);
    return { ...s, sync: { ...sync, lastProgress: now } };
  };

  const onSyncEnd = (ctx: ActorContext<MasterSessionMsg>, s: State, body: ClusterBody<'sync-end'>): State => {
    const sync = s.sync;
    if (!sync?.applier || sync.plan?.syncId !== body.syncId) return s;
    if (!body.ok) {
      syncLog.error(`The master could not send the files: ${body.error ?? 'unknown error'}. The tree is unchanged.`);
      return dropSync(s, 'master failed');
    }
    const { syncId } = body;
    ctx.pipe(sync.applier.finish(), (outcome) => ({ kind: 'applied', syncId, outcome }), (error) => ({ kind: 'apply-failed', syncId, error }));
    return { ...s, sync: { ...sync, phase: 'finishing' } };
  };

  const startCheck = (ctx: ActorContext<MasterSessionMsg>, s: State): State => {
    if (s.phase !== 'connected') return s;
    if (s.sync) return { ...s, checkQueued: true };
    checkLog.info('Starting.');
    ctx.pipe(deps.scanner.ask<ManifestSnapshot>((reply) => ({ kind: 'get-manifest', reply }), askMs),
      (snapshot) => ({ kind: 'check-manifest', snapshot }), (error) => ({ kind: 'check-failed', error }));
    return { ...s, checkQueued: false, sync: { phase: 'checking', started: ctx.now(), plan: null, applier: null, lastProgress: 0 } };
  };

  const sendCheck = (ctx: ActorContext<MasterSessionMsg>, s: State, snapshot: ManifestSnapshot, withEntries: boolean): State => {
    const link = s.conn?.link;
    if (!link) return { ...s, sync: null };
    const body = { digest: snapshot.digest, files: snapshot.manifest.size, ...(withEntries ? { entries: toEntries(snapshot.manifest) } : {}) };
    ctx.pipe(link.request('integrity-check', body), (frame) => ({ kind: 'check-reply', frame, snapshot }), (error) => ({ kind: 'check-failed', error }));
    return s;
  };

  const finishCheck = (ctx: ActorContext<MasterSessionMsg>, s: State, outcome: string): State => {
    const started = s.sync?.started ?? ctx.now();
    checkLog.info(`Finished in ${secs(ctx.now() - started)}s. ${outcome}`);
    if (s.checkQueued) ctx.self.tell({ kind: 'check', reason: 'queued' });
    return { ...s, sync: null };
  };

  const onCheckReply = (ctx: ActorContext<MasterSessionMsg>, s: State, frame: ClusterFrame, snapshot: ManifestSnapshot): State => {
    if (s.sync?.phase !== 'checking') return s;
    if (frame.type === 'integrity-result') {
      switch (frame.body.status) {
        case 'in-sync': return finishCheck(ctx, s, 'Sync not required.');
        case 'need-manifest': return sendCheck(ctx, s, snapshot, true);
        default: return finishCheck(ctx, s, `The master is ${frame.body.status === 'busy' ? 'busy with this worker' : 'not ready'}; trying again later.`);
      }
    }
    if (frame.type !== 'integrity-plan') return finishCheck(ctx, s, `Unexpected '${frame.type}' from the master.`);
    const plan = frame.body;
    checkLog.info(`Finished in ${secs(ctx.now() - s.sync.started)}s. Sync required.`);
    syncLog.info('Starting.');
    syncLog.info(`Files to create: ${plan.create.length} | Files to update: ${plan.update.length} | Files to delete: ${plan.delete.length}`);
    ctx.pipe(deps.beginApply(plan), (applier) => ({ kind: 'apply-ready', syncId: plan.syncId, applier }), (error) => ({ kind: 'apply-refused', syncId: plan.syncId, error }));
    return { ...s, sync: { phase: 'preparing', started: ctx.now(), plan, applier: null, lastProgress: ctx.now() } };
  };

  const onApplied = (ctx: ActorContext<MasterSessionMsg>, s: State, syncId: string, outcome: ApplyOutcome): State => {
    const sync = s.sync;
    if (sync?.plan?.syncId !== syncId) return s;
    applying = null;
    const ms = ctx.now() - sync.started;
    deps.scanner.tell({ kind: 'applied', written: outcome.written, removed: outcome.removed });
    if (outcome.rulesetChanged.length > 0) {
      syncLog.info(`Ruleset changed (${outcome.rulesetChanged.length} files in rules, decoders, lists or SCA policies): reload requested.`);
      deps.onRulesetChanged(outcome.rulesetChanged);
    }
    syncLog.info(`Finished in ${secs(ms)}s.`);
    s.conn?.link.send('sync-applied', { syncId, ok: true, created: outcome.created, updated: outcome.updated, deleted: outcome.deleted, ms });
    // Files left for later, or a change announced meanwhile: check again now, not at the next interval.
    if (sync.plan.deferred > 0 || s.checkQueued) ctx.self.tell({ kind: 'check', reason: 'follow-up' });
    return { ...s, sync: null, checkQueued: false, syncs: s.syncs + 1, lastSync: new Date(ctx.now()).toISOString() };
  };

  const onApplyFailed = (s: State, syncId: string, error: Error, refused: boolean): State => {
    if (s.sync?.plan?.syncId !== syncId) return s;
    applying = null;
    if (!refused) deps.scanner.tell({ kind: 'release' });
    const link = s.conn?.link;
    if (refused) {
      syncLog.error(`Refused the sync from master ${s.conn?.master.name ?? '?'}: ${error.message}. Nothing was changed.`);
      link?.send('sync-start', { syncId, accept: false, reason: error.message.slice(0, 4000) });
    } else {
      syncLog.error(`Error synchronizing files: ${error.message}. The tree keeps its last good state.`);
      link?.send('sync-applied', { syncId, ok: false, created: 0, updated: 0, deleted: 0, ms: 0, error: error.message.slice(0, 4000) });
    }
    return { ...s, sync: null };
  };

  return {
    name: 'master-session',
    init: (ctx) => {
      const base: State = {
        phase: 'connecting', attempt: 0, conn: null, keepaliveTimer: null, failedKeepalives: 0,
        lastKeepalive: null, lastError: null, connects: 0, failures: 0, sync: null, checkQueued: false, syncs: 0, lastSync: null,
      };
      ctx.every(intervals.worker.sync_integrity * 1000, { kind: 'integrity-tick' });
      const conn = deps.current();
      if (conn && !conn.link.closed) return adopt(ctx, base, conn);
      ctx.self.tell({ kind: 'connect' });
      return { ...base, phase: 'waiting' };
    },
    receive: (s, msg, ctx) => {
      switch (msg.kind) {
        case 'connect': {
          if (s.phase !== 'waiting') return s;
          const attempt = s.attempt + 1;
          ctx.pipe(deps.connect(), (conn) => ({ kind: 'connected', attempt, conn }), (error) => ({ kind: 'connect-failed', attempt, error }));
          return { ...s, phase: 'connecting', attempt };
        }
        case 'connected':
          if (msg.attempt !== s.attempt || s.phase !== 'connecting') {
            msg.conn.link.close('superseded by another connection attempt');
            return s;
          }
          log.info('Successfully connected to master.');
          return { ...adopt(ctx, s, msg.conn), connects: s.connects + 1 };
        case 'connect-failed': {
          if (msg.attempt !== s.attempt) return s;
          return waitAndRetry(ctx, s, msg.error.message,
            (delay) => log.error(`Could not connect to master: ${msg.error.message}. Trying again in ${delay} seconds.`));
        }
        case 'link-lost':
          if (s.conn?.link !== msg.link) return s;
          return waitAndRetry(ctx, s, msg.reason,
            (delay) => log.error(`Connection with the master lost: ${msg.reason}. Trying again in ${delay} seconds.`));
        case 'keepalive-tick': {
          const link = s.conn?.link;
          if (s.phase !== 'connected' || !link) return s;
          ctx.pipe(link.request('keepalive', { sentAt: ctx.now() }), () => ({ kind: 'keepalive-ok' }), (error) => ({ kind: 'keepalive-failed', error }));
          return s;
        }
        case 'keepalive-ok':
          kaLog.info('Successful response from master: keepalive');
          return { ...s, failedKeepalives: 0, lastKeepalive: ctx.now() };
        case 'keepalive-failed': {
          if (s.phase !== 'connected') return s;
          const failed = s.failedKeepalives + 1;
          kaLog.error(`Error sending keep alive: ${msg.error.message}`);
          if (failed >= intervals.worker.max_failed_keepalive_attempts) {
            kaLog.error('Maximum number of failed keep alives reached. Disconnecting.');
            s.conn?.link.close('maximum number of failed keep alives reached');
          }
          return { ...s, failedKeepalives: failed };
        }
        case 'inbound':
          return onFrame(ctx, s, msg.frame);
        case 'integrity-tick':
        case 'check':
          return startCheck(ctx, s);
        case 'check-manifest':
          return s.sync?.phase === 'checking' ? sendCheck(ctx, s, msg.snapshot, false) : s;
        case 'check-reply':
          return onCheckReply(ctx, s, msg.frame, msg.snapshot);
        case 'check-failed':
          if (s.sync?.phase !== 'checking') return s;
          checkLog.error(`Error synchronizing integrity: ${msg.error.message}`);
          return { ...s, sync: null };
        case 'apply-ready': {
          const sync = s.sync;
          if (sync?.plan?.syncId !== msg.syncId || s.phase !== 'connected') {
            void msg.applier.abort('superseded');
            return s;
          }
          applying = msg.applier;
          deps.scanner.tell({ kind: 'hold' });
          s.conn?.link.send('sync-start', { syncId: msg.syncId, accept: true });
          return { ...s, sync: { ...sync, phase: 'receiving', applier: msg.applier } };
        }
        case 'apply-refused':
          return onApplyFailed(s, msg.syncId, msg.error, true);
        case 'applied':
          return onApplied(ctx, s, msg.syncId, msg.outcome);
        case 'apply-failed':
          return onApplyFailed(s, msg.syncId, msg.error, false);
        case 'health':
          return forward(s, msg.reply, 'health-request', {}, (f) => (f.type === 'health' ? f.body.health : undefined));
        case 'list-nodes':
          return forward(s, msg.reply, 'nodes-request', {}, (f) => (f.type === 'nodes' ? f.body.nodes : undefined));
        case 'enrol':
          return forward(s, msg.reply, 'enrol-request', { request: msg.request }, (f) => (f.type === 'enrol-result' ? f.body.outcome : undefined));
        case 'registry':
          return forward(s, msg.reply, 'registry-request', { command: msg.command }, (f) => (f.type === 'registry-result' ? f.body.outcome : undefined));
        case 'status':
          msg.reply.ok({
            connected: s.phase === 'connected', master: s.conn?.master ?? null, lastKeepalive: s.lastKeepalive, lastError: s.lastError,
            lastSync: s.lastSync,
          });
          return s;
      }
    },
    summary: (s) => ({
      phase: s.phase, sync: s.sync?.phase ?? null, syncs: s.syncs, lastSync: s.lastSync, master: s.conn?.master.name ?? null, connects: s.connects, failedKeepalives: s.failedKeepalives,
      lastKeepalive: s.lastKeepalive === null ? null : new Date(s.lastKeepalive).toISOString(), lastError: s.lastError,
    }),
  };
}

