#!/usr/bin/env node
/**
 * Lays out a node home (etc/ossec.conf with a <cluster> block, logs/, var/run/) so
 * `clusterd --home DIR` can start on it. Used by docker-compose.yml; handy for
 * operators trying clusterd outside a Wazuh installation.
 */
import fs from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { writeNodeHome } from './lib/node-home.js';
import { fail } from './lib/output.js';

const argv = await yargs(hideBin(process.argv))
  .scriptName('init-home')
  .usage('$0 --home DIR --name NODE --type master|worker --master ADDRESS --key KEY [--cluster NAME] [--port P] [--bind ADDR] [--redis-url URL]')
  .option('home', { type: 'string', demandOption: true })
  .option('name', { type: 'string', demandOption: true, describe: 'node_name' })
  .option('type', { choices: ['master', 'worker'] as const, demandOption: true, describe: 'node_type' })
  .option('master', { type: 'string', demandOption: true, describe: 'Address of the master (<nodes><node>)' })
  .option('key', { type: 'string', demandOption: true, describe: '32-character cluster key' })
  .option('cluster', { type: 'string', default: 'wazuh' })
  .option('port', { type: 'number', default: 1516 })
  .option('bind', { type: 'string', default: '0.0.0.0', describe: 'bind_addr' })
  .option('redis-url', { type: 'string' })
  .option('force', { type: 'boolean', default: false, describe: 'Overwrite an existing etc/ossec.conf' })
  .strict()
  .fail((msg, err) => fail(`${msg ?? err?.message} (see --help)`, 2))
  .parseAsync();

const home = path.resolve(argv.home);
if (fs.existsSync(path.join(home, 'etc', 'ossec.conf')) && !argv.force) {
  fail(`${path.join(home, 'etc', 'ossec.conf')} exists; use --force to overwrite it`);
}
await writeNodeHome(home, {
  cluster: argv.cluster, nodeName: argv.name, nodeType: argv.type, key: argv.key, port: argv.port,
  bindAddr: argv.bind, masterAddress: argv.master, ...(argv.redisUrl ? { redisUrl: argv.redisUrl } : {}),
});
process.stdout.write(`Node home ready: ${home}\n`);
