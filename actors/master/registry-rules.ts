/**
 * The master's decisions on the agent registry, as pure functions over a read view:
 * who may enrol (Wazuh authd's checks, in its order, with its texts), and what each
 * operator command changes. They return the changes to commit; the AgentRegistry
 * actor commits them. Nothing here writes.
 */
import {
  DEFAULT_GROUP, MAX_GROUPS_PER_AGENT, formatAgentId,
  type AgentRecord, type ForwardedEnrolment, type RegistryChange, type RegistryCommand, type RegistryError, type RegistryResult,
} from '../../protocols/registry.js';
import { agentVersionTooHigh, MANAGER_VERSION, ENROLMENT_ERRORS } from '../../protocols/enrolment.js';
import { enrolmentKeyHash } from '../../protocols/agent-keys.js';
import type { AgentStatus } from '../../protocols/agent-status.js';

export interface RegistryAgent extends AgentRecord {
  readonly status: AgentStatus;
  readonly node: string | null;
  readonly version: string | null;
  readonly lastKeepalive: number | null;
  readonly disconnectedAt: number | null;
}

/** What the rules read; the registry store provides it. */
export interface RegistryView {
  agentById(id: number): RegistryAgent | undefined;
  agentByName(name: string): RegistryAgent | undefined;
  agentsByIp(ip: string): RegistryAgent[];
  groupExists(group: string): boolean;
  members(group: string): RegistryAgent[];
  nextAgentId(): number;
}

export interface ForcePolicy {
  readonly enabled: boolean;
  readonly keyMismatch: boolean;
  readonly disconnectedTimeSeconds: number;
  readonly afterRegistrationTimeSeconds: number;
}

export interface EnrolmentContext {
  readonly now: number;
  readonly force: ForcePolicy;
  /** The master's host name: no agent may take it. */
  readonly managerName: string;
  readonly newKey: () => string;
  /** md5 of each group's and multigroup's merged.mg, by CSV, as last built. */
  readonly merged: ReadonlyMap<string, string>;
}

export type Decision<R, E> =
  | { readonly ok: true; readonly changes: readonly RegistryChange[]; readonly result: R }
  | { readonly ok: false; readonly error: E };

/** Wazuh's force rules: an existing agent gives way only when it is long gone and old enough. */
export function replaceable(old: RegistryAgent, keyHash: string | null, ctx: EnrolmentContext): boolean {
  const { force, now } = ctx;
  if (!force.enabled) return false;
  if (old.status !== 'never_connected') {
    if (old.status !== 'disconnected' || old.disconnectedAt === null) return false;
    if (now - old.disconnectedAt < force.disconnectedTimeSeconds * 1000) return false;
  }
  if (now - old.registeredAt < force.afterRegistrationTimeSeconds * 1000) return false;
  if (keyHash !== null && force.keyMismatch && enrolmentKeyHash(formatAgentId(old.id), old.name, old.key) === keyHash) return false;
  return true;
}

/** Decides one enrolment; the error is the exact text the agent receives (before ". Unable to add agent"). */
export function decideEnrolment(view: RegistryView, req: ForwardedEnrolment, ctx: EnrolmentContext): Decision<AgentRecord, string> {
  const fail = (error: string): Decision<AgentRecord, string> => ({ ok: false, error });
  if (req.version !== null && agentVersionTooHigh(req.version, MANAGER_VERSION)) return fail(ENROLMENT_ERRORS.versionTooHigh);
  const missing = (req.groups ?? []).find((g) => !view.groupExists(g));
  if (missing !== undefined) return fail(ENROLMENT_ERRORS.invalidGroup(missing));
  const removals: RegistryChange[] = [];
  if (req.ip !== 'any') {
    for (const old of view.agentsByIp(req.ip)) {
      if (!replaceable(old, req.keyHash, ctx)) return fail(ENROLMENT_ERRORS.duplicateIp(req.ip));
      removals.push({ op: 'agent-removed', id: old.id });
    }
  }
  if (req.name.toLowerCase() === ctx.managerName.toLowerCase()) return fail(ENROLMENT_ERRORS.invalidName(req.name));
  const sameName = view.agentByName(req.name);
  if (sameName && !removals.some((c) => c.op === 'agent-removed' && c.id === sameName.id)) {
    if (!replaceable(sameName, req.keyHash, ctx)) return fail(ENROLMENT_ERRORS.duplicateName(req.name));
    removals.push({ op: 'agent-removed', id: sameName.id });
  }
  const agent: AgentRecord = {
    id: view.nextAgentId(), name: req.name, ip: req.ip, key: ctx.newKey(), registeredAt: ctx.now,
    groups: req.groups ?? defaultGroups(view),
  };
  return { ok: true, changes: [...removals, { op: 'agent-added', agent }], result: agent };
}

/** New agents join `default` when it exists (an operator may run without it). */
function defaultGroups(view: RegistryView): string[] {
  return view.groupExists(DEFAULT_GROUP) ? [DEFAULT_GROUP] : [];
}

type Mutation = Exclude<RegistryCommand, { op: 'list-agents' | 'get-agent' | 'list-groups' | 'group-members' }>;
export type MutationDecision = Decision<RegistryResult | null, RegistryError>;

export function isMutation(cmd: RegistryCommand): cmd is Mutation {
  return !['list-agents', 'get-agent', 'list-groups', 'group-members'].includes(cmd.op);
}

const err = (code: RegistryError['code'], text: string): MutationDecision => ({ ok: false, error: { code, text } });
const unknownAgent = (id: number): MutationDecision => err('unknown-agent', `Agent '${formatAgentId(id)}' does not exist.`);
const unknownGroup = (group: string): MutationDecision => err('unknown-group', `Group '${group}' does not exist.`);
/** `result: null`: the actor fills in the revision once the changes are committed. */
const changes = (list: readonly RegistryChange[]): MutationDecision => ({ ok: true, changes: list, result: null });

/** What an operator command changes. Read-only commands are answered by the actor directly. */
export function decideMutation(view: RegistryView, cmd: Mutation, ctx: EnrolmentContext): MutationDecision {
  switch (cmd.op) {
    case 'add-agent': {
      const ip = cmd.ip ?? 'any';
      const missing = (cmd.groups ?? []).find((g) => !view.groupExists(g));
      if (missing !== undefined) return unknownGroup(missing);
      if (view.agentByName(cmd.name)) return err('duplicate-name', `Duplicate agent name: ${cmd.name}`);
      if (ip !== 'any' && view.agentsByIp(ip).length > 0) return err('duplicate-ip', `Duplicate IP: ${ip}`);
      const agent: AgentRecord = {
        id: view.nextAgentId(), name: cmd.name, ip, key: ctx.newKey(), registeredAt: ctx.now, groups: cmd.groups ?? defaultGroups(view),
      };
      return { ok: true, changes: [{ op: 'agent-added', agent }], result: { kind: 'agent', agent, revision: 0 } };
    }
    case 'remove-agent':
      return view.agentById(cmd.id) ? changes([{ op: 'agent-removed', id: cmd.id }]) : unknownAgent(cmd.id);
    case 'create-group':
      return view.groupExists(cmd.group) ? err('duplicate-group', `Group '${cmd.group}' already exists.`) : changes([{ op: 'group-created', group: cmd.group }]);
    case 'delete-group':
      return deleteGroup(view, cmd.group);
    case 'assign-group':
      return assignGroup(view, cmd.id, cmd.group, cmd.replace);
    case 'unassign-group':
      return unassignGroup(view, cmd.id, cmd.group);
    case 'choose-group':
      return chooseGroup(view, cmd.id, cmd.mergedSum, ctx.merged);
  }
}

/** Only an agent that still has no group gets one (Wazuh's empty_only mode): the set whose merged.mg it holds, else default. */
function chooseGroup(view: RegistryView, id: number, mergedSum: string | null, merged: ReadonlyMap<string, string>): MutationDecision {
  const agent = view.agentById(id);
  if (!agent) return unknownAgent(id);
  if (agent.groups.length > 0) return { ok: true, changes: [], result: { kind: 'agent', agent: recordOf(agent), revision: 0 } };
  const held = mergedSum === null ? undefined : [...merged].find(([csv, md5]) => md5 === mergedSum && csv.split(',').every((g) => view.groupExists(g)))?.[0];
  const groups = held ? held.split(',') : defaultGroups(view);
  if (groups.length === 0) return { ok: true, changes: [], result: { kind: 'agent', agent: recordOf(agent), revision: 0 } };
  return { ok: true, changes: [{ op: 'groups-set', id, groups }], result: { kind: 'agent', agent: { ...recordOf(agent), groups }, revision: 0 } };
}

function recordOf(a: RegistryAgent): AgentRecord {
  return { id: a.id, name: a.name, ip: a.ip, key: a.key, registeredAt: a.registeredAt, groups: [...a.groups] };
}

/** Members leave the group first; an agent left with none goes back to `default`, as in Wazuh. */
function deleteGroup(view: RegistryView, group: string): MutationDecision {
  if (group === DEFAULT_GROUP) return err('forbidden', 'The default group cannot be deleted.');
  if (!view.groupExists(group)) return unknownGroup(group);
  const moves: RegistryChange[] = view.members(group).map((a) => ({ op: 'groups-set', id: a.id, groups: withoutGroup(view, a.groups, group) }));
  return changes([...moves, { op: 'group-deleted', group }]);
}

function withoutGroup(view: RegistryView, groups: readonly string[], group: string): string[] {
  const rest = groups.filter((g) => g !== group);
  // Leaving `default` alone gives `default` back: unassignGroup refuses that as a no-op.
  return rest.length > 0 ? rest : defaultGroups(view);
}

function assignGroup(view: RegistryView, id: number, group: string, replace: boolean): MutationDecision {
  const agent = view.agentById(id);
  if (!agent) return unknownAgent(id);
  if (!view.groupExists(group)) return unknownGroup(group);
  const groups = replace ? [group] : agent.groups.includes(group) ? [...agent.groups] : [...agent.groups, group];
  if (groups.length > MAX_GROUPS_PER_AGENT) return err('limit', `Maximum multigroup reached: Limit is ${MAX_GROUPS_PER_AGENT}`);
  if (sameList(groups, agent.groups)) return err('invalid', `Agent '${formatAgentId(id)}' already belongs to group '${group}'.`);
  return changes([{ op: 'groups-set', id, groups }]);
}

function unassignGroup(view: RegistryView, id: number, group: string): MutationDecision {
  const agent = view.agentById(id);
  if (!agent) return unknownAgent(id);
  if (!view.groupExists(group)) return unknownGroup(group);
  if (!agent.groups.includes(group)) return err('invalid', `Agent '${formatAgentId(id)}' does not belong to group '${group}'.`);
  const groups = withoutGroup(view, agent.groups, group);
  if (sameList(groups, agent.groups)) return err('invalid', `Agent '${formatAgentId(id)}' belongs only to the default group.`);
  return changes([{ op: 'groups-set', id, groups }]);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
