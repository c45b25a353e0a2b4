import test from 'node:test';
import assert from 'node:assert/strict';
import { ActorSystem, backoffMs, recordRestart, DEFAULT_POLICY, type ActorFigures, type ActorSpec, type Reply } from '../../../runtime/actor-kit.js';
import { ManualClock } from '../../harness/manual-clock.js';

type CounterMsg =
  | { kind: 'inc' }
  | { kind: 'boom' }
  | { kind: 'get'; reply: Reply<number> }
  | { kind: 'tick' };

/** A counter whose source of truth is `store`, so a restart reloads it. */
function counterSpec(store: { value: number; inits: number; ticks: number }, name = 'counter'): ActorSpec<number, CounterMsg> {
  return {
    name,
    init: () => { store.inits++; return store.value; },
    receive: (n, msg) => {
      switch (msg.kind) {
        case 'inc': store.value = n + 1; return n + 1;
        case 'boom': throw new Error('boom');
        case 'get': msg.reply.ok(n); return n;
        case 'tick': store.ticks++; return n;
      }
    },
    summary: (n) => ({ value: n }),
    policy: { backoffInitialMs: 1, backoffMaxMs: 5, maxRestarts: 3, windowMs: 60_000 },
  };
}

const fast = { backoffInitialMs: 1, backoffMaxMs: 5 };

/**
 * Lets the actors run (no time passes on the manual clock) until `cond` holds. Only
 * turns of the event loop are waited for, never a timer.
 */
async function settle(clock: ManualClock, cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 500) throw new Error(`never settled: ${what}`);
    await clock.flush();
  }
}

const figure = (sys: ActorSystem, path: string): ActorFigures | undefined => sys.figures().find((f) => f.path === path);

/** Waits for the actor at `path` to be in its backoff, then lets the backoff pass. */
async function restartAfterBackoff(clock: ManualClock, sys: ActorSystem, path: string, backoff: number): Promise<void> {
  await settle(clock, () => figure(sys, path)?.status === 'restarting', `${path} restarting`);
  await clock.advance(backoff - 1);
  assert.equal(figure(sys, path)?.status, 'restarting', `${path} restarted before its ${backoff} ms backoff`);
  await clock.advance(1);
  assert.equal(figure(sys, path)?.status, 'running', `${path} still waits after its ${backoff} ms backoff`);
}

test('actor-kit - a crash restarts the actor and init reloads state from its source', async () => {
  const clock = new ManualClock();
  const crashes: string[] = [];
  const sys = new ActorSystem({ name: 't1', clock, policy: fast, onGiveUp: () => assert.fail('gave up'), onCrash: (p, _e, d) => crashes.push(`${p}:${d}`) });
  const store = { value: 0, inits: 0, ticks: 0 };
  const ref = sys.spawn(counterSpec(store));
  ref.tell({ kind: 'inc' });
  ref.tell({ kind: 'inc' });
  ref.tell({ kind: 'boom' });
  ref.tell({ kind: 'inc' });
  const got = ref.ask<number>((reply) => ({ kind: 'get', reply }), 2000);
  await restartAfterBackoff(clock, sys, 'node/counter', 1);
  assert.equal(await got, 3);
  const fig = figure(sys, 'node/counter');
  assert.ok(fig);
  assert.equal(fig.restarts, 1);
  assert.equal(fig.lastError?.message, 'boom');
  assert.equal(fig.lastError?.at, new Date(clock.now() - 1).toISOString());
  assert.equal(fig.summary['value'], 3);
  assert.equal(fig.handled, 5);
  assert.equal(fig.mailbox, 0);
  assert.deepEqual(crashes, ['node/counter:restart']);
  assert.equal(store.inits, 2);
  sys.stop();
});

test('actor-kit - injected fault restarts the actor and counts it', async () => {
  const clock = new ManualClock();
  const sys = new ActorSystem({ name: 't2', clock, policy: fast, onGiveUp: () => assert.fail('gave up') });
  const store = { value: 7, inits: 0, ticks: 0 };
  const ref = sys.spawn(counterSpec(store));
  assert.equal(sys.injectFault('node/counter'), true);
  assert.equal(sys.injectFault('node/nobody'), false);
  await restartAfterBackoff(clock, sys, 'node/counter', 1);
  assert.equal(await ref.ask<number>((reply) => ({ kind: 'get', reply }), 2000), 7);
  assert.equal(figure(sys, 'node/counter')?.restarts, 1);
  assert.match(figure(sys, 'node/counter')?.lastError?.message ?? '', /fault injected/);
  sys.stop();
});

test('actor-kit - too many restarts escalate to the parent, which restarts its children', async () => {
  const clock = new ManualClock();
  const decisions: string[] = [];
  const sys = new ActorSystem({ name: 't3', clock, policy: { ...fast, maxRestarts: 10 }, onGiveUp: () => assert.fail('gave up'), onCrash: (p, _e, d) => decisions.push(`${p}:${d}`) });
  const store = { value: 1, inits: 0, ticks: 0 };
  type ParentMsg = { kind: 'child'; reply: Reply<string> };
  const parent = sys.spawn<null, ParentMsg>({
    name: 'parent',
    init: (ctx) => { ctx.spawn(counterSpec(store, 'child')); return null; },
    receive: (s, msg) => { msg.reply.ok('ok'); return s; },
  });
  const child = { path: 'node/parent/child' };
  // The child's policy: 3 restarts in its window, backoff 1, 2, 4 ms.
  for (let i = 0; i < 3; i++) {
    sys.injectFault(child.path);
    await settle(clock, () => decisions.length > i, `crash ${i}`);
    await restartAfterBackoff(clock, sys, child.path, [1, 2, 4][i] ?? 0);
  }
  sys.injectFault(child.path);
  await settle(clock, () => decisions.includes('node/parent:restart'), 'parent restart');
  assert.deepEqual(decisions.slice(0, 5), [
    'node/parent/child:restart', 'node/parent/child:restart', 'node/parent/child:restart',
    'node/parent/child:escalate', 'node/parent:restart',
  ]);
  await restartAfterBackoff(clock, sys, 'node/parent', 1);
  await parent.ask<string>((reply) => ({ kind: 'child', reply }), 2000);
  await settle(clock, () => sys.figures().some((f) => f.path === 'node/parent/child' && f.restarts === 0), 'fresh child');
  assert.equal(store.value, 1);
  sys.stop();
});

test('actor-kit - restarts older than the window do not count towards escalation', async () => {
  const clock = new ManualClock();
  const decisions: string[] = [];
  const sys = new ActorSystem({ name: 't3w', clock, policy: fast, onGiveUp: () => assert.fail('gave up'), onCrash: (p, _e, d) => decisions.push(`${p}:${d}`) });
  const store = { value: 1, inits: 0, ticks: 0 };
  const spec = { ...counterSpec(store, 'c'), policy: { backoffInitialMs: 1, backoffMaxMs: 1, maxRestarts: 3, windowMs: 1000 } };
  sys.spawn(spec);
  // Three restarts, the window passes, three more: never more than 3 inside one window.
  for (let i = 0; i < 6; i++) {
    if (i === 3) await clock.advance(1000);
    sys.injectFault('node/c');
    await settle(clock, () => decisions.length > i, `crash ${i}`);
    await restartAfterBackoff(clock, sys, 'node/c', 1);
  }
  assert.deepEqual(decisions, Array(6).fill('node/c:restart'));
  // A fourth inside the current window escalates.
  sys.injectFault('node/c');
  await settle(clock, () => decisions.length > 6, 'escalation');
  assert.equal(decisions[6], 'node/c:escalate');
  sys.stop();
});

test('actor-kit - the root gives up once its own budget is spent', async () => {
  const clock = new ManualClock();
  let gaveUp: Error | undefined;
  const decisions: string[] = [];
  const sys = new ActorSystem({ name: 't4', clock, policy: { ...fast, maxRestarts: 0 }, onGiveUp: (e) => { gaveUp = e; }, onCrash: (p, _e, d) => decisions.push(`${p}:${d}`) });
  sys.spawn(counterSpec({ value: 0, inits: 0, ticks: 0 }, 'c'));
  // The child's own policy allows 3 restarts; the 4th escalates to the root, whose budget is 0.
  for (let i = 0; i < 3; i++) {
    sys.injectFault('node/c');
    await restartAfterBackoff(clock, sys, 'node/c', [1, 2, 4][i] ?? 0);
  }
  sys.injectFault('node/c');
  await settle(clock, () => gaveUp !== undefined, 'give up');
  assert.match(gaveUp?.message ?? '', /gave up: fault injected/);
  sys.stop();
});

test('actor-kit - timers of an incarnation stop when it restarts', async () => {
  const clock = new ManualClock();
  const sys = new ActorSystem({ name: 't5', clock, policy: fast, onGiveUp: () => assert.fail('gave up') });
  const store = { value: 0, inits: 0, ticks: 0 };
  const base = counterSpec(store, 'ticker');
  const ref = sys.spawn<number, CounterMsg>({ ...base, init: (ctx) => { ctx.every(10, { kind: 'tick' }); return base.init(ctx); } });
  await clock.advance(30);
  assert.equal(store.ticks, 3);
  ref.tell({ kind: 'boom' });
  await restartAfterBackoff(clock, sys, 'node/ticker', 1);
  assert.equal(store.inits, 2);
  const before = store.ticks;
  await clock.advance(60);
  // One interval (the new incarnation's) ticks, not two: two would give twice as many.
  assert.equal(store.ticks - before, 6, 'ticks gained after restart: one interval');
  sys.stop();
  assert.equal(clock.pending(), 0, 'a timer outlived the system');
  const stoppedAt = store.ticks;
  await clock.advance(40);
  assert.equal(store.ticks, stoppedAt);
});

test('actor-kit - ctx.now and ctx.after read the system clock', async () => {
  const clock = new ManualClock({ start: 5_000 });
  const sys = new ActorSystem({ name: 't5b', clock, policy: fast, onGiveUp: () => assert.fail('gave up') });
  const seen: number[] = [];
  type M = { kind: 'start' } | { kind: 'late' };
  const ref = sys.spawn<null, M>({
    name: 'a', init: () => null,
    receive: (s, m, ctx) => {
      seen.push(ctx.now());
      if (m.kind === 'start') ctx.after(250, { kind: 'late' });
      return s;
    },
  });
  ref.tell({ kind: 'start' });
  await settle(clock, () => seen.length === 1, 'start handled');
  await clock.advance(249);
  assert.deepEqual(seen, [5_000]);
  await clock.advance(1);
  assert.deepEqual(seen, [5_000, 5_250]);
  sys.stop();
});

test('actor-kit - ask fails with the reason given, and times out on silence', async () => {
  const clock = new ManualClock();
  const sys = new ActorSystem({ name: 't6', clock, policy: fast, onGiveUp: () => assert.fail('gave up') });
  type M = { kind: 'fail'; reply: Reply<number> } | { kind: 'ignore'; reply: Reply<number> };
  const ref = sys.spawn<null, M>({
    name: 'a', init: () => null,
    receive: (s, m) => { if (m.kind === 'fail') m.reply.fail('not connected'); return s; },
  });
  await assert.rejects(ref.ask<number>((reply) => ({ kind: 'fail', reply }), 1000), /not connected/);
  const silent = assert.rejects(ref.ask<number>((reply) => ({ kind: 'ignore', reply }), 30), /no answer from node\/a within 30 ms/);
  await clock.advance(30);
  await silent;
  sys.stop();
});

test('actor-kit - a stopped child frees its name and its refs go quiet', async () => {
  const sys = new ActorSystem({ name: 't7', policy: fast, onGiveUp: () => assert.fail('gave up') });
  type M = { kind: 'respawn'; reply: Reply<string> };
  const store = { value: 0, inits: 0, ticks: 0 };
  const parent = sys.spawn<null, M>({
    name: 'p',
    init: () => null,
    receive: (s, m, ctx) => {
      const child = ctx.spawn(counterSpec(store, 'x'));
      ctx.stop(child);
      const again = ctx.spawn(counterSpec(store, 'x'));
      m.reply.ok(again.path);
      return s;
    },
  });
  assert.equal(await parent.ask<string>((reply) => ({ kind: 'respawn', reply }), 1000), 'node/p/x');
  assert.equal(sys.figures().filter((f) => f.path === 'node/p/x').length, 1);
  sys.stop();
  assert.deepEqual(sys.figures(), []);
});

test('actor-kit - backoff doubles up to its cap; restarts outside the window are forgotten', () => {
  const p = { ...DEFAULT_POLICY, backoffInitialMs: 100, backoffMaxMs: 500 };
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffMs(p, n)), [100, 200, 400, 500, 500]);
  assert.deepEqual(recordRestart([1000, 5000, 9000], 10_000, 6000), [5000, 9000, 10_000]);
});
