/**
 * Every message of the master–worker link. The handshake messages come first
 * (hello, challenge, proof, welcome, reject); the rest flow once a worker is admitted.
 * Requests and their replies pair up by `re` = the request's `id`.
 */
import { z } from 'zod';
import { catalogue, type FrameOf, type BodyOf, type MessageType } from './envelope.js';
import { REJECT_CODES } from './errors.js';
import { ManifestEntrySchema } from './integrity.js';
import { AgentInfoAckBody, AgentInfoBody } from './agent-info.js';
import {
  EnrolmentOutcomeSchema, ForwardedEnrolmentSchema, RegistryBeaconBody, RegistryChangesBody, RegistryCommandSchema,
  RegistryOutcomeSchema, RegistrySnapshotBody,
} from './registry.js';

/** Names as Wazuh's config accepts them: no spaces, bounded length. */
const Name = z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');
const Bytes32 = z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === 32, 'must be 32 bytes');
const Text = (max: number) => z.string().max(max);
const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const SyncId = z.string().regex(/^[0-9a-f]{16}$/);
const Count = z.number().int().nonnegative();
const RelPath = z.string().min(1).max(4096);
/** Most files a manifest or a plan may list in one frame. */
export const MAX_MANIFEST_ENTRIES = 200_000;

export const NodeInfoSchema = z.strictObject({
  name: Name,
  type: z.enum(['master', 'worker']),
  version: Text(64),
  address: Text(256),
});
export type NodeInfo = z.infer<typeof NodeInfoSchema>;

const Timespan = z.strictObject({ start: z.string(), end: z.string() }).nullable();

/** What the master knows of one worker, for `cluster_control -i`. */
export const WorkerHealthSchema = z.strictObject({
  info: NodeInfoSchema,
  lastKeepalive: z.string().nullable(),
  integrity: z.strictObject({
    syncing: z.boolean(),
    checks: Count,
    syncs: Count,
    lastCheck: Timespan,
    lastSync: Timespan,
    lastFiles: z.strictObject({ created: Count, updated: Count, deleted: Count }).nullable(),
    lastOutcome: Text(4096).nullable(),
  }),
});

export const ClusterHealthSchema = z.strictObject({
  cluster: Name,
  master: NodeInfoSchema,
  integrity: z.strictObject({ revision: Count, files: Count, digest: z.string() }).nullable(),
  workers: z.array(WorkerHealthSchema).max(10_000),
});

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
  'health-request': z.strictObject({}),
  health: z.strictObject({ health: ClusterHealthSchema }),
  error: z.strictObject({ code: Text(64), message: Text(4096) }),
  // Integrity sync. The master announces each new manifest; a worker checks with a
  // digest, sends its manifest when they differ, gets a plan and then the files.
  'integrity-notice': z.strictObject({ revision: Count, digest: Hex64 }),
  'integrity-check': z.strictObject({ digest: Hex64, files: Count, entries: z.array(ManifestEntrySchema).max(MAX_MANIFEST_ENTRIES).optional() }),
  'integrity-result': z.strictObject({ status: z.enum(['in-sync', 'need-manifest', 'busy', 'not-ready']), revision: Count, files: Count }),
  'integrity-plan': z.strictObject({
    syncId: SyncId,
    revision: Count,
    files: Count,
    create: z.array(ManifestEntrySchema).max(MAX_MANIFEST_ENTRIES),
    update: z.array(ManifestEntrySchema).max(MAX_MANIFEST_ENTRIES),
    delete: z.array(RelPath).max(MAX_MANIFEST_ENTRIES),
    deferred: Count,
    tooLarge: z.array(RelPath).max(MAX_MANIFEST_ENTRIES),
    bytes: Count,
  }),
  /** One chunk of one file: deflate-raw of at most SYNC_CHUNK_BYTES raw bytes. `md5` on the last chunk. */
  'sync-data': z.strictObject({
    syncId: SyncId,
    path: RelPath,
    offset: Count,
    rawSize: Count,
    data: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes'),
    last: z.boolean(),
    md5: z.string().regex(/^[0-9a-f]{32}$/).optional(),
    /** The file vanished on the master after the plan was made. */
    gone: z.boolean().optional(),
  }),
  /** The worker accepted the plan (its paths passed every check) or refused it; the master streams only after this. */
  'sync-start': z.strictObject({ syncId: SyncId, accept: z.boolean(), reason: Text(4096).optional() }),
  'sync-end': z.strictObject({ syncId: SyncId, ok: z.boolean(), error: Text(4096).optional() }),
  'sync-applied': z.strictObject({
    syncId: SyncId, ok: z.boolean(), created: Count, updated: Count, deleted: Count, ms: z.number().nonnegative(), error: Text(4096).optional(),
  }),
  bye: z.strictObject({ reason: Text(1024) }),
  // The agent registry. The master pushes every committed change in revision order and a
  // periodic beacon; a worker that finds a gap or a checksum mismatch asks to catch up.
  'registry-changes': RegistryChangesBody,
  'registry-beacon': RegistryBeaconBody,
  /** Worker → master: changes after `since`, or a full snapshot when `full` (or when the log no longer reaches back). */
  'registry-catchup': z.strictObject({ since: Count, full: z.boolean() }),
  /** Reply to a catch-up that needs a snapshot: `parts` registry-snapshot frames follow. */
  'registry-snapshot-follows': z.strictObject({ revision: Count, parts: Count, agents: Count }),
  'registry-snapshot': RegistrySnapshotBody,
  /** An agent enrolled through a worker; the master decides and answers `enrol-result`. */
  'enrol-request': z.strictObject({ request: ForwardedEnrolmentSchema }),
  'enrol-result': z.strictObject({ outcome: EnrolmentOutcomeSchema }),
  /** manage_agents, agent_groups and cluster_control -a run on a worker: executed by the master. */
  'registry-request': z.strictObject({ command: RegistryCommandSchema }),
  'registry-result': z.strictObject({ outcome: RegistryOutcomeSchema }),
  /** Worker → master: status of the agents connected there; the master acknowledges what it stored. */
  'agent-info': AgentInfoBody,
  'agent-info-ack': AgentInfoAckBody,
} as const;

export type ClusterBodies = typeof ClusterBodies;
export type WorkerHealth = z.infer<typeof WorkerHealthSchema>;
export type ClusterHealth = z.infer<typeof ClusterHealthSchema>;
export type ClusterType = MessageType<ClusterBodies>;
export type ClusterBody<T extends ClusterType> = BodyOf<ClusterBodies, T>;
export type ClusterFrame = FrameOf<ClusterBodies>;
/** The only fields that carry bytes: handshake nonces and proofs, sync-data chunks. */
export const ClusterCatalogue = catalogue('cluster', ClusterBodies, ['nonce', 'proof', 'data']);

/** Link limits: the largest frame the cluster link accepts. Files travel in chunks below it. */
export const CLUSTER_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Until the handshake is over: hello, challenge, proof and reject are a few hundred bytes. */
export const CLUSTER_HANDSHAKE_MAX_FRAME_BYTES = 64 * 1024;
/** Raw bytes per sync-data chunk: also the bound on what one chunk may inflate to. */
export const SYNC_CHUNK_BYTES = 1024 * 1024;
