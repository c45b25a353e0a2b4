/**
 * A node's status as it leaves the process: in Redis (hash per node, pub/sub
 * channel) and in control-socket answers. Readers validate it like any frame.
 */
import { z } from 'zod';

export const ActorHealthSchema = z.strictObject({
  actors: z.number().int().nonnegative(),
  restarts: z.number().int().nonnegative(),
  /** Actors whose last restart is recent or that are waiting out a backoff. */
  unhealthy: z.number().int().nonnegative(),
});

export const NodeStatusSchema = z.strictObject({
  cluster: z.string(),
  node: z.string(),
  type: z.enum(['master', 'worker']),
  version: z.string(),
  address: z.string(),
  /** Master: always true. Worker: its link to the master is up. */
  connected: z.boolean(),
  /** ISO time of the last keepalive exchanged with the master (worker) or null. */
  lastKeepalive: z.string().nullable(),
  /** Master: names of the connected workers. Worker: empty. */
  workers: z.array(z.string()).max(10_000),
  actorHealth: ActorHealthSchema,
  /** The node's synced-set manifest: equal digests mean identical trees. */
  integrity: z.strictObject({
    revision: z.number().int().nonnegative(),
    files: z.number().int().nonnegative(),
    digest: z.string(),
    /** Worker: when its last sync from the master finished. */
    lastSync: z.string().nullable(),
  }).nullable(),
  /** ISO time this status was taken. */
  at: z.string(),
});

export type NodeStatus = z.infer<typeof NodeStatusSchema>;
