/**
 * e2e: the per-sync and per-file limits (max_zip_size). Files beyond the per-sync
 * budget follow in the next syncs, at once; a file beyond the per-file limit is
 * warned about at every check, never silently skipped.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { makeCluster, listedNodes, waitFor, FAST_INTERVALS, type TestCluster } from '../harness/cluster.js';
import { syncedTree, writeFile } from '../harness/tree.js';

let c: TestCluster;
const LIMIT = 100_000;

before(async () => {
  c = await makeCluster('limits', {
    workers: 1,
    clusterJson: { intervals: { ...FAST_INTERVALS, communication: { ...FAST_INTERVALS.communication, max_zip_size: LIMIT } } },
  });
  for (let i = 0; i < 10; i++) writeFile(c.master.home, `etc/lists/part-${i}`, randomBytes(30_000));
  writeFile(c.master.home, 'etc/lists/huge', randomBytes(LIMIT + 1));
  await c.master.start();
  await c.workers[0]!.start();
  await waitFor(async () => (await listedNodes(c.master)).length === 2, 'worker to join');
});

after(async () => {
  await c?.stopAll();
});

test('integrity limits - files beyond the per-sync budget arrive in follow-up syncs; an oversized file is warned about', async () => {
  const w = c.workers[0]!;
  await waitFor(() => {
    const tree = syncedTree(w.home);
    return [...Array(10).keys()].every((i) => tree.get(`etc/lists/part-${i}`) === syncedTree(c.master.home).get(`etc/lists/part-${i}`)) || undefined;
  }, 'every part to arrive');
  assert.equal(syncedTree(w.home).has('etc/lists/huge'), false);
  const log = await c.master.waitForLog(/WARNING: \[Worker worker1\] \[Integrity sync\] File too large to be synced: etc\/lists\/huge \(limit 100000 bytes\)\./);
  assert.match(log, /Maximum sync size reached: \d+ files will follow in the next sync\./);
  // Three 30 kB files fit a 100 kB budget: ten need several syncs.
  const syncs = (await w.log()).match(/\[Integrity sync\] Finished in/g)?.length ?? 0;
  assert.ok(syncs >= 4, `only ${syncs} syncs`);
});
