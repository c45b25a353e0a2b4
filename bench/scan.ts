/**
 * The manifest scan of 10,000 small files (etc/shared/<100 groups>/<100 files>): a
 * first scan by a new ManifestScanner (no stat cache; the page cache is warm since the
 * files were just written and cannot be dropped here), and a rescan with nothing
 * changed (stat cache hits only), against a baseline of `find | xargs md5sum` over the
 * same files, measured in the same run. No clusterd processes. Prints one JSON line.
 *
 * Sizes: SCAN_GROUPS (default 100) x SCAN_PER_GROUP (default 100); not GROUPS, which bash reserves.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../test/harness/cluster.js';
import { writeFile } from '../test/harness/tree.js';
import { ManifestScanner } from '../runtime/storage/manifest.js';

const GROUPS = Number(process.env['SCAN_GROUPS'] ?? 100);
const PER_GROUP = Number(process.env['SCAN_PER_GROUP'] ?? 100);
const WARM_RUNS = 5;
const MD5SUM_RUNS = 3;

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms1 = (x: number): number => Number(x.toFixed(1));

/** Small, varied text: 100 B to ~3 KB, different in every file. */
function fileText(g: number, f: number): string {
  const lines = 2 + ((g * 31 + f * 17) % 60);
  return Array.from({ length: lines }, (_, i) => `<localfile><log_format>syslog</log_format><location>/var/log/g${g}/f${f}/${i}.log</location></localfile>\n`).join('').slice(0, 100 + ((g * 7919 + f * 104729) % 3000));
}

function md5sumAll(home: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('sh', ['-c', 'find "$1/etc" -type f -print0 | xargs -0 md5sum > /dev/null', 'sh', home], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`find | xargs md5sum exited ${code}`))));
  });
}

const home = await tempDir('bench-scan');
const scanner = new ManifestScanner(home);
try {
  for (let g = 0; g < GROUPS; g++) {
    for (let f = 0; f < PER_GROUP; f++) writeFile(home, `etc/shared/group${String(g).padStart(3, '0')}/file${String(f).padStart(3, '0')}.conf`, fileText(g, f));
  }
  const files = GROUPS * PER_GROUP;
  const bytes = fs.readdirSync(path.join(home, 'etc/shared')).reduce((n, g) =>
    n + fs.readdirSync(path.join(home, 'etc/shared', g)).reduce((m, f) => m + fs.statSync(path.join(home, 'etc/shared', g, f)).size, 0), 0);

  // The cold scan includes starting the scan thread: a node pays that on its first scan too.
  let t0 = performance.now();
  const cold = await scanner.scan();
  const coldMs = performance.now() - t0;
  if (cold.manifest.size !== files || cold.hashed !== files) throw new Error(`cold scan saw ${cold.manifest.size} files, hashed ${cold.hashed}`);

  const warm: number[] = [];
  let reused = 0;
  for (let i = 0; i < WARM_RUNS; i++) {
    t0 = performance.now();
    const r = await scanner.scan();
    warm.push(performance.now() - t0);
    if (r.hashed !== 0) throw new Error(`a rescan with nothing changed hashed ${r.hashed} files`);
    reused = r.reused;
  }

  // Attribution only: what a new scan thread costs with nothing to scan.
  const empty = await tempDir('bench-scan-empty');
  const bare = new ManifestScanner(empty);
  let threadStartMs: number;
  try {
    t0 = performance.now();
    await bare.scan();
    threadStartMs = performance.now() - t0;
  } finally {
    await bare.close();
    fs.rmSync(empty, { recursive: true, force: true });
  }

  const base: number[] = [];
  for (let i = 0; i < MD5SUM_RUNS; i++) base.push(await md5sumAll(home));
  const warmMs = median(warm);
  const md5Ms = median(base);

  process.stdout.write(`${JSON.stringify({
    bench: 'scan', files, bytes,
    value: ms1(coldMs), unit: 'ms for a cold scan (new scanner, no stat cache; warm page cache)',
    cold_ms: ms1(coldMs), warm_ms: ms1(warmMs), md5sum_ms: ms1(md5Ms),
    baseline: { name: 'find etc -type f -print0 | xargs -0 md5sum > /dev/null', value: ms1(md5Ms), unit: 'ms (median of 3)' },
    ratio: Number((coldMs / md5Ms).toFixed(2)),
    target: 1.2,
    warm_target_ms: 50,
    warmRunsMs: warm.map(ms1), warmReused: reused, emptyScanNewThreadMs: ms1(threadStartMs),
    note: 'cold = warm-cache cold scan: the page cache cannot be dropped, only the stat cache is empty',
  })}\n`);
} finally {
  await scanner.close();
  fs.rmSync(home, { recursive: true, force: true });
}
