/**
 * GroupsBroadcaster: the agent → groups table and its checksum. The master changes
 * it and bumps the revision; a worker compares checksums to know it holds the same
 * table. Group order is kept: it is the order merged.mg is built in.
 */
import { createHash } from 'node:crypto';
import type { ActorSpec, Reply } from '../runtime/actor-kit.js';

export type GroupsTable = ReadonlyMap<string, readonly string[]>;

export type GroupsBroadcasterMsg =
  | { readonly kind: 'assign'; readonly agent: string; readonly groups: readonly string[] }
  | { readonly kind: 'forget'; readonly agent: string }
  | { readonly kind: 'table'; readonly reply: Reply<{ table: GroupsTable; revision: number; checksum: string }> };

interface State {
  readonly table: GroupsTable;
  readonly revision: number;
  readonly checksum: string;
}

/** Order-independent over agents, order-sensitive over each agent's groups. */
export function groupsChecksum(table: GroupsTable): string {
  const h = createHash('sha256');
  for (const agent of [...table.keys()].sort()) h.update(`${agent}:${(table.get(agent) ?? []).join(',')}\n`);
  return h.digest('hex');
}

export function groupsBroadcasterSpec(): ActorSpec<State, GroupsBroadcasterMsg> {
  const withTable = (s: State, table: Map<string, readonly string[]>): State =>
    ({ table, revision: s.revision + 1, checksum: groupsChecksum(table) });
  return {
    name: 'groups-broadcaster',
    init: () => ({ table: new Map(), revision: 0, checksum: groupsChecksum(new Map()) }),
    receive: (s, msg) => {
      switch (msg.kind) {
        case 'assign':
          return withTable(s, new Map(s.table).set(msg.agent, [...msg.groups]));
        case 'forget': {
          if (!s.table.has(msg.agent)) return s;
          const table = new Map(s.table);
          table.delete(msg.agent);
          return withTable(s, table);
        }
        case 'table':
          msg.reply.ok({ table: s.table, revision: s.revision, checksum: s.checksum });
          return s;
      }
    },
    summary: (s) => ({ agents: s.table.size, revision: s.revision, checksum: s.checksum.slice(0, 12) }),
  };
}
