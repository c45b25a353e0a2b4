/**
 * A brand-new worker joining a master whose synced set holds ~5,000 files / ~100 MB:
 * wall time from the worker's spawn until its synced tree is identical to the
 * master's and no temp file is left, against a baseline of copying the same tree
 * with tar over a loopback TCP connection followed by one `sync`, measured in the
 * same run. Prints one JSON line; progress goes to stderr. The scenario itself is
 * in lib/sync-cold-load.ts (tls-overhead runs it too, plain and with mutual TLS).
 *
 * Sizes: FILES (default 5000), MB (default 100); TIMEOUT_S bounds the wait (150).
 */
import { coldSync, MIB } from './lib/sync-cold-load.js';

const FILES = Number(process.env['FILES'] ?? 5000);
const MB = Number(process.env['MB'] ?? 100);
const TIMEOUT_MS = Number(process.env['TIMEOUT_S'] ?? 150) * 1000;

const progress = (msg: string): void => { process.stderr.write(`[sync-cold] ${msg}\n`); };

const r = await coldSync({ label: 'bench-cold', files: FILES, totalBytes: Math.round(MB * MIB), timeoutMs: TIMEOUT_MS, baseline: true, progress });
const tarMs = r.tarMs ?? Number.NaN;
process.stdout.write(`${JSON.stringify({
  bench: 'sync-cold',
  value: Math.round(r.coldMs), unit: 'ms from worker spawn to an identical synced tree (no temp files)',
  baseline: { name: 'tar -c | loopback TCP | tar -x into an empty folder, then sync', value: Math.round(tarMs), unit: 'ms' },
  ratio: Number((r.coldMs / tarMs).toFixed(2)),
  target: 1.3,
  files: r.files, bytes: r.bytes,
  workerSpawnToControlMs: Math.round(r.workerSpawnToControlMs),
  allFilesPresentMs: r.allFilesPresentMs === null ? null : Math.round(r.allFilesPresentMs),
  fullCompares: r.fullCompares,
  workerLogIntegrityCheckS: r.workerLogIntegrityCheckS,
  workerLogIntegritySyncS: r.workerLogIntegritySyncS,
  workerLogSyncs: r.workerLogSyncs,
  plan: r.plan,
  masterFirstScanMs: r.masterFirstScanMs,
})}\n`);
