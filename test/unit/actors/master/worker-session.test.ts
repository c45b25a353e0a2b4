/**
 * The master's WorkerSession under the real actor kit, with an in-memory link that
 * records what the session sends: how an integrity check becomes a plan, and when
 * the sync slot frees itself. Time is a manual clock: the worker's silence lasts
 * exactly as long as the test advances it, however loaded the machine is.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { ActorSystem, type ActorRef } from '../../../../runtime/actor-kit.js';
import { createLogger, MemorySink } from '../../../../runtime/logger.js';
import { DEFAULT_INTERVALS } from '../../../../runtime/config/defaults.js';
import { workerSessionSpec, type WorkerSessionDeps, type WorkerSessionMsg } from '../../../../actors/master/worker-session.js';
import type { SyncPort } from '../../../../actors/master/worker-sync.js';
import type { ManifestSnapshot } from '../../../../actors/integrity-scanner.js';
import type { PeerLink } from '../../../../actors/ports.js';
import type { ClusterFrame, ClusterType, ClusterBody } from '../../../../protocols/cluster-messages.js';
import { manifestDigest } from '../../../../protocols/integrity.js';
import { ManualClock } from '../../../harness/manual-clock.js';

type Sent = { type: ClusterType; body: unknown; re?: number };

function recordingLink(): { link: PeerLink; sent: Sent[]; deliver(f: ClusterFrame): void } {
  const sent: Sent[] = [];
  let handler: ((f: ClusterFrame) => void) | undefined;
  const link: PeerLink = {
    remoteAddress: '127.0.0.9',
    closed: false,
    send: (type, body) => { sent.push({ type, body }); return sent.length; },
    sendPaced: async (type, body) => { sent.push({ type, body }); },
    reply: (to, type, body) => { sent.push({ type, body, re: to.id }); },
    request: () => new Promise<ClusterFrame>(() => undefined),
    attach: (h) => { handler = h; },
    onClose: () => undefined,
    close: () => undefined,
  };
  return { link, sent, deliver: (f) => handler?.(f) };
}

const manifest = new Map([['etc/rules/a.xml', { md5: 'a'.repeat(32), size: 3, mtimeMs: 1 }]]);
const snapshot: ManifestSnapshot = { manifest, digest: manifestDigest(manifest), revision: 4 };
const frame = <T extends ClusterType>(type: T, id: number, body: ClusterBody<T>): ClusterFrame => ({ v: 1, type, id, body } as ClusterFrame);
const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; !cond(); i++) {
    if (i > 400) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

function session(t: { after(fn: () => void): void }, send: SyncPort['send']): { sent: Sent[]; deliver(f: ClusterFrame): void; clock: ManualClock } {
  const clock = new ManualClock();
  const sys = new ActorSystem({ name: 'wsm', clock, onGiveUp: () => assert.fail('gave up') });
  t.after(() => sys.stop());
  const { link, sent, deliver } = recordingLink();
  const scanner = sys.spawn<null, { kind: 'get-manifest'; reply: { ok(v: ManifestSnapshot): void } }>({
    name: 'scanner', init: () => null, receive: (s, m) => { m.reply.ok(snapshot); return s; },
  });
  const coordinator = sys.spawn<null, never>({ name: 'coordinator', init: () => null, receive: (s) => s });
  const intervals = { ...DEFAULT_INTERVALS, communication: { ...DEFAULT_INTERVALS.communication, timeout_receiving_file: 0.1 } };
  sys.spawn(workerSessionSpec({
    info: { name: 'w1', type: 'worker', version: '0.1.0', address: '127.0.0.9' }, link, intervals,
    log: createLogger(new MemorySink(), 'Master'), coordinator: coordinator as unknown as WorkerSessionDeps['coordinator'],
    integrity: scanner as unknown as WorkerSessionDeps['integrity'], registry: coordinator as unknown as WorkerSessionDeps['registry'],
    agentInfo: coordinator as unknown as WorkerSessionDeps['agentInfo'], sync: { maxFileBytes: 1e9, maxSyncBytes: 1e9, send },
  })) satisfies ActorRef<WorkerSessionMsg>;
  return { sent, deliver, clock };
}

test('worker session (master) - digest match is in sync; a manifest gets a plan; a silent worker frees the slot', async (t) => {
  const { sent, deliver, clock } = session(t, async () => 0);
  deliver(frame('integrity-check', 1, { digest: snapshot.digest, files: 1 }));
  await until(() => sent.some((s) => s.re === 1), 'an answer to check 1');
  assert.deepEqual(sent.find((s) => s.re === 1)?.body, { status: 'in-sync', revision: 4, files: 1 });
  deliver(frame('integrity-check', 2, { digest: 'b'.repeat(64), files: 0 }));
  await until(() => sent.some((s) => s.re === 2), 'an answer to check 2');
  assert.equal((sent.find((s) => s.re === 2)?.body as { status: string }).status, 'need-manifest');
  deliver(frame('integrity-check', 3, { digest: 'b'.repeat(64), files: 0, entries: [] }));
  await until(() => sent.some((s) => s.re === 3), 'a plan');
  const plan = sent.find((s) => s.re === 3);
  assert.equal(plan?.type, 'integrity-plan');
  assert.deepEqual((plan?.body as { create: unknown[] }).create, [{ path: 'etc/rules/a.xml', md5: 'a'.repeat(32), size: 3 }]);
  // While the plan waits for the worker, another check is told to wait.
  deliver(frame('integrity-check', 4, { digest: 'b'.repeat(64), files: 0 }));
  await until(() => sent.some((s) => s.re === 4), 'an answer to check 4');
  assert.equal((sent.find((s) => s.re === 4)?.body as { status: string }).status, 'busy');
  // The worker never answers: after timeout_receiving_file (100 ms) the slot is free again.
  await clock.advance(200);
  deliver(frame('integrity-check', 5, { digest: 'b'.repeat(64), files: 0 }));
  await until(() => sent.some((s) => s.re === 5), 'an answer to check 5');
  assert.equal((sent.find((s) => s.re === 5)?.body as { status: string }).status, 'need-manifest');
});

test('worker session (master) - a sync still sending is not abandoned by the worker timeout', async (t) => {
  let finish: (n: number) => void = () => undefined;
  const { sent, deliver, clock } = session(t, () => new Promise<number>((resolve) => { finish = resolve; }));
  deliver(frame('integrity-check', 1, { digest: 'b'.repeat(64), files: 0, entries: [] }));
  await until(() => sent.some((s) => s.type === 'integrity-plan'), 'a plan');
  const syncId = (sent.find((s) => s.type === 'integrity-plan')?.body as { syncId: string }).syncId;
  deliver(frame('sync-start', 2, { syncId, accept: true }));
  // Well past timeout_receiving_file (100 ms) while the files are still being sent.
  await clock.advance(250);
  deliver(frame('integrity-check', 3, { digest: 'b'.repeat(64), files: 0 }));
  await until(() => sent.some((s) => s.re === 3), 'an answer to check 3');
  assert.equal((sent.find((s) => s.re === 3)?.body as { status: string }).status, 'busy', 'a long send was cut by the timeout');
  finish(3);
  await until(() => sent.some((s) => s.type === 'sync-end'), 'the end of the sync');
  deliver(frame('sync-applied', 4, { syncId, ok: true, created: 1, updated: 0, deleted: 0, ms: 5 }));
  deliver(frame('integrity-check', 5, { digest: snapshot.digest, files: 1 }));
  await until(() => sent.some((s) => s.re === 5), 'an answer to check 5');
  assert.equal((sent.find((s) => s.re === 5)?.body as { status: string }).status, 'in-sync');
});
