/**
 * Starts real clusterd processes for integration and e2e tests: own homes under a
 * temp folder, free ports, short intervals, and helpers to wait, kill and read logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNodeHome, type NodeHomeSpec } from '../../scripts/lib/node-home.js';
import { controlRequest } from '../../runtime/control/control-client.js';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const scriptPath = (name: string): string => path.join(dist, 'scripts', `${name}.js`);

/** Short intervals so liveness tests take seconds, not minutes. */
export const FAST_INTERVALS = {
  worker: { keep_alive: 0.5, connection_retry: 0.5, max_failed_keepalive_attempts: 2, sync_integrity: 2 },
  master: { check_worker_lastkeepalive: 0.5, max_allowed_time_without_keepalive: 2, recalculate_integrity: 2 },
  communication: { timeout_cluster_request: 5, status_heartbeat: 0.5 },
} as const;

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `clusterd-${prefix}-`));
}

export const newKey = (): string => randomBytes(16).toString('hex');

export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class NodeProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);

  /** `authPort` and `remotePort`: where this node's enrolment and agent services listen (on 127.0.0.1). */
  constructor(readonly home: string, readonly name: string, readonly authPort = 0, readonly remotePort = 0) {}

  get logFile(): string {
    return path.join(this.home, 'logs', 'cluster.log');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns clusterd and waits until its control socket answers. */
  async start(): Promise<void> {
    const out = openSync(path.join(this.home, 'logs', 'clusterd.out'), 'a');
    // CLUSTERD_NODE_ARGS: extra node flags for every node, e.g. --cpu-prof when profiling a benchmark.
    const nodeArgs = process.env['CLUSTERD_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];
    const child = spawn(process.execPath, [...nodeArgs, scriptPath('clusterd'), '--home', this.home, '-d'], { stdio: ['ignore', out, out] });
    closeSync(out);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let gone = false;
    void this.exited.then(() => { gone = true; });
    await waitFor(async () => {
      if (gone) throw new Error(`clusterd ${this.name} exited during start-up:\n${await this.output()}`);
      return (await controlRequest(this.home, 'get-status', {}, 2000)).type === 'status';
    }, `${this.name} to answer on its control socket`);
  }

  async output(): Promise<string> {
    const read = (f: string): Promise<string> => fs.readFile(path.join(this.home, 'logs', f), 'utf8').catch(() => '');
    return `${await read('clusterd.out')}${await read('cluster.log')}`;
  }

  async log(): Promise<string> {
    return fs.readFile(this.logFile, 'utf8').catch(() => '');
  }

  async waitForLog(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    return waitFor(async () => {
      const text = await this.log();
      return pattern.test(text) ? text : undefined;
    }, `${this.name} log to match ${pattern}`, timeoutMs);
  }

  /** SIGTERM and wait; returns the exit code. */
  async stop(): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return this.child?.exitCode ?? null;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  async kill9(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  waitExit(): Promise<number | null> {
    return this.exited;
  }
}

export interface TestCluster {
  readonly root: string;
  readonly key: string;
  readonly port: number;
  readonly master: NodeProcess;
  readonly workers: NodeProcess[];
  /** Adds (but does not start) a node home with the cluster's settings, overridable. */
  addNode(name: string, type: 'master' | 'worker', overrides?: Partial<NodeHomeSpec>): Promise<NodeProcess>;
  stopAll(): Promise<void>;
}

export interface TestClusterOptions {
  readonly workers: number;
  /** Settings every node's home gets (before per-node overrides), e.g. a short disconnection time. */
  readonly homeDefaults?: Partial<NodeHomeSpec>;
  /** Settings of the master's home only. */
  readonly master?: Partial<NodeHomeSpec>;
  readonly redisUrl?: string;
  readonly clusterJson?: Readonly<Record<string, unknown>>;
}

export async function makeCluster(prefix: string, opts: TestClusterOptions): Promise<TestCluster> {
  const root = await tempDir(prefix);
  const key = newKey();
  const port = await freePort();
  const clusterJson = opts.clusterJson ?? { intervals: FAST_INTERVALS, fault_injection: true };
  const nodes: NodeProcess[] = [];
  const addNode = async (name: string, type: 'master' | 'worker', overrides: Partial<NodeHomeSpec> = {}): Promise<NodeProcess> => {
    const home = path.join(root, name);
    const authPort = overrides.authPort ?? await freePort();
    // TCP and UDP share the number: a free TCP port is taken for both.
    const remotePort = overrides.remotePort ?? await freePort();
    await writeNodeHome(home, {
      cluster: 'wazuh', nodeName: name, nodeType: type, key, port, bindAddr: '127.0.0.1', masterAddress: '127.0.0.1',
      authPort, remotePort, remoteProtocol: 'tcp,udp', localIp: '127.0.0.1', clusterJson,
      ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}), ...opts.homeDefaults, ...overrides,
    });
    const node = new NodeProcess(home, name, authPort, remotePort);
    nodes.push(node);
    return node;
  };
  const master = await addNode('master', 'master', opts.master);
  const workers: NodeProcess[] = [];
  for (let i = 1; i <= opts.workers; i++) workers.push(await addNode(`worker${i}`, 'worker'));
  return {
    root, key, port, master, workers, addNode,
    async stopAll() {
      await Promise.all(nodes.map((n) => n.stop()));
      if (!process.env['KEEP_TEST_HOMES']) await fs.rm(root, { recursive: true, force: true });
    },
  };
}

/** Node names the control socket of `node` lists (master first). */
export async function listedNodes(node: NodeProcess): Promise<string[]> {
  const a = await controlRequest(node.home, 'list-nodes', {}, 5000);
  if (a.type !== 'nodes') throw new Error(a.type === 'error' ? a.body.message : `unexpected ${a.type}`);
  return a.body.nodes.map((n) => n.name);
}

/** Runs one of our CLIs and returns its exit code and output. */
export async function runCli(name: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [scriptPath(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
