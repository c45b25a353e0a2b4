#!/usr/bin/env node
/**
 * cluster_control: what Wazuh operators run to see the cluster. `-l` lists the
 * nodes, `-a` the agents with their status and node, `-i [more]` each worker's last
 * synchronizations (a worker asks its master); `--json` prints Wazuh's API envelope.
 */
import path from 'node:path';
import { operatorCli } from './lib/cli.js';
import { controlRequest } from '../runtime/control/control-client.js';
import type { ClusterHealth, WorkerHealth } from '../protocols/cluster-messages.js';
import { apiEnvelope, fail, formatTable, printJson } from './lib/output.js';
import { registryRequest } from './lib/registry-client.js';
import { formatAgentId, type AgentSummary } from '../protocols/registry.js';
import { MANAGER_VERSION } from '../protocols/enrolment.js';
import { AGENT_STATUSES, type AgentStatus } from '../protocols/agent-status.js';

/** Wazuh's cluster_control lists the states most operators look for first. */
const DISPLAY_RANK: Readonly<Record<AgentStatus, number>> = { active: 0, disconnected: 1, pending: 2, never_connected: 3 };
const STATUS_CHOICES: readonly AgentStatus[] = [...AGENT_STATUSES].sort((a, b) => DISPLAY_RANK[a] - DISPLAY_RANK[b]);

const argv = await operatorCli('cluster_control', '$0 --home DIR (-l | -a [-fs STATUS ...] | -i [more]) [-fn NODE ...] [--json]')
  .option('l', { alias: 'list-nodes', type: 'boolean', describe: 'List the connected nodes' })
  .option('a', { alias: 'list-agents', type: 'boolean', describe: 'List the agents with their status and node' })
  .option('fs', { alias: 'filter-agent-status', type: 'string', array: true, choices: STATUS_CHOICES, describe: 'With -a: only agents in these states' })
  .option('i', { alias: 'health', type: 'string', describe: 'Synchronization status of the workers (-i more: extended)' })
  .option('fn', { alias: 'filter-node', type: 'string', array: true, describe: 'Only these node names' })
  .conflicts('l', ['i', 'a'])
  .conflicts('a', 'i')
  .parseAsync();

if (!argv.l && !argv.a && argv.i === undefined) {
  process.stderr.write('ERROR: Wrong arguments: choose an action (-l, -a or -i).\n');
  process.exit(2);
}
if (argv.fs !== undefined && !argv.a) {
  process.stderr.write('ERROR: Wrong arguments: -fs goes with -a.\n');
  process.exit(2);
}
if (argv.i !== undefined && argv.i !== '' && argv.i !== 'more') {
  process.stderr.write(`ERROR: Wrong arguments: -i takes nothing or 'more', not '${argv.i}'.\n`);
  process.exit(2);
}

const home = path.resolve(argv.home);

function checkFilter(known: readonly string[]): (name: string) => boolean {
  const wanted = argv.fn;
  if (!wanted) return () => true;
  const unknown = wanted.filter((n) => !known.includes(n));
  if (unknown.length) fail(`Unknown node name(s): ${unknown.join(', ')}`);
  return (name) => wanted.includes(name);
}

async function listNodes(): Promise<void> {
  const answer = await controlRequest(home, 'list-nodes', {});
  if (answer.type !== 'nodes') fail(answer.type === 'error' ? answer.body.message : `unexpected answer '${answer.type}'`);
  const keep = checkFilter(answer.body.nodes.map((n) => n.name));
  const nodes = answer.body.nodes.filter((n) => keep(n.name));
  if (argv.json) {
    printJson(apiEnvelope(nodes.map((n) => ({ name: n.name, type: n.type, version: n.version, ip: n.address })), 'All selected nodes information was returned'));
  } else {
    process.stdout.write(`${formatTable(['Name', 'Type', 'Version', 'Address'], nodes.map((n) => [n.name, n.type, n.version, n.address]))}\n`);
  }
}

async function listAgents(): Promise<void> {
  const nodes = await controlRequest(home, 'list-nodes', {});
  if (nodes.type !== 'nodes') fail(nodes.type === 'error' ? nodes.body.message : `unexpected answer '${nodes.type}'`);
  const master = nodes.body.nodes[0];
  const result = await registryRequest(home, { op: 'list-agents' });
  if (result.kind !== 'agents') fail(`unexpected answer '${result.kind}'`);
  const keepNode = checkFilter(nodes.body.nodes.map((n) => n.name));
  const statuses: readonly string[] = argv.fs ?? STATUS_CHOICES;
  // Agent 000 is the manager itself, always active on the master.
  const manager: AgentSummary | null = master ? {
    id: 0, name: master.name, ip: '127.0.0.1', registeredAt: 0, groups: [], status: 'active', node: master.name, version: `Wazuh ${MANAGER_VERSION}`, lastKeepalive: null,
  } : null;
  const agents = [...(manager ? [manager] : []), ...result.agents]
    .filter((a) => statuses.includes(a.status) && (argv.fn === undefined || (a.node !== null && keepNode(a.node))));
  const unknown = (v: string | null): string => v ?? 'unknown';
  if (argv.json) {
    printJson(apiEnvelope(agents.map((a) => ({
      id: formatAgentId(a.id), name: a.name, ip: a.ip, status: a.status, version: unknown(a.version), node_name: unknown(a.node),
      group: a.groups, lastKeepAlive: a.lastKeepalive === null ? null : new Date(a.lastKeepalive).toISOString(),
    })), 'All selected agents information was returned'));
    return;
  }
  const rows = agents.map((a) => [formatAgentId(a.id), a.name, a.ip, a.status, unknown(a.version), unknown(a.node)]);
  process.stdout.write(`${formatTable(['ID', 'Name', 'IP', 'Status', 'Version', 'Node name'], rows)}\n`);
}

const orNa = (v: string | null | undefined): string => v ?? 'n/a';

/** Wazuh prints spans as seconds rounded to 3 decimals without trailing zeros, at least 0.001s. */
function spanSeconds(span: { start: string; end: string } | null): string {
  if (!span) return 'n/a';
  const s = Math.max(0.001, Math.round(Date.parse(span.end) - Date.parse(span.start)) / 1000);
  return `${Number(s.toFixed(3))}s`;
}

function summaryLine(w: WorkerHealth): string {
  const i = w.integrity;
  return `    ${w.info.name} (${w.info.address}): Integrity check: ${orNa(i.lastCheck?.end)} | Integrity sync: ${orNa(i.lastSync?.end)} | ` +
    `Agents-info: n/a | Agent-groups: n/a | Agent-groups full: n/a | Last keep alive: ${orNa(w.lastKeepalive)}.`;
}

function moreLines(h: ClusterHealth, w: WorkerHealth): string[] {
  const i = w.integrity;
  const f = i.lastFiles;
  return [
    '', `    ${w.info.name} (${w.info.address})`, `        Version: ${w.info.version}`, '        Type: worker',
    '        Status:',
    '            Last keep Alive:', `                Last received: ${orNa(w.lastKeepalive)}.`,
    '            Integrity check:',
    `                Last integrity check: ${spanSeconds(i.lastCheck)} (${orNa(i.lastCheck?.start)} - ${orNa(i.lastCheck?.end)}).`,
    `                Checks since connected: ${i.checks}.`,
    '            Integrity sync:',
    `                Last integrity synchronization: ${spanSeconds(i.lastSync)} (${orNa(i.lastSync?.start)} - ${orNa(i.lastSync?.end)}).`,
    `                Synchronized files: Created: ${f?.created ?? 0} | Updated: ${f?.updated ?? 0} | Deleted: ${f?.deleted ?? 0}.`,
    `                Synchronizing now: ${i.syncing ? 'True' : 'False'}. Last outcome: ${orNa(i.lastOutcome)}.`,
    `                Master manifest: revision ${h.integrity?.revision ?? 'n/a'}, ${h.integrity?.files ?? 'n/a'} files.`,
  ];
}

async function health(): Promise<void> {
  const answer = await controlRequest(home, 'get-health', {});
  if (answer.type !== 'health') fail(answer.type === 'error' ? answer.body.message : `unexpected answer '${answer.type}'`);
  const h = answer.body.health;
  const keep = checkFilter([h.master.name, ...h.workers.map((w) => w.info.name)]);
  const workers = h.workers.filter((w) => keep(w.info.name)).sort((a, b) => a.info.name.localeCompare(b.info.name));
  if (argv.json) {
    printJson(apiEnvelope(workers, 'All selected nodes healthcheck information was returned'));
    return;
  }
  const lines = [`Cluster name: ${h.cluster}`, ''];
  if (argv.i === 'more') {
    lines.push(`Connected nodes (${workers.length}):`);
    for (const w of workers) lines.push(...moreLines(h, w));
  } else {
    lines.push(`Last completed synchronization for connected nodes (${workers.length}):`, ...workers.map(summaryLine));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

try {
  await (argv.l ? listNodes() : argv.a ? listAgents() : health());
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
