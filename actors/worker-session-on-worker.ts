/**
 * WorkerSession on a worker: its link to the master. Connects and reconnects every
 * connection_retry, sends keepalives every keep_alive, gives up the link after
 * max_failed_keepalive_attempts failures, and answers what the master asks.
 */
import type { ActorContext, ActorSpec, Cancel, Reply } from '../runtime/actor-kit.js';
import type { Logger } from '../runtime/logger.js';
import type { Intervals } from '../runtime/config/types.js';
import type { ClusterFrame, NodeInfo } from '../protocols/cluster-messages.js';
import { MAILBOX_HIGH_WATER, type PeerLink } from './ports.js';

export interface MasterConnection {
  readonly link: PeerLink;
  readonly master: NodeInfo;
}

export interface MasterLinkStatus {
  readonly connected: boolean;
  readonly master: NodeInfo | null;
  readonly lastKeepalive: number | null;
  readonly lastError: string | null;
}

export type MasterSessionMsg =
  | { readonly kind: 'connect' }
  | { readonly kind: 'connected'; readonly attempt: number; readonly conn: MasterConnection }
  | { readonly kind: 'connect-failed'; readonly attempt: number; readonly error: Error }
  | { readonly kind: 'link-lost'; readonly link: PeerLink; readonly reason: string }
  | { readonly kind: 'keepalive-tick' }
  | { readonly kind: 'keepalive-ok' }
  | { readonly kind: 'keepalive-failed'; readonly error: Error }
  | { readonly kind: 'inbound'; readonly frame: ClusterFrame }
  | { readonly kind: 'list-nodes'; readonly reply: Reply<NodeInfo[]> }
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
}

export interface MasterSessionDeps {
  readonly nodeName: string;
  readonly intervals: Intervals;
  readonly log: Logger;
  /** Opens a link and completes the handshake; rejects with the reason otherwise. */
  readonly connect: () => Promise<MasterConnection>;
  /** The link the transport holds open now, if any: the source of truth on restart. */
  readonly current: () => MasterConnection | null;
}

const FIRST_RETRY_SECONDS = 0.25;

/** First retries come fast (a master that is starting up), then every connection_retry. */
export function retryDelaySeconds(connectionRetry: number, failures: number): number {
  return Math.min(connectionRetry, FIRST_RETRY_SECONDS * 2 ** Math.max(0, failures - 1));
}

/** Wazuh's error text for a request that needs the master while it is unreachable. */
export const NOT_CONNECTED = 'Error 3023 - Worker node is not connected to master';

export function masterSessionSpec(deps: MasterSessionDeps): ActorSpec<State, MasterSessionMsg> {
  const { intervals } = deps;
  const log = deps.log.tagged(`Worker ${deps.nodeName}`);
  const kaLog = log.task('Keep Alive');

  const adopt = (ctx: ActorContext<MasterSessionMsg>, s: State, conn: MasterConnection): State => {
    const { link } = conn;
    link.attach((frame) => ctx.self.tell({ kind: 'inbound', frame }), () => ctx.self.depth > MAILBOX_HIGH_WATER);
    link.onClose((reason) => ctx.self.tell({ kind: 'link-lost', link, reason }));
    const keepaliveTimer = ctx.every(intervals.worker.keep_alive * 1000, { kind: 'keepalive-tick' });
    return { ...s, phase: 'connected', conn, keepaliveTimer, failedKeepalives: 0, lastError: null, failures: 0 };
  };

  const waitAndRetry = (ctx: ActorContext<MasterSessionMsg>, s: State, error: string, say: (delay: string) => void): State => {
    s.keepaliveTimer?.cancel();
    const failures = s.failures + 1;
    const delay = retryDelaySeconds(intervals.worker.connection_retry, failures);
    say(`${Number(delay.toFixed(3))}`);
    ctx.after(delay * 1000, { kind: 'connect' });
    return { ...s, phase: 'waiting', conn: null, keepaliveTimer: null, lastError: error, failures };
  };

  const onFrame = (s: State, frame: ClusterFrame): State => {
    const link = s.conn?.link;
    if (!link) return s;
    switch (frame.type) {
      case 'ping':
        link.reply(frame, 'pong', {});
        return s;
      case 'bye':
        log.info(`The master is closing the connection: ${frame.body.reason}`);
        return s;
      default:
        link.reply(frame, 'error', { code: 'unexpected', message: `unexpected '${frame.type}' from the master` });
        return s;
    }
  };

  return {
    name: 'worker-session',
    init: (ctx) => {
      const base: State = {
        phase: 'connecting', attempt: 0, conn: null, keepaliveTimer: null, failedKeepalives: 0,
        lastKeepalive: null, lastError: null, connects: 0, failures: 0,
      };
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
          ctx.pipe(link.request('keepalive', { sentAt: Date.now() }), () => ({ kind: 'keepalive-ok' }), (error) => ({ kind: 'keepalive-failed', error }));
          return s;
        }
        case 'keepalive-ok':
          kaLog.info('Successful response from master: keepalive');
          return { ...s, failedKeepalives: 0, lastKeepalive: Date.now() };
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
          return onFrame(s, msg.frame);
        case 'list-nodes': {
          const link = s.conn?.link;
          if (s.phase !== 'connected' || !link) {
            msg.reply.fail(NOT_CONNECTED);
            return s;
          }
          link.request('nodes-request', {}).then(
            (f) => (f.type === 'nodes' ? msg.reply.ok(f.body.nodes) : msg.reply.fail(`unexpected '${f.type}' reply`)),
            (err: Error) => msg.reply.fail(err.message),
          );
          return s;
        }
        case 'status':
          msg.reply.ok({
            connected: s.phase === 'connected', master: s.conn?.master ?? null, lastKeepalive: s.lastKeepalive, lastError: s.lastError,
          });
          return s;
      }
    },
    summary: (s) => ({
      phase: s.phase, master: s.conn?.master.name ?? null, connects: s.connects, failedKeepalives: s.failedKeepalives,
      lastKeepalive: s.lastKeepalive === null ? null : new Date(s.lastKeepalive).toISOString(), lastError: s.lastError,
    }),
  };
}

