#!/usr/bin/env node
/**
 * ruleset_tests: Wazuh's ruleset test suite (testing/tests/*.ini of a Wazuh ruleset
 * folder) run against clusterd's engine through its logtest socket, as Wazuh's
 * runtests.py runs it against wazuh-logtest: per-file pass/fail, every failing run, the
 * totals. Exit 1 when a run fails.
 */
import { operatorCli } from './lib/cli.js';
import { fail, formatTable, printJson } from './lib/output.js';
import { describeFailure } from './ruleset-tests/runner.js';
import { runRulesetSuite } from './ruleset-tests/suite.js';

const argv = await operatorCli('ruleset_tests', '$0 --ruleset DIR [--file NAME] [--parallel N] [--json]')
  .option('ruleset', { type: 'string', demandOption: true, describe: 'A Wazuh ruleset folder (decoders/, rules/, lists/, testing/)' })
  .option('file', { type: 'string', describe: 'Only the test file whose name ends with this (e.g. sshd.ini)' })
  .option('parallel', { type: 'number', default: 2, describe: 'Runs in flight at once' })
  .parseAsync();

if (!Number.isInteger(argv.parallel) || argv.parallel < 1) fail(`--parallel must be a positive integer, got ${argv.parallel}`, 2);

const report = await runRulesetSuite({
  ruleset: argv.ruleset,
  ...(argv.file ? { only: argv.file } : {}),
  parallel: argv.parallel,
  onFile: (f) => { if (!argv.json) process.stderr.write(`${f.failed > 0 ? 'FAIL' : 'ok  '} ${f.file} ${f.passed}/${f.passed + f.failed}\n`); },
});

if (argv.json) {
  printJson({
    runs: report.runs, passed: report.passed, failed: report.failed,
    files: report.files.map((f) => ({ file: f.file, passed: f.passed, failed: f.failed })),
    failures: report.files.flatMap((f) => f.failures.map(describeFailure)),
    log: report.log,
  });
} else {
  console.log(formatTable(['File', 'Passed', 'Failed'], report.files.map((f) => [f.file, String(f.passed), String(f.failed)])));
  for (const line of report.log) console.log(line);
  for (const f of report.files) for (const failure of f.failures) console.log(describeFailure(failure));
  console.log(`runs: ${report.runs}  passed: ${report.passed}  failed: ${report.failed}`);
}
process.exitCode = report.failed > 0 ? 1 : 0;
