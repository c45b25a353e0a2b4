import test from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../harness/manual-clock.js';

test('manual clock - time stands still until advanced', async () => {
  const clock = new ManualClock({ start: 1000 });
  assert.equal(clock.now(), 1000);
  await clock.advance(250);
  assert.equal(clock.now(), 1250);
  await clock.advance(0);
  assert.equal(clock.now(), 1250);
  await assert.rejects(clock.advance(-1), /cannot advance/);
});

test('manual clock - timers fire in time order, ties in the order they were set, each at its own time', async () => {
  const clock = new ManualClock({ start: 0 });
  const fired: string[] = [];
  const at = (name: string) => () => fired.push(`${name}@${clock.now()}`);
  clock.setTimeout(at('c'), 30);
  clock.setTimeout(at('a'), 10);
  clock.setTimeout(at('b1'), 20);
  clock.setTimeout(at('b2'), 20);
  await clock.advance(9);
  assert.deepEqual(fired, []);
  await clock.advance(16);
  assert.deepEqual(fired, ['a@10', 'b1@20', 'b2@20']);
  assert.equal(clock.now(), 25);
  assert.equal(clock.nextDue(), 30);
  await clock.advance(100);
  assert.deepEqual(fired, ['a@10', 'b1@20', 'b2@20', 'c@30']);
  assert.equal(clock.pending(), 0);
  assert.equal(clock.nextDue(), null);
});

test('manual clock - a repeating timer fires once per period the advance spans, interleaved with others', async () => {
  const clock = new ManualClock({ start: 0 });
  const fired: string[] = [];
  clock.setInterval(() => fired.push(`tick@${clock.now()}`), 10);
  clock.setTimeout(() => fired.push(`once@${clock.now()}`), 25);
  await clock.advance(35);
  assert.deepEqual(fired, ['tick@10', 'tick@20', 'once@25', 'tick@30']);
  await clock.advance(5);
  assert.deepEqual(fired.slice(4), ['tick@40']);
  assert.equal(clock.pending(), 1);
});

test('manual clock - a cleared timer does not fire, even when cleared by one firing before it', async () => {
  const clock = new ManualClock({ start: 0 });
  const fired: string[] = [];
  const gone = clock.setTimeout(() => fired.push('gone'), 5);
  clock.clearTimer(gone);
  const ticker = clock.setInterval(() => fired.push(`tick@${clock.now()}`), 10);
  const later = clock.setTimeout(() => fired.push('later'), 20);
  clock.setTimeout(() => { clock.clearTimer(later); clock.clearTimer(ticker); }, 15);
  await clock.advance(100);
  assert.deepEqual(fired, ['tick@10']);
  clock.clearTimer(ticker);
  assert.equal(clock.pending(), 0);
});

test('manual clock - a timer set while firing fires in the same advance when due within it', async () => {
  const clock = new ManualClock({ start: 0 });
  const fired: number[] = [];
  clock.setTimeout(() => { fired.push(clock.now()); clock.setTimeout(() => fired.push(clock.now()), 10); }, 10);
  await clock.advance(20);
  assert.deepEqual(fired, [10, 20]);
});

test('manual clock - promise continuations run between firings', async () => {
  const clock = new ManualClock({ start: 0 });
  const seen: string[] = [];
  clock.setTimeout(() => {
    void Promise.resolve().then(() => new Promise<void>((r) => setImmediate(r))).then(() => seen.push(`continued@${clock.now()}`));
  }, 10);
  clock.setTimeout(() => seen.push(`second@${clock.now()}`), 20);
  await clock.advance(20);
  assert.deepEqual(seen, ['continued@10', 'second@20']);
});
