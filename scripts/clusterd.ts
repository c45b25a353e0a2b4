#!/usr/bin/env node
/**
 * clusterd: one node of the cluster, rooted at --home (a Wazuh-style folder).
 * Runs in the foreground (systemd Type=exec); -f also echoes the log to stderr.
 */
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadNodeConfig, formatConfigIssue } from '../runtime/config/load.js';
import { createFileSink, createLogger, type ClosableSink } from '../runtime/logger.js';
import { startNode, nodeTag } from '../node/start-node.js';
import { CLUSTERD_VERSION } from '../protocols/version.js';

const argv = await yargs(hideBin(process.argv))
  .scriptName('clusterd')
  .usage('$0 [--home DIR] [-f] [-t] [-d]')
  .option('home', { type: 'string', default: '/var/ossec', describe: 'Node home folder (holds etc/ossec.conf)' })
  .option('f', { alias: 'foreground', type: 'boolean', default: false, describe: 'Also write the log to stderr' })
  .option('t', { alias: 'test-config', type: 'boolean', default: false, describe: 'Check the configuration and exit' })
  .option('d', { alias: 'debug', type: 'count', describe: 'Debug logging (-dd for more)' })
  .version(CLUSTERD_VERSION)
  .alias('V', 'version')
  .strict()
  .fail((msg, err) => {
    process.stderr.write(`clusterd: ${msg ?? err?.message}\nRun 'clusterd --help' for usage.\n`);
    process.exit(2);
  })
  .parseAsync();

const home = path.resolve(argv.home);
const level = argv.d >= 2 ? 'debug2' : argv.d === 1 ? 'debug' : 'info';
const sink: ClosableSink = createFileSink({ file: path.join(home, 'logs', 'cluster.log'), level, echo: argv.f });
const exit = async (code: number): Promise<never> => {
  await sink.close();
  process.exit(code);
};

const loaded = await loadNodeConfig(home);
const boot = createLogger(sink, 'Cluster');
for (const w of loaded.warnings) boot.warning(formatConfigIssue(w));
if (loaded.kind === 'invalid') {
  for (const e of loaded.errors) {
    boot.error(formatConfigIssue(e));
    process.stderr.write(`clusterd: ${formatConfigIssue(e)}\n`);
  }
  await exit(1);
}
if (loaded.kind === 'disabled') {
  const why = loaded.reason === 'absent' ? 'there is no <cluster> block' : '<disabled>yes</disabled>';
  const text = `Cluster is disabled in ${path.join(home, 'etc', 'ossec.conf')} (${why}). Nothing to do.`;
  boot.info(text);
  process.stdout.write(`${text}\n`);
  await exit(0);
}
if (loaded.kind !== 'enabled') throw new Error('unreachable');
if (argv.t) {
  process.stdout.write(`Configuration OK: ${loaded.config.ossecConfPath}\n`);
  await exit(0);
}

const config = loaded.config;
const log = createLogger(sink, nodeTag(config));
let node;
try {
  node = await startNode(config, sink);
} catch (err) {
  const text = `Could not start: ${err instanceof Error ? err.message : String(err)}`;
  log.error(text);
  process.stderr.write(`clusterd: ${text}\n`);
  await exit(1);
}
const running = node as NonNullable<typeof node>;
log.info(`clusterd ${CLUSTERD_VERSION} started as ${config.cluster.nodeType} '${config.cluster.nodeName}' of cluster '${config.cluster.name}'.`);

let signals = 0;
const shutdown = (signal: NodeJS.Signals): void => {
  signals++;
  if (signals > 1) process.exit(1);
  log.info(`SIGNAL [(${signal === 'SIGTERM' ? 15 : 2})-(${signal})] received. Exit...`);
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  void running.stop(signal).then(() => exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
void running.failed.then(async (code) => {
  await running.stop('actor tree failed');
  await exit(code);
});
