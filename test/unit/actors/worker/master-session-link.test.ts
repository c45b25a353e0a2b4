/**
 * The worker's session to its master (masterSessionSpec) on one end of the in-memory
 * link pair, the test playing the master on the other end with real frames: it
 * connects, answers pings, forwards requests, fails fast without a master, and
 * survives a link lost at any moment.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ActorSystem, type ActorRef } from '../../../../runtime/actor-kit.js';
import { createLogger, MemorySink } from '../../../../runtime/logger.js';
import { DEFAULT_INTERVALS } from '../../../../runtime/config/defaults.js';
import type { Intervals } from '../../../../runtime/config/types.js';
import {
  masterSessionSpec, NOT_CONNECTED, type MasterConnection, type MasterLinkStatus, type MasterSessionMsg,
} from '../../../../actors/worker/master-session.js';
import type { IntegrityScannerMsg, ManifestSnapshot } from '../../../../actors/integrity-scanner.js';
import type { ReplicaMsg } from '../../../../actors/worker/registry-replica.js';
import type { ClusterFrame, NodeInfo } from '../../../../protocols/cluster-messages.js';
import { manifestDigest } from '../../../../protocols/integrity.js';
import { framesOf, memoryLinkPair, type MemoryLinkPair } from '../../../harness/memory-link.js';
import { until, within } from '../../../harness/wait.js';

const MASTER: NodeInfo = { name: 'master-node', type: 'master', version: '0.1.0', address: '10.0.0.1' };
const ASK_MS = 5000;
const INTERVALS: Intervals = {
  ...DEFAULT_INTERVALS,
  worker: { ...DEFAULT_INTERVALS.worker, keep_alive: 0.05, connection_retry: 0.05 },
  communication: { ...DEFAULT_INTERVALS.communication, timeout_cluster_request: ASK_MS / 1000 },
};
const tree = new Map([['etc/shared/default/agent.conf', { md5: 'a'.repeat(32), size: 3, mtimeMs: 1 }]]);
const SNAPSHOT: ManifestSnapshot = { manifest: tree, digest: manifestDigest(tree), revision: 1 };

interface Fixture {
  readonly session: ActorRef<MasterSessionMsg>;
  readonly pairs: MemoryLinkPair[];
  readonly crashes: string[];
  /** Whether connect() succeeds. */
  reachable: boolean;
  status(): Promise<MasterLinkStatus>;
}

/** The test's master: answers keepalives, finds every tree in sync, and answers nodes-request. */
function playMaster(pair: MemoryLinkPair): void {
  const master = pair.a;
  master.attach((f: ClusterFrame) => {
    if (master.closed) return;
    if (f.type === 'keepalive') master.reply(f, 'keepalive-ack', { at: Date.now() });
    else if (f.type === 'integrity-check') master.reply(f, 'integrity-result', { status: 'in-sync', revision: 1, files: f.body.files });
    else if (f.type === 'nodes-request') master.reply(f, 'nodes', { nodes: [MASTER] });
  });
}

function fixture(t: TestContext): Fixture {
  const crashes: string[] = [];
  const sys = new ActorSystem({
    name: 'msw-link', onGiveUp: (err) => assert.fail(`gave up: ${err.message}`),
    onCrash: (p, err) => { crashes.push(`${p}: ${err.message}`); },
  });
  const pairs: MemoryLinkPair[] = [];
  t.after(() => {
    sys.stop();
    for (const p of pairs) p.cut('test over');
  });
  const scanner = sys.spawn<null, IntegrityScannerMsg>({
    name: 'scanner', init: () => null, receive: (s, m) => { if (m.kind === 'get-manifest') m.reply.ok(SNAPSHOT); return s; },
  });
  const replica = sys.spawn<null, ReplicaMsg>({ name: 'replica', init: () => null, receive: (s) => s });
  let held: MasterConnection | null = null;
  const f: Fixture = {
    pairs, crashes, reachable: true,
    session: undefined as unknown as ActorRef<MasterSessionMsg>,
    status: () => f.session.ask<MasterLinkStatus>((reply) => ({ kind: 'status', reply }), ASK_MS),
  };
  const session = sys.spawn(masterSessionSpec({
    nodeName: 'worker-1', intervals: INTERVALS, log: createLogger(new MemorySink(), 'Worker worker-1'), replica, linkFollowers: [],
    connect: async () => {
      held?.link.close('reconnecting');
      held = null;
      if (!f.reachable) throw new Error('10.0.0.1:1516: connect ECONNREFUSED');
      const pair = memoryLinkPair();
      pairs.push(pair);
      playMaster(pair);
      held = { link: pair.b, master: MASTER };
      return held;
    },
    current: () => (held && !held.link.closed ? held : null),
    scanner,
    beginApply: () => Promise.reject(new Error('no sync expected')),
    onRulesetChanged: () => undefined,
  }));
  (f as { session: ActorRef<MasterSessionMsg> }).session = session;
  return f;
}

async function eventually(cond: () => Promise<boolean>, what: string): Promise<void> {
  await within((async () => { while (!(await cond())) await new Promise((r) => setTimeout(r, 10)); })(), what);
}

test('worker session (worker) over a link - connects, keeps alive, answers pings, forwards list-nodes', async (t) => {
  const f = fixture(t);
  await eventually(async () => (await f.status()).lastKeepalive !== null, 'a keepalive answered');
  const pair = f.pairs[0];
  assert.ok(pair);
  const pong = await within(pair.a.request('ping', {}), 'a pong');
  assert.equal(pong.type, 'pong');
  const nodes = await f.session.ask<NodeInfo[]>((reply) => ({ kind: 'list-nodes', reply }), ASK_MS);
  assert.deepEqual(nodes, [MASTER]);
  assert.equal(framesOf(pair.trace, 'nodes-request', 'b').length, 1);
  assert.deepEqual(f.crashes, []);
});

test('worker session (worker) over a link - without a master, requests fail at once and the session keeps trying', async (t) => {
  const f = fixture(t);
  await eventually(async () => (await f.status()).connected, 'connected');
  f.reachable = false;
  f.pairs[0]?.cut('master gone');
  await eventually(async () => !(await f.status()).connected, 'disconnected');
  await assert.rejects(f.session.ask<NodeInfo[]>((reply) => ({ kind: 'list-nodes', reply }), ASK_MS), new RegExp(NOT_CONNECTED));
  await eventually(async () => /ECONNREFUSED/.test((await f.status()).lastError ?? ''), 'a failed attempt recorded');
  f.reachable = true;
  await eventually(async () => (await f.status()).connected, 'connected again');
  assert.equal(f.pairs.length, 2);
});

test('worker session (worker) over a link - a link lost while a ping waits in the mailbox does not crash the session', async (t) => {
  const f = fixture(t);
  await eventually(async () => (await f.status()).lastKeepalive !== null, 'settled');
  const pair = f.pairs[0];
  assert.ok(pair);
  // The ping is read and queued for the session; the connection dies before the session handles it.
  pair.a.send('ping', {});
  setImmediate(() => pair.cut('reset during a ping'));
  await until(() => f.pairs.length === 2, 'the session reconnects');
  await eventually(async () => (await f.status()).connected, 'connected again');
  assert.deepEqual(f.crashes, [], 'the session crashed');
});
