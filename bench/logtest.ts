/**
 * The logtest socket with the engine behind it (stock Wazuh ruleset from a Wazuh ruleset
 * folder, by default ../shared/data/wazuh-ruleset-v4.14.5), one sequential client as
 * wazuh-logtest is, one request per connection as the protocol has it:
 *  - a new session (a request without token): the first one loads the ruleset cold,
 *    later ones reuse the compiled ruleset while no file changed;
 *  - requests per second within one session (an sshd line, the suite's lines cycled).
 * The server runs in its own process (this file, forked), as the daemon and the client
 * are. Baseline in the same run: a bare Unix-socket server in that process with the same
 * framing that answers each request with a fixed reply (the cost of the transport alone).
 * Prints one JSON line; progress goes to stderr. Sizes: REQUESTS (default 5000).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { frameLogtest, LogtestFrameReader } from '../protocols/logtest/framing.js';
import { EngineLogtestBackend } from '../runtime/analysis/logtest-backend.js';
import { RulesetLoader } from '../runtime/analysis/ruleset-loader.js';
import { createLogger } from '../runtime/logger.js';
import { logtestRequest } from '../runtime/logtest/logtest-client.js';
import { LogtestServer, logtestSocketPath } from '../runtime/logtest/logtest-server.js';
import { writeSuiteHome } from '../scripts/ruleset-tests/suite-home.js';
import { repoRoot } from '../test/harness/upstream-data.js';

const REQUESTS = Number(process.env['REQUESTS'] ?? 5000);
const RULESET = process.env['RULESET'] ?? path.resolve(repoRoot(), '..', 'shared', 'data', 'wazuh-ruleset-v4.14.5');
const progress = (msg: string): void => { process.stderr.write(`[logtest] ${msg}\n`); };
const SSHD = 'Oct 15 21:07:56 linux-agent sshd[29205]: Invalid user blimey from 18.18.18.18 port 48928';

if (!fs.existsSync(path.join(RULESET, 'rules'))) {
  process.stdout.write(`${JSON.stringify({ bench: 'logtest', skipped: `no Wazuh ruleset folder at ${RULESET} (set RULESET)` })}\n`);
  process.exit(0);
}

const request = (event: string, token?: string): Buffer => Buffer.from(JSON.stringify({
  version: 1, origin: { name: 'bench', module: 'bench' }, command: 'log_processing',
  parameters: { event, log_format: 'syslog', location: 'stdin', ...(token ? { token } : {}) },
}));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** The transport alone: same framing, one request per connection, a fixed reply. */
async function echoServer(socketPath: string): Promise<net.Server> {
  const reply = frameLogtest(Buffer.from('{"error":0,"data":{"codemsg":0}}'));
  const server = net.createServer((socket) => {
    const reader = new LogtestFrameReader();
    socket.on('data', (chunk) => {
      const progressed = reader.push(chunk);
      if (progressed.kind === 'frame') socket.end(reply);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return server;
}

async function requestsPerSecond(socketPath: string, payloads: readonly Buffer[]): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < REQUESTS; i++) await logtestRequest(socketPath, payloads[i % payloads.length] as Buffer);
  return Math.round(REQUESTS / ((performance.now() - t0) / 1000));
}

/** The server side, in the forked process: the logtest server and the echo server on the home's sockets. */
async function serve(home: string): Promise<void> {
  const sink = { write: (): void => undefined };
  const server = new LogtestServer({
    socketPath: logtestSocketPath(home),
    backend: new EngineLogtestBackend(new RulesetLoader(home), os.hostname()),
    log: createLogger(sink, 'bench'),
    config: { maxSessions: 500 },
  });
  await server.start();
  await echoServer(path.join(home, 'echo.sock'));
  process.send?.('ready');
}

async function measure(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-bench-logtest-'));
  let child: ChildProcess | undefined;
  try {
    await writeSuiteHome(home, RULESET, { tests: false });
    child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, LOGTEST_BENCH_SERVE: home } });
    await new Promise<void>((resolve, reject) => {
      child?.once('message', () => resolve());
      child?.once('exit', (code) => reject(new Error(`the server process ended (${code})`)));
    });
    const socketPath = logtestSocketPath(home);
    let t0 = performance.now();
    const first = JSON.parse((await logtestRequest(socketPath, request(SSHD))).toString()) as { data: { token: string } };
    const coldSessionMs = performance.now() - t0;
    const token = first.data.token;
    progress(`first session (cold ruleset load) ${coldSessionMs.toFixed(0)} ms`);
    const newSession: number[] = [];
    for (let i = 0; i < 50; i++) {
      t0 = performance.now();
      await logtestRequest(socketPath, request(SSHD));
      newSession.push(performance.now() - t0);
    }
    progress(`${REQUESTS} requests in one session...`);
    const warm = [request(SSHD, token)];
    const engineRps = await requestsPerSecond(socketPath, warm);
    progress('baseline: bare framed socket...');
    const echoRps = await requestsPerSecond(path.join(home, 'echo.sock'), warm);

    process.stdout.write(`${JSON.stringify({
      bench: 'logtest',
      value: engineRps, unit: 'requests/s, one sequential client, one session, server in its own process',
      target: 5000,
      baseline: { name: 'bare Unix socket, same framing, fixed reply', value: echoRps, unit: 'requests/s' },
      ratio: Number((engineRps / echoRps).toFixed(3)),
      new_session_ms: Number(median(newSession).toFixed(2)), new_session_target_ms: 100,
      first_session_cold_ms: Math.round(coldSessionMs),
      load_average: os.loadavg()[0],
      wazuh_logtest: { requests_per_second: '4300-5560', new_session_ms: '300-400', note: 'the real analysisd (reference)' },
    })}\n`);
  } finally {
    child?.kill();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

const serveHome = process.env['LOGTEST_BENCH_SERVE'];
if (serveHome) await serve(serveHome);
else await measure();
