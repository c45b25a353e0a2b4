/**
 * The local control socket (`var/run/cluster.sock`) spoken by every CLI.
 */
import { z } from 'zod';
import { catalogue, type FrameOf, type BodyOf, type MessageType } from './envelope.js';
import { ClusterHealthSchema, NodeInfoSchema } from './cluster-messages.js';
import { NodeStatusSchema } from './node-status.js';
import { RegistryCommandSchema, RegistryOutcomeSchema } from './registry.js';

const Count = z.number().int().nonnegative();
const SummaryValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const ActorFiguresSchema = z.strictObject({
  path: z.string(),
  parent: z.string().nullable(),
  name: z.string(),
  status: z.enum(['running', 'restarting', 'stopped']),
  handled: z.number().int().nonnegative(),
  mailbox: z.number().int().nonnegative(),
  restarts: z.number().int().nonnegative(),
  lastError: z.strictObject({ message: z.string(), at: z.string() }).nullable(),
  summary: z.record(z.string(), SummaryValue),
});

export const ControlBodies = {
  // Requests
  'list-nodes': z.strictObject({}),
  'list-actors': z.strictObject({}),
  'get-status': z.strictObject({}),
  'get-health': z.strictObject({}),
  /** Test-only: refused unless cluster.json sets fault_injection. */
  'crash-actor': z.strictObject({ path: z.string().min(1).max(512) }),
  /** The agent messaging service's counters on this node. */
  'get-agent-service': z.strictObject({}),
  /** manage_agents, agent_groups, cluster_control -a: run by the master's registry. */
  'registry': z.strictObject({ command: RegistryCommandSchema }),
  // Replies
  'nodes': z.strictObject({ nodes: z.array(NodeInfoSchema).max(10_000) }),
  // An actor tree has tens of actors; the bound makes a junk list cheap to refuse.
  'actors': z.strictObject({ node: z.string(), actors: z.array(ActorFiguresSchema).max(10_000) }),
  'status': z.strictObject({ status: NodeStatusSchema }),
  'health': z.strictObject({ health: ClusterHealthSchema }),
  'done': z.strictObject({ detail: z.string() }),
  'registry-result': z.strictObject({ outcome: RegistryOutcomeSchema }),
  'agent-service': z.strictObject({
    agents: Count, messages: Count, events: Count, keepalives: Count, refused: Count, pushes: Count, tcp: Count, udpPeers: Count,
  }),
  'error': z.strictObject({ code: z.string().max(64), message: z.string().max(4096) }),
} as const;

export type ControlBodies = typeof ControlBodies;
export type ControlType = MessageType<ControlBodies>;
export type ControlBody<T extends ControlType> = BodyOf<ControlBodies, T>;
export type ControlFrame = FrameOf<ControlBodies>;
export const ControlCatalogue = catalogue('control', ControlBodies);
/** Agent lists of large fleets travel in one answer. */
export const CONTROL_MAX_FRAME_BYTES = 64 * 1024 * 1024;
