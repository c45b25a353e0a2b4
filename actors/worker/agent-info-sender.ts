/**
 * AgentInfoSender (worker): collects what happens to the agents connected here and
 * sends it to the master in batches: at once when an agent's status changes, and at
 * most every sync_agent_info for keepalive-only refreshes. An update leaves the
 * queue only when the master acknowledged it (Wazuh marks it sent when it reads it,
 * and loses it if the transfer fails). Updates with the same status fold into one;
 * a status change is kept as its own step, so the master sees every transition.
 */
import type { ActorContext, ActorSpec } from '../../runtime/actor-kit.js';
import type { Logger } from '../../runtime/logger.js';
import { AGENT_INFO_BATCH, foldUpdate, type AgentInfoUpdate } from '../../protocols/agent-info.js';
import type { ClusterFrame } from '../../protocols/cluster-messages.js';
import type { PeerLink } from '../ports.js';

interface Queued {
  /** In order; consecutive updates with the same status are folded. */
  readonly updates: readonly AgentInfoUpdate[];
  /** How many of the first updates the request in flight carries: those are never folded into. */
  readonly inFlight: number;
}

export type AgentInfoSenderMsg =
  | { readonly kind: 'update'; readonly update: AgentInfoUpdate }
  | { readonly kind: 'tick' }
  | { readonly kind: 'link-up'; readonly link: PeerLink }
  | { readonly kind: 'link-down' }
  | { readonly kind: 'acked'; readonly frame: ClusterFrame; readonly started: number; readonly count: number; readonly flight: number }
  | { readonly kind: 'send-failed'; readonly error: Error; readonly flight: number };

interface State {
  readonly queue: ReadonlyMap<number, Queued>;
  readonly lastStatus: ReadonlyMap<number, AgentInfoUpdate['status']>;
  readonly link: PeerLink | null;
  readonly inFlight: boolean;
  /** Numbers each request: an answer to one sent before the link dropped is ignored. */
  readonly flight: number;
  /** A status change waits in the queue: flush without waiting for the tick. */
  readonly urgent: boolean;
  readonly sent: number;
  readonly batches: number;
  readonly failures: number;
}

export interface AgentInfoSenderDeps {
  readonly log: Logger;
  readonly syncSeconds: number;
  readonly requestTimeoutMs: number;
}

/** Adds an update to an agent's queue: folded into the last one when that has the same status and is not in flight. */
export function enqueue(q: Queued | undefined, update: AgentInfoUpdate): Queued {
  const updates = q?.updates ?? [];
  const inFlight = q?.inFlight ?? 0;
  const last = updates[updates.length - 1];
  if (last && updates.length > inFlight && last.status === update.status) {
    return { updates: [...updates.slice(0, -1), foldUpdate(last, update)], inFlight };
  }
  return { updates: [...updates, update], inFlight };
}

/** Everything the master has acknowledged leaves; what came meanwhile stays. */
export function acknowledge(queue: ReadonlyMap<number, Queued>): Map<number, Queued> {
  const next = new Map<number, Queued>();
  for (const [id, q] of queue) {
    const rest = q.updates.slice(q.inFlight);
    if (rest.length > 0) next.set(id, { updates: rest, inFlight: 0 });
  }
  return next;
}

const unmark = (queue: ReadonlyMap<number, Queued>): Map<number, Queued> =>
  new Map([...queue].map(([id, q]) => [id, { updates: q.updates, inFlight: 0 }]));

export function agentInfoSenderSpec(deps: AgentInfoSenderDeps): ActorSpec<State, AgentInfoSenderMsg> {
  const log = deps.log.task('Agent-info sync');

  const flush = (ctx: ActorContext<AgentInfoSenderMsg>, s: State): State => {
    if (s.inFlight || !s.link || s.link.closed || s.queue.size === 0) return s;
    const updates: AgentInfoUpdate[] = [];
    const queue = new Map(s.queue);
    for (const [id, q] of s.queue) {
      if (updates.length + q.updates.length > AGENT_INFO_BATCH && updates.length > 0) break;
      updates.push(...q.updates);
      queue.set(id, { updates: q.updates, inFlight: q.updates.length });
    }
    const started = ctx.now();
    const count = updates.length;
    const flight = s.flight + 1;
    ctx.pipe(s.link.request('agent-info', { updates }, deps.requestTimeoutMs),
      (frame) => ({ kind: 'acked', frame, started, count, flight }), (error) => ({ kind: 'send-failed', error, flight }));
    return { ...s, queue, inFlight: true, urgent: false, flight };
  };

  const onAcked = (ctx: ActorContext<AgentInfoSenderMsg>, s: State, msg: Extract<AgentInfoSenderMsg, { kind: 'acked' }>): State => {
    if (msg.frame.type !== 'agent-info-ack') {
      log.error(`The master did not store the agent info: ${msg.frame.type === 'error' ? msg.frame.body.message : msg.frame.type}. Kept for the next try.`);
      return { ...s, queue: unmark(s.queue), inFlight: false, failures: s.failures + 1 };
    }
    const { stored, unknown } = msg.frame.body;
    log.debug(`Finished in ${((ctx.now() - msg.started) / 1000).toFixed(3)}s. ${stored} updates stored${unknown ? `, ${unknown} for agents unknown to the master` : ''}.`);
    const next: State = { ...s, queue: acknowledge(s.queue), inFlight: false, sent: s.sent + msg.count, batches: s.batches + 1 };
    // A full batch means the cycle is not over; a status change that came meanwhile goes at once.
    return msg.count >= AGENT_INFO_BATCH || s.urgent ? flush(ctx, next) : next;
  };

  return {
    name: 'agent-info-sender',
    init: (ctx) => {
      ctx.every(deps.syncSeconds * 1000, { kind: 'tick' });
      return { queue: new Map(), lastStatus: new Map(), link: null, inFlight: false, flight: 0, urgent: false, sent: 0, batches: 0, failures: 0 };
    },
    receive: (s, msg, ctx) => {
      switch (msg.kind) {
        case 'update': {
          const { update } = msg;
          const queue = new Map(s.queue).set(update.id, enqueue(s.queue.get(update.id), update));
          const changed = s.lastStatus.get(update.id) !== update.status;
          const lastStatus = changed ? new Map(s.lastStatus).set(update.id, update.status) : s.lastStatus;
          const next = { ...s, queue, lastStatus, urgent: s.urgent || changed };
          return changed ? flush(ctx, next) : next;
        }
        case 'tick':
          return flush(ctx, s);
        case 'link-up':
          return flush(ctx, { ...s, link: msg.link, inFlight: false, queue: unmark(s.queue) });
        case 'link-down':
          return { ...s, link: null, inFlight: false, queue: unmark(s.queue) };
        case 'acked':
          return msg.flight === s.flight && s.inFlight ? onAcked(ctx, s, msg) : s;
        case 'send-failed':
          if (msg.flight !== s.flight || !s.inFlight) return s;
          if (s.link) log.error(`Error sending agent info to the master: ${msg.error.message}. Kept for the next try.`);
          return { ...s, inFlight: false, queue: unmark(s.queue), failures: s.failures + 1 };
      }
    },
    summary: (s) => ({ queued: s.queue.size, sent: s.sent, batches: s.batches, failures: s.failures, inFlight: s.inFlight, agents: s.lastStatus.size }),
  };
}
