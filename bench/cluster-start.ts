/**
 * How long a master and two workers take from spawn to a formed cluster (the master
 * lists both workers), against a baseline of spawning three bare node processes that
 * exit at once, measured in the same run. Prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { makeCluster, listedNodes, waitFor } from '../test/harness/cluster.js';

const RUNS = Number(process.env['RUNS'] ?? 5);

async function bareProcesses(): Promise<number> {
  const t0 = performance.now();
  await Promise.all([0, 1, 2].map(() => new Promise((r) => spawn(process.execPath, ['-e', '0']).once('exit', r))));
  return performance.now() - t0;
}

async function formCluster(): Promise<number> {
  // Default intervals: this is what an operator's first start costs.
  const c = await makeCluster('bench-start', { workers: 2, clusterJson: {} });
  const t0 = performance.now();
  try {
    await Promise.all([c.master, ...c.workers].map((n) => n.start()));
    await waitFor(async () => (await listedNodes(c.master)).length === 3, 'cluster to form', 60_000);
    return performance.now() - t0;
  } finally {
    await c.stopAll();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const base: number[] = [];
const form: number[] = [];
for (let i = 0; i < RUNS; i++) {
  base.push(await bareProcesses());
  form.push(await formCluster());
}
const formMs = median(form);
const baseMs = median(base);
process.stdout.write(`${JSON.stringify({
  bench: 'cluster-start', runs: RUNS,
  value: Math.round(formMs), unit: 'ms to a formed master + 2 workers (median)',
  baseline: { name: 'spawn 3 bare node processes', value: Math.round(baseMs), unit: 'ms (median)' },
  ratio: Number((formMs / baseMs).toFixed(2)),
  runsMs: form.map(Math.round),
})}\n`);
