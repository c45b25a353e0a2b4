#!/usr/bin/env node
/**
 * agent_simulator: a load tool of simulated Wazuh agents. Enrols N agents named
 * `<prefix>-1` .. `<prefix>-N` over TLS (or reuses their keys from a client.keys-format
 * file, enrolling and appending the missing ones), connects them to the agent service
 * (TCP or UDP, spread round robin over every --server), sends the startup, keepalives
 * every --keepalive seconds and --eps events per second each, and takes the merged.mg
 * pushes. Progress every 5 s on stderr; at the end (after --duration seconds of run,
 * or on Ctrl-C) every agent sends its shutdown message and a report is printed: a
 * table, or one JSON line with --json. Exits 1 when not a single agent started.
 */
import fs from 'node:fs/promises';
import { operatorCli } from './lib/cli.js';
import { fail, formatTable } from './lib/output.js';
import { parseClientKeys } from '../protocols/agent-keys.js';
import { AGENT_NAME_RE, formatAgentId, GROUP_NAME_RE } from '../protocols/registry.js';
import type { EnrolmentKey } from '../protocols/enrolment.js';
import { SimulatedAgent, type SimulatedAgentCounts } from '../sim/simulated-agent.js';

const PROGRESS_MS = 5_000;
/** After Ctrl-C during the ramp, how long enrolments and starts already under way may finish. */
const RAMP_GRACE_MS = 3_000;
const MAX_PORT = 65_535;
const ERROR_SAMPLES = 5;

const argv = await operatorCli('agent_simulator',
  '$0 [--agents N] [--prefix NAME] [--enrol-host HOST] [--enrol-port PORT] [--host HOST --port PORT | --server HOST:PORT ...]\n'
  + '     [--protocol tcp|udp] [--cipher aes|blowfish] [--keepalive SECONDS] [--eps N] [--duration SECONDS]\n'
  + '     [--keys FILE] [--password PW] [--group G ...] [--concurrency N] [--json]')
  .option('enrol-host', { type: 'string', default: '127.0.0.1', describe: 'Enrolment service host (TLS)' })
  .option('enrol-port', { type: 'number', default: 1515, describe: 'Enrolment service port' })
  .option('host', { type: 'string', describe: 'Agent service host (default 127.0.0.1)' })
  .option('port', { type: 'number', describe: 'Agent service port (default 1514)' })
  .option('server', { type: 'string', array: true, describe: 'Agent service HOST:PORT; repeat to spread agents round robin' })
  .option('agents', { type: 'number', default: 10, describe: 'Number of agents' })
  .option('prefix', { type: 'string', default: 'sim', describe: 'Agent names are <prefix>-1 .. <prefix>-N' })
  .option('protocol', { choices: ['tcp', 'udp'] as const, default: 'tcp' as const, describe: 'Agent messaging transport' })
  .option('cipher', { choices: ['aes', 'blowfish'] as const, default: 'aes' as const, describe: 'Message cipher' })
  .option('os', { choices: ['debian10', 'ubuntu22', 'windows10'] as const, default: 'debian10' as const, describe: 'Keepalive OS template' })
  .option('keepalive', { type: 'number', default: 10, describe: 'Seconds between keepalives (notify_time)' })
  .option('eps', { type: 'number', default: 0, describe: 'Events per second per agent' })
  .option('duration', { type: 'number', describe: 'Seconds to run once every agent started, then shut down (default: until Ctrl-C)' })
  .option('keys', { type: 'string', describe: 'client.keys-format file: reuse its keys, append the ones enrolled' })
  .option('password', { type: 'string', describe: 'Enrolment password' })
  .option('group', { type: 'string', array: true, describe: 'Group to enrol into (repeatable, or comma-separated)' })
  .option('concurrency', { type: 'number', default: 32, describe: 'Enrolments (and connections) under way at once' })
  .parseAsync();

const usage = (message: string): never => fail(`Wrong arguments: ${message}`, 2);
const isPort = (n: number): boolean => Number.isSafeInteger(n) && n > 0 && n <= MAX_PORT;
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

if (!Number.isSafeInteger(argv.agents) || argv.agents < 1) usage(`--agents takes a positive whole number, not '${String(argv.agents)}'`);
if (!Number.isSafeInteger(argv.concurrency) || argv.concurrency < 1) usage(`--concurrency takes a positive whole number, not '${String(argv.concurrency)}'`);
if (!(argv.keepalive > 0)) usage(`--keepalive takes a positive number of seconds, not '${String(argv.keepalive)}'`);
if (!(argv.eps >= 0)) usage(`--eps takes a number of events per second, not '${String(argv.eps)}'`);
if (argv.duration !== undefined && !(argv.duration > 0)) usage(`--duration takes a positive number of seconds, not '${String(argv.duration)}'`);
if (!isPort(argv.enrolPort)) usage(`--enrol-port: '${String(argv.enrolPort)}' is not a port`);
if (!AGENT_NAME_RE.test(`${argv.prefix}-${argv.agents}`)) usage(`--prefix: '${argv.prefix}' does not make valid agent names (A-Z a-z 0-9 . _ -)`);

const groups = (argv.group ?? []).flatMap((g) => g.split(','));
for (const g of groups) if (!GROUP_NAME_RE.test(g)) usage(`--group: '${g}' is not a valid group name`);

/** `host:port`, `[v6]:port`. */
function parseServer(text: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || !m[1] || !isPort(port)) return usage(`--server: '${text}' is not HOST:PORT`);
  return { host: m[1], port };
}

if (argv.server !== undefined && (argv.host !== undefined || argv.port !== undefined)) usage('give either --host/--port or --server');
if (argv.port !== undefined && !isPort(argv.port)) usage(`--port: '${String(argv.port)}' is not a port`);
const servers = argv.server !== undefined
  ? argv.server.map(parseServer)
  : [{ host: argv.host ?? '127.0.0.1', port: argv.port ?? 1514 }];

// --- keys ------------------------------------------------------------------------------------------------------

const known = new Map<string, EnrolmentKey>();
let keysTail = '';
if (argv.keys !== undefined) {
  let text = '';
  try {
    text = await fs.readFile(argv.keys, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') fail(`cannot read ${argv.keys}: ${messageOf(err)}`);
  }
  const parsed = parseClientKeys(text);
  const first = parsed.errors[0];
  if (first) fail(`${argv.keys}:${first.line}: ${first.message}`);
  for (const a of parsed.agents) known.set(a.name, { id: formatAgentId(a.id), name: a.name, ip: a.ip, key: a.key });
  keysTail = text !== '' && !text.endsWith('\n') ? '\n' : '';
}

let appending: Promise<void> = Promise.resolve();
/** Appends one enrolled key to --keys, in enrolment order, one write at a time. */
function rememberKey(k: EnrolmentKey): void {
  const file = argv.keys;
  if (file === undefined) return;
  const line = `${keysTail}${k.id} ${k.name} ${k.ip} ${k.key}\n`;
  keysTail = '';
  appending = appending
    .then(() => fs.appendFile(file, line, { mode: 0o640 }))
    .catch((err) => { process.stderr.write(`agent_simulator: cannot append to ${file}: ${messageOf(err)}\n`); });
}

// --- the fleet -------------------------------------------------------------------------------------------------

const agents: SimulatedAgent[] = [];
for (let i = 1; i <= argv.agents; i++) {
  const name = `${argv.prefix}-${i}`;
  const server = servers[(i - 1) % servers.length] ?? { host: '127.0.0.1', port: 1514 };
  const key = known.get(name);
  agents.push(new SimulatedAgent({
    name,
    ...(key ? { key } : {}),
    enrol: { host: argv.enrolHost, port: argv.enrolPort, ...(argv.password !== undefined ? { password: argv.password } : {}), ...(groups.length ? { groups } : {}) },
    server: { ...server, transport: argv.protocol },
    cipher: argv.cipher,
    os: argv.os,
    keepaliveMs: argv.keepalive * 1_000,
    eventsPerSecond: argv.eps,
  }));
}

const begun = Date.now();
const started = new Set<SimulatedAgent>();
const failures = new Map<string, number>();
const tally = { reused: known.size === 0 ? 0 : agents.filter((a) => known.has(a.name)).length, enrolled: 0, enrolFailed: 0, startFailed: 0 };
let stopping = false;

const noteFailure = (what: string, err: unknown): void => {
  const key = `${what}: ${messageOf(err)}`;
  failures.set(key, (failures.get(key) ?? 0) + 1);
};

function totals(): SimulatedAgentCounts {
  const t: SimulatedAgentCounts = { sent: 0, acks: 0, received: 0, events: 0, pushes: 0, errors: 0, reconnects: 0 };
  for (const a of agents) {
    const c = a.counts;
    for (const k of Object.keys(t) as (keyof SimulatedAgentCounts)[]) t[k] += c[k];
  }
  return t;
}

const connectedCount = (): number => agents.filter((a) => a.connected).length;
const elapsedS = (): number => Math.round((Date.now() - begun) / 100) / 10;

const progress = setInterval(() => {
  const t = totals();
  process.stderr.write(`agent_simulator: ${elapsedS()}s connected ${connectedCount()}/${agents.length}`
    + ` acks ${t.acks} pushes ${t.pushes} events ${t.events} errors ${t.errors + tally.enrolFailed + tally.startFailed}\n`);
}, PROGRESS_MS);

let next = 0;
async function worker(): Promise<void> {
  for (let i = next++; i < agents.length && !stopping; i = next++) {
    const agent = agents[i] as SimulatedAgent;
    const hadKey = agent.key !== null;
    let key: EnrolmentKey;
    try {
      key = await agent.enrolNow();
    } catch (err) {
      tally.enrolFailed++;
      noteFailure('enrolment', err);
      continue;
    }
    if (!hadKey) {
      tally.enrolled++;
      rememberKey(key);
    }
    if (stopping) break;
    try {
      await agent.start();
      started.add(agent);
    } catch (err) {
      tally.startFailed++;
      noteFailure('start', err);
    }
  }
}

const ramp = Promise.all(Array.from({ length: Math.min(argv.concurrency, agents.length) }, () => worker()));

let finishing: Promise<never> | null = null;
function finish(reason: string): Promise<never> {
  finishing ??= (async () => {
    stopping = true;
    await Promise.race([ramp, new Promise((r) => setTimeout(r, RAMP_GRACE_MS))]);
    const connectedAtEnd = connectedCount();
    await Promise.all(agents.map((a) => (started.has(a) ? a.shutdown() : (a.drop(), Promise.resolve()))));
    await appending;
    clearInterval(progress);
    report(reason, connectedAtEnd);
    process.exit(started.size === 0 ? 1 : 0);
  })();
  return finishing;
}

const onSignal = (): void => {
  if (finishing) {
    process.stderr.write('agent_simulator: interrupted again, exiting without waiting\n');
    process.exit(130);
  }
  process.stderr.write('agent_simulator: stopping: sending shutdown messages\n');
  void finish('interrupted');
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

function report(reason: string, connectedAtEnd: number): void {
  const t = totals();
  const summary = {
    reason,
    agents: agents.length,
    started: started.size,
    connected: connectedAtEnd,
    reused_keys: tally.reused,
    enrolled: tally.enrolled,
    enrol_failed: tally.enrolFailed,
    start_failed: tally.startFailed,
    protocol: argv.protocol,
    cipher: argv.cipher,
    servers: servers.map((s) => `${s.host}:${s.port}`),
    seconds: elapsedS(),
    ...t,
    failures: [...failures].sort((a, b) => b[1] - a[1]).slice(0, ERROR_SAMPLES).map(([message, count]) => ({ message, count })),
    agent_errors: agentErrorSamples(),
  };
  if (argv.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const rows: [string, string][] = [
    ['finished', reason],
    ['agents', String(summary.agents)],
    ['started', String(summary.started)],
    ['connected at the end', String(summary.connected)],
    ['keys reused', String(summary.reused_keys)],
    ['enrolled', String(summary.enrolled)],
    ['enrolment failures', String(summary.enrol_failed)],
    ['start failures', String(summary.start_failed)],
    ['messages sent', String(t.sent)],
    ['acks', String(t.acks)],
    ['messages received', String(t.received)],
    ['events', String(t.events)],
    ['pushes', String(t.pushes)],
    ['errors', String(t.errors)],
    ['reconnects', String(t.reconnects)],
    ['seconds', String(summary.seconds)],
  ];
  process.stdout.write(`${formatTable(['metric', 'value'], rows)}\n`);
  for (const f of summary.failures) process.stdout.write(`${f.count} x ${f.message}\n`);
  for (const e of summary.agent_errors) process.stdout.write(`${e.count} x agent error: ${e.message}\n`);
}

/** The most frequent last errors of the agents. */
function agentErrorSamples(): { message: string; count: number }[] {
  const by = new Map<string, number>();
  for (const a of agents) {
    const e = a.lastError;
    if (e !== null) by.set(e, (by.get(e) ?? 0) + 1);
  }
  return [...by].sort((a, b) => b[1] - a[1]).slice(0, ERROR_SAMPLES).map(([message, count]) => ({ message, count }));
}

await ramp;
if (!stopping) {
  process.stderr.write(`agent_simulator: ${started.size}/${agents.length} agents started in ${elapsedS()}s\n`);
  if (started.size === 0) await finish('no agent started');
  else if (argv.duration !== undefined) setTimeout(() => void finish('duration'), argv.duration * 1_000);
}
