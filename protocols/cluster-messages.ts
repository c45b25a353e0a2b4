/**
 * Every message of the master–worker link. The handshake messages come first
 * (hello, challenge, proof, welcome, reject); the rest flow once a worker is admitted.
 * Requests and their replies pair up by `re` = the request's `id`.
 */
import { z } from 'zod';
import { catalogue, type FrameOf, type BodyOf, type MessageType } from './envelope.js';
import { REJECT_CODES } from './errors.js';

/** Names as Wazuh's config accepts them: no spaces, bounded length. */
const Name = z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');
const Bytes32 = z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === 32, 'must be 32 bytes');
const Text = (max: number) => z.string().max(max);

export const NodeInfoSchema = z.strictObject({
  name: Name,
  type: z.enum(['master', 'worker']),
  version: Text(64),
  address: Text(256),
});
export type NodeInfo = z.infer<typeof NodeInfoSchema>;

export const ClusterBodies = {
  hello: z.strictObject({
    protocol: z.number().int().min(0).max(0xffff),
    cluster: Name,
    node: Name,
    nodeType: z.enum(['master', 'worker']),
    version: Text(64),
    nonce: Bytes32,
  }),
  challenge: z.strictObject({ node: Name, nonce: Bytes32, proof: Bytes32 }),
  proof: z.strictObject({ proof: Bytes32 }),
  welcome: z.strictObject({ master: NodeInfoSchema, address: Text(256) }),
  reject: z.strictObject({ code: z.enum(REJECT_CODES), detail: Text(1024) }),
  keepalive: z.strictObject({ sentAt: z.number() }),
  'keepalive-ack': z.strictObject({ at: z.number() }),
  ping: z.strictObject({}),
  pong: z.strictObject({}),
  'nodes-request': z.strictObject({}),
  nodes: z.strictObject({ nodes: z.array(NodeInfoSchema).max(10_000) }),
  error: z.strictObject({ code: Text(64), message: Text(4096) }),
  bye: z.strictObject({ reason: Text(1024) }),
} as const;

export type ClusterBodies = typeof ClusterBodies;
export type ClusterType = MessageType<ClusterBodies>;
export type ClusterBody<T extends ClusterType> = BodyOf<ClusterBodies, T>;
export type ClusterFrame = FrameOf<ClusterBodies>;
export const ClusterCatalogue = catalogue('cluster', ClusterBodies);

/** Link limits: the largest frame the cluster link accepts. Files travel in chunks below it. */
export const CLUSTER_MAX_FRAME_BYTES = 16 * 1024 * 1024;
