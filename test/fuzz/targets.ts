/**
 * One fuzz target per decoder that takes untrusted input: a valid sample, a case
 * generator (mostly mutated samples, some built from scratch), and `run`, which calls
 * the decoder the way the runtime does. A decoder's documented error class is a pass;
 * any other exception, a broken invariant, a case slower than the hang limit, or a case
 * that needs more heap than the worker has, is a crash.
 *
 * Cases are numbered: case i of a target is generated from (seed, target, i) alone, so
 * a case can be rebuilt anywhere (the watchdog rebuilds the input of a case it had to
 * kill). The first cases of every target are a sweep: each of a few samples truncated
 * at every point.
 *
 * The bottom of this file runs cases in a worker thread under a watchdog: a case that
 * never returns is killed and reported as a hang, one that exhausts the worker's heap
 * as unbounded memory, and the run continues after it.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Packr } from 'msgpackr';
import { FrameDecoder, encodeFrame, FRAME_HEADER_BYTES, FRAME_MAGIC, FRAME_FORMAT } from '../../protocols/frame-codec.js';
import { decodePayload, encodePayload } from '../../protocols/envelope.js';
import { FrameError, REJECT_CODES } from '../../protocols/errors.js';
import { ClusterCatalogue, CLUSTER_MAX_FRAME_BYTES, type ClusterFrame } from '../../protocols/cluster-messages.js';
import { ControlCatalogue, CONTROL_MAX_FRAME_BYTES } from '../../protocols/control-messages.js';
import { MasterHandshake, WorkerHandshake, admissionCheck, transcript, type LocalIdentity } from '../../protocols/handshake.js';
import { parseEnrolmentLine, agentVersionTooHigh, errorAnswer, MANAGER_VERSION } from '../../protocols/enrolment.js';
import { DecodeError, decodeSecure, encodeSecure, splitSender, type AgentKeyMaterial, type Cipher } from '../../protocols/secure-message.js';
import { AGENT_MAX_FRAME, AgentFrameDecoder, AgentFrameError, frameAgentMessage } from '../../protocols/agent-framing.js';
import { bareVersion, classifyAgentMessage, eventLine, parseUname, startupAnswer } from '../../protocols/agent-messages.js';
import { aesKey, deriveEncryptionKey, parseClientKeys } from '../../protocols/agent-keys.js';
import { checkSyncPath, fromEntries, itemOf, manifestDigest } from '../../protocols/integrity.js';
import { AGENT_NAME_RE, GROUP_NAME_RE, MAX_GROUPS_PER_AGENT } from '../../protocols/registry.js';
import { AGENT_STATUSES } from '../../protocols/agent-status.js';
import { blowfishCbcEncrypt } from '../../protocols/blowfish.js';
import { CLUSTERD_VERSION, PROTOCOL_VERSION } from '../../protocols/version.js';
import { ENGINE_TARGETS } from './engine-targets.js';
import {
  Rng, hostileString, inflateArrays, mutateBytes, mutateText, mutateValue, nest, randomBytes, randomMsgpack, randomText, randomValue,
  corruptLengthAt, INTERESTING_U32, type ByteContext, type TextContext, type ValueContext,
} from './generators.js';

export type FuzzInput = Buffer | string;

export interface FuzzProfile {
  /** The largest "huge" string, array or repeat a mutation builds. */
  readonly hugeMax: number;
}

/** The CI run: huge values stay small enough for a whole run to take seconds. */
export const CI_PROFILE: FuzzProfile = { hugeMax: 20_000 };
/** The long run: huge values as large as the frame limits allow the protocols to carry. */
export const LONG_PROFILE: FuzzProfile = { hugeMax: 300_000 };

export interface FuzzTarget {
  readonly name: string;
  /** What is fuzzed and what counts as a pass. */
  readonly about: string;
  /** A valid corpus item (the same rng, the same sample). */
  sample(rng?: Rng): FuzzInput;
  /** One fuzz case. */
  generate(rng: Rng, profile: FuzzProfile): FuzzInput;
  /** Calls the decoder; its documented error class is a pass, anything else thrown is a crash. */
  run(input: FuzzInput): void;
  /** Runs a fresh valid sample and checks the result: catches state a bad input left behind. */
  check?(rng: Rng): void;
}

/** A decoder broke one of its own promises (a bound, a round trip); always a crash. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantError';
  }
}

function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new InvariantError(message);
}

const asBuffer = (input: FuzzInput): Buffer => (typeof input === 'string' ? Buffer.from(input, 'latin1') : input);
const asText = (input: FuzzInput): string => (typeof input === 'string' ? input : input.toString('latin1'));
const hex = (rng: Rng, n: number): string => rng.bytes(Math.ceil(n / 2)).toString('hex').slice(0, n);

/** Bytes a socket read delivers at most; tiny chunks are only made of the first this many bytes. */
const READ_BYTES = 65_536;

/**
 * Chunk boundaries derived from the input itself, so `run` stays a function of its input.
 * Whole, byte by byte, a few bytes at a time, or random sizes; the byte-by-byte and few-byte
 * modes cover the first 64 KiB only and the rest comes as socket reads do (a peer cannot
 * make megabytes arrive one byte per read at any useful rate).
 */
function chunksOf(input: Buffer): Buffer[] {
  const rng = Rng.from(input.length, input[0] ?? -1, input[input.length >> 1] ?? -1, input[input.length - 1] ?? -1);
  const mode = rng.int(4);
  if (mode === 0 || input.length === 0) return [input];
  const out: Buffer[] = [];
  let at = 0;
  while (at < input.length) {
    const tiny = at < READ_BYTES && mode !== 3;
    const n = tiny ? (mode === 1 ? 1 : 1 + rng.int(8)) : 1 + rng.size(READ_BYTES - 1);
    out.push(input.subarray(at, at + n));
    at += n;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Cluster and control envelopes

const B32 = (rng: Rng): Uint8Array => new Uint8Array(rng.bytes(32));
const NODE_NAMES = ['master', 'worker-1', 'w2', 'node_3.x', 'a'];
const SYNC_PATHS = [
  'etc/client.keys', 'etc/shared/default/agent.conf', 'etc/shared/default/merged.mg', 'etc/shared/web/sub/dir/file.txt',
  'var/multigroups/0a1b2c3d/merged.mg', 'etc/rules/local_rules.xml', 'etc/decoders/local_decoder.xml', 'etc/lists/audit-keys',
  'etc/sca/custom.yml',
];
const AGENT_NAMES = ['web01', 'db-2', 'agent.x', 'a_b', 'WIN-SRV-2019'];
const GROUPS = ['default', 'web', 'db', 'linux-prod', 'g.1'];

const nodeInfo = (rng: Rng): Record<string, unknown> => ({
  name: rng.pick(NODE_NAMES), type: rng.pick(['master', 'worker']), version: CLUSTERD_VERSION, address: rng.pick(['10.0.0.2', '127.0.0.1', '::1']),
});
const manifestEntry = (rng: Rng): Record<string, unknown> => ({ path: rng.pick(SYNC_PATHS), md5: hex(rng, 32), size: rng.int(100_000) });
const list = <T>(rng: Rng, max: number, item: (rng: Rng) => T): T[] => Array.from({ length: rng.int(max + 1) }, () => item(rng));
const someGroups = (rng: Rng): string[] => [...new Set(list(rng, 3, (r) => r.pick(GROUPS)))];
const agentRecord = (rng: Rng): Record<string, unknown> => ({
  id: rng.between(1, 99_999), name: rng.pick(AGENT_NAMES), ip: rng.pick(['any', '10.0.0.1', '10.0.0.0/24', 'fd00::1']), key: hex(rng, 64),
  registeredAt: 1_700_000_000_000 + rng.int(1e9), groups: someGroups(rng),
});
const isoTime = (rng: Rng): string => new Date(1_700_000_000_000 + rng.int(1e10)).toISOString();
const timespan = (rng: Rng): Record<string, unknown> | null => (rng.chance(0.3) ? null : { start: isoTime(rng), end: isoTime(rng) });

function registryCommand(rng: Rng): Record<string, unknown> {
  const id = rng.between(1, 99_999);
  const group = rng.pick(GROUPS);
  return rng.pick<() => Record<string, unknown>>([
    () => ({ op: 'add-agent', name: rng.pick(AGENT_NAMES), ip: 'any', groups: someGroups(rng) }),
    () => ({ op: 'add-agent', name: rng.pick(AGENT_NAMES) }),
    () => ({ op: 'remove-agent', id }),
    () => ({ op: 'list-agents' }),
    () => ({ op: 'get-agent', id }),
    () => ({ op: 'create-group', group }),
    () => ({ op: 'delete-group', group }),
    () => ({ op: 'assign-group', id, group, replace: rng.chance(0.5) }),
    () => ({ op: 'unassign-group', id, group }),
    () => ({ op: 'list-groups' }),
    () => ({ op: 'group-members', group }),
    () => ({ op: 'choose-group', id, mergedSum: rng.chance(0.5) ? null : hex(rng, 32) }),
  ])();
}

function registryOutcome(rng: Rng): Record<string, unknown> {
  if (rng.chance(0.3)) return { ok: false, error: { code: rng.pick(['unknown-agent', 'invalid', 'not-master', 'internal']), text: 'no such agent' } };
  const result = rng.pick<() => Record<string, unknown>>([
    () => ({ kind: 'agent', agent: agentRecord(rng), revision: rng.int(1000) }),
    () => ({
      kind: 'agents', unassigned: rng.int(5), agents: list(rng, 3, (r) => ({
        id: r.between(1, 999), name: r.pick(AGENT_NAMES), ip: 'any', registeredAt: 1, groups: someGroups(r),
        status: r.pick(AGENT_STATUSES), node: r.chance(0.5) ? null : 'w1',
        version: r.chance(0.5) ? null : 'Wazuh v4.14.5', lastKeepalive: r.chance(0.5) ? null : 1_700_000_000_000,
      })),
    }),
    () => ({ kind: 'groups', unassigned: 0, groups: list(rng, 3, (r) => ({ name: r.pick(GROUPS), agents: r.int(10), mergedSum: r.chance(0.5) ? null : hex(r, 32) })) }),
    () => ({ kind: 'done', detail: 'Agent removed', revision: rng.int(100) }),
  ])();
  return { ok: true, result };
}

function agentInfoUpdate(rng: Rng): Record<string, unknown> {
  const maybe = (v: string): string | null => (rng.chance(0.3) ? null : v);
  return {
    id: rng.between(1, 9999), kind: rng.pick(['full', 'keepalive', 'status']), status: rng.pick(['pending', 'active', 'disconnected']),
    statusCode: rng.int(6), version: maybe('Wazuh v4.14.5'), at: 1_700_000_000_000 + rng.int(1e9),
    report: rng.chance(0.3) ? null : {
      uname: 'Linux |web01 |5.15 |#1 SMP |x86_64 [Ubuntu|ubuntu: 22.04.2 LTS (Jammy Jellyfish)]', configSum: maybe(hex(rng, 32)),
      mergedSum: maybe(hex(rng, 32)), agentIp: maybe('10.0.2.15'), labels: rng.chance(0.5) ? '' : '"env":ci',
      os: { name: maybe('Ubuntu'), platform: maybe('ubuntu'), version: maybe('22.04.2 LTS'), codename: maybe('Jammy Jellyfish'), major: maybe('22'), minor: maybe('04'), build: null, arch: maybe('x86_64') },
    },
  };
}

const workerHealth = (rng: Rng): Record<string, unknown> => ({
  info: nodeInfo(rng), lastKeepalive: rng.chance(0.5) ? null : isoTime(rng),
  integrity: {
    syncing: rng.chance(0.5), checks: rng.int(100), syncs: rng.int(100), lastCheck: timespan(rng), lastSync: timespan(rng),
    lastFiles: rng.chance(0.5) ? null : { created: rng.int(9), updated: rng.int(9), deleted: rng.int(9) }, lastOutcome: rng.chance(0.5) ? null : 'ok',
  },
});
const clusterHealth = (rng: Rng): Record<string, unknown> => ({
  cluster: 'wazuh', master: nodeInfo(rng), integrity: rng.chance(0.3) ? null : { revision: rng.int(99), files: rng.int(999), digest: hex(rng, 64) },
  workers: list(rng, 3, workerHealth),
});

const CLUSTER_BODIES: Readonly<Record<string, (rng: Rng) => unknown>> = {
  hello: (rng) => ({ protocol: PROTOCOL_VERSION, cluster: 'wazuh', node: rng.pick(NODE_NAMES), nodeType: rng.pick(['master', 'worker']), version: CLUSTERD_VERSION, nonce: B32(rng) }),
  challenge: (rng) => ({ node: rng.pick(NODE_NAMES), nonce: B32(rng), proof: B32(rng) }),
  proof: (rng) => ({ proof: B32(rng) }),
  welcome: (rng) => ({ master: nodeInfo(rng), address: '10.0.0.2' }),
  reject: (rng) => ({ code: rng.pick(REJECT_CODES), detail: rng.pick(['', 'worker-1', 'bad key']) }),
  keepalive: (rng) => ({ sentAt: 1_700_000_000_000 + rng.int(1e9) }),
  'keepalive-ack': (rng) => ({ at: 1_700_000_000_000 + rng.int(1e9) }),
  ping: () => ({}),
  pong: () => ({}),
  'nodes-request': () => ({}),
  nodes: (rng) => ({ nodes: list(rng, 4, nodeInfo) }),
  'health-request': () => ({}),
  health: (rng) => ({ health: clusterHealth(rng) }),
  error: (rng) => ({ code: rng.pick(['invalid-message', 'timeout', 'x']), message: 'something went wrong' }),
  'integrity-notice': (rng) => ({ revision: rng.int(1000), digest: hex(rng, 64) }),
  'integrity-check': (rng) => ({ digest: hex(rng, 64), files: rng.int(1000), ...(rng.chance(0.5) ? { entries: list(rng, 4, manifestEntry) } : {}) }),
  'integrity-result': (rng) => ({ status: rng.pick(['in-sync', 'need-manifest', 'busy', 'not-ready']), revision: rng.int(99), files: rng.int(99) }),
  'integrity-plan': (rng) => ({
    syncId: hex(rng, 16), revision: rng.int(99), files: rng.int(99), create: list(rng, 3, manifestEntry), update: list(rng, 3, manifestEntry),
    delete: list(rng, 3, (r) => r.pick(SYNC_PATHS)), deferred: rng.int(5), tooLarge: list(rng, 2, (r) => r.pick(SYNC_PATHS)), bytes: rng.int(1e6),
  }),
  'sync-data': (rng) => ({
    syncId: hex(rng, 16), path: rng.pick(SYNC_PATHS), offset: rng.int(1e6), rawSize: rng.int(1e6), data: new Uint8Array(rng.bytes(rng.size(64))),
    last: rng.chance(0.5), ...(rng.chance(0.5) ? { md5: hex(rng, 32) } : {}), ...(rng.chance(0.2) ? { gone: rng.chance(0.5) } : {}),
  }),
  'sync-start': (rng) => ({ syncId: hex(rng, 16), accept: rng.chance(0.5), ...(rng.chance(0.5) ? { reason: 'path outside the synced folders' } : {}) }),
  'sync-end': (rng) => ({ syncId: hex(rng, 16), ok: rng.chance(0.5), ...(rng.chance(0.5) ? { error: 'md5 mismatch' } : {}) }),
  'sync-applied': (rng) => ({
    syncId: hex(rng, 16), ok: rng.chance(0.5), created: rng.int(9), updated: rng.int(9), deleted: rng.int(9), ms: rng.float() * 100,
    ...(rng.chance(0.5) ? { error: 'disk full' } : {}),
  }),
  bye: () => ({ reason: 'master shutting down' }),
  'registry-changes': (rng) => ({
    changes: list(rng, 4, (r) => ({
      rev: r.between(1, 1e6),
      change: r.pick<() => Record<string, unknown>>([
        () => ({ op: 'agent-added', agent: agentRecord(r) }),
        () => ({ op: 'agent-removed', id: r.between(1, 999) }),
        () => ({ op: 'groups-set', id: r.between(1, 999), groups: someGroups(r) }),
        () => ({ op: 'group-created', group: r.pick(GROUPS) }),
        () => ({ op: 'group-deleted', group: r.pick(GROUPS) }),
      ])(),
    })),
  }),
  'registry-beacon': (rng) => ({ revision: rng.int(1e6), checksum: hex(rng, 40) }),
  'registry-catchup': (rng) => ({ since: rng.int(1e6), full: rng.chance(0.5) }),
  'registry-snapshot-follows': (rng) => ({ revision: rng.int(1e6), parts: rng.int(9), agents: rng.int(9999) }),
  'registry-snapshot': (rng) => ({ revision: rng.int(1e6), part: rng.int(9), groups: someGroups(rng), agents: list(rng, 3, agentRecord), last: rng.chance(0.5) }),
  'enrol-request': (rng) => ({
    request: { name: rng.pick(AGENT_NAMES), ip: rng.pick(['any', '10.0.0.9']), groups: rng.chance(0.5) ? null : someGroups(rng), keyHash: rng.chance(0.5) ? null : hex(rng, 40), version: rng.chance(0.3) ? null : 'v4.14.5' },
  }),
  'enrol-result': (rng) => ({ outcome: rng.chance(0.5) ? { ok: true, agent: agentRecord(rng), revision: rng.int(99) } : { ok: false, error: 'ERROR: Duplicate agent name: web01' } }),
  'registry-request': (rng) => ({ command: registryCommand(rng) }),
  'registry-result': (rng) => ({ outcome: registryOutcome(rng) }),
  'agent-info': (rng) => ({ updates: list(rng, 3, agentInfoUpdate) }),
  'agent-info-ack': (rng) => ({ stored: rng.int(99), unknown: rng.int(9) }),
};

const CONTROL_BODIES: Readonly<Record<string, (rng: Rng) => unknown>> = {
  'list-nodes': () => ({}),
  'list-actors': () => ({}),
  'get-status': () => ({}),
  'get-health': () => ({}),
  'crash-actor': (rng) => ({ path: rng.pick(['/master/integrity', '/x']) }),
  'get-agent-service': () => ({}),
  registry: (rng) => ({ command: registryCommand(rng) }),
  nodes: (rng) => ({ nodes: list(rng, 4, nodeInfo) }),
  actors: (rng) => ({
    node: 'master', actors: list(rng, 3, (r) => ({
      path: '/master/integrity', parent: r.chance(0.5) ? null : '/master', name: 'integrity', status: r.pick(['running', 'restarting', 'stopped']),
      handled: r.int(999), mailbox: r.int(9), restarts: r.int(9), lastError: r.chance(0.5) ? null : { message: 'boom', at: isoTime(r) },
      summary: { files: r.int(99), state: 'idle', busy: r.chance(0.5), last: null },
    })),
  }),
  status: (rng) => ({
    status: {
      cluster: 'wazuh', node: 'master', type: rng.pick(['master', 'worker']), version: CLUSTERD_VERSION, address: '10.0.0.1', connected: rng.chance(0.5),
      lastKeepalive: rng.chance(0.5) ? null : isoTime(rng), workers: list(rng, 3, (r) => r.pick(NODE_NAMES)),
      actorHealth: { actors: rng.int(30), restarts: rng.int(3), unhealthy: rng.int(2) },
      integrity: rng.chance(0.3) ? null : { revision: rng.int(99), files: rng.int(999), digest: hex(rng, 64), lastSync: rng.chance(0.5) ? null : isoTime(rng) },
      at: isoTime(rng),
    },
  }),
  health: (rng) => ({ health: clusterHealth(rng) }),
  done: () => ({ detail: 'done' }),
  'registry-result': (rng) => ({ outcome: registryOutcome(rng) }),
  'agent-service': (rng) => ({ agents: rng.int(9), messages: rng.int(99), events: rng.int(99), keepalives: rng.int(99), refused: rng.int(9), pushes: rng.int(9), tcp: rng.int(9), udpPeers: rng.int(9) }),
  error: () => ({ code: 'unknown', message: 'no such command' }),
};

function envelopeOf(rng: Rng, bodies: Readonly<Record<string, (rng: Rng) => unknown>>): Record<string, unknown> {
  const type = rng.pick(Object.keys(bodies));
  const make = bodies[type] as (rng: Rng) => unknown;
  return { v: 1, type, id: rng.chance(0.1) ? 0xffff_ffff : rng.int(1e6), ...(rng.chance(0.3) ? { re: rng.int(1e6) } : {}), body: make(rng) };
}

/** Every key the protocol uses: what an "extra field" mutation adds. */
function keysOf(bodies: Readonly<Record<string, (rng: Rng) => unknown>>): string[] {
  const keys = new Set<string>(['v', 'type', 'id', 're', 'body']);
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)) {
      for (const [k, inner] of Object.entries(v)) {
        keys.add(k);
        walk(inner);
      }
    }
  };
  for (let i = 0; i < 8; i++) for (const make of Object.values(bodies)) walk(make(Rng.from('keys', i)));
  return [...keys];
}

/** msgpack as the peer could send it: ours, or with the extensions ours never writes (records, Set, RegExp, Error, cycles). */
const EXOTIC_PACKERS: readonly (() => Packr)[] = [
  () => new Packr({ useRecords: false, moreTypes: true, structuredClone: true }),
  // A fresh packer each time: a record packer remembers its records, which would make a case depend on the ones before it.
  () => new Packr({ useRecords: true }),
  () => new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true }),
];

function pack(rng: Rng, value: unknown, fallback: unknown): Buffer {
  try {
    if (rng.chance(0.15)) return rng.pick(EXOTIC_PACKERS)().pack(value);
    return encodePayload(value);
  } catch {
    return encodePayload(fallback);
  }
}

/** An envelope written by hand around raw body bytes: any msgpack token where the body goes. */
function rawEnvelope(type: string, id: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x84]), encodePayload('v'), encodePayload(1), encodePayload('type'), encodePayload(type), encodePayload('id'), encodePayload(id), encodePayload('body'), body]);
}

function generateEnvelope(rng: Rng, profile: FuzzProfile, bodies: Readonly<Record<string, (rng: Rng) => unknown>>, keys: readonly string[]): Buffer {
  const vctx: ValueContext = { hugeMax: profile.hugeMax, keys };
  const sample = envelopeOf(rng, bodies);
  const mode = rng.weighted<string>([[40, 'value'], [12, 'confuse'], [25, 'bytes'], [8, 'raw-body'], [7, 'msgpack'], [4, 'random-value'], [4, 'random-bytes'], [3, 'inflate']]);
  switch (mode) {
    case 'value':
      return pack(rng, mutateValue(rng, sample, vctx), sample);
    case 'inflate':
      return pack(rng, inflateArrays(rng, sample, vctx), sample);
    case 'confuse': {
      // A valid body under another message's type: every schema sees every other's shapes.
      const confused = { ...sample, type: rng.pick(Object.keys(bodies)) };
      return pack(rng, rng.chance(0.5) ? confused : mutateValue(rng, confused, vctx, 2), sample);
    }
    case 'bytes': {
      const ctx: ByteContext = { other: () => encodePayload(envelopeOf(rng, bodies)), dict: MSGPACK_DICT, hugeMax: profile.hugeMax };
      return mutateBytes(rng, pack(rng, sample, sample), ctx);
    }
    case 'raw-body':
      return rawEnvelope(sample['type'] as string, sample['id'] as number, randomMsgpack(rng, profile));
    case 'msgpack':
      return randomMsgpack(rng, profile);
    case 'random-value':
      return pack(rng, rng.chance(0.5) ? randomValue(rng, vctx, 3) : nest(rng, sample, rng.size(3000)), sample);
    default:
      return randomBytes(rng, 256);
  }
}

const MSGPACK_DICT = [
  [0xc0], [0xc1], [0xc2], [0xc3], [0x90], [0x80], [0xa0], [0xdc, 0xff, 0xff], [0xdd, 0xff, 0xff, 0xff, 0xff], [0xdf, 0xff, 0xff, 0xff, 0xff],
  [0xdb, 0x7f, 0xff, 0xff, 0xff], [0xc6, 0xff, 0xff, 0xff, 0xff], [0xd4, 0x00, 0x00], [0xd4, 0x73, 0x90], [0xd4, 0x78, 0x90], [0xd4, 0x65, 0x90],
  [0xd6, 0x69, 0, 0, 0, 1], [0xd6, 0x70, 0, 0, 0, 1], [0xd4, 0x72, 0x40], [0xc7, 0x04, 0x62, 0, 0, 0, 9], [0xd6, 0xff, 0, 0, 0, 1], [0xcb],
  [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0], [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
].map((b) => Buffer.from(b));

const IDENTITY: LocalIdentity = { cluster: 'wazuh', node: 'master', version: CLUSTERD_VERSION, key: 'k'.repeat(32) };
const FIXED_HELLO = { protocol: PROTOCOL_VERSION, cluster: 'wazuh', node: 'worker-1', nodeType: 'worker' as const, version: CLUSTERD_VERSION, nonce: new Uint8Array(32) };

/** What the runtime does next with an accepted frame that carries untrusted values further. */
function consumeClusterFrame(frame: ClusterFrame): void {
  switch (frame.type) {
    case 'hello': {
      const hs = new MasterHandshake(IDENTITY, new Uint8Array(32));
      hs.onHello(frame.body);
      admissionCheck(IDENTITY, frame.body);
      transcript(frame.body, IDENTITY.node, new Uint8Array(32));
      return;
    }
    case 'challenge':
      new WorkerHandshake(IDENTITY, new Uint8Array(32)).onChallenge(frame.body);
      return;
    case 'proof': {
      const hs = new MasterHandshake(IDENTITY, new Uint8Array(32));
      hs.onHello(FIXED_HELLO);
      hs.onProof(frame.body);
      return;
    }
    case 'integrity-check':
      if (frame.body.entries) manifestDigest(fromEntries(frame.body.entries));
      return;
    case 'integrity-plan':
      for (const e of [...frame.body.create, ...frame.body.update].slice(0, 2000)) checkSyncPath(e.path);
      for (const p of [...frame.body.delete, ...frame.body.tooLarge].slice(0, 2000)) checkSyncPath(p);
      return;
    case 'sync-data':
      checkSyncPath(frame.body.path);
      return;
    default:
      return;
  }
}

function passFrameError(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof FrameError) return;
    throw err;
  }
}

function envelopeTarget(
  name: string, about: string, bodies: Readonly<Record<string, (rng: Rng) => unknown>>, maxFrameBytes: number,
  parse: (raw: unknown) => unknown, consume: (frame: unknown) => void,
): FuzzTarget {
  const keys = keysOf(bodies);
  return {
    name,
    about,
    sample: (rng = Rng.from(name, 'sample')) => encodePayload(envelopeOf(rng, bodies)),
    generate: (rng, profile) => generateEnvelope(rng, profile, bodies, keys),
    run: (input) => {
      const payload = asBuffer(input);
      if (payload.length > maxFrameBytes) return; // the frame codec refuses it before it is decoded
      passFrameError(() => consume(parse(decodePayload(payload))));
    },
    check: (rng) => {
      for (const type of Object.keys(bodies)) {
        const env = { v: 1, type, id: 7, body: (bodies[type] as (rng: Rng) => unknown)(rng) };
        const frame = parse(decodePayload(encodePayload(env))) as { type: string; id: number };
        invariant(frame.type === type && frame.id === 7, `a valid '${type}' envelope did not parse back`);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Cluster frames (the byte stream of a link)

const FRAME_TEST_LIMITS = [0, 1, 64, 1024, 65_536, 16 * 1024 * 1024] as const;

function frameStream(payloads: readonly Buffer[]): { stream: Buffer; headers: number[] } {
  const parts: Buffer[] = [];
  const headers: number[] = [];
  let at = 0;
  for (const p of payloads) {
    headers.push(at);
    const f = encodeFrame(p, Number.MAX_SAFE_INTEGER);
    parts.push(f);
    at += f.length;
  }
  return { stream: Buffer.concat(parts), headers };
}

/** Mutates a frame stream knowing where its headers are: magic, format and length corrupted on purpose. */
function mutateFrameStream(rng: Rng, stream: Buffer, headers: readonly number[], ctx: ByteContext): Buffer {
  const h = headers.length > 0 ? rng.pick(headers) : 0;
  switch (rng.int(6)) {
    case 0: {
      const out = Buffer.from(stream);
      if (h < out.length) out[h] = rng.chance(0.5) ? rng.u32() & 0xff : FRAME_MAGIC ^ 1;
      return out;
    }
    case 1: {
      const out = Buffer.from(stream);
      if (h + 1 < out.length) out[h + 1] = rng.pick([0, 2, 0xff, FRAME_FORMAT]);
      return out;
    }
    case 2: {
      const out = Buffer.from(stream);
      if (h + FRAME_HEADER_BYTES <= out.length) out.writeUInt32BE(rng.chance(0.7) ? rng.pick(INTERESTING_U32) : rng.u32(), h + 2);
      return out;
    }
    case 3:
      return corruptLengthAt(rng, stream, h + 2);
    default:
      return mutateBytes(rng, stream, ctx);
  }
}

function decodeFrames(input: Buffer, maxBytes: number, onPayload: (payload: Buffer) => boolean): void {
  const decoder = new FrameDecoder(maxBytes);
  let consumed = 0;
  let seen = 0;
  for (const chunk of chunksOf(input)) {
    seen += chunk.length;
    let payloads: Buffer[];
    try {
      payloads = decoder.push(chunk);
    } catch (err) {
      if (err instanceof FrameError) return; // the stream is unusable: the link closes
      throw err;
    }
    for (const p of payloads) {
      invariant(p.length <= maxBytes, `a payload of ${p.length} bytes passed a limit of ${maxBytes}`);
      consumed += FRAME_HEADER_BYTES + p.length;
      if (!onPayload(p)) return;
    }
    invariant(consumed + decoder.pending === seen, `decoder lost track of bytes: consumed ${consumed} + pending ${decoder.pending} != seen ${seen}`);
    invariant(decoder.pending <= FRAME_HEADER_BYTES + maxBytes + chunk.length, `decoder holds ${decoder.pending} bytes for a limit of ${maxBytes}`);
  }
}

const frameDecoderTarget: FuzzTarget = {
  name: 'frame-decoder',
  about: 'FrameDecoder.push on a cluster byte stream in random chunks; FrameError passes; bytes in = frames out + pending',
  sample: (rng = Rng.from('frame-decoder', 'sample')) => frameStream(list(rng, 4, (r) => randomBytes(r, 300))).stream,
  generate: (rng, profile) => {
    const { stream, headers } = frameStream(Array.from({ length: 1 + rng.int(4) }, () => randomBytes(rng, rng.chance(0.05) ? 70_000 : 300)));
    const ctx: ByteContext = { other: () => frameStream([randomBytes(rng, 64)]).stream, dict: [Buffer.from([FRAME_MAGIC, FRAME_FORMAT])], hugeMax: profile.hugeMax };
    return rng.chance(0.1) ? stream : mutateFrameStream(rng, stream, headers, ctx);
  },
  run: (input) => {
    const buf = asBuffer(input);
    const limit = FRAME_TEST_LIMITS[(buf.length + (buf[0] ?? 0)) % FRAME_TEST_LIMITS.length] as number;
    decodeFrames(buf, limit, () => true);
  },
  check: (rng) => {
    const payloads = list(rng, 5, (r) => randomBytes(r, 200));
    const out: Buffer[] = [];
    const decoder = new FrameDecoder(1024);
    for (const chunk of chunksOf(frameStream(payloads).stream)) out.push(...decoder.push(chunk));
    invariant(out.length === payloads.length && out.every((p, i) => p.equals(payloads[i] as Buffer)), 'frames did not round-trip');
  },
};

const clusterStreamTarget = (): FuzzTarget => {
  const keys = keysOf(CLUSTER_BODIES);
  return {
    name: 'cluster-stream',
    about: 'A link\'s whole inbound path: frames, msgpack, the cluster schemas, then handshake and sync-path consumers; FrameError passes',
    sample: (rng = Rng.from('cluster-stream', 'sample')) => frameStream(list(rng, 3, (r) => encodePayload(envelopeOf(r, CLUSTER_BODIES)))).stream,
    generate: (rng, profile) => {
      const payloads = Array.from({ length: 1 + rng.int(3) }, () => (rng.chance(0.5) ? encodePayload(envelopeOf(rng, CLUSTER_BODIES)) : generateEnvelope(rng, profile, CLUSTER_BODIES, keys)));
      const { stream, headers } = frameStream(payloads);
      if (rng.chance(0.6)) return stream;
      const ctx: ByteContext = { other: () => frameStream([encodePayload(envelopeOf(rng, CLUSTER_BODIES))]).stream, dict: MSGPACK_DICT, hugeMax: profile.hugeMax };
      return mutateFrameStream(rng, stream, headers, ctx);
    },
    run: (input) => {
      decodeFrames(asBuffer(input), CLUSTER_MAX_FRAME_BYTES, (payload) => {
        try {
          consumeClusterFrame(ClusterCatalogue.parse(decodePayload(payload)));
          return true;
        } catch (err) {
          if (!(err instanceof FrameError)) throw err;
          return err.code !== 'undecodable'; // as FramedLink: not msgpack closes the link, a bad message is skipped
        }
      });
    },
  };
};

// ---------------------------------------------------------------------------------------------------------------
// Enrolment lines

const ENROLMENT_DICT = ["OSSEC A:'", "OSSEC PASS: ", 'fuzz-pass ', " V:'", " G:'", " IP:'", " K:'", "'", ',', '\n', '\r\n', 'src', 'any', 'v4.14.5', 'default'];
const ENROLMENT_PASSWORD = 'fuzz-pass';

function enrolmentLine(rng: Rng): string {
  const pass = rng.chance(0.3) ? `OSSEC PASS: ${rng.chance(0.8) ? ENROLMENT_PASSWORD : 'wrong'} ` : '';
  const v = rng.chance(0.8) ? ` V:'${rng.pick(['v4.14.5', 'v4.2.0', 'v5.0.0', '4.14.5', 'vX'])}'` : '';
  const g = rng.chance(0.5) ? ` G:'${someGroups(rng).join(',') || 'default'}'` : '';
  const ip = rng.chance(0.4) ? ` IP:'${rng.pick(['src', 'any', '10.0.0.1', '10.0.0.0/24', 'fd00::1/64'])}'` : '';
  const k = rng.chance(0.2) ? ` K:'${hex(rng, 40)}'` : '';
  return `${pass}OSSEC A:'${rng.pick(AGENT_NAMES)}'${v}${g}${ip}${k}${rng.pick(['\n', '\n', '\r\n', ''])}`;
}

/** An enrolment line with many distinct groups: the most work one line can ask of the group checks. */
function manyGroupsLine(rng: Rng, profile: FuzzProfile): string {
  const n = 1 + rng.size(Math.min(profile.hugeMax, 20_000));
  const width = rng.between(1, 4);
  const groups = Array.from({ length: n }, (_, i) => i.toString(36).padStart(width, '0'));
  return `OSSEC A:'agent-x' G:'${groups.join(',')}'\n`;
}

export function generateEnrolmentLine(rng: Rng, profile: FuzzProfile): string {
  const ctx: TextContext = { other: () => enrolmentLine(rng), dict: ENROLMENT_DICT, hugeMax: profile.hugeMax };
  const r = rng.int(100);
  if (r < 5) return enrolmentLine(rng);
  if (r < 8) return manyGroupsLine(rng, profile);
  if (r < 12) return randomText(rng, rng.size(300));
  return mutateText(rng, enrolmentLine(rng), ctx);
}

function checkEnrolmentResult(line: string, password: string | null): void {
  const r = parseEnrolmentLine(line, password);
  if (!r.ok) {
    invariant(typeof r.error === 'string' && r.error.startsWith('ERROR: '), `refusal without an ERROR text: ${JSON.stringify(r.error).slice(0, 80)}`);
    errorAnswer(r.error);
    return;
  }
  const q = r.request;
  invariant(AGENT_NAME_RE.test(q.name), 'accepted an invalid agent name');
  if (q.groups !== null) {
    invariant(q.groups.length >= 1 && q.groups.length <= MAX_GROUPS_PER_AGENT, `accepted ${q.groups.length} groups`);
    invariant(q.groups.every((g) => GROUP_NAME_RE.test(g) && g !== '.' && g !== '..'), 'accepted an invalid group name');
  }
  invariant(q.keyHash === null || /^[0-9a-f]{40}$/.test(q.keyHash), 'accepted an invalid key hash');
  if (q.version !== null) agentVersionTooHigh(q.version, MANAGER_VERSION);
}

const enrolmentTarget: FuzzTarget = {
  name: 'enrolment-line',
  about: 'parseEnrolmentLine with and without a password: never throws, refusals are ERROR texts, acceptances pass every check',
  sample: (rng = Rng.from('enrolment-line', 'sample')) => enrolmentLine(rng),
  generate: generateEnrolmentLine,
  run: (input) => {
    const line = asText(input);
    checkEnrolmentResult(line, null);
    checkEnrolmentResult(line, ENROLMENT_PASSWORD);
  },
  check: (rng) => {
    const name = rng.pick(AGENT_NAMES);
    const r = parseEnrolmentLine(`OSSEC A:'${name}' V:'v4.14.5' G:'default,web'\n`, null);
    invariant(r.ok && r.request.name === name && r.request.groups?.join(',') === 'default,web', 'a valid enrolment line was refused');
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Agent messages (decrypted payloads)

const MERGED = 'd6e3ac3e75ca0319af3e7c262776f331';
const UNAMES = [
  'Linux |web01 |4.19.0-21-amd64 |#1 SMP Debian 4.19.249-2 (2022-06-30) |x86_64 [Debian GNU/Linux|debian: 10 (buster)]',
  'Linux |db-2 |5.15.0-1-generic |#1 SMP |aarch64 [Ubuntu|ubuntu: 22.04.2 LTS (Jammy Jellyfish)]',
  'Microsoft Windows 10 Pro [Ver: 10.0.19045.2006] |WIN-SRV |x86_64',
  'Linux |sles |5.14 |#1 |x86_64 [SLES|sles: 15-SP7]',
  'No system info available',
];

function agentPayload(rng: Rng): string {
  return rng.pick<() => string>([
    () => `#!-agent startup ${JSON.stringify({ version: rng.pick(['v4.14.5', 'v4.9.0', 'v9.0.0', 'Wazuh v4.14.5']) })}`,
    () => '#!-agent startup ',
    () => '#!-agent shutdown ',
    () => `#!-${rng.pick(UNAMES)} - Wazuh v4.14.5 / ${hex(rng, 32)}\n"env":ci\n${rng.chance(0.5) ? MERGED : 'x'} merged.mg\n#"_agent_ip":10.0.2.15\n`,
    () => `#!-${rng.pick(UNAMES)} - Wazuh v4.14.5\n#"group":web\n!"k":v\nx merged.mg\n`,
    () => `#!-req ${rng.int(1e6)} ok {"data":1}`,
    () => `#!-up file ${MERGED} merged.mg\n`,
    () => `${rng.pick(['1', '2', '4', '8', 'a'])}:${rng.pick(['/var/log/syslog', 'C:\\logs\\x.log', 'wazuh-agent', 'keepalive'])}:${randomText(rng, rng.size(80))}`,
  ])();
}

const AGENT_DICT = [
  '#!-', 'agent startup ', 'agent shutdown ', 'req ', ' - ', ' / ', 'Wazuh ', '\n', ' merged.mg', '#"_agent_ip":', '[Ver: ', ']', '[', '|', ': ',
  ' (', ')', '{"version":"', '"}', '-SP', 'x86_64', ':', '#ping', '{', '}', '"', '\\u0000',
];

export function generateAgentPayload(rng: Rng, profile: FuzzProfile): Buffer {
  const r = rng.int(100);
  if (r < 5) return Buffer.from(agentPayload(rng), 'latin1');
  if (r < 10) return randomBytes(rng, 300);
  const ctx: TextContext = { other: () => agentPayload(rng), dict: AGENT_DICT, hugeMax: Math.min(profile.hugeMax, AGENT_MAX_FRAME) };
  return Buffer.from(mutateText(rng, agentPayload(rng), ctx), 'latin1');
}

const agentMessageTarget: FuzzTarget = {
  name: 'agent-message',
  about: 'classifyAgentMessage and what the gateway does with its result: never throws; events split back to the original text',
  sample: (rng = Rng.from('agent-message', 'sample')) => Buffer.from(agentPayload(rng), 'latin1'),
  generate: generateAgentPayload,
  run: (input) => {
    const payload = asBuffer(input);
    const m = classifyAgentMessage(payload);
    switch (m.kind) {
      case 'startup':
        startupAnswer(m, MANAGER_VERSION);
        if (m.version !== null) bareVersion(m.version);
        return;
      case 'keepalive':
        JSON.stringify(m.info);
        parseUname(m.info.uname);
        return;
      case 'event':
        invariant(`${m.queue}:${m.location}:${m.text}` === payload.toString('latin1'), 'an event did not split back into the original text');
        eventLine(m.queue, '001', 'web01', 'any', m.location, m.text);
        return;
      case 'shutdown': case 'request-answer': case 'unknown-control': case 'invalid':
        return;
      default:
        throw new InvariantError(`unknown kind ${(m as { kind: string }).kind}`);
    }
  },
  check: () => {
    const m = classifyAgentMessage(Buffer.from('#!-agent startup {"version":"v4.14.5"}', 'latin1'));
    invariant(m.kind === 'startup' && m.version === 'v4.14.5', 'a startup was misread');
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Secure agent messages (the encrypted layer)

export const FUZZ_AGENT: AgentKeyMaterial = { id: '001', name: 'web01', key: '1'.repeat(64) };
const AES_IV = Buffer.from('FEDCBA0987654321', 'latin1');
const BLOWFISH_IV = Buffer.from([0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10]);

const md5hex = (data: Buffer): Buffer => Buffer.from(createHash('md5').update(data).digest('hex'), 'latin1');
const padTo = (b: Buffer, block: number, fill = 0): Buffer => (b.length % block === 0 ? b : Buffer.concat([b, Buffer.alloc(block - (b.length % block), fill)]));

function encryptWith(cipher: Cipher, l0: Buffer, k: AgentKeyMaterial, rng: Rng): Buffer {
  if (cipher === 'aes') {
    const c = createCipheriv('aes-256-cbc', aesKey(k.id, k.name, k.key), AES_IV);
    const autoPad = rng.chance(0.9);
    c.setAutoPadding(autoPad);
    return Buffer.concat([Buffer.from('#AES:', 'latin1'), c.update(autoPad ? l0 : padTo(l0, 16)), c.final()]);
  }
  const key = Buffer.from(deriveEncryptionKey(k.id, k.name, k.key), 'latin1');
  return Buffer.concat([Buffer.from(':', 'latin1'), blowfishCbcEncrypt(key, BLOWFISH_IV, padTo(l0, 8))]);
}

/**
 * A message built layer by layer with one layer broken: the counter header, the md5, the
 * zlib stream (corrupt, raw, gzip, a bomb), the '!' padding, then properly encrypted, so
 * the decoder gets past decryption to the parts an attacker with a key controls.
 */
export function layeredSecureMessage(rng: Rng, payload: Buffer, k: AgentKeyMaterial, profile: FuzzProfile): Buffer {
  const layer = rng.int(6);
  const counters = `${String(rng.int(65_536)).padStart(5, '0')}${String(rng.int(1e9)).padStart(10, '0')}:${String(rng.int(10_000)).padStart(4, '0')}:`;
  let header: Buffer = Buffer.from(counters, 'latin1');
  const bctx: ByteContext = { other: () => randomBytes(rng, 64), dict: [Buffer.from(':'), Buffer.from('!')], hugeMax: profile.hugeMax };
  if (layer === 0) header = mutateBytes(rng, header, bctx, 2);
  const l3 = Buffer.concat([header, payload]);
  let l2: Buffer = Buffer.concat([md5hex(l3), l3]);
  if (layer === 1) l2 = rng.chance(0.5) ? Buffer.concat([Buffer.from('0'.repeat(32)), l3]) : mutateBytes(rng, l2, bctx, 2);
  let l1: Buffer;
  if (layer === 2) {
    l1 = rng.pick<() => Buffer>([
      () => mutateBytes(rng, deflateSync(l2), bctx, 3),
      () => l2,
      () => deflateRawSync(l2),
      () => gzipSync(l2),
      () => deflateSync(Buffer.alloc(rng.between(69_000, 2_000_000), rng.chance(0.5) ? 0x21 : 0)),
      () => {
        const z = deflateSync(l2);
        return z.subarray(0, rng.int(z.length));
      },
    ])();
  } else {
    l1 = deflateSync(l2, { level: rng.pick([0, 1, 9]) });
  }
  const bangs = layer === 3 ? rng.pick([0, 1, 9, 200]) : 1 + ((8 - ((l1.length + 1) % 8)) % 8);
  let l0 = Buffer.concat([Buffer.alloc(bangs, 0x21), l1]);
  if (layer === 3 && rng.chance(0.3)) l0 = Buffer.concat([Buffer.from(':'), l1]); // the legacy format
  const body = encryptWith(rng.chance(0.6) ? 'aes' : 'blowfish', l0, k, rng);
  if (layer === 4) return Buffer.concat([Buffer.from(rng.pick(['!001!', '!1!', '!0001!', '!!', '!12345678!', '!123456789!', '!00a!', '!001', '']), 'latin1'), body]);
  return Buffer.concat([rng.chance(0.7) ? Buffer.from(`!${k.id}!`, 'latin1') : Buffer.alloc(0), body]);
}

function secureSample(rng: Rng, payload = Buffer.from(agentPayload(rng), 'latin1')): Buffer {
  return encodeSecure(payload, FUZZ_AGENT, rng.chance(0.6) ? 'aes' : 'blowfish', { withId: rng.chance(0.7), random: rng.int(65_536), global: rng.int(1e6), local: rng.int(9999) });
}

export function generateSecureMessage(rng: Rng, profile: FuzzProfile): Buffer {
  const r = rng.int(100);
  if (r < 40) return layeredSecureMessage(rng, generateAgentPayload(rng, profile), FUZZ_AGENT, profile);
  if (r < 75) {
    const ctx: ByteContext = { other: () => secureSample(rng), dict: [Buffer.from('#AES:'), Buffer.from('!001!'), Buffer.from(':'), Buffer.from('!')], hugeMax: Math.min(profile.hugeMax, AGENT_MAX_FRAME) };
    return mutateBytes(rng, secureSample(rng), ctx);
  }
  if (r < 85) {
    const prefix = rng.pick(['#AES:', ':', '!001!#AES:', '!001!:', '#AES', '#ping', '']);
    return Buffer.concat([Buffer.from(prefix, 'latin1'), rng.bytes(rng.pick([0, 1, 7, 8, 15, 16, 32, 64, rng.size(4096)]))]);
  }
  return secureSample(rng);
}

const secureMessageTarget: FuzzTarget = {
  name: 'secure-message',
  about: 'splitSender then decodeSecure with the agent\'s key: only DecodeError; a decoded message keeps its bounds',
  sample: (rng = Rng.from('secure-message', 'sample')) => secureSample(rng),
  generate: generateSecureMessage,
  run: (input) => {
    try {
      const { id, rest } = splitSender(asBuffer(input));
      invariant(id === null || /^\d{1,8}$/.test(id), `a sender id '${id}' passed`);
      const out = decodeSecure(rest, FUZZ_AGENT);
      invariant(out.payload.length <= 70_000, `a payload of ${out.payload.length} bytes passed`);
      invariant(Number.isSafeInteger(out.global) && out.local >= 0 && out.local <= 9999, 'counters out of range');
      classifyAgentMessage(out.payload);
    } catch (err) {
      if (err instanceof DecodeError) return;
      throw err;
    }
  },
  check: (rng) => {
    const payload = Buffer.from(agentPayload(rng), 'latin1');
    const { rest } = splitSender(secureSample(rng, payload));
    invariant(decodeSecure(rest, FUZZ_AGENT).payload.equals(payload), 'a valid message did not decode back');
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Agent TCP framing

function agentStream(payloads: readonly Buffer[]): { stream: Buffer; headers: number[] } {
  const headers: number[] = [];
  let at = 0;
  const parts = payloads.filter((p) => p.length > 0 && p.length <= AGENT_MAX_FRAME).map((p) => {
    headers.push(at);
    const f = frameAgentMessage(p);
    at += f.length;
    return f;
  });
  return { stream: Buffer.concat(parts), headers };
}

const agentFramingTarget: FuzzTarget = {
  name: 'agent-framing',
  about: 'AgentFrameDecoder.push in random chunks: AgentFrameError only (and again on every later push); frames re-frame to the input',
  sample: (rng = Rng.from('agent-framing', 'sample')) => agentStream(list(rng, 4, (r) => Buffer.concat([Buffer.from('x'), randomBytes(r, 200)]))).stream,
  generate: (rng, profile) => {
    const sizes = (): Buffer => (rng.chance(0.03) ? rng.bytes(rng.between(65_000, AGENT_MAX_FRAME)) : Buffer.concat([Buffer.from('#'), randomBytes(rng, 200)]));
    const { stream, headers } = agentStream(Array.from({ length: 1 + rng.int(4) }, sizes));
    if (rng.chance(0.1)) return stream;
    const h = headers.length > 0 ? rng.pick(headers) : 0;
    if (rng.chance(0.4) && h + 4 <= stream.length) {
      const out = Buffer.from(stream);
      out.writeUInt32LE(rng.pick([0, 1, AGENT_MAX_FRAME, AGENT_MAX_FRAME + 1, 0xffff_ffff, 0x7fff_ffff, rng.u32(), rng.int(300)]), h);
      return out;
    }
    return mutateBytes(rng, stream, { other: () => agentStream([randomBytes(rng, 64)]).stream, dict: [], hugeMax: profile.hugeMax });
  },
  run: (input) => {
    const buf = asBuffer(input);
    const decoder = new AgentFrameDecoder();
    const frames: Buffer[] = [];
    let failure: AgentFrameError | null = null;
    for (const chunk of chunksOf(buf)) {
      try {
        for (const f of decoder.push(chunk)) {
          invariant(f.length >= 1 && f.length <= AGENT_MAX_FRAME, `a frame of ${f.length} bytes passed`);
          frames.push(Buffer.from(f));
        }
      } catch (err) {
        if (!(err instanceof AgentFrameError)) throw err;
        failure = err;
        break;
      }
      invariant(decoder.pending <= 4 + AGENT_MAX_FRAME, `decoder holds ${decoder.pending} bytes`);
    }
    if (failure) {
      let again: unknown = null;
      try {
        decoder.push(Buffer.from([1, 0, 0, 0, 0x41]));
      } catch (err) {
        again = err;
      }
      invariant(again instanceof AgentFrameError, 'a failed decoder accepted more input');
    }
    const reframed = Buffer.concat(frames.map((f) => frameAgentMessage(f)));
    invariant(buf.subarray(0, reframed.length).equals(reframed), 'decoded frames do not re-frame to the input');
    // pending counts the bytes of a partial header or body; the 4 header bytes of a body in progress are already consumed.
    const unaccounted = buf.length - reframed.length - decoder.pending;
    if (!failure) invariant(unaccounted === 0 || unaccounted === 4, `decoder lost ${unaccounted} bytes`);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// client.keys and sync paths

function clientKeysFile(rng: Rng): string {
  const lines = list(rng, 6, (r) => r.pick<() => string>([
    () => `${String(r.between(1, 999)).padStart(3, '0')} ${r.pick(AGENT_NAMES)} ${r.pick(['any', '10.0.0.1', '10.0.0.0/24', 'fd00::/8'])} ${hex(r, 64)}`,
    () => `${String(r.between(1, 999)).padStart(3, '0')} !${r.pick(AGENT_NAMES)} any ${hex(r, 64)}`,
    () => '# a comment',
    () => '',
  ])());
  return lines.join(rng.chance(0.2) ? '\r\n' : '\n') + (rng.chance(0.8) ? '\n' : '');
}

const clientKeysTarget: FuzzTarget = {
  name: 'client-keys',
  about: 'parseClientKeys: never throws; accepted agents have unique ids and names and valid fields',
  sample: (rng = Rng.from('client-keys', 'sample')) => clientKeysFile(rng),
  generate: (rng, profile) => {
    const ctx: TextContext = { other: () => clientKeysFile(rng), dict: [' ', '\n', '!', '#', 'any', '/', '000', '99999999'], hugeMax: profile.hugeMax };
    return rng.chance(0.05) ? randomText(rng, rng.size(500)) : mutateText(rng, clientKeysFile(rng), ctx);
  },
  run: (input) => {
    const r = parseClientKeys(asText(input));
    const ids = new Set(r.agents.map((a) => a.id));
    const names = new Set(r.agents.map((a) => a.name));
    invariant(ids.size === r.agents.length && names.size === r.agents.length, 'duplicate agents accepted');
    for (const a of r.agents) {
      invariant(Number.isSafeInteger(a.id) && a.id >= 1 && a.id <= 99_999_999, `agent id ${a.id} accepted`);
      invariant(AGENT_NAME_RE.test(a.name), `agent name '${a.name}' accepted`);
      invariant(!a.key.includes(' ') && a.key.length >= 1 && a.key.length <= 128, 'bad key accepted');
    }
    // The key field is a secret: no error message may quote it (values are quoted '…'), unless the same text stands in another field.
    const lines = asText(input).split('\n');
    for (const e of r.errors) {
      const fields = (lines[e.line - 1] ?? '').replace(/\r$/, '').split(' ');
      const key = fields[3];
      if (fields.length !== 4 || key === undefined || key.length < 4 || fields.slice(0, 3).some((f) => f.includes(key))) continue;
      invariant(!e.message.includes(`'${key}'`), `an error message quotes the key: ${e.message.slice(0, 80)}`);
    }
  },
};

const syncPathTarget: FuzzTarget = {
  name: 'sync-path',
  about: 'checkSyncPath on a path a peer names: never throws; an accepted path is clean, relative and inside its item',
  sample: (rng = Rng.from('sync-path', 'sample')) => rng.pick(SYNC_PATHS),
  generate: (rng, profile) => {
    const ctx: TextContext = { other: () => rng.pick(SYNC_PATHS), dict: ['/', '..', '.', '\\', '\0', '//', 'etc/', 'shared/', 'merged.mg', '~', '.tmp', 'ossec.conf'], hugeMax: Math.min(profile.hugeMax, 8192) };
    return rng.chance(0.05) ? hostileString(rng, 4096) : mutateText(rng, rng.pick(SYNC_PATHS), ctx);
  },
  run: (input) => {
    const rel = asText(input);
    const verdict = checkSyncPath(rel);
    itemOf(rel);
    if (!verdict.ok) {
      invariant(typeof verdict.reason === 'string' && verdict.reason.length > 0, 'a refusal without a reason');
      return;
    }
    invariant(!rel.startsWith('/') && !rel.includes('\0') && !rel.includes('\\'), `accepted '${rel}'`);
    invariant(rel.split('/').every((p) => p !== '' && p !== '.' && p !== '..'), `accepted unnormalised '${rel}'`);
    invariant(rel.startsWith(`${verdict.item.dir}/`), `accepted '${rel}' outside ${verdict.item.dir}`);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// The list

export const TARGETS: readonly FuzzTarget[] = [
  frameDecoderTarget,
  envelopeTarget('cluster-envelope', 'ClusterCatalogue.parse(decodePayload(bytes)) then the handshake and sync-path consumers; FrameError passes',
    CLUSTER_BODIES, CLUSTER_MAX_FRAME_BYTES, (raw) => ClusterCatalogue.parse(raw), (frame) => consumeClusterFrame(frame as ClusterFrame)),
  envelopeTarget('control-envelope', 'ControlCatalogue.parse(decodePayload(bytes)); FrameError passes',
    CONTROL_BODIES, CONTROL_MAX_FRAME_BYTES, (raw) => ControlCatalogue.parse(raw), () => undefined),
  clusterStreamTarget(),
  enrolmentTarget,
  secureMessageTarget,
  agentFramingTarget,
  agentMessageTarget,
  clientKeysTarget,
  syncPathTarget,
  ...ENGINE_TARGETS,
];

export function targetNamed(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target '${name}' (targets: ${TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}

const CLUSTER_KEYS = keysOf(CLUSTER_BODIES);

/** Generators the live passes share with the decoder targets. */
export const LIVE = {
  /** A mutated (or random) cluster envelope, msgpack-encoded. */
  clusterEnvelope: (rng: Rng, profile: FuzzProfile): Buffer => generateEnvelope(rng, profile, CLUSTER_BODIES, CLUSTER_KEYS),
  /** A valid envelope of `type` with one to three value mutations, msgpack-encoded. */
  mutatedClusterEnvelope: (rng: Rng, type: string, profile: FuzzProfile): Buffer => {
    const make = CLUSTER_BODIES[type];
    if (!make) throw new Error(`no cluster message '${type}'`);
    const env = { v: 1, type, id: rng.int(1000), body: make(rng) };
    return pack(rng, mutateValue(rng, env, { hugeMax: profile.hugeMax, keys: CLUSTER_KEYS }), env);
  },
  mutateFrameStream: (rng: Rng, payloads: readonly Buffer[], profile: FuzzProfile): Buffer => {
    const { stream, headers } = frameStream(payloads);
    return mutateFrameStream(rng, stream, headers, { other: () => randomBytes(rng, 64), dict: MSGPACK_DICT, hugeMax: profile.hugeMax });
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Cases: numbering, one case, and a job of many cases in a watched worker

/** How many of a target's first cases are the truncation sweep. */
export const SWEEP_CASES = 1500;
const sweeps = new Map<string, { samples: FuzzInput[]; starts: number[]; total: number }>();

function sweepOf(target: FuzzTarget, seed: number): { samples: FuzzInput[]; starts: number[]; total: number } {
  const key = `${target.name}|${seed}`;
  let s = sweeps.get(key);
  if (!s) {
    const samples: FuzzInput[] = [];
    const starts: number[] = [];
    let total = 0;
    for (let k = 0; total < SWEEP_CASES && k < 200; k++) {
      const sample = target.sample(Rng.from(seed, target.name, 'sweep', k));
      starts.push(total);
      samples.push(sample);
      total += sample.length + 1; // every proper prefix, and the whole sample
    }
    s = { samples, starts, total: Math.min(total, SWEEP_CASES) };
    sweeps.set(key, s);
  }
  return s;
}

/** Case `index` of `target` under `seed`: a truncation of a sample for the first SWEEP_CASES, then generated. */
export function inputFor(target: FuzzTarget, seed: number, index: number, profile: FuzzProfile): FuzzInput {
  const sweep = sweepOf(target, seed);
  if (index < sweep.total) {
    let k = sweep.starts.length - 1;
    while (k > 0 && (sweep.starts[k] as number) > index) k--;
    const sample = sweep.samples[k] as FuzzInput;
    const cut = index - (sweep.starts[k] as number);
    return typeof sample === 'string' ? sample.slice(0, cut) : sample.subarray(0, cut);
  }
  return target.generate(Rng.from(seed, target.name, index), profile);
}

/** 'harness': generating a case (not running it) took too long; a bug of the fuzz harness, reported all the same. */
export type CrashKind = 'exception' | 'invariant' | 'hang' | 'memory' | 'poisoned' | 'harness';

export interface CrashReport {
  readonly target: string;
  readonly seed: number;
  readonly index: number;
  readonly kind: CrashKind;
  readonly message: string;
  readonly stack: string;
  readonly ms: number;
  readonly input: FuzzInput;
}

export type CaseOutcome = { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly kind: CrashKind; readonly error: Error; readonly ms: number };

/** Runs one case; slower than `hangMs` is a hang even when it returns. */
export function runCase(target: FuzzTarget, input: FuzzInput, hangMs = 1000): CaseOutcome {
  const start = performance.now();
  try {
    target.run(input);
  } catch (err) {
    const error = err instanceof Error ? err : new Error(`non-Error thrown: ${String(err)}`);
    return { ok: false, kind: err instanceof InvariantError ? 'invariant' : 'exception', error, ms: performance.now() - start };
  }
  const ms = performance.now() - start;
  if (ms > hangMs) {
    const error = new Error(`case took ${ms.toFixed(0)} ms (limit ${hangMs} ms)`);
    return { ok: false, kind: 'hang', error, ms };
  }
  return { ok: true, ms };
}

/** A short, stable description of a crash, to count one bug once. */
export function crashSignature(c: Pick<CrashReport, 'target' | 'kind' | 'message' | 'stack'>): string {
  const frames = c.stack.split('\n').filter((l) => l.trim().startsWith('at ')).slice(0, 3).map((l) => l.trim().replace(/:\d+:\d+\)?$/, ''));
  const head = c.kind === 'hang' || c.kind === 'memory' ? c.kind : c.message.replace(/\d+/g, 'N').slice(0, 80);
  return `${c.target}|${c.kind}|${head}|${frames.join('|')}`;
}

export interface JobSpec {
  readonly target: string;
  readonly seed: number;
  /** First case index. */
  readonly from: number;
  /** Case index to stop before; Infinity for a time-bounded job. */
  readonly to: number;
  /** Epoch ms at which a time-bounded job stops. */
  readonly deadline?: number;
  readonly profile: FuzzProfile;
  /** A case slower than this is reported as a hang. */
  readonly hangMs: number;
  /** A case still running after this is killed, reported as a hang, and the job continues after it. */
  readonly killMs: number;
  /** The worker's heap: a case that needs more is reported as unbounded memory. */
  readonly maxHeapMb: number;
  /** Every this many cases a valid sample is checked (0: never). */
  readonly checkEvery: number;
}

export interface JobFigures {
  readonly target: string;
  /** Cases run (including crashed ones). */
  cases: number;
  /** Time spent inside cases, ms. */
  busyMs: number;
  /** Wall time of the job, ms. */
  wallMs: number;
  slowestMs: number;
  slowestIndex: number;
  crashes: number;
}

type WorkerMessage =
  | { type: 'progress'; cases: number; busyMs: number; slowestMs: number; slowestIndex: number }
  | { type: 'crash'; index: number; kind: CrashKind; message: string; stack: string; ms: number; input: string; text: boolean }
  | { type: 'done'; cases: number; busyMs: number; slowestMs: number; slowestIndex: number };

interface WorkerInit {
  readonly fuzzWorker: true;
  readonly spec: JobSpec;
  readonly from: number;
  readonly shared: SharedArrayBuffer;
  readonly epoch: number;
}

const encodeInput = (input: FuzzInput): { input: string; text: boolean } =>
  (typeof input === 'string' ? { input: Buffer.from(input, 'utf16le').toString('hex'), text: true } : { input: input.toString('hex'), text: false });
export const decodeInput = (hexText: string, text: boolean): FuzzInput => (text ? Buffer.from(hexText, 'hex').toString('utf16le') : Buffer.from(hexText, 'hex'));

/**
 * Runs a job in a worker thread under a watchdog. Crashes are reported as they happen
 * (a killed or out-of-memory worker is restarted after the case that took it down);
 * progress about every half second. Resolves with the job's figures.
 */
export function runJob(spec: JobSpec, hooks: { onCrash(c: CrashReport): void; onProgress?(f: JobFigures): void }): Promise<JobFigures> {
  const target = targetNamed(spec.target);
  const figures: JobFigures = { target: spec.target, cases: 0, busyMs: 0, wallMs: 0, slowestMs: 0, slowestIndex: -1, crashes: 0 };
  const started = Date.now();
  const shared = new SharedArrayBuffer(12);
  const slot = new Int32Array(shared); // [0] current case index (-1 idle), [1] its start, ms after epoch, [2] 0 generating, 1 running
  const epoch = Date.now();
  const report = (c: CrashReport): void => {
    figures.crashes++;
    if (c.ms > figures.slowestMs) {
      figures.slowestMs = c.ms;
      figures.slowestIndex = c.index;
    }
    hooks.onCrash(c);
  };

  return new Promise((resolve) => {
    const launch = (from: number): void => {
      if (from >= spec.to || (spec.deadline !== undefined && Date.now() >= spec.deadline)) {
        figures.wallMs = Date.now() - started;
        resolve(figures);
        return;
      }
      Atomics.store(slot, 0, -1);
      const init: WorkerInit = { fuzzWorker: true, spec, from, shared, epoch };
      const worker = new Worker(new URL(import.meta.url), { workerData: init, resourceLimits: { maxOldGenerationSizeMb: spec.maxHeapMb }, stdout: false, stderr: false });
      let base = { cases: figures.cases, busyMs: figures.busyMs };
      let done = false;
      let killed: { index: number; ms: number; generating: boolean } | null = null;
      const apply = (m: { cases: number; busyMs: number; slowestMs: number; slowestIndex: number }): void => {
        figures.cases = base.cases + m.cases;
        figures.busyMs = base.busyMs + m.busyMs;
        if (m.slowestMs > figures.slowestMs) {
          figures.slowestMs = m.slowestMs;
          figures.slowestIndex = m.slowestIndex;
        }
        figures.wallMs = Date.now() - started;
      };
      const watchdog = setInterval(() => {
        const index = Atomics.load(slot, 0);
        if (index < 0 || killed) return;
        const ms = Date.now() - epoch - Atomics.load(slot, 1);
        if (ms > spec.killMs) {
          killed = { index, ms, generating: Atomics.load(slot, 2) === 0 };
          void worker.terminate();
        }
      }, 100);
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'crash') {
          report({ target: spec.target, seed: spec.seed, index: m.index, kind: m.kind, message: m.message, stack: m.stack, ms: m.ms, input: decodeInput(m.input, m.text) });
          return;
        }
        apply(m);
        hooks.onProgress?.({ ...figures });
        if (m.type === 'done') done = true;
      });
      let errored: Error | null = null;
      worker.on('error', (err) => { errored = err; });
      worker.on('exit', () => {
        clearInterval(watchdog);
        if (done) {
          figures.wallMs = Date.now() - started;
          resolve(figures);
          return;
        }
        // Killed by the watchdog, out of memory, or an error outside any case: blame the running case.
        const index = killed?.index ?? Atomics.load(slot, 0);
        const at = index >= 0 ? index : from;
        const err = errored as Error | null;
        const oom = err !== null && ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' || /out of memory|heap/i.test(err.message));
        const generating = killed?.generating ?? Atomics.load(slot, 2) === 0;
        const kind: CrashKind = generating ? 'harness' : killed ? 'hang' : oom ? 'memory' : 'exception';
        const message = killed
          ? `${generating ? 'generating the case' : 'case'} still running after ${killed.ms} ms: killed`
          : `${err ? err.message : 'worker exited'}${generating ? ' (while generating the case)' : ''}`;
        // The input of a case that ran is rebuilt here; one that could not even be generated is left to --case to replay.
        const input = generating ? Buffer.alloc(0) : inputFor(target, spec.seed, at, spec.profile);
        report({ target: spec.target, seed: spec.seed, index: at, kind, message, stack: err?.stack ?? message, ms: killed?.ms ?? 0, input });
        figures.cases = Math.max(figures.cases, base.cases + (at - from) + 1);
        base = { cases: figures.cases, busyMs: figures.busyMs };
        launch(at + 1);
      });
    };
    launch(spec.from);
  });
}

function workerMain(init: WorkerInit): void {
  const { spec } = init;
  const port = parentPort;
  if (!port) return;
  const target = targetNamed(spec.target);
  const slot = new Int32Array(init.shared);
  let cases = 0;
  let busyMs = 0;
  let slowestMs = 0;
  let slowestIndex = -1;
  let lastReport = performance.now();
  const figures = (): { cases: number; busyMs: number; slowestMs: number; slowestIndex: number } => ({ cases, busyMs, slowestMs, slowestIndex });
  const crash = (index: number, kind: CrashKind, error: Error, ms: number, input: FuzzInput): void => {
    port.postMessage({ type: 'crash', index, kind, message: error.message, stack: error.stack ?? error.message, ms, ...encodeInput(input) } satisfies WorkerMessage);
  };
  for (let i = init.from; i < spec.to; i++) {
    if (spec.deadline !== undefined && (i & 15) === 0 && Date.now() >= spec.deadline) break;
    Atomics.store(slot, 2, 0);
    Atomics.store(slot, 1, Date.now() - init.epoch);
    Atomics.store(slot, 0, i);
    const input = inputFor(target, spec.seed, i, spec.profile);
    Atomics.store(slot, 1, Date.now() - init.epoch);
    Atomics.store(slot, 2, 1);
    const outcome = runCase(target, input, spec.hangMs);
    cases++;
    busyMs += outcome.ms;
    if (outcome.ms > slowestMs) {
      slowestMs = outcome.ms;
      slowestIndex = i;
    }
    if (!outcome.ok) crash(i, outcome.kind, outcome.error, outcome.ms, input);
    if (spec.checkEvery > 0 && target.check && i % spec.checkEvery === spec.checkEvery - 1) {
      try {
        target.check(Rng.from(spec.seed, target.name, 'check', i));
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        crash(i, 'poisoned', new Error(`a valid sample failed after case ${i}: ${error.message}`), 0, input);
      }
    }
    const now = performance.now();
    if (now - lastReport > 500) {
      lastReport = now;
      port.postMessage({ type: 'progress', ...figures() } satisfies WorkerMessage);
    }
  }
  Atomics.store(slot, 0, -1);
  port.postMessage({ type: 'done', ...figures() } satisfies WorkerMessage);
}

const fuzzWorkerInit = workerData as Partial<WorkerInit> | null;
if (!isMainThread && fuzzWorkerInit?.fuzzWorker === true) workerMain(fuzzWorkerInit as WorkerInit);
