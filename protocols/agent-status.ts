/**
 * An agent's connection status, as Wazuh's global.db `connection_status` holds it:
 * the one list every layer reads (registry database, Redis fan-out, control answers,
 * operator tools).
 */
import { z } from 'zod';

/** In lifecycle order: enrolled, first contact, keepalives arriving, gone quiet. */
export const AGENT_STATUSES = ['never_connected', 'pending', 'active', 'disconnected'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

export const AgentStatusSchema = z.enum(AGENT_STATUSES);

export function isAgentStatus(value: unknown): value is AgentStatus {
  return (AGENT_STATUSES as readonly unknown[]).includes(value);
}
