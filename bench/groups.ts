/**
 * The full agent→groups table sent to a fresh worker: a master whose registry holds
 * AGENTS agents (a third in `default`, a third in the multigroup `default,dbs`, a
 * third in `web`), a worker started with an empty home; measured from the worker's
 * start until its registry holds the master's revision, and the bytes of the snapshot
 * frames. Baseline in the same run: the same rows read from the master's SQLite and
 * written into a fresh replica in this process (no network, no encoding).
 * Prints one JSON line; progress goes to stderr.
 *
 * Sizes: AGENTS (default 100000).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeCluster, listedNodes, waitFor, type TestCluster, type NodeProcess } from '../test/harness/cluster.js';
import { RegistryDb } from '../runtime/storage/registry-db.js';
import { createGroupDir } from '../runtime/storage/registry-files.js';
import { snapshotParts } from '../actors/master/worker-session.js';
import { encodePayload, envelope } from '../protocols/envelope.js';
import { REGISTRY_BATCH, type AgentRecord, type RegistryChange } from '../protocols/registry.js';
import type { ClusterBodies } from '../protocols/cluster-messages.js';

const AGENTS = Number(process.env['AGENTS'] ?? 100_000);
const progress = (msg: string): void => { process.stderr.write(`[groups] ${msg}\n`); };
const GROUPS: readonly (readonly string[])[] = [['default'], ['default', 'dbs'], ['web']];

function seedMaster(home: string): number {
  const db = RegistryDb.open(path.join(home, 'queue', 'db', 'global.db'), 'master');
  try {
    for (const g of ['default', 'dbs', 'web']) createGroupDir(home, g);
    db.commit(['default', 'dbs', 'web'].map((group): RegistryChange => ({ op: 'group-created', group })));
    const now = Date.now();
    for (let start = 1; start <= AGENTS; start += REGISTRY_BATCH) {
      const batch: RegistryChange[] = [];
      for (let id = start; id < Math.min(start + REGISTRY_BATCH, AGENTS + 1); id++) {
        const agent: AgentRecord = { id, name: `agent-${id}`, ip: 'any', key: randomBytes(32).toString('hex'), registeredAt: now, groups: [...(GROUPS[id % 3] ?? [])] };
        batch.push({ op: 'agent-added', agent });
      }
      db.commit(batch);
    }
    return db.revision;
  } finally {
    db.close();
  }
}

function snapshotBytes(home: string): { bytes: number; parts: number } {
  const db = RegistryDb.open(path.join(home, 'queue', 'db', 'global.db'), 'master');
  try {
    const parts = snapshotParts(db.snapshot());
    let bytes = 0;
    for (const [i, part] of parts.entries()) bytes += encodePayload(envelope<ClusterBodies, 'registry-snapshot'>('registry-snapshot', i + 1, part)).length + 9;
    return { bytes, parts: parts.length };
  } finally {
    db.close();
  }
}

/** The floor: read every row and write it into a fresh replica, in one process. */
function localCopy(home: string): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-bench-groups-copy-'));
  try {
    const t0 = performance.now();
    const master = RegistryDb.open(path.join(home, 'queue', 'db', 'global.db'), 'master');
    const replica = RegistryDb.open(path.join(dir, 'global.db'), 'replica');
    const snap = master.snapshot();
    replica.replaceAll(snap.revision, snap.groups, snap.agents);
    master.close();
    replica.close();
    return performance.now() - t0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function replicaRevision(home: string): number {
  try {
    const db = new Database(path.join(home, 'queue', 'db', 'global.db'), { readonly: true, fileMustExist: true });
    try {
      return Number((db.prepare("SELECT value FROM meta WHERE key = 'revision'").get() as { value: string } | undefined)?.value ?? 0);
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

let c: TestCluster | undefined;
try {
  c = await makeCluster('bench-groups', { workers: 1 });
  const { master } = c;
  const worker = c.workers[0] as NodeProcess;
  progress(`seeding ${AGENTS} agents`);
  const revision = seedMaster(master.home);
  await master.start();
  progress('master up; starting a fresh worker');
  const t0 = performance.now();
  await worker.start();
  await waitFor(async () => (await listedNodes(master)).length === 2, 'the worker to join', 60_000);
  while (replicaRevision(worker.home) < revision) {
    if (performance.now() - t0 > 120_000) throw new Error('the worker did not receive the table within 120 s');
    await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - t0;
  const applied = /Full snapshot applied: (\d+) agents, revision \d+, in ([\d.]+)s/.exec(await worker.waitForLog(/Full snapshot applied/, 5000));
  const { bytes, parts } = snapshotBytes(master.home);
  const floor = localCopy(master.home);
  progress(`table on the worker after ${ms.toFixed(0)} ms; local copy ${floor.toFixed(0)} ms`);
  process.stdout.write(`${JSON.stringify({
    bench: 'groups', agents: AGENTS,
    value: Math.round(ms), unit: 'ms from starting a fresh worker to its registry holding the master\'s full table',
    bytes, parts, apply_ms: applied ? Math.round(Number(applied[2]) * 1000) : null,
    baseline: { name: 'same rows read from the master SQLite and written to a fresh replica, one process', value: Math.round(floor), unit: 'ms' },
    ratio: Number((ms / floor).toFixed(2)),
    reference: 'Wazuh 4.14: full agent-groups sync after 5 mismatching beacons (~50 s); e.g. 26 chunks in 1.9 s (#15966)',
  })}\n`);
} finally {
  await c?.stopAll();
}
