/**
 * Enrolment through a worker: a formed master + 2 workers; CLIENTS concurrent TLS
 * clients enrol TOTAL agents through worker1 (each a full TLS connection, one request
 * line, one answer, as a real agent does). Then LATENCY agents enrol one at a time and
 * the time from the request until the key is in every worker's registry is measured.
 * Baseline in the same run: the same clients against a bare TLS server in its own
 * process that answers every line with a fixed key (the cost of TLS and the client).
 * Prints one JSON line; progress goes to stderr.
 *
 * Sizes: TOTAL (default 2000), CLIENTS (32), LATENCY (100).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeCluster, listedNodes, waitFor, freePort, type TestCluster, type NodeProcess } from '../test/harness/cluster.js';
import { enrol, issuedKey } from '../test/harness/agents.js';

const TOTAL = Number(process.env['TOTAL'] ?? 2000);
const CLIENTS = Number(process.env['CLIENTS'] ?? 32);
const LATENCY = Number(process.env['LATENCY'] ?? 100);

const progress = (msg: string): void => { process.stderr.write(`[enroll] ${msg}\n`); };

/** `CLIENTS` loops sharing `count` requests; returns agents per second. */
async function run(port: number, count: number, name: (i: number) => string): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    for (let i = next++; i < count; i = next++) issuedKey(await enrol(port, `OSSEC A:'${name(i)}'`));
  }));
  return count / ((performance.now() - t0) / 1000);
}

/** A TLS server that answers every line with a fixed key, in its own process. */
async function bareTlsServer(certDir: string, port: number): Promise<ChildProcess> {
  const code = `
    import tls from 'node:tls'; import fs from 'node:fs';
    const s = tls.createServer({ cert: fs.readFileSync(${JSON.stringify(path.join(certDir, 'sslmanager.cert'))}), key: fs.readFileSync(${JSON.stringify(path.join(certDir, 'sslmanager.key'))}), minVersion: 'TLSv1.2' }, (c) => {
      let buf = ''; c.setEncoding('latin1');
      c.on('data', (d) => { buf += d; if (buf.includes('\\n')) { c.end("OSSEC K:'001 x any ${'0'.repeat(64)}'"); } });
      c.on('error', () => {});
    });
    s.listen(${port}, '127.0.0.1', () => process.stdout.write('ready\\n'));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`baseline server exited with ${c}`)));
  });
  return child;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}
const r2 = (x: number): number => Number(x.toFixed(2));

/** Read-only views of each worker's registry, polled for a new agent. */
function registryProbe(nodes: readonly NodeProcess[]): { has(name: string): boolean; close(): void } {
  const dbs = nodes.map((n) => new Database(path.join(n.home, 'queue', 'db', 'global.db'), { readonly: true, fileMustExist: true }));
  const stmts = dbs.map((d) => d.prepare('SELECT 1 FROM agent WHERE name = ?'));
  return { has: (name) => stmts.every((s) => s.get(name) !== undefined), close: () => dbs.forEach((d) => d.close()) };
}

let c: TestCluster | undefined;
let baseline: ChildProcess | undefined;
try {
  c = await makeCluster('bench-enroll', { workers: 2 });
  const { master, workers } = c;
  await master.start();
  await Promise.all(workers.map((w) => w.start()));
  await waitFor(async () => (await listedNodes(master)).length === 3, 'the cluster to form', 30_000);
  const w1 = workers[0] as NodeProcess;
  progress(`formed; ${TOTAL} enrolments with ${CLIENTS} clients through ${w1.name}`);

  await run(w1.authPort, Math.min(100, TOTAL), (i) => `warm-${i}`);
  const rate = await run(w1.authPort, TOTAL, (i) => `bench-${i}`);
  progress(`${rate.toFixed(0)} enrolments/s`);

  const basePort = await freePort();
  baseline = await bareTlsServer(path.join(master.home, 'etc'), basePort);
  const baseRate = await run(basePort, TOTAL, (i) => `base-${i}`);
  progress(`baseline ${baseRate.toFixed(0)} answers/s`);

  const probe = registryProbe(workers);
  const spread: number[] = [];
  try {
    for (let i = 0; i < LATENCY; i++) {
      const name = `latency-${i}`;
      const t0 = performance.now();
      issuedKey(await enrol(w1.authPort, `OSSEC A:'${name}'`));
      while (!probe.has(name)) {
        if (performance.now() - t0 > 10_000) throw new Error(`${name} is not on every worker after 10 s`);
        await new Promise((r) => setTimeout(r, 1));
      }
      spread.push(performance.now() - t0);
    }
  } finally {
    probe.close();
  }
  const s = [...spread].sort((a, b) => a - b);
  const keys = fs.readFileSync(path.join(master.home, 'etc', 'client.keys'), 'utf8').split('\n').filter((l) => l).length;
  process.stdout.write(`${JSON.stringify({
    bench: 'enroll', agents: TOTAL, clients: CLIENTS,
    value: r2(rate), unit: 'enrolments/s through a worker (TLS, concurrent clients)',
    baseline: { name: 'bare TLS server answering a fixed key, same clients', value: r2(baseRate), unit: 'answers/s' },
    ratio: r2(baseRate / rate),
    target: '>= 500/s',
    key_on_every_worker: { p50: r2(quantile(s, 0.5)), p99: r2(quantile(s, 0.99)), max: r2(s[s.length - 1] ?? NaN), unit: 'ms from the request to the key in both workers\' registries', target_p99_ms: 250 },
    keys_on_master: keys,
    reference: 'Wazuh 4.14: the worker learns the key at its next integrity sync (~9-20 s)',
  })}\n`);
} finally {
  baseline?.kill();
  await c?.stopAll();
}
