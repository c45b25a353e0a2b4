/**
 * MasterSession (worker): its link to the master. Connects and reconnects every
 * connection_retry, sends keepalives every keep_alive, gives up the link after
 * max_failed_keepalive_attempts failures, and answers what the master asks. Its
 * child IntegritySync checks the tree against the master and applies syncs.
 */
import type { ActorContext, ActorRef, ActorSpec, Cancel, Reply } from '../../runtime/actor-kit.js';
import type { Logger } from '../../runtime/logger.js';
import type { Intervals } from '../../runtime/config/types.js';
import type { ClusterBody, ClusterFrame, ClusterHealth, NodeInfo } from '../../protocols/cluster-messages.js';
import type { IntegrityScannerMsg } from '../integrity-scanner.js';
import type { EnrolmentOutcome, ForwardedEnrolment, RegistryCommand, RegistryOutcome } from '../../protocols/registry.js';
import type { RegistryFrame, ReplicaMsg } from './registry-replica.js';
import { MAILBOX_HIGH_WATER, type PeerLink } from '../ports.js';
import {
  integritySyncSpec, type ActiveApply, type ApplyPressure, type IntegritySyncMsg, type PlanFrame, type SyncFigures,
} from './integrity-sync.js';

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

export type MasterSessionMsg =
  | { readonly kind: 'connect' }
  | { readonly kind: 'health'; readonly reply: Reply<ClusterHealth> }
  | { readonly kind: 'connected'; readonly attempt: number; readonly conn: MasterConnection }
  | { readonly kind: 'connect-failed'; readonly attempt: number; readonly error: Error }
  | { readonly kind: 'link-lost'; readonly link: PeerLink; readonly reason: string }
  | { readonly kind: 'keepalive-tick' }
  | { readonly kind: 'keepalive-ok' }
  | { readonly kind: 'keepalive-failed'; readonly error: Error }
  | { readonly kind: 'inbound'; readonly frame: ClusterFrame }
  /** The child IntegritySync's figures changed. */
  | { readonly kind: 'sync-figures'; readonly figures: SyncFigures }
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
  readonly integrity: ActorRef<IntegritySyncMsg>;
  readonly pressure: ApplyPressure;
  readonly sync: SyncFigures;
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
  /** The registry replica: it gets the registry frames. */
  readonly replica: ActorRef<Extract<ReplicaMsg, { kind: 'frame' }>>;
  /** Actors that talk to the master over the link themselves (the replica, the agent-info sender): told when it comes and goes. */
  readonly linkFollowers: readonly ActorRef<LinkEvent>[];
  /** Validates a plan (every path) and prepares to write it; rejects if the plan is refused. */
  readonly beginApply: (plan: PlanFrame) => Promise<ActiveApply>;
  /** Rules, decoders, lists or SCA policies changed: event processing reloads. */
  readonly onRulesetChanged: (paths: readonly string[]) => void;
}

/** Compressed bytes a sync may hold unwritten before the link stops reading. */
const APPLY_HIGH_WATER = 32 * 1024 * 1024;

const FIRST_RETRY_SECONDS = 0.25;

/** First retries come fast (a master that is starting up), then every connection_retry. */
export function retryDelaySeconds(connectionRetry: number, failures: number): number {
  return Math.min(connectionRetry, FIRST_RETRY_SECONDS * 2 ** Math.max(0, failures - 1));
}

export type LinkEvent = { readonly kind: 'link-up'; readonly link: PeerLink } | { readonly kind: 'link-down' };

type ForwardedType = 'health-request' | 'nodes-request' | 'enrol-request' | 'registry-request';

/** Wazuh's error text for a request that needs the master while it is unreachable. */
export const NOT_CONNECTED = 'Error 3023 - Worker node is not connected to master';

type Ctx = ActorContext<MasterSessionMsg>;

interface Env {
  readonly deps: MasterSessionDeps;
  /** Tagged with the worker's name. */
  readonly log: Logger;
  readonly kaLog: Logger;
}

export function masterSessionSpec(deps: MasterSessionDeps): ActorSpec<State, MasterSessionMsg> {
  const log = deps.log.tagged(`Worker ${deps.nodeName}`);
  const env: Env = { deps, log, kaLog: log.task('Keep Alive') };
  return {
    name: 'master-session',
    init: (ctx) => init(env, ctx),
    receive: (s, msg, ctx) => receive(env, ctx, s, msg),
    summary: (s) => ({
      phase: s.phase, sync: s.sync.phase, syncs: s.sync.syncs, lastSync: s.sync.lastSync, master: s.conn?.master.name ?? null, connects: s.connects, failedKeepalives: s.failedKeepalives,
      lastKeepalive: s.lastKeepalive === null ? null : new Date(s.lastKeepalive).toISOString(), lastError: s.lastError,
    }),
  };
}

function init(env: Env, ctx: Ctx): State {
  const { deps } = env;
  const pressure: ApplyPressure = { applier: null };
  const integrity = ctx.spawn(integritySyncSpec({
    syncIntegritySeconds: deps.intervals.worker.sync_integrity,
    askMs: deps.intervals.communication.timeout_cluster_request * 1000,
    log: env.log, scanner: deps.scanner, pressure, beginApply: deps.beginApply, onRulesetChanged: deps.onRulesetChanged,
    report: (figures) => ctx.self.tell({ kind: 'sync-figures', figures }),
  }));
  const base: State = {
    phase: 'connecting', attempt: 0, conn: null, keepaliveTimer: null, failedKeepalives: 0,
    lastKeepalive: null, lastError: null, connects: 0, failures: 0, integrity, pressure, sync: { phase: null, syncs: 0, lastSync: null },
  };
  const conn = deps.current();
  if (conn && !conn.link.closed) return adopt(env, ctx, base, conn);
  ctx.self.tell({ kind: 'connect' });
  return { ...base, phase: 'waiting' };
}

function receive(env: Env, ctx: Ctx, s: State, msg: MasterSessionMsg): State {
  switch (msg.kind) {
    case 'connect': {
      if (s.phase !== 'waiting') return s;
      const attempt = s.attempt + 1;
      ctx.pipe(env.deps.connect(), (conn) => ({ kind: 'connected', attempt, conn }), (error) => ({ kind: 'connect-failed', attempt, error }));
      return { ...s, phase: 'connecting', attempt };
    }
    case 'connected':
      if (msg.attempt !== s.attempt || s.phase !== 'connecting') {
        msg.conn.link.close('superseded by another connection attempt');
        return s;
      }
      env.log.info('Successfully connected to master.');
      return { ...adopt(env, ctx, s, msg.conn), connects: s.connects + 1 };
    case 'connect-failed':
      if (msg.attempt !== s.attempt) return s;
      return waitAndRetry(env, ctx, s, msg.error.message,
        (delay) => env.log.error(`Could not connect to master: ${msg.error.message}. Trying again in ${delay} seconds.`));
    case 'link-lost':
      if (s.conn?.link !== msg.link) return s;
      return waitAndRetry(env, ctx, s, msg.reason,
        (delay) => env.log.error(`Connection with the master lost: ${msg.reason}. Trying again in ${delay} seconds.`));
    case 'keepalive-tick':
    case 'keepalive-ok':
    case 'keepalive-failed':
      return onKeepalive(env, ctx, s, msg);
    case 'inbound':
      return onFrame(env, s, msg.frame);
    case 'sync-figures':
      return { ...s, sync: msg.figures };
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
        lastSync: s.sync.lastSync,
      });
      return s;
  }
}

function adopt(env: Env, ctx: Ctx, s: State, conn: MasterConnection): State {
  const { link } = conn;
  const { self } = ctx;
  const { pressure } = s;
  // The link stops reading while this mailbox is deep or a sync holds too many unwritten bytes.
  link.attach((frame) => self.tell({ kind: 'inbound', frame }),
    () => self.depth > MAILBOX_HIGH_WATER || (pressure.applier?.queuedBytes ?? 0) > APPLY_HIGH_WATER);
  link.onClose((reason) => self.tell({ kind: 'link-lost', link, reason }));
  const keepaliveTimer = ctx.every(env.deps.intervals.worker.keep_alive * 1000, { kind: 'keepalive-tick' });
  // After a (re)connection the tree is verified against the master at once, and the registry catches up.
  s.integrity.tell({ kind: 'link-up', link, master: conn.master });
  for (const f of env.deps.linkFollowers) f.tell({ kind: 'link-up', link });
  return { ...s, phase: 'connected', conn, keepaliveTimer, failedKeepalives: 0, lastError: null, failures: 0 };
}

function waitAndRetry(env: Env, ctx: Ctx, s: State, error: string, say: (delay: string) => void): State {
  s.integrity.tell({ kind: 'link-down' });
  s.keepaliveTimer?.cancel();
  if (s.conn) for (const f of env.deps.linkFollowers) f.tell({ kind: 'link-down' });
  const failures = s.failures + 1;
  const delay = retryDelaySeconds(env.deps.intervals.worker.connection_retry, failures);
  say(`${Number(delay.toFixed(3))}`);
  ctx.after(delay * 1000, { kind: 'connect' });
  return { ...s, phase: 'waiting', conn: null, keepaliveTimer: null, lastError: error, failures };
}

function onKeepalive(env: Env, ctx: Ctx, s: State, msg: Extract<MasterSessionMsg, { kind: `keepalive-${string}` }>): State {
  switch (msg.kind) {
    case 'keepalive-tick': {
      const link = s.conn?.link;
      if (s.phase !== 'connected' || !link) return s;
      ctx.pipe(link.request('keepalive', { sentAt: ctx.now() }), () => ({ kind: 'keepalive-ok' }), (error) => ({ kind: 'keepalive-failed', error }));
      return s;
    }
    case 'keepalive-ok':
      env.kaLog.info('Successful response from master: keepalive');
      return { ...s, failedKeepalives: 0, lastKeepalive: ctx.now() };
    case 'keepalive-failed': {
      if (s.phase !== 'connected') return s;
      const failed = s.failedKeepalives + 1;
      env.kaLog.error(`Error sending keep alive: ${msg.error.message}`);
      if (failed >= env.deps.intervals.worker.max_failed_keepalive_attempts) {
        env.kaLog.error('Maximum number of failed keep alives reached. Disconnecting.');
        s.conn?.link.close('maximum number of failed keep alives reached');
      }
      return { ...s, failedKeepalives: failed };
    }
  }
}

function onFrame(env: Env, s: State, frame: ClusterFrame): State {
  const link = s.conn?.link;
  if (!link) return s;
  switch (frame.type) {
    case 'ping':
      link.reply(frame, 'pong', {});
      return s;
    case 'bye':
      env.log.info(`The master is closing the connection: ${frame.body.reason}`);
      return s;
    case 'integrity-notice':
      env.log.task('Integrity check').debug(`Master manifest changed (revision ${frame.body.revision}).`);
      s.integrity.tell({ kind: 'check', reason: 'notice' });
      return s;
    case 'sync-data':
    case 'sync-end':
      s.integrity.tell({ kind: 'frame', frame });
      return s;
    case 'registry-changes':
    case 'registry-beacon':
    case 'registry-snapshot':
      env.deps.replica.tell({ kind: 'frame', frame: frame as RegistryFrame });
      return s;
    default:
      link.reply(frame, 'error', { code: 'unexpected', message: `unexpected '${frame.type}' from the master` });
      return s;
  }
}

/** Asks the master on behalf of a local request; fails at once while there is no link. */
function forward<T, K extends ForwardedType>(s: State, reply: Reply<T>, type: K, body: ClusterBody<K>, pick: (f: ClusterFrame) => T | undefined): State {
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
}
