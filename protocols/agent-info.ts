/**
 * Agent status as workers report it to the master (Wazuh's agent-info sync): one
 * update per agent, of three kinds as Wazuh's sync_status has them: `full` (a startup
 * or a keepalive that brought OS, version, checksums or labels), `keepalive` (only
 * liveness) and `status` (a connection status change, e.g. shutdown).
 */
import { z } from 'zod';
import { AgentIdSchema } from './registry.js';
import { AgentStatusSchema, type AgentStatus } from './agent-status.js';

const Text = (max: number) => z.string().max(max);
const Maybe = (max: number) => Text(max).nullable();

export const OsInfoSchema = z.strictObject({
  name: Maybe(256), platform: Maybe(256), version: Maybe(256), codename: Maybe(256),
  major: Maybe(64), minor: Maybe(64), build: Maybe(64), arch: Maybe(64),
});

export const AgentReportSchema = z.strictObject({
  uname: Text(1024),
  configSum: Maybe(64),
  mergedSum: Maybe(64),
  agentIp: Maybe(64),
  labels: Text(16_384),
  os: OsInfoSchema,
});
export type AgentReport = z.infer<typeof AgentReportSchema>;

/** Wazuh's status_code: 0 ok, 1 invalid version, 2 version missing, 3 shutdown, 4 no keepalive, 5 reset. */
export const AgentInfoUpdateSchema = z.strictObject({
  id: AgentIdSchema,
  kind: z.enum(['full', 'keepalive', 'status']),
  /** A worker reports contact, so never `never_connected`. */
  status: AgentStatusSchema.exclude(['never_connected']),
  statusCode: z.number().int().min(0).max(5),
  version: Maybe(128),
  /** When the worker saw it (ms epoch); the master keeps its own clock for keepalives, as Wazuh does. */
  at: z.number().nonnegative(),
  report: AgentReportSchema.nullable(),
});
export type AgentInfoUpdate = z.infer<typeof AgentInfoUpdateSchema>;

/** Most updates one frame carries. */
export const AGENT_INFO_BATCH = 5_000;

export const AgentInfoBody = z.strictObject({ updates: z.array(AgentInfoUpdateSchema).max(AGENT_INFO_BATCH) });
export const AgentInfoAckBody = z.strictObject({ stored: z.number().int().nonnegative(), unknown: z.number().int().nonnegative() });

const KIND_RANK = { keepalive: 0, status: 1, full: 2 } as const;

/**
 * Folds a newer update for the same agent into a pending one: the newest status wins,
 * the richer kind is kept (a full report is not downgraded by a keepalive after it),
 * and the newest report travels.
 */
export function foldUpdate(older: AgentInfoUpdate, newer: AgentInfoUpdate): AgentInfoUpdate {
  return {
    ...newer,
    kind: KIND_RANK[older.kind] > KIND_RANK[newer.kind] ? older.kind : newer.kind,
    report: newer.report ?? older.report,
    version: newer.version ?? older.version,
  };
}

/** One status change as the master logs it and fans it out (Redis stream, channel, hash). */
export interface AgentStatusEvent {
  /** The master's log number: strictly increasing, durable. */
  readonly seq: number;
  readonly id: number;
  readonly name: string;
  readonly status: AgentStatus;
  readonly node: string | null;
  readonly version: string | null;
  /** ms epoch. */
  readonly at: number;
}
