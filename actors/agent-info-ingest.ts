/**
 * AgentInfoIngest: the table of agent status. On a worker it collects the agents
 * connected there; on the master it merges what workers send. Merging keeps the
 * newest keepalive per agent, so duplicates and reordering do no harm.
 */
import type { ActorSpec, Reply } from '../runtime/actor-kit.js';

export type AgentStatus = 'never_connected' | 'pending' | 'active' | 'disconnected';

export interface AgentStatusRow {
  readonly id: string;
  readonly status: AgentStatus;
  readonly node: string;
  /** ms since epoch of the agent's last keepalive, null if it never sent one. */
  readonly lastKeepalive: number | null;
}

export type AgentInfoIngestMsg =
  | { readonly kind: 'rows'; readonly rows: readonly AgentStatusRow[] }
  | { readonly kind: 'snapshot'; readonly reply: Reply<AgentStatusRow[]> };

interface State {
  readonly agents: ReadonlyMap<string, AgentStatusRow>;
  readonly batches: number;
  readonly statusChanges: number;
}

/** Applies rows, newest keepalive first; returns the table and the rows whose status changed. */
export function mergeRows(table: ReadonlyMap<string, AgentStatusRow>, rows: readonly AgentStatusRow[]): { table: Map<string, AgentStatusRow>; changed: AgentStatusRow[] } {
  const next = new Map(table);
  const changed: AgentStatusRow[] = [];
  for (const row of rows) {
    const old = next.get(row.id);
    if (old && (old.lastKeepalive ?? -1) > (row.lastKeepalive ?? -1)) continue;
    next.set(row.id, row);
    if (!old || old.status !== row.status || old.node !== row.node) changed.push(row);
  }
  return { table: next, changed };
}

export function agentInfoIngestSpec(): ActorSpec<State, AgentInfoIngestMsg> {
  return {
    name: 'agent-info-ingest',
    init: () => ({ agents: new Map(), batches: 0, statusChanges: 0 }),
    receive: (s, msg) => {
      switch (msg.kind) {
        case 'rows': {
          const { table, changed } = mergeRows(s.agents, msg.rows);
          return { agents: table, batches: s.batches + 1, statusChanges: s.statusChanges + changed.length };
        }
        case 'snapshot':
          msg.reply.ok([...s.agents.values()]);
          return s;
      }
    },
    summary: (s) => {
      const active = [...s.agents.values()].filter((a) => a.status === 'active').length;
      return { agents: s.agents.size, active, batches: s.batches, statusChanges: s.statusChanges };
    },
  };
}
