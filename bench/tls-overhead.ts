/**
 * What mutual TLS costs on the cluster link, for two loads, each with plain links and
 * with mutual TLS (certificates from our own CA) in the same run:
 *  - agent-info: AGENTS agents' full reports, then keepalive refreshes (CYCLES cycles
 *    in all), from two workers (in-process cluster clients) into a fresh master;
 *  - sync-cold: a fresh worker receiving the master's synced set of FILES files / MB
 *    megabytes, timed from the worker's spawn until its tree is identical (the
 *    sync-cold benchmark's scenario, lib/sync-cold-load.ts, at smaller sizes).
 * Each load runs REPEATS times per mode, alternating (plain, mtls, plain, mtls, ...),
 * every run against fresh nodes; the best (shortest) run of each mode is kept. Each
 * ratio is the TLS time over the plain time; the value is the worse of the two.
 * Prints one JSON line; progress goes to stderr.
 *
 * Sizes: AGENTS (default 50000), CYCLES (3), FILES (2500), MB (50), REPEATS (3);
 * TIMEOUT_S bounds each cold sync's wait (150). About two minutes on a 2-core box.
 */
import fs from 'node:fs';
import path from 'node:path';
import { makeCluster, waitFor, listedNodes, tempDir, type TestCluster } from '../test/harness/cluster.js';
import { reportCycle, seedAgents, workerLinks } from './lib/agent-info-load.js';
import { coldSync, MIB, type ColdSyncResult, type TlsFiles } from './lib/sync-cold-load.js';
import { createRootAuthority, issueNodeCertificate, type Authority } from '../runtime/certs/cert-authority.js';
import type { PemTls } from '../runtime/transport/tls-options.js';

const AGENTS = Number(process.env['AGENTS'] ?? 50_000);
const CYCLES = Number(process.env['CYCLES'] ?? 3);
const FILES = Number(process.env['FILES'] ?? 2500);
const MB = Number(process.env['MB'] ?? 50);
const REPEATS = Math.max(1, Number(process.env['REPEATS'] ?? 3));
const TIMEOUT_MS = Number(process.env['TIMEOUT_S'] ?? 150) * 1000;
const TARGET = 1.15;
const progress = (msg: string): void => { process.stderr.write(`[tls-overhead] ${msg}\n`); };

async function pemFor(ca: Authority, name: string): Promise<PemTls> {
  const issued = await issueNodeCertificate(ca, { name, ips: ['127.0.0.1'], dns: [] });
  return { ca: ca.certPem, cert: issued.certPem, key: issued.keyPem };
}

/** Writes a node's PEMs into `dir` and returns the paths for its `<cluster>`. */
function pemFiles(dir: string, name: string, pem: PemTls): TlsFiles {
  const files = { ca: path.join(dir, `${name}-ca.pem`), cert: path.join(dir, `${name}-cert.pem`), key: path.join(dir, `${name}-key.pem`) };
  fs.writeFileSync(files.ca, pem.ca);
  fs.writeFileSync(files.cert, pem.cert);
  fs.writeFileSync(files.key, pem.key, { mode: 0o600 });
  return files;
}

/** Total ms of CYCLES report cycles against a fresh master, plain or with mutual TLS. */
async function agentInfo(label: string, tls: { master: TlsFiles; worker: (name: string) => PemTls } | null): Promise<number> {
  let c: TestCluster | undefined;
  let workers: { close(): void } | undefined;
  try {
    c = await makeCluster(`bench-tls-${label}`, { workers: 0, clusterJson: {}, ...(tls ? { master: { tls: tls.master } } : {}) });
    seedAgents(c.master.home, AGENTS);
    await c.master.start();
    await waitFor(async () => (await listedNodes(c!.master)).length === 1, 'the master', 30_000);
    const w = await workerLinks(c.port, c.key, ['bench-w1', 'bench-w2'], tls?.worker);
    workers = w;
    let total = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) total += await reportCycle(w.links, AGENTS, cycle);
    progress(`agent-info ${label}: ${total.toFixed(0)} ms for ${CYCLES} cycles`);
    return total;
  } finally {
    workers?.close();
    await c?.stopAll();
  }
}

async function syncCold(label: string, tls: { master: TlsFiles; worker: TlsFiles } | null): Promise<ColdSyncResult> {
  const r = await coldSync({
    label: `bench-tls-cold-${label}`, files: FILES, totalBytes: Math.round(MB * MIB), timeoutMs: TIMEOUT_MS,
    ...(tls ? { tls } : {}), progress: (msg) => progress(`sync-cold ${label}: ${msg}`),
  });
  progress(`sync-cold ${label}: ${r.coldMs.toFixed(0)} ms spawn to identical tree (worker log: sync ${r.workerLogIntegritySyncS ?? '?'} s)`);
  return r;
}

const best = (xs: readonly number[]): number => Math.min(...xs);
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const ratio = (tls: number, plain: number): number => Number((tls / plain).toFixed(3));

const certDir = await tempDir('bench-tls-certs');
try {
  const t0 = performance.now();
  const { authority } = await createRootAuthority();
  const pems = new Map<string, PemTls>();
  for (const name of ['master', 'worker1', 'bench-w1', 'bench-w2']) pems.set(name, await pemFor(authority, name));
  const pem = (name: string): PemTls => pems.get(name) as PemTls;
  const masterFiles = pemFiles(certDir, 'master', pem('master'));
  const workerFiles = pemFiles(certDir, 'worker1', pem('worker1'));

  const info = { plain: [] as number[], mtls: [] as number[] };
  for (let i = 0; i < REPEATS; i++) {
    info.plain.push(await agentInfo(`plain-${i + 1}`, null));
    info.mtls.push(await agentInfo(`mtls-${i + 1}`, { master: masterFiles, worker: pem }));
  }
  const cold = { plain: [] as ColdSyncResult[], mtls: [] as ColdSyncResult[] };
  for (let i = 0; i < REPEATS; i++) {
    cold.plain.push(await syncCold(`plain-${i + 1}`, null));
    cold.mtls.push(await syncCold(`mtls-${i + 1}`, { master: masterFiles, worker: workerFiles }));
  }

  const infoPlain = best(info.plain);
  const infoTls = best(info.mtls);
  const coldPlain = best(cold.plain.map((r) => r.coldMs));
  const coldTls = best(cold.mtls.map((r) => r.coldMs));
  const logSync = (rs: readonly ColdSyncResult[]): number | null => {
    const xs = rs.map((r) => r.workerLogIntegritySyncS).filter((x): x is number => x !== null);
    return xs.length ? best(xs) : null;
  };
  const syncPlainS = logSync(cold.plain);
  const syncTlsS = logSync(cold.mtls);
  const agentInfoRatio = ratio(infoTls, infoPlain);
  const syncColdRatio = ratio(coldTls, coldPlain);
  const worst = syncColdRatio >= agentInfoRatio
    ? { load: 'sync_cold', ratio: syncColdRatio, plain: coldPlain }
    : { load: 'agent_info', ratio: agentInfoRatio, plain: infoPlain };
  const sample = cold.plain[0] as ColdSyncResult;

  process.stdout.write(`${JSON.stringify({
    bench: 'tls-overhead',
    value: worst.ratio, unit: 'worst of the loads\' ratios: time with mutual TLS / time with plain links',
    worst: worst.load,
    repeats: REPEATS, order: 'alternating per load: plain, mtls, plain, mtls, ...; fresh nodes every run',
    pick: 'best (shortest) run of each mode; median_ratio is the same from the medians',
    agent_info: {
      plain_ms: Math.round(infoPlain), tls_ms: Math.round(infoTls), ratio: agentInfoRatio,
      agents: AGENTS, cycles: CYCLES, load: 'full reports, then keepalive refreshes, 2 workers',
      runs_ms: { plain: info.plain.map(Math.round), mtls: info.mtls.map(Math.round) },
      median_ratio: ratio(median(info.mtls), median(info.plain)),
    },
    sync_cold: {
      plain_ms: Math.round(coldPlain), tls_ms: Math.round(coldTls), ratio: syncColdRatio,
      files: sample.files, bytes: sample.bytes, synced_files: sample.syncedFiles, measure: 'ms from worker spawn to an identical synced tree (no temp files)',
      runs_ms: { plain: cold.plain.map((r) => Math.round(r.coldMs)), mtls: cold.mtls.map((r) => Math.round(r.coldMs)) },
      median_ratio: ratio(median(cold.mtls.map((r) => r.coldMs)), median(cold.plain.map((r) => r.coldMs))),
      worker_log_sync_s: { plain: syncPlainS, mtls: syncTlsS, ratio: syncPlainS && syncTlsS ? ratio(syncTlsS, syncPlainS) : null },
    },
    baseline: { name: `the same load over plain TCP links, same run (${worst.load}, the worse ratio)`, value: Math.round(worst.plain), unit: 'ms' },
    ratio: worst.ratio,
    target: `<= ${TARGET}`,
    target_ratio: TARGET,
    runMs: Math.round(performance.now() - t0),
  })}\n`);
} finally {
  fs.rmSync(certDir, { recursive: true, force: true });
}
