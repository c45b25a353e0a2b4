/**
 * AgentInfoIngest (master): stores what workers (and the master's own agent
 * service) report of their agents, a batch per transaction, checks every agent exists
 * (unknown ones are counted and skipped, never created), fans status changes out,
 * and every few seconds marks agents silent for agents_disconnection_time as
 * disconnected: also those whose worker was lost.
 */
import type { ActorSpec, Reply } from '../../runtime/actor-kit.js';
import type { Logger } from '../../runtime/logger.js';
import type { AgentInfoUpdate, AgentStatusEvent } from '../../protocols/agent-info.js';

export interface AgentInfoTable {
  apply(updates: readonly AgentInfoUpdate[], node: string, now: number): { stored: number; unknown: number; events: AgentStatusEvent[] };
  sweep(now: number, thresholdMs: number): AgentStatusEvent[];
  trimLog(keep: number): void;
}

/** Status changes kept in the master's log for refilling Redis (the stream's own cap is the same order). */
const STATUS_LOG_KEEP = 1_000_000;

export interface IngestAck { readonly stored: number; readonly unknown: number }

export type AgentInfoIngestMsg =
  | { readonly kind: 'ingest'; readonly node: string; readonly updates: readonly AgentInfoUpdate[]; readonly reply: Reply<IngestAck> | null }
  | { readonly kind: 'sweep' };

interface State {
  readonly batches: number;
  readonly stored: number;
  readonly unknown: number;
  readonly changes: number;
  readonly swept: number;
}

export interface AgentInfoIngestDeps {
  readonly table: AgentInfoTable;
  readonly log: Logger;
  readonly disconnectionSeconds: number;
  /** Status changes, in order, for Redis and anyone watching. */
  readonly publish: (events: readonly AgentStatusEvent[]) => void;
}

/** How often silence is checked: Wazuh checks once per threshold; a tenth of it (1–10 s) keeps the verdict close to T. */
function sweepEveryMs(disconnectionSeconds: number): number {
  return Math.min(10_000, Math.max(1000, (disconnectionSeconds * 1000) / 10));
}

export function agentInfoIngestSpec(deps: AgentInfoIngestDeps): ActorSpec<State, AgentInfoIngestMsg> {
  const log = deps.log.task('Agent-info sync');
  return {
    name: 'agent-info-ingest',
    init: (ctx) => {
      ctx.every(sweepEveryMs(deps.disconnectionSeconds), { kind: 'sweep' });
      return { batches: 0, stored: 0, unknown: 0, changes: 0, swept: 0 };
    },
    receive: (s, msg, ctx) => {
      switch (msg.kind) {
        case 'ingest': {
          const started = ctx.now();
          const result = deps.table.apply(msg.updates, msg.node, started);
          if (result.events.length > 0) deps.publish(result.events);
          if (result.unknown > 0) log.debug(`${msg.node}: ${result.unknown} updates for agents not in the registry were skipped.`);
          log.debug(`${msg.node}: ${result.stored} agents updated in ${((ctx.now() - started) / 1000).toFixed(3)}s.`);
          msg.reply?.ok({ stored: result.stored, unknown: result.unknown });
          return {
            ...s, batches: s.batches + 1, stored: s.stored + result.stored, unknown: s.unknown + result.unknown, changes: s.changes + result.events.length,
          };
        }
        case 'sweep': {
          deps.table.trimLog(STATUS_LOG_KEEP);
          const events = deps.table.sweep(ctx.now(), deps.disconnectionSeconds * 1000);
          if (events.length === 0) return s;
          log.info(`${events.length} agents sent no keepalive in the last ${deps.disconnectionSeconds}s: disconnected.`);
          deps.publish(events);
          return { ...s, swept: s.swept + events.length, changes: s.changes + events.length };
        }
      }
    },
    summary: (s) => ({ ...s }),
  };
}
