/**
 * From an agent's keepalive to "active" on the master: a master and two workers hold
 * AGENTS simulated agents (keepalives every 10 s, half on each worker); SAMPLE more
 * agents, started (pending) but silent, each send their first keepalive in turn and
 * the time until the master's registry shows them active is measured. Baseline in the
 * same run: the time the same keepalive takes to be acknowledged by the worker.
 * Prints one JSON line; progress goes to stderr.
 *
 * Sizes: AGENTS (default 5000), SAMPLE (200).
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeCluster, listedNodes, waitFor, type TestCluster, type NodeProcess } from '../test/harness/cluster.js';
import { startFleet, quantile, r2 } from './lib/fleet.js';
import type { SimulatedAgent } from '../sim/simulated-agent.js';

const AGENTS = Number(process.env['AGENTS'] ?? 5000);
const SAMPLE = Number(process.env['SAMPLE'] ?? 200);
const progress = (msg: string): void => { process.stderr.write(`[keepalive-to-active] ${msg}\n`); };

let c: TestCluster | undefined;
let fleet: SimulatedAgent[] = [];
try {
  c = await makeCluster('bench-ka', { workers: 2 });
  const { master } = c;
  const workers = c.workers as [NodeProcess, NodeProcess];
  await master.start();
  await Promise.all(workers.map((w) => w.start()));
  await waitFor(async () => (await listedNodes(master)).length === 3, 'the cluster to form', 30_000);
  fleet = await startFleet({
    count: AGENTS, prefix: 'load', nodes: workers, keepaliveMs: 10_000,
    progress: (n) => progress(`${n}/${AGENTS} agents connected`),
  });
  progress(`${AGENTS} agents connected; sampling ${SAMPLE} first keepalives`);
  const sample = await startFleet({
    count: SAMPLE, prefix: 'probe', nodes: workers, keepaliveMs: 3_600_000,
  });
  fleet.push(...sample);
  const db = new Database(path.join(master.home, 'queue', 'db', 'global.db'), { readonly: true, fileMustExist: true });
  const status = db.prepare<[string], string>('SELECT connection_status FROM agent WHERE name = ?').pluck();
  const active: number[] = [];
  const acked: number[] = [];
  for (const agent of sample) {
    const { name } = agent;
    const t0 = performance.now();
    const ack = agent.keepaliveNow().then((ms: number) => acked.push(ms));
    while (status.get(name) !== 'active') {
      if (performance.now() - t0 > 30_000) throw new Error(`${name} not active after 30 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
    active.push(performance.now() - t0);
    await ack;
  }
  db.close();
  const s = [...active].sort((a, b) => a - b);
  const b = [...acked].sort((x, y) => x - y);
  process.stdout.write(`${JSON.stringify({
    bench: 'keepalive-to-active', agents: AGENTS + SAMPLE, sample: SAMPLE,
    value: r2(quantile(s, 0.99)), unit: 'ms p99 from a first keepalive to active in the master registry',
    p50: r2(quantile(s, 0.5)), max: r2(s[s.length - 1] ?? NaN),
    baseline: { name: 'the same keepalive acknowledged by the worker', value: r2(quantile(b, 0.99)), p50: r2(quantile(b, 0.5)), unit: 'ms p99' },
    ratio: r2(quantile(s, 0.99) / Math.max(quantile(b, 0.99), 0.01)),
    target_p99_ms: 1000,
    reference: 'Wazuh 4.14: up to the 10 s agent-info interval',
  })}\n`);
} finally {
  for (const a of fleet) a.drop();
  await c?.stopAll();
}
