#!/usr/bin/env node
/**
 * cluster_control: what Wazuh operators run to see the cluster. `-l` lists the
 * nodes (a worker asks its master); `--json` prints Wazuh's API envelope.
 */
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { controlRequest } from '../runtime/control/control-client.js';
import { apiEnvelope, fail, formatTable, printJson } from './lib/output.js';

const argv = await yargs(hideBin(process.argv))
  .scriptName('cluster_control')
  .usage('$0 --home DIR -l [-fn NODE ...] [--json]')
  // Wazuh's multi-letter single-dash flags (-fn) must not split into -f -n.
  .parserConfiguration({ 'short-option-groups': false })
  .option('home', { type: 'string', default: '/var/ossec', describe: 'Node home folder' })
  .option('l', { alias: 'list-nodes', type: 'boolean', describe: 'List the connected nodes' })
  .option('fn', { alias: 'filter-node', type: 'string', array: true, describe: 'Only these node names' })
  .option('json', { type: 'boolean', default: false, describe: 'Machine-readable output' })
  .strict()
  .fail((msg, err, y) => {
    process.stderr.write(`ERROR: ${msg ?? err?.message}\n\n${y.help()}\n`);
    process.exit(2);
  })
  .parseAsync();

if (!argv.l) {
  process.stderr.write('ERROR: Wrong arguments: choose an action (-l).\n');
  process.exit(2);
}

try {
  const answer = await controlRequest(path.resolve(argv.home), 'list-nodes', {});
  if (answer.type === 'error') fail(answer.body.message);
  if (answer.type !== 'nodes') fail(`unexpected answer '${answer.type}'`);
  const wanted = argv.fn;
  if (wanted) {
    const unknown = wanted.filter((n) => !answer.body.nodes.some((x) => x.name === n));
    if (unknown.length) fail(`Unknown node name(s): ${unknown.join(', ')}`);
  }
  const nodes = answer.body.nodes.filter((n) => !wanted || wanted.includes(n.name));
  if (argv.json) {
    printJson(apiEnvelope(nodes.map((n) => ({ name: n.name, type: n.type, version: n.version, ip: n.address })), 'All selected nodes information was returned'));
  } else {
    process.stdout.write(`${formatTable(['Name', 'Type', 'Version', 'Address'], nodes.map((n) => [n.name, n.type, n.version, n.address]))}\n`);
  }
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
