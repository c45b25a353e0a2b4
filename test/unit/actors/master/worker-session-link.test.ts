/**
 * The master's WorkerSession on one end of the in-memory link pair, the test playing
 * the worker on the other end with real frames: requests are answered (or refused) by
 * id, a silent worker is dropped, and an answer that comes after the link is gone
 * must not escape as an unhandled rejection (it would end the master's process).
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ActorSystem, type Reply } from '../../../../runtime/actor-kit.js';
import { createLogger, MemorySink } from '../../../../runtime/logger.js';
import { DEFAULT_INTERVALS } from '../../../../runtime/config/defaults.js';
import type { Intervals } from '../../../../runtime/config/types.js';
import { workerSessionSpec, type WorkerSessionDeps } from '../../../../actors/master/worker-session.js';
import type { NodeInfo } from '../../../../protocols/cluster-messages.js';
import { RequestError } from '../../../../protocols/errors.js';
import { memoryLinkPair, type MemoryLinkPair } from '../../../harness/memory-link.js';
import { sleep, until, within } from '../../../harness/wait.js';

const MASTER: NodeInfo = { name: 'master-node', type: 'master', version: '0.1.0', address: '10.0.0.1' };
const WORKER: NodeInfo = { name: 'worker-1', type: 'worker', version: '0.1.0', address: '10.0.0.2' };

type CoordinatorAsk = { readonly kind: 'list-nodes'; readonly reply: Reply<NodeInfo[]> };

interface Fixture {
  readonly pair: MemoryLinkPair;
  /** list-nodes asks the session made of the coordinator, not answered yet. */
  readonly asks: Reply<NodeInfo[]>[];
  /** When set, the coordinator answers at once. */
  answerAtOnce: boolean;
}

function fixture(t: TestContext, intervals: Intervals = DEFAULT_INTERVALS): Fixture {
  const sys = new ActorSystem({ name: 'wsm-link', onGiveUp: (err) => assert.fail(`gave up: ${err.message}`) });
  const pair = memoryLinkPair({ requestTimeoutMs: 5000 });
  t.after(() => {
    sys.stop();
    pair.cut('test over');
  });
  const f: Fixture = { pair, asks: [], answerAtOnce: true };
  const coordinator = sys.spawn<null, CoordinatorAsk>({
    name: 'coordinator',
    init: () => null,
    receive: (s, m) => {
      if (f.answerAtOnce) m.reply.ok([MASTER, WORKER]);
      else f.asks.push(m.reply);
      return s;
    },
  });
  const nobody = sys.spawn<null, never>({ name: 'nobody', init: () => null, receive: (s) => s });
  sys.spawn(workerSessionSpec({
    info: WORKER, link: pair.a, intervals, log: createLogger(new MemorySink(), 'Master'),
    coordinator: coordinator as unknown as WorkerSessionDeps['coordinator'],
    integrity: nobody as unknown as WorkerSessionDeps['integrity'],
    registry: nobody as unknown as WorkerSessionDeps['registry'],
    agentInfo: nobody as unknown as WorkerSessionDeps['agentInfo'],
    sync: { maxFileBytes: 1e9, maxSyncBytes: 1e9, send: async () => 0 },
  }));
  return f;
}

test('worker session (master) over a link - keepalives and nodes-request are answered to their id; an unexpected request is refused', async (t) => {
  const { pair } = fixture(t);
  const worker = pair.b;
  worker.attach(() => undefined);
  const ack = await within(worker.request('keepalive', { sentAt: 1 }), 'a keepalive-ack');
  assert.equal(ack.type, 'keepalive-ack');
  const nodes = await within(worker.request('nodes-request', {}), 'the node list');
  assert.deepEqual(nodes.type === 'nodes' ? nodes.body.nodes.map((n) => n.name) : nodes.type, [MASTER.name, WORKER.name]);
  await assert.rejects(worker.request('integrity-notice', { revision: 1, digest: 'f'.repeat(64) }),
    (e: unknown) => e instanceof RequestError && e.code === 'unexpected' && /unexpected 'integrity-notice' from a worker/.test(e.message));
});

test('worker session (master) over a link - a worker silent beyond max_allowed_time_without_keepalive is disconnected', async (t) => {
  const intervals: Intervals = {
    ...DEFAULT_INTERVALS,
    master: { ...DEFAULT_INTERVALS.master, check_worker_lastkeepalive: 0.02, max_allowed_time_without_keepalive: 0.1 },
  };
  const { pair } = fixture(t, intervals);
  const reasons: string[] = [];
  pair.b.onClose((r) => reasons.push(r));
  await until(() => pair.a.closed, 'the session closes the link');
  assert.equal(pair.a.closeReason, 'no keepalive in the last 0.1s');
  await until(() => reasons.length === 1, 'the worker end learns it');
  assert.deepEqual(reasons, ['connection closed by peer']);
});

test('worker session (master) over a link - an answer ready after the link closed does not escape as an unhandled rejection', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason); };
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  const f = fixture(t);
  f.answerAtOnce = false;
  const worker = f.pair.b;
  worker.attach(() => undefined);
  const asked = worker.request('nodes-request', {}).catch((err: Error) => err);
  await until(() => f.asks.length === 1, 'the session asks the coordinator');
  // The worker goes away while the master works on its request, then the answer is ready.
  f.pair.cut('worker gone');
  assert.ok((await asked) instanceof RequestError);
  f.asks[0]?.ok([MASTER, WORKER]);
  // Let the promise chain run out.
  for (let i = 0; i < 5; i++) await sleep(5);
  assert.deepEqual(unhandled.map(String), [], 'an unhandled rejection would end the master process');
});
