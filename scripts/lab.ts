#!/usr/bin/env node
/**
 * The local lab: a master and two workers as separate clusterd processes, each on
 * its own loopback address (127.0.0.1, .2, .3) with the standard port 1516, on
 * embedded defaults, each with its enrolment (1515) and agent (1514) services on its
 * own address. Prints `cluster_control -l` once the cluster formed, then starts a few
 * simulated agents (enrolled over TLS, reporting over the real protocol, one through
 * each node) and prints `cluster_control -a` once they are active; Ctrl-C shuts the
 * agents down and stops every node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { controlRequest } from '../runtime/control/control-client.js';
import { writeNodeHome } from './lib/node-home.js';
import { formatTable } from './lib/output.js';
import { SimulatedAgent } from '../sim/simulated-agent.js';

const argv = await yargs(hideBin(process.argv))
  .scriptName('lab')
  .option('dir', { type: 'string', describe: 'Folder for the node homes (default: a new temporary folder)' })
  .option('port', { type: 'number', default: 1516, describe: 'Cluster port' })
  .option('keep', { type: 'boolean', default: false, describe: 'Keep the node homes after Ctrl-C' })
  .option('redis-url', { type: 'string', describe: 'Publish node status to this Redis' })
  .option('ruleset', { type: 'string', describe: "A Wazuh ruleset folder (decoders/, rules/) every node analyses with (default: the lab's own, rulesets/lab)" })
  .strict()
  .parseAsync();

const here = path.dirname(fileURLToPath(import.meta.url));
const clusterd = path.join(here, 'clusterd.js');
const ruleset = path.resolve(argv.ruleset ?? path.join(here, '..', '..', 'rulesets', 'lab'));
for (const sub of ['decoders', 'rules']) {
  try {
    await fs.access(path.join(ruleset, sub));
  } catch {
    process.stderr.write(`ERROR: --ruleset ${ruleset}: no ${sub}/ folder there (a Wazuh ruleset folder holds decoders/ and rules/)\n`);
    process.exit(2);
  }
}
const root = argv.dir ? path.resolve(argv.dir) : await fs.mkdtemp(path.join(os.tmpdir(), 'clusterd-lab-'));
const key = randomBytes(16).toString('hex');
const nodes = [
  { name: 'master-node', type: 'master' as const, address: '127.0.0.1' },
  { name: 'worker01-node', type: 'worker' as const, address: '127.0.0.2' },
  { name: 'worker02-node', type: 'worker' as const, address: '127.0.0.3' },
];

const syslogExample = 'Dec  7 22:03:27 lab-agent-1 agent_simulator[4242]: simulated event 20';
const say = (line: string): void => { process.stdout.write(`${line}\n`); };
const started = performance.now();
const children: ChildProcess[] = [];
const agents: SimulatedAgent[] = [];
let stopping = false;

const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  say('\nstopping the lab...');
  await Promise.all(agents.map((a) => a.shutdown().catch(() => a.drop())));
  await Promise.all(children.map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
    setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
  })));
  if (!argv.keep && !argv.dir) await fs.rm(root, { recursive: true, force: true });
  else say(`node homes kept in ${root}`);
  process.exit(0);
};
// Ctrl-C may come at any moment, even while nodes are still starting.
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

for (const n of nodes) {
  const home = path.join(root, n.name);
  await writeNodeHome(home, {
    cluster: 'wazuh', nodeName: n.name, nodeType: n.type, key, port: argv.port,
    bindAddr: n.address, masterAddress: '127.0.0.1', localIp: n.address, remoteProtocol: 'tcp,udp', ruleset, ...(argv.redisUrl ? { redisUrl: argv.redisUrl } : {}),
  });
  const out = openSync(path.join(home, 'logs', 'clusterd.out'), 'a');
  const child = spawn(process.execPath, [clusterd, '--home', home], { stdio: ['ignore', out, out] });
  child.on('exit', (code, signal) => { if (!stopping) say(`${n.name} exited (${signal ?? code}); see ${path.join(home, 'logs')}`); });
  children.push(child);
  say(`started ${n.type} ${n.name} on ${n.address} (home ${home})`);
}

const masterHome = path.join(root, nodes[0]?.name ?? 'master-node');
const listNodes = async (home: string): Promise<string[][]> => {
  const a = await controlRequest(home, 'list-nodes', {}, 5000);
  return a.type === 'nodes' ? a.body.nodes.map((x) => [x.name, x.type, x.version, x.address]) : [];
};

type AgentRow = { id: number; name: string; ip: string; status: string; version: string | null; node: string | null };
const listAgents = async (): Promise<AgentRow[]> => {
  const a = await controlRequest(masterHome, 'registry', { command: { op: 'list-agents' } }, 5000).catch(() => null);
  return a?.type === 'registry-result' && a.body.outcome.ok && a.body.outcome.result.kind === 'agents' ? a.body.outcome.result.agents : [];
};

let rows: string[][] = [];
let shown = -1;
for (const deadline = Date.now() + 60_000; rows.length < nodes.length; await new Promise((r) => setTimeout(r, 100))) {
  if (Date.now() > deadline) {
    say(`The cluster did not form within 60 s; logs are in ${root}/*/logs/cluster.log`);
    break;
  }
  rows = await listNodes(masterHome).catch(() => []);
  if (rows.length !== shown) {
    shown = rows.length;
    say(`waiting for the cluster: ${rows.length}/${nodes.length} nodes connected`);
  }
}
if (rows.length === nodes.length) {
  say(`\ncluster formed in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
  say(`$ cluster_control --home ${masterHome} -l`);
  say(formatTable(['Name', 'Type', 'Version', 'Address'], rows));
  say('\nstarting simulated agents: each enrols through a node (TLS, 1515) and reports to it (1514)');
  for (const [i, n] of nodes.entries()) {
    const agent = new SimulatedAgent({
      name: `lab-agent-${i + 1}`, enrol: { host: n.address, port: 1515 }, server: { host: n.address, port: 1514, transport: 'tcp' },
      keepaliveMs: 10_000, eventsPerSecond: 1, os: i === 1 ? 'windows10' : 'ubuntu22', sendStartup: true,
    });
    try {
      const key = await agent.enrolNow();
      await agent.start();
      await agent.keepaliveNow();
      agents.push(agent);
      say(`  ${agent.name}: ID ${key.id}, via ${n.name} (${n.address})`);
    } catch (err) {
      say(`  ${agent.name}: failed (${(err as Error).message})`);
    }
  }
  let agentRows: AgentRow[] = [];
  for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
    agentRows = await listAgents();
    if (agentRows.length > 0 && agentRows.every((a) => a.status === 'active')) break;
  }
  say(`\n$ cluster_control --home ${masterHome} -a`);
  say(formatTable(['ID', 'Name', 'IP', 'Status', 'Version', 'Node name'],
    agentRows.map((a) => [String(a.id).padStart(3, '0'), a.name, a.ip, a.status, a.version ?? 'unknown', a.node ?? 'unknown'])));
  say(`\nTry: node dist/scripts/cluster_control.js --home ${path.join(root, nodes[1]?.name ?? '')} -l`);
  say(`     node dist/scripts/manage_agents.js --home ${path.join(root, nodes[2]?.name ?? '')} -l`);
  say(`     node dist/scripts/agent_groups.js --home ${path.join(root, nodes[1]?.name ?? '')} -c -g web`);
  say(`     node dist/scripts/agent_simulator.js --agents 50 --enrol-port 1515 --enrol-host 127.0.0.2 --server 127.0.0.2:1514 --duration 30`);
  say(`     node dist/scripts/actors.js --home ${masterHome}`);
  say(`     echo '${syslogExample}' | node dist/scripts/wazuh-logtest.js --home ${path.join(root, nodes[1]?.name ?? '')}`);
  say(`     tail -f ${path.join(masterHome, 'logs', 'cluster.log')}`);
}
say('\nPress Ctrl-C to stop the lab.');

