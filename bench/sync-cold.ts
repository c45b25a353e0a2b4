/**
 * A brand-new worker joining a master whose synced set holds ~5,000 files / ~100 MB:
 * wall time from the worker's spawn until its synced tree is identical to the
 * master's and no temp file is left, against a baseline of copying the same tree
 * with tar over a loopback TCP connection followed by one `sync`, measured in the
 * same run. Prints one JSON line; progress goes to stderr.
 *
 * Sizes: FILES (default 5000), MB (default 100); TIMEOUT_S bounds the wait (150).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { makeCluster, waitFor, FAST_INTERVALS, type TestCluster } from '../test/harness/cluster.js';
import { sameTree, syncedTree, tempFiles } from '../test/harness/tree.js';
import { controlRequest } from '../runtime/control/control-client.js';
import { listSyncedFiles } from '../runtime/storage/list-synced.js';
import { SYNCED_SET } from '../runtime/storage/synced-set.js';

const FILES = Number(process.env['FILES'] ?? 5000);
const MB = Number(process.env['MB'] ?? 100);
const TIMEOUT_MS = Number(process.env['TIMEOUT_S'] ?? 150) * 1000;
const POLL_MS = 25;
const KB = 1024;
const MIB = 1024 * 1024;

const progress = (msg: string): void => { process.stderr.write(`[sync-cold] ${msg}\n`); };

/** xorshift32: a fixed layout from run to run, so runs compare. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x1_0000_0000;
  };
}
const rand = rng(0x5eed);
const between = (lo: number, hi: number): number => Math.floor(lo + rand() * (hi - lo + 1));

// Text that looks like rules, lists and logs (compresses well), plus a random pool
// mixed in so the set is not unrealistically compressible.
const WORDS = ['sshd', 'failed', 'password', 'invalid', 'user', 'from', 'port', 'accepted', 'publickey', 'session',
  'opened', 'closed', 'root', 'admin', 'kernel', 'audit', 'syscall', 'denied', 'rule', 'level', 'group', 'match',
  'regex', 'decoder', 'program_name', 'srcip', 'dstip', 'agent', 'manager', 'syslog', 'authentication_failed'];
function textPool(bytes: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  while (n < bytes) {
    const kind = rand();
    const words = Array.from({ length: between(4, 14) }, () => WORDS[between(0, WORDS.length - 1)] ?? 'x').join(' ');
    const line = kind < 0.4
      ? `<rule id="${between(100000, 120000)}" level="${between(0, 15)}"><if_sid>${between(5700, 5799)}</if_sid><match>${words}</match></rule>\n`
      : kind < 0.7
        ? `10.${between(0, 255)}.${between(0, 255)}.${between(0, 255)}:${words.split(' ')[0] ?? ''}\n`
        : `2025-06-${between(10, 28)}T${between(10, 23)}:${between(10, 59)}:${between(10, 59)} host${between(1, 99)} ${words}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join(''));
}
const TEXT = textPool(4 * MIB);
const RANDOM = randomBytes(MIB);

function content(size: number, label: string): Buffer {
  const out = Buffer.allocUnsafe(size);
  let pos = out.write(`# ${label}\n`.slice(0, size));
  while (pos < size) {
    // About 8% of the bytes are random.
    const [pool, len] = rand() < 0.25 ? [RANDOM, between(64, 1024)] : [TEXT, between(256, 4096)];
    const n = Math.min(len, size - pos);
    const from = between(0, pool.length - n);
    pool.copy(out, pos, from, from + n);
    pos += n;
  }
  return out;
}

interface Planned { readonly rel: string; readonly size: number }

/** Mostly small files under etc/shared, some medium lists and rules, a handful of big ones. */
function plan(files: number, totalBytes: number): Planned[] {
  const out: Planned[] = [];
  const medium = Math.max(1, Math.round(files * 0.012));
  out.push({ rel: 'etc/client.keys', size: between(8 * KB, 16 * KB) });
  out.push({ rel: 'etc/rules/local_rules.xml', size: between(1 * KB, 4 * KB) });
  for (let i = 0; i < Math.min(20, files / 50); i++) out.push({ rel: `var/multigroups/${(0x1a2b3c00 + i).toString(16)}/merged.mg`, size: between(1 * KB, 6 * KB) });
  for (let i = 0; i < Math.min(10, files / 100); i++) out.push({ rel: `etc/decoders/decoder_${i}.xml`, size: between(300, 4 * KB) });
  for (let i = 0; i < Math.min(10, files / 100); i++) out.push({ rel: `etc/sca/policy_${i}.yml`, size: between(300, 4 * KB) });
  for (let i = 0; i < medium; i++) {
    out.push({ rel: i % 2 === 0 ? `etc/lists/list_${i}` : `etc/rules/rules_${i}.xml`, size: between(100 * KB, 1 * MIB) });
  }
  const groups = Math.max(1, Math.round(files / 100));
  // Big files: about 10 MB each out of what small and medium files are expected to leave.
  const expectedLeft = totalBytes - out.reduce((n, f) => n + f.size, 0) - (files - out.length) * 2148;
  const small = files - out.length - Math.max(1, Math.round(expectedLeft / (10 * MIB)));
  for (let i = 0; i < small; i++) {
    const g = `group_${String(i % groups).padStart(3, '0')}`;
    // Every fifth file one or two folders deeper, like nested shared files.
    const sub = i % 5 === 0 ? `sub_${i % 3}/` : i % 17 === 0 ? 'sub_x/deeper/' : '';
    out.push({ rel: `etc/shared/${g}/${sub}file_${String(i).padStart(5, '0')}.conf`, size: between(200, 4 * KB) });
  }
  // What is left of the byte budget goes into a handful of big files (5-15 MB at full size),
  // jittered in pairs (+d, -d) so the total still hits the budget.
  const used = out.reduce((n, f) => n + f.size, 0);
  const left = Math.max(0, totalBytes - used);
  const big = files - out.length;
  const share = big > 0 ? left / big : 0;
  let given = 0;
  let d = 0;
  for (let i = 0; i < big; i++) {
    if (i % 2 === 0) d = 0.4 * rand();
    const size = i === big - 1 ? left - given : Math.round(share * (i % 2 === 0 ? 1 + d : 1 - d));
    given += size;
    out.push({ rel: i % 2 === 0 ? `etc/lists/big_${i}.cdb` : `etc/shared/default/bundle_${i}.bin`, size: Math.max(1, size) });
  }
  return out;
}


const children = new Set<ChildProcess>();
function run(cmd: string, args: readonly string[], stdio: 'pipe' | 'ignore' = 'ignore'): { child: ChildProcess; done: Promise<void> } {
  const child = spawn(cmd, args, { stdio: [stdio, stdio, 'pipe'] });
  children.add(child);
  let err = '';
  child.stderr?.on('data', (c: Buffer) => { err += c.toString(); });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      children.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}: ${err.trim()}`));
    });
  });
  return { child, done };
}

/** Baseline: tar | loopback TCP | tar into an empty folder, then one `sync` so it is durable. */
async function tarCopy(src: string, dst: string, paths: readonly string[]): Promise<number> {
  fs.mkdirSync(dst, { recursive: true });
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const t0 = performance.now();
    const extracted = new Promise<void>((resolve, reject) => {
      server.once('connection', (sock) => {
        const x = run('tar', ['-C', dst, '-xf', '-'], 'pipe');
        if (!x.child.stdin) return reject(new Error('tar -x has no stdin'));
        sock.pipe(x.child.stdin);
        x.done.then(resolve, reject);
      });
    });
    const c = run('tar', ['-C', src, '-cf', '-', ...paths], 'pipe');
    const client = net.connect(port, '127.0.0.1');
    c.child.stdout?.pipe(client);
    await Promise.all([c.done, extracted]);
    await run('sync', []).done;
    return performance.now() - t0;
  } finally {
    server.close();
  }
}

async function scannerFiles(home: string): Promise<{ files: number; lastScanMs: number | null } | undefined> {
  const a = await controlRequest(home, 'list-actors', {}, 5000);
  if (a.type !== 'actors') return undefined;
  const s = a.body.actors.find((x) => x.name === 'integrity-scanner')?.summary;
  if (!s || typeof s['files'] !== 'number') return undefined;
  return { files: s['files'], lastScanMs: typeof s['lastScanMs'] === 'number' ? s['lastScanMs'] : null };
}

let c: TestCluster | undefined;
try {
  // Keep-alives and timeouts generous so a busy 100 MB transfer is never mistaken for a dead
  // peer; periodic checks every 5 s so they neither drive nor disturb the first sync.
  c = await makeCluster('bench-cold', {
    workers: 1,
    clusterJson: {
      intervals: {
        worker: { ...FAST_INTERVALS.worker, keep_alive: 2, max_failed_keepalive_attempts: 5, sync_integrity: 5 },
        master: { ...FAST_INTERVALS.master, max_allowed_time_without_keepalive: 60, recalculate_integrity: 5 },
        communication: { ...FAST_INTERVALS.communication, timeout_cluster_request: 30 },
      },
    },
  });
  const master = c.master;
  const worker = c.workers[0];
  if (!worker) throw new Error('no worker in the test cluster');

  const files = plan(FILES, Math.round(MB * MIB));
  let bytes = 0;
  for (const f of files) {
    const abs = path.join(master.home, f.rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content(f.size, f.rel));
    bytes += f.size;
  }
  progress(`wrote ${files.length} files, ${(bytes / MIB).toFixed(1)} MB; sizes: ${files.filter((f) => f.size >= 5 * MIB).length} >= 5 MB, ${files.filter((f) => f.size >= 100 * KB && f.size < 5 * MIB).length} 100 KB-5 MB`);
  // Flush the generated files first: otherwise the baseline's `sync` pays for writing them.
  await run('sync', []).done;
  const masterTree = syncedTree(master.home);
  if (masterTree.size !== files.length) throw new Error(`expected ${files.length} synced files on the master, found ${masterTree.size}`);

  // Baseline before the master runs (its var/run socket is no file tar should see).
  const present = SYNCED_SET.map((i) => (i.files === 'all' || i.recursive ? i.dir : `${i.dir}/${i.files[0] ?? ''}`))
    .filter((p) => fs.existsSync(path.join(master.home, p)));
  const tarDst = path.join(c.root, 'tar-copy');
  const tarMs = await tarCopy(master.home, tarDst, present);
  if (!sameTree(masterTree, syncedTree(tarDst))) throw new Error('the tar copy differs from the master tree');
  fs.rmSync(tarDst, { recursive: true, force: true });
  progress(`baseline tar over loopback + sync: ${tarMs.toFixed(0)} ms`);

  // "Up" includes the master's first full scan: a worker is never answered before it.
  await master.start();
  const masterScan = await waitFor(async () => {
    const s = await scannerFiles(master.home);
    return s && s.files === files.length ? s : undefined;
  }, 'the master to hash its synced set', 120_000);
  progress(`master up, first scan ${masterScan.lastScanMs ?? '?'} ms`);

  const t0 = performance.now();
  await worker.start();
  const spawnedMs = performance.now() - t0;
  let fullCompares = 0;
  let firstAllPresentMs: number | null = null;
  const end = t0 + TIMEOUT_MS;
  for (;;) {
    if (performance.now() > end) throw new Error(`worker not in sync after ${TIMEOUT_MS} ms (${listSyncedFiles(worker.home).length} of ${files.length} files)`);
    // Full md5 compare only once every file is there: hashing 100 MB per poll would slow the sync.
    if (listSyncedFiles(worker.home).length === files.length) {
      firstAllPresentMs ??= performance.now() - t0;
      fullCompares++;
      if (tempFiles(worker.home).length === 0 && sameTree(masterTree, syncedTree(worker.home))) break;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const coldMs = performance.now() - t0;
  progress(`worker identical after ${coldMs.toFixed(0)} ms`);

  const log = await worker.waitForLog(/\[Integrity sync\] Finished in \d+\.\d+s\./, 5000).catch(() => worker.log());
  const syncFinished = [...log.matchAll(/\[Integrity sync\] Finished in (\d+\.\d+)s\./g)].map((m) => Number(m[1]));
  const planLine = /Files to create: (\d+) \| Files to update: (\d+) \| Files to delete: (\d+)/.exec(log);
  const checkFirst = /\[Integrity check\] Finished in (\d+\.\d+)s\. Sync required\./.exec(log);

  process.stdout.write(`${JSON.stringify({
    bench: 'sync-cold',
    value: Math.round(coldMs), unit: 'ms from worker spawn to an identical synced tree (no temp files)',
    baseline: { name: 'tar -c | loopback TCP | tar -x into an empty folder, then sync', value: Math.round(tarMs), unit: 'ms' },
    ratio: Number((coldMs / tarMs).toFixed(2)),
    target: 1.3,
    files: files.length, bytes,
    workerSpawnToControlMs: Math.round(spawnedMs),
    allFilesPresentMs: firstAllPresentMs === null ? null : Math.round(firstAllPresentMs),
    fullCompares,
    workerLogIntegrityCheckS: checkFirst ? Number(checkFirst[1]) : null,
    workerLogIntegritySyncS: syncFinished[0] ?? null,
    workerLogSyncs: syncFinished.length,
    plan: planLine ? { create: Number(planLine[1]), update: Number(planLine[2]), delete: Number(planLine[3]) } : null,
    masterFirstScanMs: masterScan.lastScanMs,
  })}\n`);
} finally {
  for (const child of children) child.kill('SIGKILL');
  await c?.stopAll();
}
