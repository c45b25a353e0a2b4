/**
 * The engine as one unit over the lab's own ruleset (rulesets/lab, read as text):
 * a session's analysis and alert, and the per-event match budget on a caller's clock.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AnalysisSession, compileRuleset, type RulesetFile } from '../../../engine/engine.js';
import { printJsonText } from '../../../protocols/cjson.js';
import { repoRoot } from '../../harness/upstream-data.js';

/** A folder of rulesets/lab as ruleset files, in name order. */
function labFiles(sub: 'decoders' | 'rules'): RulesetFile[] {
  const dir = path.join(repoRoot(), 'rulesets', 'lab', sub);
  return fs.readdirSync(dir).sort().map((name) => ({ file: `${sub}/${name}`, text: fs.readFileSync(path.join(dir, name), 'latin1') }));
}

function labRuleset(extraRules: RulesetFile[] = []): ReturnType<typeof compileRuleset> {
  return compileRuleset({ decoders: labFiles('decoders'), rules: [...labFiles('rules'), ...extraRules], lists: [] });
}

const EVENT = '1:[003] (lab-agent-3) 10.0.0.7->/var/log/syslog:Dec  7 22:03:27 lab-agent-3 agent_simulator[42]: simulated event 30';

test('an agent event is decoded, matched and rendered as Wazuh alert JSON', () => {
  const session = new AnalysisSession(labRuleset(), { managerName: 'manager.example', cluster: { name: 'wazuh', node: 'worker01' } }, 'analysisd');
  const analysis = session.analyze(EVENT, new Date(Date.UTC(2026, 11, 7, 22, 3, 27)));
  assert.equal(analysis.fired?.rule.id, 100102);
  assert.equal(analysis.overBudget, undefined);
  const alert = JSON.parse(printJsonText(session.render(analysis))) as Record<string, unknown>;
  assert.deepEqual(Object.keys(alert), ['timestamp', 'rule', 'agent', 'manager', 'id', 'cluster', 'full_log', 'predecoder', 'decoder', 'data', 'location']);
  assert.deepEqual(alert['agent'], { id: '003', name: 'lab-agent-3', ip: '10.0.0.7' });
  assert.deepEqual(alert['cluster'], { name: 'wazuh', node: 'worker01' });
  assert.equal(alert['location'], '/var/log/syslog');
  assert.deepEqual(alert['data'], { id: '30' });
});

/** The lab ruleset plus 64 rules that never match: a walk that tries many rules. */
function wideRuleset(): ReturnType<typeof compileRuleset> {
  const rules = Array.from({ length: 64 }, (_, i) => `  <rule id="${100300 + i}" level="3">\n    <match>never seen ${i}</match>\n    <description>wide ${i}</description>\n  </rule>`);
  return labRuleset([{ file: 'etc/rules/wide_rules.xml', text: `<group name="wide,">\n${rules.join('\n')}\n</group>\n` }]);
}

test('past its match budget the rule walk stops, the event raises nothing, and the rule is named', () => {
  let t = 0;
  // Every reading of the clock advances it 10 ms: the budget of 25 ms runs out inside the walk.
  const clock = (): number => (t += 10);
  const session = new AnalysisSession(wideRuleset(), { managerName: 'm' }, 'analysisd', { ms: 25, clock });
  const analysis = session.analyze('1:stdin:Dec  7 22:03:27 host other[1]: nothing the lab knows', new Date());
  assert.equal(analysis.fired, null);
  assert.equal(analysis.overBudget?.stage, 'rules');
  assert.equal(typeof analysis.overBudget?.ruleId, 'number');
  assert.ok((analysis.overBudget?.elapsedMs ?? 0) > 25);
});

test('a generous budget changes nothing', () => {
  const session = new AnalysisSession(labRuleset(), { managerName: 'm' }, 'analysisd', { ms: 60_000, clock: () => performance.now() });
  assert.equal(session.analyze(EVENT, new Date()).fired?.rule.id, 100102);
});
