/**
 * Agent status into the master: a master whose registry holds AGENTS agents; two
 * workers (real cluster links, the real handshake, in this process) report a full
 * refresh cycle of every agent's status (half each, in batches of 5,000, both at once),
 * as their AgentInfoIngest does; measured until the master acknowledged every batch.
 * Then the master's RSS. Baseline in the same run: the same rows written straight into
 * a copy of the master's SQLite in batched transactions (no network, no checks).
 * Prints one JSON line; progress goes to stderr.
 *
 * Sizes: AGENTS (default 100000), CYCLES (3).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeCluster, waitFor, listedNodes, type TestCluster } from '../test/harness/cluster.js';
import { RegistryDb } from '../runtime/storage/registry-db.js';
import { ClusterClient } from '../runtime/transport/cluster-client.js';
import { createLogger, MemorySink } from '../runtime/logger.js';
import { CLUSTERD_VERSION } from '../protocols/version.js';
import { AGENT_INFO_BATCH, type AgentInfoUpdate } from '../protocols/agent-info.js';
import { REGISTRY_BATCH, type RegistryChange } from '../protocols/registry.js';

const AGENTS = Number(process.env['AGENTS'] ?? 100_000);
const CYCLES = Number(process.env['CYCLES'] ?? 3);
const progress = (msg: string): void => { process.stderr.write(`[agent-info] ${msg}\n`); };

function seed(home: string): void {
  const db = RegistryDb.open(path.join(home, 'queue', 'db', 'global.db'), 'master');
  try {
    db.commit([{ op: 'group-created', group: 'default' }]);
    for (let start = 1; start <= AGENTS; start += REGISTRY_BATCH) {
      const batch: RegistryChange[] = [];
      for (let id = start; id < Math.min(start + REGISTRY_BATCH, AGENTS + 1); id++) {
        batch.push({ op: 'agent-added', agent: { id, name: `agent-${id}`, ip: 'any', key: randomBytes(32).toString('hex'), registeredAt: Date.now(), groups: ['default'] } });
      }
      db.commit(batch);
    }
  } finally {
    db.close();
  }
}

const report = { uname: 'Linux |host |5.15 |#1 SMP |x86_64 [Ubuntu|ubuntu: 22.04 LTS (Jammy Jellyfish)]', configSum: 'ab73af41699f13fdd81903b5f23d8d00', mergedSum: 'd6e3ac3e75ca0319af3e7c262776f331', agentIp: '10.0.0.5', labels: '"env":bench', os: { name: 'Ubuntu', platform: 'ubuntu', version: '22.04', codename: 'Jammy Jellyfish', major: '22', minor: '04', build: null, arch: 'x86_64' } };

function updates(from: number, to: number, cycle: number): AgentInfoUpdate[][] {
  const batches: AgentInfoUpdate[][] = [];
  for (let start = from; start <= to; start += AGENT_INFO_BATCH) {
    const batch: AgentInfoUpdate[] = [];
    for (let id = start; id <= Math.min(to, start + AGENT_INFO_BATCH - 1); id++) {
      batch.push(cycle === 0
        ? { id, kind: 'full', status: 'active', statusCode: 0, version: 'Wazuh v4.14.5', at: Date.now(), report }
        : { id, kind: 'keepalive', status: 'active', statusCode: 0, version: 'Wazuh v4.14.5', at: Date.now(), report: null });
    }
    batches.push(batch);
  }
  return batches;
}

/** The floor: the same rows as plain batched UPDATEs into a copy of the master's database. */
function baseline(home: string): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-bench-info-'));
  try {
    const file = path.join(dir, 'global.db');
    fs.copyFileSync(path.join(home, 'queue', 'db', 'global.db'), file);
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const st = db.prepare(`UPDATE agent SET connection_status = 'active', node_name = ?, version = ?, last_keepalive = ?, os_name = ?, os_uname = ?, labels = ? WHERE id = ?`);
    const t0 = performance.now();
    for (const batch of [...updates(1, AGENTS / 2, 0), ...updates(AGENTS / 2 + 1, AGENTS, 0)]) {
      db.transaction(() => { for (const u of batch) st.run('w', u.version, Date.now(), report.os.name, report.uname, report.labels, u.id); })();
    }
    const ms = performance.now() - t0;
    db.close();
    return ms;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function masterRss(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

let c: TestCluster | undefined;
const clients: ClusterClient[] = [];
try {
  // Default intervals: the bench's links send no keepalives, which the test intervals would punish within 2 s.
  c = await makeCluster('bench-agent-info', { workers: 0, clusterJson: {} });
  const { master } = c;
  progress(`seeding ${AGENTS} agents`);
  seed(master.home);
  await master.start();
  await waitFor(async () => (await listedNodes(master)).length === 1, 'the master', 30_000);
  const links = [];
  for (const name of ['bench-w1', 'bench-w2']) {
    const client = new ClusterClient({
      host: '127.0.0.1', port: c.port, identity: { cluster: 'wazuh', node: name, version: CLUSTERD_VERSION, key: c.key },
      connectTimeoutMs: 10_000, requestTimeoutMs: 120_000, log: createLogger(new MemorySink(), name),
    });
    clients.push(client);
    links.push((await client.connect()).link);
  }
  const half = Math.floor(AGENTS / 2);
  const cycles: number[] = [];
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const work = [updates(1, half, cycle), updates(half + 1, AGENTS, cycle)];
    const t0 = performance.now();
    await Promise.all(links.map(async (link, i) => {
      for (const batch of work[i] ?? []) {
        const ack = await link.request('agent-info', { updates: batch }, 120_000);
        if (ack.type !== 'agent-info-ack' || ack.body.stored !== batch.length) throw new Error(`batch not stored: ${JSON.stringify(ack.body)}`);
      }
    }));
    cycles.push(performance.now() - t0);
    progress(`cycle ${cycle + 1} (${cycle === 0 ? 'full reports' : 'keepalive refresh'}): ${cycles[cycles.length - 1]?.toFixed(0)} ms`);
  }
  const rss = masterRss(master.pid);
  const floor = baseline(master.home);
  const refresh = cycles.slice(1);
  const refreshMs = refresh.length ? Math.max(...refresh) : (cycles[0] ?? NaN);
  const fullMs = cycles[0] ?? NaN;
  process.stdout.write(`${JSON.stringify({
    bench: 'agent-info', agents: AGENTS, workers: 2,
    value: Math.round(AGENTS / (refreshMs / 1000)), unit: 'agent updates/s stored by the master (keepalive refresh cycle, 2 workers)',
    full_report_cycle_ms: Math.round(fullMs), refresh_cycle_ms: Math.round(refreshMs), full_report_updates_per_s: Math.round(AGENTS / (fullMs / 1000)),
    master_rss_mb: Math.round(rss),
    baseline: { name: 'same rows as plain batched UPDATEs into a copy of the SQLite file, one process', value: Math.round(AGENTS / (floor / 1000)), unit: 'updates/s' },
    ratio: Number(((AGENTS / (floor / 1000)) / (AGENTS / (refreshMs / 1000))).toFixed(2)),
    targets: { updates_per_s: 50_000, cycle_ms: 2000, master_rss_mb: 400 },
    reference: 'Wazuh 4.14: 5,000 agents per worker synced in 0.5-0.6 s (#5585)',
  })}\n`);
} finally {
  for (const client of clients) client.close('bench done');
  await c?.stopAll();
}
