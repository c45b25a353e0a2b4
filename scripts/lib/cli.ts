/**
 * What every operator CLI shares: Wazuh's single-dash multi-letter flags, `--home`,
 * `--json`, strict arguments, and a usage error (exit 2) that names what is wrong.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';

export function operatorCli(name: string, usage: string): Argv<{ home: string; json: boolean }> {
  return yargs(hideBin(process.argv))
    .scriptName(name)
    .usage(usage)
    // Wazuh's multi-letter single-dash flags (-fn) must not split into -f -n.
    .parserConfiguration({ 'short-option-groups': false })
    .option('home', { type: 'string', default: '/var/ossec', describe: 'Node home folder' })
    .option('json', { type: 'boolean', default: false, describe: 'Machine-readable output' })
    .strict()
    .fail((msg, err, y) => {
      process.stderr.write(`ERROR: ${msg ?? err?.message}\n\n${y.help()}\n`);
      process.exit(2);
    });
}
