#!/usr/bin/env node
/**
 * manage_agents: add, remove, list agents and print an agent's key, on any node (a
 * worker forwards to its master, which holds the registry).
 */
import path from 'node:path';
import { operatorCli } from './lib/cli.js';
import { formatAgentId, type AgentRecord } from '../protocols/registry.js';
import { apiEnvelope, fail, printJson } from './lib/output.js';
import { parseAgentId, registryRequest } from './lib/registry-client.js';

const argv = await operatorCli('manage_agents', '$0 --home DIR (-a NAME [-i IP] [-g GROUP[,GROUP...]] | -r ID | -l | -e ID) [--json]')
  .option('a', { alias: 'add', type: 'string', describe: 'Add an agent with this name' })
  .option('i', { alias: 'ip', type: 'string', describe: 'IP address of the agent being added (default: any)' })
  .option('g', { alias: 'group', type: 'string', describe: 'Groups of the agent being added, comma-separated (default: default)' })
  .option('r', { alias: 'remove', type: 'string', describe: 'Remove the agent with this ID' })
  .option('l', { alias: 'list', type: 'boolean', describe: 'List the agents' })
  .option('e', { alias: 'extract-key', type: 'string', describe: "Print this agent's key (base64, as agents import it)" })
  .parseAsync();

const usage = (message: string): never => fail(`Wrong arguments: ${message}`, 2);
const actions = (['a', 'r', 'l', 'e'] as const).filter((k) => argv[k] !== undefined && argv[k] !== false);
if (actions.length !== 1) usage('choose exactly one action: -a NAME, -r ID, -l or -e ID');
if ((argv.i !== undefined || argv.g !== undefined) && argv.a === undefined) usage('-i and -g go with -a');
const home = path.resolve(argv.home);
const out = (text: string): void => { process.stdout.write(`${text}\n`); };
const idOf = (value: unknown, flag: string): number => {
  const id = parseAgentId(value, flag);
  return typeof id === 'number' ? id : usage(id);
};

function describe(a: AgentRecord): string {
  return ['Agent information:', `   ID: ${formatAgentId(a.id)}`, `   Name: ${a.name}`, `   IP Address: ${a.ip}`, `   Groups: ${a.groups.join(',') || '(none)'}`].join('\n');
}

if (argv.a !== undefined) {
  if (argv.a === '') usage('-a needs the agent name');
  const groups = argv.g === undefined ? undefined : argv.g.split(',');
  if (groups?.some((g) => g === '')) usage(`-g: '${argv.g}' has an empty group name`);
  const result = await registryRequest(home, { op: 'add-agent', name: argv.a, ...(argv.i ? { ip: argv.i } : {}), ...(groups ? { groups } : {}) });
  if (result.kind !== 'agent') fail(`unexpected answer '${result.kind}'`);
  if (argv.json) printJson(apiEnvelope([{ id: formatAgentId(result.agent.id), name: result.agent.name, ip: result.agent.ip, key: result.agent.key }], 'Agent added'));
  else out(`${describe(result.agent)}\n\nAgent added with ID ${formatAgentId(result.agent.id)}.`);
} else if (argv.r !== undefined) {
  const id = idOf(argv.r, '-r');
  const result = await registryRequest(home, { op: 'remove-agent', id });
  if (argv.json) printJson(apiEnvelope([formatAgentId(id)], 'All selected agents were deleted'));
  else out(result.kind === 'done' ? result.detail : `Agent '${formatAgentId(id)}' removed.`);
} else if (argv.l) {
  const result = await registryRequest(home, { op: 'list-agents' });
  if (result.kind !== 'agents') fail(`unexpected answer '${result.kind}'`);
  if (argv.json) {
    printJson(apiEnvelope(result.agents.map((a) => ({ id: formatAgentId(a.id), name: a.name, ip: a.ip, group: a.groups })), 'All selected agents information was returned'));
  } else if (result.agents.length === 0) {
    out('No agent available.');
  } else {
    out(['Available agents: ', ...result.agents.map((a) => `   ID: ${formatAgentId(a.id)}, Name: ${a.name}, IP: ${a.ip}`)].join('\n'));
  }
} else {
  const id = idOf(argv.e, '-e');
  const result = await registryRequest(home, { op: 'get-agent', id });
  if (result.kind !== 'agent') fail(`unexpected answer '${result.kind}'`);
  const { agent } = result;
  const encoded = Buffer.from(`${formatAgentId(agent.id)} ${agent.name} ${agent.ip} ${agent.key}`).toString('base64');
  if (argv.json) printJson(apiEnvelope([{ id: formatAgentId(agent.id), key: encoded }], 'Agent key was returned'));
  else out(`Agent key information for '${formatAgentId(agent.id)}' is: \n${encoded}`);
}
