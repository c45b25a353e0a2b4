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

/** What the module-level handlers below need: the deps and the registry's tagged logger. */
interface Env {
  readonly deps: AgentRegistryDeps;
  readonly log: Logger;
}

type Ctx = ActorContext<AgentRegistryMsg>;

export function agentRegistrySpec(deps: AgentRegistryDeps): ActorSpec<State, AgentRegistryMsg> {
  const env: Env = { deps, log: deps.log.task('Agent registry') };
  return {
    name: 'agent-registry',
    init: (ctx) => {
      rebuildAll(env, ctx);
      return { queue: [], flushing: false, commits: 0, enrolled: 0, refused: 0, merged: new Map() };
    },
    receive: (s, msg, ctx) => {
      switch (msg.kind) {
        case 'enrol':
          return enqueue(ctx, s, { kind: 'enrol', request: msg.request, reply: msg.reply });
        case 'command':
          if (isMutation(msg.command)) return enqueue(ctx, s, { kind: 'command', command: msg.command, reply: msg.reply });
          msg.reply.ok(read(deps.store, msg.command, s.merged));
          return s;
        case 'flush':
          return flush(env, ctx, s);
        case 'flushed':
          return onFlushed(ctx, s, msg);
        case 'catchup':
          msg.reply.ok(catchUp(deps.store, msg.since, msg.full));
          return s;
        case 'beacon':
          msg.reply.ok({ revision: deps.store.revision, checksum: deps.store.checksum() });
          return s;
        case 'shared-changed':
          rebuildAll(env, ctx);
          return s;
        case 'merged':
          return { ...s, merged: new Map([...s.merged, ...msg.merged]) };
      }
    },
    summary: (s) => ({
      revision: deps.store.revision, queued: s.queue.length, flushing: s.flushing, commits: s.commits, enrolled: s.enrolled, refused: s.refused,
    }),
  };
}

/** The rules' view of the moment; `merged` holds the merged.mg sums as of the last build, which a group choice compares with. */
function enrolmentContext(deps: AgentRegistryDeps, now: number, merged: ReadonlyMap<string, string>): EnrolmentContext {
  return { now, force: deps.force, managerName: deps.managerName, newKey: deps.newKey, merged };
}

function enqueue(ctx: Ctx, s: State, p: Pending): State {
  // The flush is queued behind whatever is already in the mailbox: a burst becomes one batch.
  if (s.queue.length === 0 && !s.flushing) ctx.self.tell({ kind: 'flush' });
  return { ...s, queue: [...s.queue, p] };
}

/** Commits the whole queue at once, then writes the files off the handler; answers wait for 'flushed'. */
function flush(env: Env, ctx: Ctx, s: State): State {
  if (s.flushing || s.queue.length === 0) return s;
  const { files, store } = env.deps;
  const { answers, committed, created, deleted } = commitBatch(env, s.queue, ctx.now, s.merged);
  if (committed.length > 0) env.deps.onCommitted(committed);
  const sets = mergedSetsFor(committed);
  // Group changes leave client.keys as it is: rewriting it would only make every worker re-check it.
  const keysChanged = committed.some(({ change }) => change.op === 'agent-added' || change.op === 'agent-removed');
  const written = keysChanged ? files.writeClientKeys(store.clientKeysText()) : Promise.resolve();
  const work = written
    .then(() => Promise.all(deleted.map((g) => files.removeGroupDir(g))))
    .then(() => files.buildMerged(sets));
  for (const g of created) env.log.info(`Group '${g}' created.`);
  ctx.pipe(work, (merged) => ({ kind: 'flushed', answers, merged }), (error) => {
    env.log.error(`Error writing the registry's files: ${error.message}. The registry holds the changes; the files follow at the next change.`);
    return { kind: 'flushed', answers, merged: new Map() };
  });
  const enrolled = answers.filter((a) => a.kind === 'enrol' && a.outcome.ok).length;
  return { ...s, queue: [], flushing: true, commits: s.commits + 1, enrolled: s.enrolled + enrolled, refused: s.refused + answers.length - enrolled };
}

/** The files are on disk: the requesters get their answers, and what queued meanwhile flushes next. */
function onFlushed(ctx: Ctx, s: State, msg: Extract<AgentRegistryMsg, { kind: 'flushed' }>): State {
  for (const a of msg.answers) {
    if (a.kind === 'enrol') a.reply.ok(a.outcome);
    else a.reply.ok(a.outcome);
  }
  if (s.queue.length > 0) ctx.self.tell({ kind: 'flush' });
  return { ...s, flushing: false, merged: new Map([...s.merged, ...msg.merged]) };
}

interface Batch {
  readonly answers: Answer[];
  readonly committed: RevisedChange[];
  readonly created: string[];
  readonly deleted: string[];
}

/** Decides every queued request against the store, each seeing the ones before it, in one transaction. */
function commitBatch(env: Env, queue: readonly Pending[], now: () => number, merged: ReadonlyMap<string, string>): Batch {
  const answers: Answer[] = [];
  const committed: RevisedChange[] = [];
  const created: string[] = [];
  const deleted: string[] = [];
  try {
    env.deps.store.batch(() => {
      for (const p of queue) {
        const revised = decideAndCommit(env, p, answers, () => enrolmentContext(env.deps, now(), merged));
        committed.push(...revised);
        for (const { change } of revised) {
          if (change.op === 'group-created') created.push(change.group);
          if (change.op === 'group-deleted') deleted.push(change.group);
        }
      }
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    env.log.error(`Could not commit ${queue.length} registry requests: ${message}`);
    return { answers: queue.map((p) => failure(p, message)), committed: [], created: [], deleted: [] };
  }
  return { answers, committed, created, deleted };
}

function decideAndCommit(env: Env, p: Pending, answers: Answer[], context: () => EnrolmentContext): RevisedChange[] {
  return p.kind === 'enrol' ? enrolOne(env, p, answers, context) : commandOne(env, p, answers, context);
}

function enrolOne(env: Env, p: Extract<Pending, { kind: 'enrol' }>, answers: Answer[], context: () => EnrolmentContext): RevisedChange[] {
  const { store } = env.deps;
  const d = decideEnrolment(store, p.request, context());
  if (!d.ok) {
    env.log.info(`Agent '${p.request.name}' refused: ${d.error}`);
    answers.push({ kind: 'enrol', reply: p.reply, outcome: { ok: false, error: d.error } });
    return [];
  }
  const revised = guarded(env, () => store.commit(d.changes));
  if (!revised) {
    answers.push({ kind: 'enrol', reply: p.reply, outcome: { ok: false, error: ENROLMENT_ERRORS.internal(p.request.name) } });
    return [];
  }
  env.log.info(`Agent '${d.result.name}' enrolled with ID ${formatAgentId(d.result.id)}${replacedNote(d.changes)}.`);
  answers.push({ kind: 'enrol', reply: p.reply, outcome: { ok: true, agent: d.result, revision: lastRev(revised) } });
  return revised;
}

function commandOne(env: Env, p: Extract<Pending, { kind: 'command' }>, answers: Answer[], context: () => EnrolmentContext): RevisedChange[] {
  const { store, files } = env.deps;
  const cmd = p.command;
  if (!isMutation(cmd)) throw new Error('read-only commands are not queued');
  const d = decideMutation(store, cmd, context());
  if (!d.ok) {
    answers.push({ kind: 'command', reply: p.reply, outcome: { ok: false, error: d.error } });
    return [];
  }
  for (const c of d.changes) if (c.op === 'group-created') files.createGroupDir(c.group);
  const revised = guarded(env, () => store.commit(d.changes));
  if (!revised) {
    answers.push({ kind: 'command', reply: p.reply, outcome: { ok: false, error: { code: 'internal', text: 'The registry could not store the change; see cluster.log.' } } });
    return [];
  }
  const revision = lastRev(revised);
  const result: RegistryResult = d.result?.kind === 'agent' ? { ...d.result, revision } : { kind: 'done', detail: describe(cmd), revision };
  answers.push({ kind: 'command', reply: p.reply, outcome: { ok: true, result } });
  return revised;
}

/** One request's failure rolls back only its own changes (a savepoint inside the batch). */
function guarded(env: Env, fn: () => RevisedChange[]): RevisedChange[] | null {
  try {
    return env.deps.store.batch(fn);
  } catch (err) {
    env.log.error(`Registry change refused by the store: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}

/** Read-only commands are answered at once, from the store as it is. */
function read(store: RegistryStore, cmd: RegistryCommand, merged: ReadonlyMap<string, string>): RegistryOutcome {
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
}

function catchUp(store: RegistryStore, since: number, full: boolean): CatchUp {
  // Replaying more changes than the registry holds rows costs more than a snapshot (a fresh worker).
  const snapshot = full || store.revision - since >= Math.max(REGISTRY_BATCH, store.rowCount());
  const changes = snapshot ? null : store.changesSince(since, REGISTRY_BATCH);
  return changes ? { kind: 'changes', changes } : { kind: 'snapshot', snapshot: store.snapshot() };
}

/** Every merged.mg is rebuilt from the store (at start, and when etc/shared changes). */
function rebuildAll(env: Env, ctx: Ctx): void {
  ctx.pipe(env.deps.files.buildMerged(groupSets(env.deps.store)), (merged) => ({ kind: 'merged', merged }), (error) => {
    env.log.error(`Error building merged.mg files: ${error.message}`);
    return { kind: 'merged', merged: new Map() };
  });
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
