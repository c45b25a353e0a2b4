/**
 * AgentRegistry (master): the single writer of agents, keys and groups. Enrolments and
 * operator commands queue up and are decided and committed together (one SQLite
 * transaction, one client.keys write), so a burst of agents costs one fsync, and
 * concurrent requests can never get the same id or name. Committed changes go to the
 * GroupsBroadcaster at once; the requesters get their answer once the keys file is on
 * disk too.
 */
import type { ActorContext, ActorSpec, Reply } from '../../runtime/actor-kit.js';
import type { Logger } from '../../runtime/logger.js';
import type { RegistryFiles } from '../../runtime/storage/registry-files.js';
import {
  REGISTRY_BATCH, formatAgentId, groupSets,
  type AgentRecord, type EnrolmentOutcome, type ForwardedEnrolment, type RegistryChange, type RegistryCommand,
  type RegistryOutcome, type RegistryResult, type RevisedChange,
} from '../../protocols/registry.js';
import { ENROLMENT_ERRORS } from '../../protocols/enrolment.js';
import {
  decideEnrolment, decideMutation, isMutation, type EnrolmentContext, type ForcePolicy, type RegistryAgent, type RegistryView,
} from './registry-rules.js';

/** The store the registry writes through (the runtime's SQLite registry). */
export interface RegistryStore extends RegistryView {
  readonly revision: number;
  /** Runs `fn` in one transaction: everything committed inside it is durable together. */
  batch<T>(fn: () => T): T;
  commit(changes: readonly RegistryChange[]): RevisedChange[];
  changesSince(rev: number, limit: number): RevisedChange[] | null;
  snapshot(): RegistrySnapshot;
  agents(): RegistryAgent[];
  groups(): { name: string; agents: number }[];
  unassignedCount(): number;
  /** Agents plus groups: the size of a full snapshot. */
  rowCount(): number;
  checksum(): string;
  clientKeysText(): string;
}

export interface RegistrySnapshot {
  readonly revision: number;
  readonly groups: string[];
  readonly agents: AgentRecord[];
}

export type CatchUp =
  | { readonly kind: 'changes'; readonly changes: RevisedChange[] }
  | { readonly kind: 'snapshot'; readonly snapshot: RegistrySnapshot };

export interface Beacon { readonly revision: number; readonly checksum: string }

export type AgentRegistryMsg =
  | { readonly kind: 'enrol'; readonly request: ForwardedEnrolment; readonly reply: Reply<EnrolmentOutcome> }
  | { readonly kind: 'command'; readonly command: RegistryCommand; readonly reply: Reply<RegistryOutcome> }
  | { readonly kind: 'catchup'; readonly since: number; readonly full: boolean; readonly reply: Reply<CatchUp> }
  | { readonly kind: 'beacon'; readonly reply: Reply<Beacon> }
  /** Files under etc/shared changed: merged.mg files are rebuilt. */
  | { readonly kind: 'shared-changed' }
  | { readonly kind: 'flush' }
  | { readonly kind: 'flushed'; readonly answers: readonly Answer[]; readonly merged: ReadonlyMap<string, string> }
  | { readonly kind: 'merged'; readonly merged: ReadonlyMap<string, string> };

type Pending =
  | { readonly kind: 'enrol'; readonly request: ForwardedEnrolment; readonly reply: Reply<EnrolmentOutcome> }
  | { readonly kind: 'command'; readonly command: RegistryCommand; readonly reply: Reply<RegistryOutcome> };

/** A decided request, answered once its changes are on disk. */
type Answer =
  | { readonly kind: 'enrol'; readonly reply: Reply<EnrolmentOutcome>; readonly outcome: EnrolmentOutcome }
  | { readonly kind: 'command'; readonly reply: Reply<RegistryOutcome>; readonly outcome: RegistryOutcome };

interface State {
  readonly queue: readonly Pending[];
  readonly flushing: boolean;
  readonly commits: number;
  readonly enrolled: number;
  readonly refused: number;
  /** md5 of merged.mg per group CSV, as last built. */
  readonly merged: ReadonlyMap<string, string>;
}

export interface AgentRegistryDeps {
  readonly store: RegistryStore;
  readonly files: RegistryFiles;
  readonly log: Logger;
  readonly force: ForcePolicy;
  readonly managerName: string;
  readonly newKey: () => string;
  /** Where committed changes go (the GroupsBroadcaster), in revision order. */
  readonly onCommitted: (changes: readonly RevisedChange[]) => void;
}

export function agentRegistrySpec(deps: AgentRegistryDeps): ActorSpec<State, AgentRegistryMsg> {
  const { store, files } = deps;
  const log = deps.log.task('Agent registry');
  // The merged.mg sums as of the last build: a group choice compares the agent's checksum with them.
  let mergedSums: ReadonlyMap<string, string> = new Map();
  const context = (now: number): EnrolmentContext => ({ now, force: deps.force, managerName: deps.managerName, newKey: deps.newKey, merged: mergedSums });

  const enqueue = (ctx: ActorContext<AgentRegistryMsg>, s: State, p: Pending): State => {
    // The flush is queued behind whatever is already in the mailbox: a burst becomes one batch.
    if (s.queue.length === 0 && !s.flushing) ctx.self.tell({ kind: 'flush' });
    return { ...s, queue: [...s.queue, p] };
  };

  const flush = (ctx: ActorContext<AgentRegistryMsg>, s: State): State => {
    if (s.flushing || s.queue.length === 0) return s;
    const { answers, committed, created, deleted } = commitBatch(s.queue, ctx.now);
    if (committed.length > 0) deps.onCommitted(committed);
    const sets = mergedSetsFor(committed);
    // Group changes leave client.keys as it is: rewriting it would only make every worker re-check it.
    const keysChanged = committed.some(({ change }) => change.op === 'agent-added' || change.op === 'agent-removed');
    const written = keysChanged ? files.writeClientKeys(store.clientKeysText()) : Promise.resolve();
    const work = written
      .then(() => Promise.all(deleted.map((g) => files.removeGroupDir(g))))
      .then(() => files.buildMerged(sets));
    for (const g of created) log.info(`Group '${g}' created.`);
    ctx.pipe(work, (merged) => ({ kind: 'flushed', answers, merged }), (error) => {
      log.error(`Error writing the registry's files: ${error.message}. The registry holds the changes; the files follow at the next change.`);
      return { kind: 'flushed', answers, merged: new Map() };
    });
    const enrolled = answers.filter((a) => a.kind === 'enrol' && a.outcome.ok).length;
    return { ...s, queue: [], flushing: true, commits: s.commits + 1, enrolled: s.enrolled + enrolled, refused: s.refused + answers.length - enrolled };
  };

  /** Decides every queued request against the store, each seeing the ones before it, in one transaction. */
  const commitBatch = (queue: readonly Pending[], now: () => number) => {
    const answers: Answer[] = [];
    const committed: RevisedChange[] = [];
    const created: string[] = [];
    const deleted: string[] = [];
    try {
      store.batch(() => {
        for (const p of queue) {
          const revised = decideAndCommit(p, answers, now);
          committed.push(...revised);
          for (const { change } of revised) {
            if (change.op === 'group-created') created.push(change.group);
            if (change.op === 'group-deleted') deleted.push(change.group);
          }
        }
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log.error(`Could not commit ${queue.length} registry requests: ${message}`);
      return { answers: queue.map((p) => failure(p, message)), committed: [], created: [], deleted: [] };
    }
    return { answers, committed, created, deleted };
  };

  const decideAndCommit = (p: Pending, answers: Answer[], now: () => number): RevisedChange[] => {
    if (p.kind === 'enrol') {
      const d = decideEnrolment(store, p.request, context(now()));
      if (!d.ok) {
        log.info(`Agent '${p.request.name}' refused: ${d.error}`);
        answers.push({ kind: 'enrol', reply: p.reply, outcome: { ok: false, error: d.error } });
        return [];
      }
      const revised = guarded(() => store.commit(d.changes));
      if (!revised) {
        answers.push({ kind: 'enrol', reply: p.reply, outcome: { ok: false, error: ENROLMENT_ERRORS.internal(p.request.name) } });
        return [];
      }
      log.info(`Agent '${d.result.name}' enrolled with ID ${formatAgentId(d.result.id)}${replacedNote(d.changes)}.`);
      answers.push({ kind: 'enrol', reply: p.reply, outcome: { ok: true, agent: d.result, revision: lastRev(revised) } });
      return revised;
    }
    const cmd = p.command;
    if (!isMutation(cmd)) throw new Error('read-only commands are not queued');
    const d = decideMutation(store, cmd, context(now()));
    if (!d.ok) {
      answers.push({ kind: 'command', reply: p.reply, outcome: { ok: false, error: d.error } });
      return [];
    }
    for (const c of d.changes) if (c.op === 'group-created') files.createGroupDir(c.group);
    const revised = guarded(() => store.commit(d.changes));
    if (!revised) {
      answers.push({ kind: 'command', reply: p.reply, outcome: { ok: false, error: { code: 'internal', text: 'The registry could not store the change; see cluster.log.' } } });
      return [];
    }
    const revision = lastRev(revised);
    const result: RegistryResult = d.result?.kind === 'agent' ? { ...d.result, revision } : { kind: 'done', detail: describe(cmd), revision };
    answers.push({ kind: 'command', reply: p.reply, outcome: { ok: true, result } });
    return revised;
  };

  /** One request's failure rolls back only its own changes (a savepoint inside the batch). */
  const guarded = (fn: () => RevisedChange[]): RevisedChange[] | null => {
    try {
      return store.batch(fn);
    } catch (err) {
      log.error(`Registry change refused by the store: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    }
  };

  const read = (cmd: RegistryCommand, merged: ReadonlyMap<string, string>): RegistryOutcome => {
    switch (cmd.op) {
      case 'list-agents':
        return { ok: true, result: { kind: 'agents', agents: store.agents().map(summary), unassigned: store.unassignedCount() } };
      case 'group-members':
        if (!store.groupExists(cmd.group)) return { ok: false, error: { code: 'unknown-group', text: `Group '${cmd.group}' does not exist.` } };
        return { ok: true, result: { kind: 'agents', agents: store.members(cmd.group).map(summary), unassigned: store.unassignedCount() } };
      case 'get-agent': {
        const agent = store.agentById(cmd.id);
        if (!agent) return { ok: false, error: { code: 'unknown-agent', text: `Agent '${formatAgentId(cmd.id)}' does not exist.` } };
        return { ok: true, result: { kind: 'agent', agent: record(agent), revision: store.revision } };
      }
      case 'list-groups':
        return {
          ok: true,
          result: { kind: 'groups', groups: store.groups().map((g) => ({ ...g, mergedSum: merged.get(g.name) ?? null })), unassigned: store.unassignedCount() },
        };
      default:
        return { ok: false, error: { code: 'internal', text: `'${cmd.op}' is not a read` } };
    }
  };

  const rebuildAll = (ctx: ActorContext<AgentRegistryMsg>): void => {
    ctx.pipe(files.buildMerged(groupSets(store)), (merged) => ({ kind: 'merged', merged }), (error) => {
      log.error(`Error building merged.mg files: ${error.message}`);
      return { kind: 'merged', merged: new Map() };
    });
  };

  return {
    name: 'agent-registry',
    init: (ctx) => {
      rebuildAll(ctx);
      return { queue: [], flushing: false, commits: 0, enrolled: 0, refused: 0, merged: new Map() };
    },
    receive: (s, msg, ctx) => {
      switch (msg.kind) {
        case 'enrol':
          return enqueue(ctx, s, { kind: 'enrol', request: msg.request, reply: msg.reply });
        case 'command':
          if (isMutation(msg.command)) return enqueue(ctx, s, { kind: 'command', command: msg.command, reply: msg.reply });
          msg.reply.ok(read(msg.command, s.merged));
          return s;
        case 'flush':
          return flush(ctx, s);
        case 'flushed':
          for (const a of msg.answers) {
            if (a.kind === 'enrol') a.reply.ok(a.outcome);
            else a.reply.ok(a.outcome);
          }
          if (s.queue.length > 0) ctx.self.tell({ kind: 'flush' });
          mergedSums = new Map([...s.merged, ...msg.merged]);
          return { ...s, flushing: false, merged: mergedSums };
        case 'catchup': {
          // Replaying more changes than the registry holds rows costs more than a snapshot (a fresh worker).
          const snapshot = msg.full || store.revision - msg.since >= Math.max(REGISTRY_BATCH, store.rowCount());
          const changes = snapshot ? null : store.changesSince(msg.since, REGISTRY_BATCH);
          msg.reply.ok(changes ? { kind: 'changes', changes } : { kind: 'snapshot', snapshot: store.snapshot() });
          return s;
        }
        case 'beacon':
          msg.reply.ok({ revision: store.revision, checksum: store.checksum() });
          return s;
        case 'shared-changed':
          rebuildAll(ctx);
          return s;
        case 'merged':
          mergedSums = new Map([...s.merged, ...msg.merged]);
          return { ...s, merged: mergedSums };
      }
    },
    summary: (s) => ({
      revision: store.revision, queued: s.queue.length, flushing: s.flushing, commits: s.commits, enrolled: s.enrolled, refused: s.refused,
    }),
  };
}

/** The group sets whose merged.mg a batch may have changed: new groups and new multigroups. */
function mergedSetsFor(committed: readonly RevisedChange[]): (readonly string[])[] {
  const sets = new Map<string, readonly string[]>();
  for (const { change } of committed) {
    if (change.op === 'group-created') sets.set(change.group, [change.group]);
    const groups = change.op === 'agent-added' ? change.agent.groups : change.op === 'groups-set' ? change.groups : [];
    if (groups.length > 1) sets.set(groups.join(','), groups);
  }
  return [...sets.values()];
}

function failure(p: Pending, message: string): Answer {
  return p.kind === 'enrol'
    ? { kind: 'enrol', reply: p.reply, outcome: { ok: false, error: ENROLMENT_ERRORS.internal(p.request.name) } }
    : { kind: 'command', reply: p.reply, outcome: { ok: false, error: { code: 'internal', text: message.slice(0, 4000) } } };
}

const lastRev = (revised: readonly RevisedChange[]): number => revised[revised.length - 1]?.rev ?? 0;

function replacedNote(changes: readonly RegistryChange[]): string {
  const removed = changes.flatMap((c) => (c.op === 'agent-removed' ? [formatAgentId(c.id)] : []));
  return removed.length > 0 ? ` (replacing agent ${removed.join(', ')})` : '';
}

function describe(cmd: RegistryCommand): string {
  switch (cmd.op) {
    case 'remove-agent': return `Agent '${formatAgentId(cmd.id)}' removed.`;
    case 'create-group': return `Group '${cmd.group}' created.`;
    case 'delete-group': return `Group '${cmd.group}' removed.`;
    case 'assign-group': return `Group '${cmd.group}' assigned to agent '${formatAgentId(cmd.id)}'.`;
    case 'unassign-group': return `Group '${cmd.group}' unassigned from agent '${formatAgentId(cmd.id)}'.`;
    case 'choose-group': return `Agent '${formatAgentId(cmd.id)}' has its group.`;
    default: return 'Done.';
  }
}

function record(a: RegistryAgent): AgentRecord {
  return { id: a.id, name: a.name, ip: a.ip, key: a.key, registeredAt: a.registeredAt, groups: [...a.groups] };
}

function summary(a: RegistryAgent) {
  return {
    id: a.id, name: a.name, ip: a.ip, registeredAt: a.registeredAt, groups: [...a.groups],
    status: a.status, node: a.node, version: a.version, lastKeepalive: a.lastKeepalive,
  };
}
