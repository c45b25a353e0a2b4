/**
 * The MasterCoordinator with real WorkerSession children on in-memory links, the test
 * playing the workers on the other ends: admission, name clashes settled by a probe
 * over the live link, sessions dropped when their link closes (but not by the close
 * of a link already replaced), and fan-out of notices to every worker.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ActorSystem, type ActorRef } from '../../../../runtime/actor-kit.js';
import { createLogger, MemorySink } from '../../../../runtime/logger.js';
import { DEFAULT_INTERVALS } from '../../../../runtime/config/defaults.js';
import { masterCoordinatorSpec, type AdmitVerdict, type MasterCoordinatorMsg, type MasterCoordinatorDeps } from '../../../../actors/master/master-coordinator.js';
import type { ClusterFrame, NodeInfo } from '../../../../protocols/cluster-messages.js';
import { framesOf, memoryLinkPair, type MemoryLinkPair } from '../../../harness/memory-link.js';
import { until, within } from '../../../harness/wait.js';

const MASTER: NodeInfo = { name: 'master-node', type: 'master', version: '0.1.0', address: '10.0.0.1' };
const ASK_MS = 5000;

interface Fixture {
  readonly coordinator: ActorRef<MasterCoordinatorMsg>;
  /** Admits a worker over a new pair, wired as ClusterServer does (its close tells the coordinator). */
  admit(name: string, opts?: { answers?: boolean }): Promise<{ pair: MemoryLinkPair; verdict: AdmitVerdict }>;
  nodes(): Promise<string[]>;
}

/** The worker end: answers pings (the coordinator's liveness probe) unless told not to. */
function playWorker(pair: MemoryLinkPair, answers: boolean): void {
  pair.b.attach((f: ClusterFrame) => {
    if (answers && f.type === 'ping' && !pair.b.closed) pair.b.reply(f, 'pong', {});
  });
}

function fixture(t: TestContext): Fixture {
  const sys = new ActorSystem({ name: 'coord-link', onGiveUp: (err) => assert.fail(`gave up: ${err.message}`) });
  const pairs: MemoryLinkPair[] = [];
  t.after(() => {
    sys.stop();
    for (const p of pairs) p.cut('test over');
  });
  const nobody = sys.spawn<null, never>({ name: 'nobody', init: () => null, receive: (s) => s });
  const coordinator = sys.spawn(masterCoordinatorSpec({
    cluster: 'wazuh', self: MASTER, intervals: DEFAULT_INTERVALS, log: createLogger(new MemorySink(), 'Master'),
    integrity: nobody as unknown as MasterCoordinatorDeps['integrity'],
    registry: nobody as unknown as MasterCoordinatorDeps['registry'],
    agentInfo: nobody as unknown as MasterCoordinatorDeps['agentInfo'],
    sync: { maxFileBytes: 1e9, maxSyncBytes: 1e9, send: async () => 0 },
    openLinks: () => [],
    probeTimeoutMs: 100,
  }));
  return {
    coordinator,
    admit: async (name, opts = {}) => {
      const pair = memoryLinkPair();
      pairs.push(pair);
      playWorker(pair, opts.answers ?? true);
      const worker: NodeInfo = { name, type: 'worker', version: '0.1.0', address: `10.0.0.${pairs.length + 1}` };
      const verdict = await coordinator.ask<AdmitVerdict>((reply) => ({ kind: 'admit', worker, link: pair.a, reply }), ASK_MS);
      if (verdict.accept) pair.a.onClose((reason) => coordinator.tell({ kind: 'link-closed', name, link: pair.a, reason }));
      else pair.a.close('refused');
      return { pair, verdict };
    },
    nodes: () => coordinator.ask<NodeInfo[]>((reply) => ({ kind: 'list-nodes', reply }), ASK_MS).then((n) => n.map((x) => x.name)),
  };
}

test('master coordinator over links - admits workers in order, and drops a session when its link closes', async (t) => {
  const f = fixture(t);
  const w1 = await f.admit('w1');
  const w2 = await f.admit('w2');
  assert.deepEqual([w1.verdict.accept, w2.verdict.accept], [true, true]);
  assert.deepEqual(await f.nodes(), [MASTER.name, 'w1', 'w2']);
  w1.pair.cut('w1 lost');
  await until(() => w1.pair.a.closed, 'the link closed');
  // The close told the coordinator before this ask was made.
  assert.deepEqual(await f.nodes(), [MASTER.name, 'w2']);
  // The worker closing from its side is noticed too.
  w2.pair.b.close('worker leaving');
  await until(() => w2.pair.a.closed, 'the master end follows');
  assert.deepEqual(await f.nodes(), [MASTER.name]);
});

test('master coordinator over links - a live name is refused; a dead one is replaced, and the old link closing later leaves the new session', async (t) => {
  const f = fixture(t);
  const first = await f.admit('w1');
  const clash = await f.admit('w1');
  assert.deepEqual(clash.verdict, { accept: false, reject: 'duplicate-name', detail: 'w1 (connected from 10.0.0.2)' });
  assert.equal(framesOf(first.pair.trace, 'pong', 'b').length, 1, 'the live session was probed over its link');
  // The first connection dies silently: the next one under its name replaces it.
  first.pair.stall();
  const second = await f.admit('w1');
  assert.equal(second.verdict.accept, true);
  assert.equal(first.pair.a.closeReason, 'replaced by a new connection of the same node');
  // The replaced link's close reached the coordinator (link-closed, queued before this ask): it must not take the new session with it.
  assert.deepEqual(await f.nodes(), [MASTER.name, 'w1']);
  assert.equal(second.pair.a.closed, false);
  second.pair.b.attach((fr) => { if (fr.type === 'ping') second.pair.b.reply(fr, 'pong', {}); });
  const third = await f.admit('w1');
  assert.equal(third.verdict.accept, false, 'the new session is the live one');
});

test('master coordinator over links - manifest notices and registry pushes reach every worker', async (t) => {
  const f = fixture(t);
  const w1 = await f.admit('w1');
  const w2 = await f.admit('w2');
  f.coordinator.tell({ kind: 'manifest-changed', revision: 7, digest: 'e'.repeat(64) });
  f.coordinator.tell({ kind: 'registry-push', push: { kind: 'push-beacon', beacon: { revision: 3, checksum: 'c'.repeat(40) } } });
  for (const w of [w1, w2]) {
    await until(() => framesOf(w.pair.trace, 'registry-beacon', 'a').length === 1, 'the beacon');
    assert.deepEqual(framesOf(w.pair.trace, 'integrity-notice', 'a').map((x) => x.body), [{ revision: 7, digest: 'e'.repeat(64) }]);
    assert.deepEqual(framesOf(w.pair.trace, 'registry-beacon', 'a').map((x) => x.body), [{ revision: 3, checksum: 'c'.repeat(40) }]);
  }
});

test('master coordinator over links - two newcomers racing for a dead name: only one gets it', async (t) => {
  const f = fixture(t);
  const first = await f.admit('w1');
  first.pair.stall();
  const [a, b] = await within(Promise.all([f.admit('w1'), f.admit('w1')]), 'both verdicts');
  const accepted = [a, b].filter((x) => x.verdict.accept);
  assert.equal(accepted.length, 1, `both newcomers were admitted; the first one's live link was closed: ${a.pair.a.closeReason ?? b.pair.a.closeReason}`);
});
