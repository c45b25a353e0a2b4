/**
 * The cold integrity sync scenario, shared by the sync-cold and tls-overhead
 * benchmarks: a master whose synced set holds FILES files / MB megabytes (a fixed,
 * seeded layout of rules, lists, shared files and a few big ones), and a brand-new
 * worker timed from its spawn until its synced tree is identical to the master's
 * and no temp file is left. The cluster links may be plain or mutual TLS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { makeCluster, waitFor, FAST_INTERVALS, type NodeProcess, type TestCluster } from '../../test/harness/cluster.js';
import { sameTree, syncedTree, tempFiles } from '../../test/harness/tree.js';
import { controlRequest } from '../../runtime/control/control-client.js';
import { listSyncedFiles } from '../../runtime/storage/list-synced.js';
import { SYNCED_SET } from '../../protocols/synced-set.js';

export const KB = 1024;
export const MIB = 1024 * 1024;
const POLL_MS = 25;

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

// Text that looks like rules, lists and logs (compresses well), plus a random pool
// mixed in so the set is not unrealistically compressible.
const WORDS = ['sshd', 'failed', 'password', 'invalid', 'user', 'from', 'port', 'accepted', 'publickey', 'session',
  'opened', 'closed', 'root', 'admin', 'kernel', 'audit', 'syscall', 'denied', 'rule', 'level', 'group', 'match',
  'regex', 'decoder', 'program_name', 'srcip', 'dstip', 'agent', 'manager', 'syslog', 'authentication_failed'];

export interface Planned { readonly rel: string; readonly size: number }

/**
 * One seeded generator: every instance yields the same layout and the same text, so
 * the runs of one benchmark (and of different benchmarks at the same sizes) compare.
 */
class SetGenerator {
  private readonly rand = rng(0x5eed);
  private readonly text: Buffer;
  private readonly random = randomBytes(MIB);

  constructor() {
    this.text = this.textPool(4 * MIB);
  }

  private between(lo: number, hi: number): number {
    return Math.floor(lo + this.rand() * (hi - lo + 1));
  }

  private textPool(bytes: number): Buffer {
    const lines: string[] = [];
    let n = 0;
    while (n < bytes) {
      const kind = this.rand();
      const words = Array.from({ length: this.between(4, 14) }, () => WORDS[this.between(0, WORDS.length - 1)] ?? 'x').join(' ');
      const line = kind < 0.4
        ? `<rule id="${this.between(100000, 120000)}" level="${this.between(0, 15)}"><if_sid>${this.between(5700, 5799)}</if_sid><match>${words}</match></rule>\n`
        : kind < 0.7
          ? `10.${this.between(0, 255)}.${this.between(0, 255)}.${this.between(0, 255)}:${words.split(' ')[0] ?? ''}\n`
          : `2025-06-${this.between(10, 28)}T${this.between(10, 23)}:${this.between(10, 59)}:${this.between(10, 59)} host${this.between(1, 99)} ${words}\n`;
      lines.push(line);
      n += line.length;
    }
    return Buffer.from(lines.join(''));
  }

  content(size: number, label: string): Buffer {
    const out = Buffer.allocUnsafe(size);
    let pos = out.write(`# ${label}\n`.slice(0, size));
    while (pos < size) {
      // About 8% of the bytes are random.
      const [pool, len] = this.rand() < 0.25 ? [this.random, this.between(64, 1024)] : [this.text, this.between(256, 4096)];
      const n = Math.min(len, size - pos);
      const from = this.between(0, pool.length - n);
      pool.copy(out, pos, from, from + n);
      pos += n;
    }
    return out;
  }

  /** Mostly small files under etc/shared, some medium lists and rules, a handful of big ones. */
  plan(files: number, totalBytes: number): Planned[] {
    const between = (lo: number, hi: number): number => this.between(lo, hi);
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
      if (i % 2 === 0) d = 0.4 * this.rand();
      const size = i === big - 1 ? left - given : Math.round(share * (i % 2 === 0 ? 1 + d : 1 - d));
      given += size;
      out.push({ rel: i % 2 === 0 ? `etc/lists/big_${i}.cdb` : `etc/shared/default/bundle_${i}.bin`, size: Math.max(1, size) });
    }
    return out;
  }
}

/** Writes the synced set of `files` files / `totalBytes` bytes into `home`; the same layout on every call. */
export function writeSyncedSet(home: string, files: number, totalBytes: number): { planned: Planned[]; bytes: number } {
  const gen = new SetGenerator();
  const planned = gen.plan(files, totalBytes);
  let bytes = 0;
  for (const f of planned) {
    const abs = path.join(home, f.rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, gen.content(f.size, f.rel));
    bytes += f.size;
  }
  return { planned, bytes };
}

const children = new Set<ChildProcess>();

/** Kills whatever helper process (tar, sync) is still running. */
export function killChildren(): void {
  for (const child of children) child.kill('SIGKILL');
}

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

/** `sync`: flushes dirty pages so what was written before does not weigh on what is measured after. */
export async function flushDisks(): Promise<void> {
  await run('sync', []).done;
}

/** Baseline: tar | loopback TCP | tar into an empty folder, then one `sync` so it is durable. */
export async function tarCopy(src: string, dst: string, paths: readonly string[]): Promise<number> {
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
    await flushDisks();
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

/** PEM file paths for a node's `<cluster>` (ssl_ca, ssl_cert, ssl_key). */
export interface TlsFiles { readonly ca: string; readonly cert: string; readonly key: string }

export interface ColdSyncOptions {
  /** Names the cluster's temp folder. */
  readonly label: string;
  readonly files: number;
  readonly totalBytes: number;
  readonly timeoutMs: number;
  /** Mutual TLS on the cluster link: the master's and the worker's (`worker1`) certificate files. */
  readonly tls?: { readonly master: TlsFiles; readonly worker: TlsFiles };
  /** Also measure the tar-over-loopback baseline (before the master starts). */
  readonly baseline?: boolean;
  readonly progress: (msg: string) => void;
}

export interface ColdSyncResult {
  readonly coldMs: number;
  /** Null unless the baseline was asked for. */
  readonly tarMs: number | null;
  /** Files and bytes of the set as written (the master adds a few small files of its own on start). */
  readonly files: number;
  readonly bytes: number;
  /** Files the worker had to receive: the set plus the master's own. */
  readonly syncedFiles: number;
  readonly workerSpawnToControlMs: number;
  readonly allFilesPresentMs: number | null;
  readonly fullCompares: number;
  readonly workerLogIntegrityCheckS: number | null;
  readonly workerLogIntegritySyncS: number | null;
  readonly workerLogSyncs: number;
  readonly plan: { create: number; update: number; delete: number } | null;
  readonly masterFirstScanMs: number | null;
}

/**
 * One cold sync in a cluster of its own: writes the set into a fresh master's home,
 * starts the master and waits for its first full scan (a worker is never answered
 * before it), then spawns a fresh worker and polls until its synced tree is the
 * master's. Stops both nodes and removes their homes, whatever happens.
 */
export async function coldSync(opts: ColdSyncOptions): Promise<ColdSyncResult> {
  const { progress } = opts;
  let c: TestCluster | undefined;
  try {
    // Keep-alives and timeouts generous so a busy 100 MB transfer is never mistaken for a dead
    // peer; periodic checks every 5 s so they neither drive nor disturb the first sync.
    c = await makeCluster(opts.label, {
      workers: 0,
      clusterJson: {
        intervals: {
          worker: { ...FAST_INTERVALS.worker, keep_alive: 2, max_failed_keepalive_attempts: 5, sync_integrity: 5 },
          master: { ...FAST_INTERVALS.master, max_allowed_time_without_keepalive: 60, recalculate_integrity: 5 },
          communication: { ...FAST_INTERVALS.communication, timeout_cluster_request: 30 },
        },
      },
      ...(opts.tls ? { master: { tls: opts.tls.master } } : {}),
    });
    const master = c.master;
    const worker: NodeProcess = await c.addNode('worker1', 'worker', opts.tls ? { tls: opts.tls.worker } : {});

    const { planned, bytes } = writeSyncedSet(master.home, opts.files, opts.totalBytes);
    progress(`wrote ${planned.length} files, ${(bytes / MIB).toFixed(1)} MB; sizes: ${planned.filter((f) => f.size >= 5 * MIB).length} >= 5 MB, ${planned.filter((f) => f.size >= 100 * KB && f.size < 5 * MIB).length} 100 KB-5 MB`);
    // Flush the generated files first: otherwise the baseline's `sync` (or the sync under test) pays for writing them.
    await flushDisks();
    const writtenTree = syncedTree(master.home);
    if (writtenTree.size !== planned.length) throw new Error(`expected ${planned.length} synced files on the master, found ${writtenTree.size}`);

    let tarMs: number | null = null;
    if (opts.baseline) {
      // Baseline before the master runs (its var/run socket is no file tar should see).
      const present = SYNCED_SET.map((i) => (i.files === 'all' || i.recursive ? i.dir : `${i.dir}/${i.files[0] ?? ''}`))
        .filter((p) => fs.existsSync(path.join(master.home, p)));
      const tarDst = path.join(c.root, 'tar-copy');
      tarMs = await tarCopy(master.home, tarDst, present);
      if (!sameTree(writtenTree, syncedTree(tarDst))) throw new Error('the tar copy differs from the master tree');
      fs.rmSync(tarDst, { recursive: true, force: true });
      progress(`baseline tar over loopback + sync: ${tarMs.toFixed(0)} ms`);
    }

    // "Up" includes the master's first full scan: a worker is never answered before it. The
    // master adds files of its own on start (a merged.mg per group folder), so "full" is its
    // scanner counting every synced file its home now holds, and the tree the worker must
    // reach is read after that.
    await master.start();
    let seen: number | undefined;
    const masterScan = await waitFor(async () => {
      const s = await scannerFiles(master.home);
      seen = s?.files;
      return s && s.files >= planned.length && s.files === listSyncedFiles(master.home).length ? s : undefined;
    }, 'the master to hash its synced set', 120_000).catch((err: Error) => {
      throw new Error(`${err.message}; its scanner last reported ${seen ?? 'no'} files, its home holds ${listSyncedFiles(master.home).length}`);
    });
    const masterTree = syncedTree(master.home);
    const expected = masterTree.size;
    progress(`master up, first scan ${masterScan.lastScanMs ?? '?'} ms${expected > planned.length ? ` (${expected - planned.length} files of its own)` : ''}`);

    const t0 = performance.now();
    await worker.start();
    const spawnedMs = performance.now() - t0;
    let fullCompares = 0;
    let firstAllPresentMs: number | null = null;
    const end = t0 + opts.timeoutMs;
    for (;;) {
      if (performance.now() > end) throw new Error(`worker not in sync after ${opts.timeoutMs} ms (${listSyncedFiles(worker.home).length} of ${expected} files)`);
      // Full md5 compare only once every file is there: hashing 100 MB per poll would slow the sync.
      if (listSyncedFiles(worker.home).length === expected) {
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
    return {
      coldMs, tarMs, files: planned.length, bytes, syncedFiles: expected,
      workerSpawnToControlMs: spawnedMs,
      allFilesPresentMs: firstAllPresentMs,
      fullCompares,
      workerLogIntegrityCheckS: checkFirst ? Number(checkFirst[1]) : null,
      workerLogIntegritySyncS: syncFinished[0] ?? null,
      workerLogSyncs: syncFinished.length,
      plan: planLine ? { create: Number(planLine[1]), update: Number(planLine[2]), delete: Number(planLine[3]) } : null,
      masterFirstScanMs: masterScan.lastScanMs,
    };
  } finally {
    killChildren();
    await c?.stopAll();
  }
}
