/**
 * WorkerSession on the master: one per connected worker. Answers its keepalives and
 * requests, and drops it when it falls silent for max_allowed_time_without_keepalive.
 */
import type { ActorRef, ActorSpec, Reply } from '../runtime/actor-kit.js';
import type { Logger } from '../runtime/logger.js';
import type { Intervals } from '../runtime/config/types.js';
import type { ClusterFrame, NodeInfo } from '../protocols/cluster-messages.js';
import { MAILBOX_HIGH_WATER, type PeerLink } from './ports.js';

type CoordinatorAsk = { readonly kind: 'list-nodes'; readonly reply: Reply<NodeInfo[]> };

export type WorkerSessionMsg =
  | { readonly kind: 'inbound'; readonly frame: ClusterFrame }
  | { readonly kind: 'check-keepalive' }
  | { readonly kind: 'status'; readonly reply: Reply<WorkerSessionStatus> };

export interface WorkerSessionStatus {
  readonly info: NodeInfo;
  readonly connectedAt: number;
  readonly lastKeepalive: number;
}

interface State {
  readonly connectedAt: number;
  readonly lastKeepalive: number;
  readonly keepalives: number;
  readonly requests: number;
}

export interface WorkerSessionDeps {
  readonly info: NodeInfo;
  readonly link: PeerLink;
  readonly intervals: Intervals;
  readonly log: Logger;
  readonly coordinator: ActorRef<CoordinatorAsk>;
}

/** nact accepts only [a-z0-9-$_.+!*'(),] in names; node names may hold more. */
export function sessionActorName(node: string): string {
  return `worker-session-${node.replace(/[^a-z0-9\-_.+!'()]/gi, (c) => `$${c.charCodeAt(0).toString(16)}`)}`;
}

export function workerSessionSpec(deps: WorkerSessionDeps): ActorSpec<State, WorkerSessionMsg> {
  const { info, link, intervals } = deps;
  const keepaliveLog = deps.log.tagged('Master', 'Keep alive');
  const log = deps.log.tagged(`Worker ${info.name}`);

  const onFrame = (s: State, frame: ClusterFrame): State => {
    switch (frame.type) {
      case 'keepalive':
        link.reply(frame, 'keepalive-ack', { at: Date.now() });
        log.debug('Keepalive received.');
        return { ...s, lastKeepalive: Date.now(), keepalives: s.keepalives + 1 };
      case 'nodes-request':
        deps.coordinator.ask<NodeInfo[]>((reply) => ({ kind: 'list-nodes', reply }), intervals.communication.timeout_cluster_request * 1000)
          .then((nodes) => link.reply(frame, 'nodes', { nodes }), (err: Error) => link.reply(frame, 'error', { code: 'internal', message: err.message }))
          .catch(() => undefined);
        return { ...s, requests: s.requests + 1 };
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
      // After a restart the worker gets a whole new window: the old timestamp died with the state.
      const now = Date.now();
      return { connectedAt: now, lastKeepalive: now, keepalives: 0, requests: 0 };
    },
    receive: (s, msg) => {
      switch (msg.kind) {
        case 'inbound':
          return onFrame(s, msg.frame);
        case 'check-keepalive': {
          const limit = intervals.master.max_allowed_time_without_keepalive;
          if (Date.now() - s.lastKeepalive > limit * 1000) {
            keepaliveLog.error(`No keep alives have been received from ${info.name} in the last ${limit}s. Disconnecting`);
            link.close(`no keepalive in the last ${limit}s`);
          }
          return s;
        }
        case 'status':
          msg.reply.ok({ info, connectedAt: s.connectedAt, lastKeepalive: s.lastKeepalive });
          return s;
      }
    },
    summary: (s) => ({
      worker: info.name, address: info.address, keepalives: s.keepalives, requests: s.requests,
      lastKeepalive: new Date(s.lastKeepalive).toISOString(),
    }),
  };
}
