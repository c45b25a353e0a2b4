/**
 * What mutual TLS costs on the cluster link: the agent-info load (AGENTS agents' full
 * reports, then keepalive refreshes, from two workers) against a master with plain
 * links and against one with mutual TLS (certificates from our own CA), in the same
 * run. The value is the TLS time over the plain time. Prints one JSON line.
 *
 * Sizes: AGENTS (default 50000), CYCLES (3).
 */
import fs from 'node:fs';
import path from 'node:path';
import { makeCluster, waitFor, listedNodes, tempDir, type TestCluster } from '../test/harness/cluster.js';
import { reportCycle, seedAgents, workerLinks } from './lib/agent-info-load.js';
import { createRootAuthority, issueNodeCertificate, type Authority } from '../runtime/certs/cert-authority.js';
import type { PemTls } from '../runtime/transport/tls-options.js';

const AGENTS = Number(process.env['AGENTS'] ?? 50_000);
const CYCLES = Number(process.env['CYCLES'] ?? 3);
const progress = (msg: string): void => { process.stderr.write(`[tls-overhead] ${msg}\n`); };

async function pemFor(ca: Authority, name: string): Promise<PemTls> {
  const issued = await issueNodeCertificate(ca, { name, ips: ['127.0.0.1'], dns: [] });
  return { ca: ca.certPem, cert: issued.certPem, key: issued.keyPem };
}

/** Total ms of CYCLES report cycles against a fresh master, plain or with mutual TLS. */
async function measure(label: string, tls: ((name: string) => PemTls) | null, certDir: string): Promise<number> {
  let c: TestCluster | undefined;
  let workers: { close(): void } | undefined;
  try {
    const master = tls ? tls('master') : null;
    if (master) for (const [k, v] of Object.entries(master)) fs.writeFileSync(path.join(certDir, `master-${k}.pem`), v);
    c = await makeCluster(`bench-tls-${label}`, {
      workers: 0, clusterJson: {},
      ...(master ? { master: { tls: { ca: path.join(certDir, 'master-ca.pem'), cert: path.join(certDir, 'master-cert.pem'), key: path.join(certDir, 'master-key.pem') } } } : {}),
    });
    seedAgents(c.master.home, AGENTS);
    await c.master.start();
    await waitFor(async () => (await listedNodes(c!.master)).length === 1, 'the master', 30_000);
    const w = await workerLinks(c.port, c.key, ['bench-w1', 'bench-w2'], tls ?? undefined);
    workers = w;
    let total = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) total += await reportCycle(w.links, AGENTS, cycle);
    progress(`${label}: ${total.toFixed(0)} ms for ${CYCLES} cycles`);
    return total;
  } finally {
    workers?.close();
    await c?.stopAll();
  }
}

const certDir = await tempDir('bench-tls-certs');
try {
  const { authority } = await createRootAuthority();
  const pems = new Map<string, PemTls>();
  for (const name of ['master', 'bench-w1', 'bench-w2']) pems.set(name, await pemFor(authority, name));
  const tls = (name: string): PemTls => pems.get(name) as PemTls;
  const plain = await measure('plain', null, certDir);
  const secured = await measure('mtls', tls, certDir);
  process.stdout.write(`${JSON.stringify({
    bench: 'tls-overhead', agents: AGENTS, cycles: CYCLES, load: 'agent-info (full reports, then keepalive refreshes), 2 workers',
    value: Number((secured / plain).toFixed(3)), unit: 'time with mutual TLS / time with plain links',
    mtls_ms: Math.round(secured),
    baseline: { name: 'the same load over plain TCP links, same run', value: Math.round(plain), unit: 'ms' },
    ratio: Number((secured / plain).toFixed(3)),
    target_ratio: 1.15,
  })}\n`);
} finally {
  fs.rmSync(certDir, { recursive: true, force: true });
}
