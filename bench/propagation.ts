/**
 * How fast an edit on the master reaches every worker: a formed, in-sync master + 3
 * workers; EDITS times, etc/rules/local_rules.xml is saved on the master the way an
 * editor does (temp file + rename) and the time until all three worker copies hold the
 * new content is measured. Workers check on their own only every 60 s, so only the
 * master's change notices drive propagation. Baseline in the same run: the time for
 * the same edits to be seen by a reader of the master's own copy (the polling floor).
 * Prints one JSON line; progress goes to stderr.
 *
 * Sizes: EDITS (default 50), GAP_MS between edits (100), GIVE_UP_MS per edit (10000).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { makeCluster, listedNodes, waitFor, FAST_INTERVALS, type TestCluster } from '../test/harness/cluster.js';
import { sameTree, syncedTree, writeFile } from '../test/harness/tree.js';

const EDITS = Number(process.env['EDITS'] ?? 50);
const GAP_MS = Number(process.env['GAP_MS'] ?? 100);
const GIVE_UP_MS = Number(process.env['GIVE_UP_MS'] ?? 10_000);
const POLL_MS = 2;
const REL = 'etc/rules/local_rules.xml';

const progress = (msg: string): void => { process.stderr.write(`[propagation] ${msg}\n`); };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function rules(marker: string): string {
  const body = Array.from({ length: 20 }, (_, i) => `  <rule id="${100100 + i}" level="5">\n    <if_sid>5716</if_sid>\n    <description>sshd: authentication failed (${i})</description>\n  </rule>\n`).join('');
  return `<!-- ${marker} -->\n<group name="local,syslog,sshd,">\n${body}</group>\n`;
}

/** An editor's save: the new content goes to a temp file (an excluded `.tmp` name) renamed over the old one. */
function atomicWrite(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `${path.basename(file)}.bench.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

const read = (file: string): string | null => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null; // between unlink and rename on a worker, or not there yet
  }
};

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}
const ms2 = (x: number): number => Number(x.toFixed(2));
function stats(xs: readonly number[]): { p50: number; p99: number; max: number; mean: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { p50: ms2(quantile(s, 0.5)), p99: ms2(quantile(s, 0.99)), max: ms2(s[s.length - 1] ?? NaN), mean: ms2(mean) };
}

let c: TestCluster | undefined;
try {
  c = await makeCluster('bench-propagation', {
    workers: 3,
    clusterJson: { intervals: { ...FAST_INTERVALS, worker: { ...FAST_INTERVALS.worker, sync_integrity: 60 } } },
  });
  const { master, workers } = c;
  writeFile(master.home, REL, rules('initial'));
  writeFile(master.home, 'etc/shared/default/agent.conf', '<agent_config></agent_config>\n');
  await master.start();
  await Promise.all(workers.map((w) => w.start()));
  await waitFor(async () => (await listedNodes(master)).length === 1 + workers.length, 'the cluster to form', 30_000);
  await waitFor(() => {
    const m = syncedTree(master.home);
    return workers.every((w) => sameTree(m, syncedTree(w.home))) || undefined;
  }, 'the workers to be in sync', 30_000);
  progress('formed and in sync');

  const masterFile = path.join(master.home, REL);
  const workerFiles = workers.map((w) => path.join(w.home, REL));
  const seenAll: number[] = [];
  const seenMaster: number[] = [];
  let failures = 0;
  for (let i = 0; i < EDITS; i++) {
    const text = rules(`edit ${i} ${randomBytes(8).toString('hex')}`);
    const t0 = performance.now();
    atomicWrite(masterFile, text);
    // The same polling loop watches the master's copy (baseline) and the three workers'.
    let masterAt: number | null = null;
    const pending = new Set(workerFiles);
    for (;;) {
      if (masterAt === null && read(masterFile) === text) masterAt = performance.now() - t0;
      for (const f of pending) if (read(f) === text) pending.delete(f);
      const elapsed = performance.now() - t0;
      if (pending.size === 0 && masterAt !== null) {
        seenAll.push(elapsed);
        seenMaster.push(masterAt);
        break;
      }
      if (elapsed > GIVE_UP_MS) {
        failures++;
        progress(`edit ${i}: ${pending.size} worker(s) still without it after ${GIVE_UP_MS} ms`);
        break;
      }
      await sleep(POLL_MS);
    }
    if ((i + 1) % 10 === 0) progress(`${i + 1}/${EDITS} edits, last ${(seenAll[seenAll.length - 1] ?? NaN).toFixed(1)} ms`);
    await sleep(GAP_MS);
  }

  const all = stats(seenAll);
  const floor = stats(seenMaster);
  process.stdout.write(`${JSON.stringify({
    bench: 'propagation', edits: EDITS, workers: workers.length,
    value: all.p99, unit: 'ms p99 from an atomic save on the master to the content on all 3 workers',
    p50: all.p50, max: all.max, mean: all.mean, failures,
    baseline: { name: 'same edits seen by a reader of the master copy (polling floor)', value: floor.p99, p50: floor.p50, unit: 'ms p99' },
    ratio: Number((all.p99 / Math.max(floor.p99, 1)).toFixed(2)),
    target_p99_ms: 250,
    reference: 'Wazuh 4.14: up to sync_integrity 9 s + sync',
  })}\n`);
} finally {
  await c?.stopAll();
}
