/**
 * The agent registry as it crosses process boundaries: the ordered change log the
 * master writes and every worker replays (keys and groups in one log, so a group
 * assignment can never reach a worker before the agent it names), the full snapshot
 * a lagging worker receives instead, and the operator commands (manage_agents,
 * agent_groups, cluster_control -a) with their results.
 */
import { z } from 'zod';
import { AgentStatusSchema } from './agent-status.js';

/** Wazuh: 2 to 128 characters of [A-Za-z0-9._-]. */
export const AGENT_NAME_RE = /^[A-Za-z0-9._-]{2,128}$/;
/** Wazuh: group names as enrolment and agent_groups accept them. */
export const GROUP_NAME_RE = /^[a-zA-Z0-9_.-]{1,255}$/;
export const MAX_GROUPS_PER_AGENT = 128;
export const DEFAULT_GROUP = 'default';

export const AgentNameSchema = z.string().regex(AGENT_NAME_RE, 'agent names are 2 to 128 characters of A-Z a-z 0-9 . _ -');
export const GroupNameSchema = z.string().regex(GROUP_NAME_RE, 'group names are 1 to 255 characters of A-Z a-z 0-9 . _ -')
  .refine((g) => g !== '.' && g !== '..', 'a group cannot be named . or ..');
/** Agent ids travel as numbers; `formatAgentId` gives Wazuh's zero-padded form. */
export const AgentIdSchema = z.number().int().min(1).max(99_999_999);
/** We issue 64 hex characters; a key migrated from a Wazuh client.keys may be any 1 to 128 of these. */
const KeySchema = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'keys are 1 to 128 characters of A-Z a-z 0-9 . _ -');
/** `any`, an IPv4/IPv6 address or a CIDR; checked in full by the enrolment rules. */
const AgentIpSchema = z.string().min(1).max(64).regex(/^[0-9A-Fa-f.:/]+$|^any$/);
const GroupListSchema = z.array(GroupNameSchema).max(MAX_GROUPS_PER_AGENT);
const Revision = z.number().int().nonnegative();

export function formatAgentId(id: number): string {
  return String(id).padStart(3, '0');
}

/** Wazuh's per-agent group hash: first 8 hex characters of SHA-256 of the CSV (see groups-checksum). */
export const AgentRecordSchema = z.strictObject({
  id: AgentIdSchema,
  name: AgentNameSchema,
  ip: AgentIpSchema,
  key: KeySchema,
  /** Registration time, ms since the epoch. */
  registeredAt: z.number().int().nonnegative(),
  /** In priority order: later groups win when merged. */
  groups: GroupListSchema,
});
export type AgentRecord = z.infer<typeof AgentRecordSchema>;

export const RegistryChangeSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('agent-added'), agent: AgentRecordSchema }),
  z.strictObject({ op: z.literal('agent-removed'), id: AgentIdSchema }),
  z.strictObject({ op: z.literal('groups-set'), id: AgentIdSchema, groups: GroupListSchema }),
  z.strictObject({ op: z.literal('group-created'), group: GroupNameSchema }),
  z.strictObject({ op: z.literal('group-deleted'), group: GroupNameSchema }),
]);
export type RegistryChange = z.infer<typeof RegistryChangeSchema>;

export const RevisedChangeSchema = z.strictObject({ rev: z.number().int().positive(), change: RegistryChangeSchema });
export type RevisedChange = z.infer<typeof RevisedChangeSchema>;

/** Most changes or agents one cluster frame carries; bigger sets travel in several. */
export const REGISTRY_BATCH = 5_000;

export const RegistryChangesBody = z.strictObject({ changes: z.array(RevisedChangeSchema).max(REGISTRY_BATCH) });
/** One part of a full snapshot: `last` closes it; the worker swaps its replica only then. */
export const RegistrySnapshotBody = z.strictObject({
  revision: Revision,
  part: z.number().int().nonnegative(),
  groups: z.array(GroupNameSchema).max(100_000),
  agents: z.array(AgentRecordSchema).max(REGISTRY_BATCH),
  last: z.boolean(),
});
export type RegistrySnapshotPart = z.infer<typeof RegistrySnapshotBody>;
/** The periodic beacon (Wazuh's sync_agent_groups broadcast): where the master's log stands. */
export const RegistryBeaconBody = z.strictObject({ revision: Revision, checksum: z.string().regex(/^[0-9a-f]{40}$/) });

// ---- Operator commands: the same union on the control socket and forwarded to the master.

const AgentRef = z.strictObject({ id: AgentIdSchema });
export const RegistryCommandSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('add-agent'), name: AgentNameSchema, ip: AgentIpSchema.optional(), groups: GroupListSchema.optional() }),
  z.strictObject({ op: z.literal('remove-agent'), ...AgentRef.shape }),
  z.strictObject({ op: z.literal('list-agents') }),
  z.strictObject({ op: z.literal('get-agent'), ...AgentRef.shape }),
  z.strictObject({ op: z.literal('create-group'), group: GroupNameSchema }),
  z.strictObject({ op: z.literal('delete-group'), group: GroupNameSchema }),
  z.strictObject({ op: z.literal('assign-group'), ...AgentRef.shape, group: GroupNameSchema, replace: z.boolean() }),
  z.strictObject({ op: z.literal('unassign-group'), ...AgentRef.shape, group: GroupNameSchema }),
  z.strictObject({ op: z.literal('list-groups') }),
  z.strictObject({ op: z.literal('group-members'), group: GroupNameSchema }),
  /** An agent without a group sent its first keepalive: the group whose merged.mg it holds, else default (Wazuh's assigngroup). */
  z.strictObject({ op: z.literal('choose-group'), ...AgentRef.shape, mergedSum: z.string().max(64).nullable() }),
]);
export type RegistryCommand = z.infer<typeof RegistryCommandSchema>;

/** What `cluster_control -a` and `manage_agents -l` show of one agent. */
export const AgentSummarySchema = z.strictObject({
  id: AgentIdSchema,
  name: AgentNameSchema,
  ip: AgentIpSchema,
  registeredAt: z.number().int().nonnegative(),
  groups: GroupListSchema,
  status: AgentStatusSchema,
  node: z.string().max(256).nullable(),
  version: z.string().max(256).nullable(),
  lastKeepalive: z.number().int().nonnegative().nullable(),
});
export type AgentSummary = z.infer<typeof AgentSummarySchema>;

export const GroupSummarySchema = z.strictObject({ name: GroupNameSchema, agents: z.number().int().nonnegative(), mergedSum: z.string().nullable() });
export type GroupSummary = z.infer<typeof GroupSummarySchema>;

export const RegistryResultSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('agent'), agent: AgentRecordSchema, revision: Revision }),
  z.strictObject({ kind: z.literal('agents'), agents: z.array(AgentSummarySchema), unassigned: z.number().int().nonnegative() }),
  z.strictObject({ kind: z.literal('groups'), groups: z.array(GroupSummarySchema), unassigned: z.number().int().nonnegative() }),
  z.strictObject({ kind: z.literal('done'), detail: z.string().max(4096), revision: Revision }),
]);
export type RegistryResult = z.infer<typeof RegistryResultSchema>;

/** Why a registry command was refused; `text` is what the operator reads. */
export const RegistryErrorSchema = z.strictObject({
  code: z.enum(['unknown-agent', 'unknown-group', 'duplicate-name', 'duplicate-ip', 'duplicate-group', 'invalid', 'forbidden', 'limit', 'not-master', 'internal']),
  text: z.string().max(4096),
});
export type RegistryError = z.infer<typeof RegistryErrorSchema>;

// ---- Enrolment as a worker forwards it to the master (Wazuh's authd sendsync).

/** A request the receiving node already parsed and checked; the master decides the rest. */
export const ForwardedEnrolmentSchema = z.strictObject({
  name: AgentNameSchema,
  /** `any` or the address to store (a worker resolves `src` to the agent's source address). */
  ip: AgentIpSchema,
  groups: GroupListSchema.nullable(),
  keyHash: z.string().regex(/^[0-9a-f]{40}$/).nullable(),
  version: z.string().max(64).nullable(),
});
export type ForwardedEnrolment = z.infer<typeof ForwardedEnrolmentSchema>;

/** The master's decision: the agent and the revision that holds it, or the exact error text for the agent. */
export const EnrolmentOutcomeSchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), agent: AgentRecordSchema, revision: Revision }),
  z.strictObject({ ok: z.literal(false), error: z.string().max(4096) }),
]);
export type EnrolmentOutcome = z.infer<typeof EnrolmentOutcomeSchema>;

export const RegistryOutcomeSchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), result: RegistryResultSchema }),
  z.strictObject({ ok: z.literal(false), error: RegistryErrorSchema }),
]);
export type RegistryOutcome = z.infer<typeof RegistryOutcomeSchema>;

/** Every group, and every multigroup in use: the merged.mg files the registry keeps. */
export function groupSets(view: { groups(): readonly { name: string }[]; agents(): readonly { groups: readonly string[] }[] }): (readonly string[])[] {
  const sets = new Map<string, readonly string[]>();
  for (const g of view.groups()) sets.set(g.name, [g.name]);
  for (const a of view.agents()) if (a.groups.length > 1) sets.set(a.groups.join(','), a.groups);
  return [...sets.values()];
}
