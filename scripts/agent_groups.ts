#!/usr/bin/env node
/**
 * agent_groups: create and delete groups, assign agents to them, and list them, on
 * any node (a worker forwards to its master). Flags as Wazuh's tool, with -d for
 * deleting a group.
 */
import path from 'node:path';
import { operatorCli } from './lib/cli.js';
import { formatAgentId } from '../protocols/registry.js';
import { apiEnvelope, fail, printJson } from './lib/output.js';
import { parseAgentId, registryRequest } from './lib/registry-client.js';

const argv = await operatorCli('agent_groups', [
  '$0 --home DIR ACTION [--json]',
  '  -l                  list the groups',
  '  -l -g GROUP         list the agents in a group',
  '  -c -g GROUP         create a group',
  '  -d -g GROUP         delete a group',
  '  -a -i ID -g GROUP   assign a group to an agent (-f: as its only group)',
  '  -r -i ID -g GROUP   unassign a group from an agent',
  '  -s -i ID            show the groups of an agent',
].join('\n'))
  .option('l', { alias: 'list', type: 'boolean', describe: 'List groups, or the agents of -g' })
  .option('c', { alias: 'create', type: 'boolean', describe: 'Create the group -g' })
  .option('d', { alias: 'delete', type: 'boolean', describe: 'Delete the group -g' })
  .option('a', { alias: 'add', type: 'boolean', describe: 'Assign the group -g to the agent -i' })
  .option('r', { alias: 'remove', type: 'boolean', describe: 'Unassign the group -g from the agent -i' })
  .option('s', { alias: 'show', type: 'boolean', describe: 'Show the groups of the agent -i' })
  .option('i', { alias: 'agent-id', type: 'string', describe: 'Agent ID' })
  .option('g', { alias: 'group', type: 'string', describe: 'Group name' })
  .option('f', { alias: 'force-single-group', type: 'boolean', default: false, describe: 'With -a: replace the agent’s groups' })
  .option('q', { alias: 'quiet', type: 'boolean', default: false, describe: 'Accepted for compatibility: nothing is ever asked' })
  .parseAsync();

const usage = (message: string): never => fail(`Wrong arguments: ${message}`, 2);
const actions = (['l', 'c', 'd', 'a', 'r', 's'] as const).filter((k) => argv[k] === true);
if (actions.length !== 1) usage('choose exactly one action: -l, -c, -d, -a, -r or -s');
const action = actions[0];
const home = path.resolve(argv.home);
const out = (text: string): void => { process.stdout.write(`${text}\n`); };

const group = (): string => (argv.g ? argv.g : usage(`-${action} needs -g GROUP`));
const agent = (): number => {
  if (argv.i === undefined) usage(`-${action} needs -i ID`);
  const id = parseAgentId(argv.i, '-i');
  return typeof id === 'number' ? id : usage(id);
};
if (argv.f && action !== 'a') usage('-f goes with -a');
if (argv.i !== undefined && !['a', 'r', 's'].includes(action ?? '')) usage(`-i does not go with -${action}`);
if (argv.g !== undefined && action === 's') usage('-g does not go with -s');

async function done(op: 'create-group' | 'delete-group', g: string): Promise<void> {
  const result = await registryRequest(home, { op, group: g });
  if (argv.json) printJson(apiEnvelope([g], result.kind === 'done' ? result.detail : ''));
  else out(result.kind === 'done' ? result.detail : 'Done.');
}

switch (action) {
  case 'l':
    if (argv.g !== undefined) {
      const g = group();
      const result = await registryRequest(home, { op: 'group-members', group: g });
      if (result.kind !== 'agents') fail(`unexpected answer '${result.kind}'`);
      if (argv.json) printJson(apiEnvelope(result.agents.map((a) => ({ id: formatAgentId(a.id), name: a.name })), `All agents in group '${g}' were returned`));
      else out([`${result.agents.length} agent(s) in group '${g}':`, ...result.agents.map((a) => `  ID: ${formatAgentId(a.id)}  Name: ${a.name}.`)].join('\n'));
    } else {
      const result = await registryRequest(home, { op: 'list-groups' });
      if (result.kind !== 'groups') fail(`unexpected answer '${result.kind}'`);
      if (argv.json) printJson(apiEnvelope(result.groups.map((g) => ({ name: g.name, count: g.agents, mergedSum: g.mergedSum })), 'All selected groups information was returned'));
      else out([`Groups (${result.groups.length}):`, ...result.groups.map((g) => `  ${g.name} (${g.agents})`), `Unassigned agents: ${result.unassigned}.`].join('\n'));
    }
    break;
  case 'c':
    await done('create-group', group());
    break;
  case 'd':
    await done('delete-group', group());
    break;
  case 'a':
  case 'r': {
    const id = agent();
    const g = group();
    const result = await registryRequest(home, action === 'a'
      ? { op: 'assign-group', id, group: g, replace: argv.f }
      : { op: 'unassign-group', id, group: g });
    if (argv.json) printJson(apiEnvelope([formatAgentId(id)], result.kind === 'done' ? result.detail : ''));
    else out(result.kind === 'done' ? result.detail : 'Done.');
    break;
  }
  case 's': {
    const id = agent();
    const result = await registryRequest(home, { op: 'get-agent', id });
    if (result.kind !== 'agent') fail(`unexpected answer '${result.kind}'`);
    const a = result.agent;
    if (argv.json) printJson(apiEnvelope([{ id: formatAgentId(a.id), name: a.name, group: a.groups }], 'Groups of the agent were returned'));
    else out(a.groups.length ? `The agent '${a.name}' with ID '${formatAgentId(a.id)}' belongs to groups: ${a.groups.join(', ')}.` : `The agent '${a.name}' with ID '${formatAgentId(a.id)}' belongs to no group.`);
    break;
  }
}
