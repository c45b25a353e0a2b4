/**
 * Wazuh's own ruleset test suite (the stock ruleset v4.14.5's testing/tests/*.ini,
 * default run: 1,770 runs) against the real logtest server on its Unix socket with the
 * engine behind it (scripts/ruleset-tests/suite.ts: the test ruleset installed as custom
 * files in a throwaway home). Prints pass/fail per file and the totals; fails when the
 * total drops below the figure recorded beside this test.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describeFailure } from '../../../scripts/ruleset-tests/runner.js';
import { runRulesetSuite } from '../../../scripts/ruleset-tests/suite.js';
import { missingData, repoRoot, upstreamData } from '../../harness/upstream-data.js';

interface Recorded { readonly runs: number; readonly passed: number }

const recorded = JSON.parse(
  fs.readFileSync(path.join(repoRoot(), 'test', 'integration', 'scripts', 'ruleset-suite.recorded.json'), 'utf8'),
) as Recorded;

test('the upstream ruleset suite passes at least the recorded number of runs through the logtest socket', async (t) => {
  const ruleset = upstreamData('wazuh-ruleset-v4.14.5');
  if (!ruleset) {
    t.skip(missingData('wazuh-ruleset-v4.14.5'));
    return;
  }
  const report = await runRulesetSuite({ ruleset });
  const failing = report.files.filter((f) => f.failed > 0);
  t.diagnostic(`runs ${report.runs}, passed ${report.passed}, failed ${report.failed} (recorded: ${recorded.passed} of ${recorded.runs})`);
  for (const f of report.files) t.diagnostic(`${f.failed > 0 ? 'FAIL' : 'pass'} ${f.file}: ${f.passed}/${f.passed + f.failed}`);
  for (const f of failing) for (const failure of f.failures) t.diagnostic(describeFailure(failure));
  for (const line of report.log) t.diagnostic(line);
  assert.equal(report.runs, recorded.runs, 'the suite has as many runs as recorded');
  assert.ok(report.passed >= recorded.passed, `${report.passed} runs passed, below the recorded ${recorded.passed}`);
});
