import test from 'node:test';
import assert from 'node:assert/strict';
import { ActorSystem, backoffMs, recordRestart, DEFAULT_POLICY, type ActorSpec, type Reply } from '../../../runtime/actor-kit.js';

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
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(5);
  }
}

test('actor-kit - a crash restarts the actor and init reloads state from its source', async () => {
  const crashes: string[] = [];
  const sys = new ActorSystem({ name: 't1', policy: fast, onGiveUp: () => assert.fail('gave up'), onCrash: (p, _e, d) => crashes.push(`${p}:${d}`) });
  const store = { value: 0, inits: 0, ticks: 0 };
  const ref = sys.spawn(counterSpec(store));
  ref.tell({ kind: 'inc' });
  ref.tell({ kind: 'inc' });
  ref.tell({ kind: 'boom' });
  ref.tell({ kind: 'inc' });
  assert.equal(await ref.ask<number>((reply) => ({ kind: 'get', reply }), 2000), 3);
  const fig = sys.figures().find((f) => f.path === 'node/counter');
  assert.ok(fig);
  assert.equal(fig.restarts, 1);
  assert.equal(fig.lastError?.message, 'boom');
  assert.equal(fig.summary['value'], 3);
  assert.equal(fig.handled, 5);
  assert.equal(fig.mailbox, 0);
  assert.deepEqual(crashes, ['node/counter:restart']);
  assert.equal(store.inits, 2);
  sys.stop();
});

test('actor-kit - injected fault restarts the actor and counts it', async () => {
  const sys = new ActorSystem({ name: 't2', policy: fast, onGiveUp: () => assert.fail('gave up') });
  const store = { value: 7, inits: 0, ticks: 0 };
  const ref = sys.spawn(counterSpec(store));
  assert.equal(sys.injectFault('node/counter'), true);
  assert.equal(sys.injectFault('node/nobody'), false);
  assert.equal(await ref.ask<number>((reply) => ({ kind: 'get', reply }), 2000), 7);
  assert.equal(sys.figures().find((f) => f.path === 'node/counter')?.restarts, 1);
  assert.match(sys.figures().find((f) => f.path === 'node/counter')?.lastError?.message ?? '', /fault injected/);
  sys.stop();
});

test('actor-kit - too many restarts escalate to the parent, which restarts its children', async () => {
  const decisions: string[] = [];
  const sys = new ActorSystem({ name: 't3', policy: { ...fast, maxRestarts: 10 }, onGiveUp: () => assert.fail('gave up'), onCrash: (p, _e, d) => decisions.push(`${p}:${d}`) });
  const store = { value: 1, inits: 0, ticks: 0 };
  type ParentMsg = { kind: 'child'; reply: Reply<string> };
  const parent = sys.spawn<null, ParentMsg>({
    name: 'parent',
    init: (ctx) => { ctx.spawn(counterSpec(store, 'child')); return null; },
    receive: (s, msg) => { msg.reply.ok('ok'); return s; },
  });
  const child = { path: 'node/parent/child' };
  for (let i = 0; i < 4; i++) {
    sys.injectFault(child.path);
    await until(() => decisions.length > i, `crash ${i}`);
  }
  await until(() => decisions.includes('node/parent:restart'), 'parent restart');
  assert.deepEqual(decisions.slice(0, 5), [
    'node/parent/child:restart', 'node/parent/child:restart', 'node/parent/child:restart',
    'node/parent/child:escalate', 'node/parent:restart',
  ]);
  await parent.ask<string>((reply) => ({ kind: 'child', reply }), 2000);
  await until(() => sys.figures().some((f) => f.path === 'node/parent/child' && f.restarts === 0), 'fresh child');
  assert.equal(store.value, 1);
  sys.stop();
});

test('actor-kit - the root gives up once its own budget is spent', async () => {
  let gaveUp: Error | undefined;
  const sys = new ActorSystem({ name: 't4', policy: { ...fast, maxRestarts: 0 }, onGiveUp: (e) => { gaveUp = e; } });
  sys.spawn(counterSpec({ value: 0, inits: 0, ticks: 0 }, 'c'));
  // The child's own policy allows 3 restarts; the 4th escalates to the root, whose budget is 0.
  for (let i = 0; i < 4; i++) {
    sys.injectFault('node/c');
    await wait(30);
  }
  await until(() => gaveUp !== undefined, 'give up');
  assert.match(gaveUp?.message ?? '', /gave up: fault injected/);
  sys.stop();
});

test('actor-kit - timers of an incarnation stop when it restarts', async () => {
  const sys = new ActorSystem({ name: 't5', policy: fast, onGiveUp: () => assert.fail('gave up') });
  const store = { value: 0, inits: 0, ticks: 0 };
  const base = counterSpec(store, 'ticker');
  const ref = sys.spawn<number, CounterMsg>({ ...base, init: (ctx) => { ctx.every(10, { kind: 'tick' }); return base.init(ctx); } });
  await until(() => store.ticks >= 3, 'ticks');
  ref.tell({ kind: 'boom' });
  await until(() => store.inits === 2, 'restart');
  const before = store.ticks;
  const t0 = performance.now();
  await until(() => store.ticks > before, 'the new incarnation to tick');
  await wait(60);
  // One interval (the new incarnation's) ticks, not two. A busy machine only delays
  // ticks, so the bound from above is safe; two intervals would give twice as many.
  const gained = store.ticks - before;
  const limit = Math.floor((performance.now() - t0) / 10) + 2;
  assert.ok(gained <= limit, `ticks gained after restart: ${gained}, at most ${limit} for one interval`);
  sys.stop();
  const stoppedAt = store.ticks;
  await wait(40);
  assert.equal(store.ticks, stoppedAt);
});

test('actor-kit - ask fails with the reason given, and times out on silence', async () => {
  const sys = new ActorSystem({ name: 't6', policy: fast, onGiveUp: () => assert.fail('gave up') });
  type M = { kind: 'fail'; reply: Reply<number> } | { kind: 'ignore'; reply: Reply<number> };
  const ref = sys.spawn<null, M>({
    name: 'a', init: () => null,
    receive: (s, m) => { if (m.kind === 'fail') m.reply.fail('not connected'); return s; },
  });
  await assert.rejects(ref.ask<number>((reply) => ({ kind: 'fail', reply }), 1000), /not connected/);
  await assert.rejects(ref.ask<number>((reply) => ({ kind: 'ignore', reply }), 30), /no answer from node\/a within 30 ms/);
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
