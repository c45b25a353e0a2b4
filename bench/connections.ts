/**
 * How many agents one worker holds: simulated agents with keepalives every 10 s are
 * added in steps to one worker; at each step the worker's CPU over WINDOW seconds is
 * measured from /proc. The value is the largest count held below 50% of one core.
 * Baseline in the same run: the worker's CPU with no agents over the same window.
 * Prints one JSON line; progress goes to stderr.
 *
 * Each step settles one keepalive period first, so new agents' enrolment, first full
 * reports and merged.mg pushes are not counted as the steady cost.
 *
 * Sizes: STEPS (default 1000,2000,4000,6000,8000,10000), WINDOW (10 s).
 */
import { makeCluster, listedNodes, waitFor, type TestCluster, type NodeProcess } from '../test/harness/cluster.js';
import { startFleet, cpuMs, r2 } from './lib/fleet.js';
import type { SimulatedAgent } from '../sim/simulated-agent.js';

const STEPS = (process.env['STEPS'] ?? '1000,2000,4000,6000,8000,10000').split(',').map(Number);
const WINDOW_MS = Number(process.env['WINDOW'] ?? 10) * 1000;
const progress = (msg: string): void => { process.stderr.write(`[connections] ${msg}\n`); };

async function cpuShare(pid: number): Promise<number> {
  const c0 = cpuMs(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  return (cpuMs(pid) - c0) / (performance.now() - t0);
}

let c: TestCluster | undefined;
const fleet: SimulatedAgent[] = [];
try {
  c = await makeCluster('bench-conn', { workers: 1 });
  const worker = c.workers[0] as NodeProcess;
  await c.master.start();
  await worker.start();
  await waitFor(async () => (await listedNodes(c!.master)).length === 2, 'the worker to join', 30_000);
  const pid = worker.pid ?? 0;
  const idle = await cpuShare(pid);
  progress(`idle worker: ${(idle * 100).toFixed(1)}% of a core`);
  const steps: { agents: number; cpu: number }[] = [];
  for (const target of STEPS) {
    const more = await startFleet({
      count: target - fleet.length, prefix: `conn${target}`, nodes: [worker], keepaliveMs: 10_000,
    });
    fleet.push(...more);
    await new Promise((r) => setTimeout(r, 12_000));
    const share = await cpuShare(pid);
    steps.push({ agents: fleet.length, cpu: r2(share * 100) });
    progress(`${fleet.length} agents: worker at ${(share * 100).toFixed(1)}% of a core`);
    if (share >= 0.5) break;
  }
  const held = steps.filter((s) => s.cpu < 50).map((s) => s.agents);
  process.stdout.write(`${JSON.stringify({
    bench: 'connections', keepalive_s: 10,
    value: held.length ? Math.max(...held) : 0, unit: 'agents held by one worker below 50% of one core (largest step measured)',
    steps,
    baseline: { name: 'the same worker with no agents', value: r2(idle * 100), unit: '% of a core' },
    ratio: r2((steps[steps.length - 1]?.cpu ?? NaN) / Math.max(idle * 100, 0.01)),
    note: 'the simulator runs on the same 2-core machine; a step stops the ladder once the worker reaches 50%',
  })}\n`);
} finally {
  for (const a of fleet) a.drop();
  await c?.stopAll();
}
