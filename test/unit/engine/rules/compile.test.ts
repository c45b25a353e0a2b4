import test from 'node:test';
import assert from 'node:assert/strict';
import { RulesetLoadError } from '../../../../engine/types.js';
import type { Rule, RuleNode, RuleSet } from '../../../../engine/rules/rule-set.js';
import { group, load } from './fixtures.js';

const childIds = (node: RuleNode | undefined): number[] => (node?.children ?? []).map((child) => child.rule.id);
const syslogRoot = (set: RuleSet): RuleNode => set.roots.find((root) => root.rule.id === 1)!;
const rule = (set: RuleSet, id: number): Rule => set.byId.get(id)!;

/** Every node of the tree holding rule `id`. */
function nodesOf(nodes: readonly RuleNode[], id: number, out: RuleNode[] = []): RuleNode[] {
  for (const node of nodes) {
    if (node.rule.id === id) out.push(node);
    nodesOf(node.children, id, out);
  }
  return out;
}

function loadError(run: () => unknown): RulesetLoadError {
  try {
    run();
  } catch (error) {
    if (error instanceof RulesetLoadError) return error;
    throw error;
  }
  assert.fail('expected a RulesetLoadError');
}

test('siblings sort by level, level 0 first, ties in load order; accuracy="0" sorts last', () => {
  const { rules } = load(group(`
    <rule id="100" level="3"><match>a</match><description>three</description></rule>
    <rule id="101" level="10"><match>a</match><description>ten</description></rule>
    <rule id="102" level="0"><match>a</match><description>zero</description></rule>
    <rule id="103" level="3"><match>a</match><description>three again</description></rule>
    <rule id="104" level="12" accuracy="0"><match>a</match><description>no weight</description></rule>
  `));
  assert.deepEqual(childIds(syslogRoot(rules)), [102, 101, 100, 103, 104]);
  assert.equal(rule(rules, 102).level, 0);
  assert.equal(rule(rules, 101).level, 10);
  assert.equal(rule(rules, 104).level, 12);
});

test('attributes: timeframe defaults to 360, frequency is stored minus 2, maxsize keeps 4 digits', () => {
  const { rules } = load(group(`
    <rule id="100" level="3"><match>a</match><description>base</description></rule>
    <rule id="101" level="5" frequency="4" maxsize="12345" ignore="30">
      <if_matched_sid>100</if_matched_sid><description>freq</description>
    </rule>
  `), { context: { defaultTimeframe: 360 } });
  const freq = rule(rules, 101);
  assert.equal(freq.timeframe, 360);
  assert.equal(freq.frequency, 2);
  assert.equal(freq.view.frequency, 4);
  assert.equal(freq.maxsize, 1234);
  assert.equal(freq.ignoreTime, 30);
  assert.equal(rule(rules, 100).view.frequency, undefined);
});

test('fatal attribute errors name the file, line and element', () => {
  const error = loadError(() => load(group(`
    <rule id="100" level="3">
      <match>a</match><description>ok</description>
    </rule>
    <rule id="101" level="3" colour="red"><match>a</match><description>bad</description></rule>`)));
  assert.equal(error.file, 'test0.xml');
  assert.equal(error.line, 5);
  assert.equal(error.element, 'rule');
  assert.match(loadError(() => load(group('<rule id="100" level="17"><match>a</match><description>x</description></rule>'))).reason, /level/);
  assert.match(loadError(() => load(group('<rule id="1234567" level="1"><match>a</match><description>x</description></rule>'))).reason, /id/);
  assert.match(loadError(() => load(group(`<rule id="100" level="1" frequency="1">
    <if_matched_sid>1</if_matched_sid><description>x</description></rule>`))).reason, /frequency/);
  assert.match(loadError(() => load(group('<rule id="100" level="x"><match>a</match><description>x</description></rule>'))).reason, /no rule id or level/);
  assert.match(loadError(() => load(group('<rule id="100" level="1" overwrite="maybe"><match>a</match><description>x</description></rule>'))).reason, /overwrite/);
});

test('an invalid noalert value only warns', () => {
  const { rules, warnings } = load(group('<rule id="100" level="1" noalert="yes"><match>a</match><description>x</description></rule>'));
  assert.equal(rule(rules, 100).noAlert, false);
  assert.ok(warnings.some((w) => w.includes('noalert')));
});

test('fatal element errors: unknown option, missing description, no option, case-sensitive names, static <field>', () => {
  assert.equal(loadError(() => load(group('<rule id="100" level="1"><colour>a</colour><description>x</description></rule>'))).element, 'colour');
  assert.match(loadError(() => load(group('<rule id="100" level="1"><match>a</match></rule>'))).reason, /description/);
  assert.match(loadError(() => load(group('<rule id="100" level="1"></rule>'))).reason, /no option/);
  assert.equal(loadError(() => load(group(`<rule id="100" level="1"><if_matched_sid>1</if_matched_sid>
    <Same_id /><description>x</description></rule>`))).element, 'Same_id');
  const { rules } = load(group(`<rule id="100" level="1"><match>a</match><description>x</description></rule>
    <rule id="101" level="1"><if_matched_sid>100</if_matched_sid><SAME_SRCIP /><description>x</description></rule>`));
  assert.equal(rule(rules, 101).sameMask, 1);
  assert.match(loadError(() => load(group('<rule id="100" level="1"><field name="srcip">x</field><description>x</description></rule>'))).reason, /static/);
  assert.match(loadError(() => load(group('<rule id="100" level="1"><field>x</field><description>x</description></rule>'))).reason, /name/);
});

test('file structure: only <group name> roots, groups need rules, children must be <rule>', () => {
  assert.match(loadError(() => load('<rules name="x"><rule id="100" level="1"><match>a</match><description>x</description></rule></rules>')).reason, /group/);
  assert.match(loadError(() => load('<group name="a" other="b"><rule id="100" level="1"><match>a</match><description>x</description></rule></group>')).reason, /name/);
  assert.match(loadError(() => load('<group name="a"></group>')).reason, /without any rule/);
  assert.equal(loadError(() => load('<group name="a"><decoder name="x"/></group>')).element, 'decoder');
});

test('a bad pattern is a load error for its element', () => {
  const error = loadError(() => load(group('<rule id="100" level="1">\n<regex type="pcre2">a(b</regex><description>x</description></rule>')));
  assert.equal(error.element, 'regex');
  assert.equal(error.line, 2);
});

test('duplicate ids are skipped with a warning; the first one loaded wins', () => {
  const { rules, warnings } = load(group(`
    <rule id="100" level="3"><match>first</match><description>first</description></rule>
    <rule id="100" level="5"><colour>not even parsed</colour><description>second</description></rule>
  `));
  assert.equal(rule(rules, 100).view.description, 'first');
  assert.ok(warnings.some((w) => w.includes('duplicated')));
});

test('if_sid: comma or space lists, children of each parent, missing targets warned and skipped', () => {
  const { rules, warnings } = load(group(`
    <rule id="100" level="3"><match>a</match><description>a</description></rule>
    <rule id="101" level="3"><match>b</match><description>b</description></rule>
    <rule id="102" level="5"><if_sid>100, 101 999</if_sid><description>child</description></rule>
    <rule id="103" level="5"><if_sid>998</if_sid><description>orphan</description></rule>
    <rule id="104" level="5"><if_sid>100|101</if_sid><description>bad syntax</description></rule>
  `));
  assert.deepEqual(nodesOf(rules.roots, 102).length, 2);
  assert.deepEqual(childIds(nodesOf(rules.roots, 100)[0]), [102]);
  assert.deepEqual(childIds(nodesOf(rules.roots, 101)[0]), [102]);
  assert.equal(rules.byId.has(103), false);
  assert.equal(rules.byId.has(104), false);
  assert.ok(warnings.some((w) => w.includes('999')));
  assert.ok(warnings.some((w) => w.includes('rule 103')));
  assert.ok(warnings.some((w) => w.includes("'100|101'")));
});

test('if_sid: a trailing separator also hangs the rule under its category root (Wazuh reads id 0)', () => {
  const { rules } = load(group(`
    <rule id="100" level="3"><match>a</match><description>a</description></rule>
    <rule id="101" level="5"><if_sid>100,</if_sid><description>child</description></rule>
  `));
  assert.deepEqual(childIds(nodesOf(rules.roots, 100)[0]), [101]);
  assert.ok(childIds(syslogRoot(rules)).includes(101));
});

test('a child takes its parent category; rules without if_* go under the first root of their category', () => {
  const { rules } = load(group(`
    <rule id="100" level="3"><category>firewall</category><match>a</match><description>fw</description></rule>
    <rule id="101" level="4"><if_sid>100</if_sid><description>child</description></rule>
    <rule id="102" level="4"><category>web-log</category><match>b</match><description>web</description></rule>
  `));
  const firewall = rules.roots.find((root) => root.rule.id === 2);
  assert.deepEqual(childIds(firewall), [100]);
  assert.equal(rule(rules, 101).category, 'firewall');
  assert.deepEqual(childIds(rules.roots.find((root) => root.rule.id === 4)), [102]);
  assert.match(loadError(() => load(group('<rule id="100" level="1"><category>Firewall</category><description>x</description></rule>'))).reason, /category/);
});

test('if_group: case-insensitive substring of the group string, | alternatives, leading ^, every match', () => {
  const { rules, warnings } = load(group(`
    <rule id="100" level="3"><match>a</match><description>a</description><group>authentication_failed,</group></rule>
    <rule id="101" level="3"><match>b</match><description>b</description><group>Authentication_Failed_x,</group></rule>
    <rule id="102" level="3"><match>c</match><description>c</description><group>other,</group></rule>
    <rule id="103" level="8"><if_group>authentication_failed</if_group><description>any auth fail</description></rule>
    <rule id="104" level="8"><if_group>nomatch|other</if_group><description>alternatives</description></rule>
    <rule id="105" level="8"><if_group>^test,other</if_group><description>anchored</description></rule>
    <rule id="106" level="8"><if_group>^other</if_group><description>anchored miss</description></rule>
  `));
  assert.deepEqual(nodesOf(rules.roots, 103).length, 2);
  assert.deepEqual(childIds(nodesOf(rules.roots, 102)[0]), [104, 105]);
  assert.equal(rules.byId.has(106), false);
  assert.ok(warnings.some((w) => w.includes('rule 106')));
});

test('if_level: under every rule at that level or above (level-0 rules count as 99)', () => {
  const { rules } = load(group(`
    <rule id="100" level="3"><match>a</match><description>a</description></rule>
    <rule id="101" level="7"><match>b</match><description>b</description></rule>
    <rule id="102" level="9"><if_level>5</if_level><description>after 5</description></rule>
  `));
  const parents = nodesOf(rules.roots, 102).length;
  assert.deepEqual(childIds(nodesOf(rules.roots, 101)[0]), [102]);
  assert.deepEqual(childIds(nodesOf(rules.roots, 100)[0]), []);
  assert.ok(parents >= 2, 'also under the level-0 category roots');
});

test('if_matched_sid implies if_sid; if_matched_group implies if_group', () => {
  const { rules } = load(group(`
    <rule id="100" level="3"><match>a</match><description>a</description><group>grp,</group></rule>
    <rule id="101" level="8" frequency="2"><if_matched_sid>100</if_matched_sid><description>freq</description></rule>
    <rule id="102" level="9" frequency="2"><if_matched_group>grp</if_matched_group><description>group freq</description></rule>
  `));
  assert.deepEqual(childIds(nodesOf(rules.roots, 100)[0]), [102, 101]);
  assert.equal(rule(rules, 101).search, 'sid');
  assert.equal(rule(rules, 101).searchList, rule(rules, 100).index);
  assert.equal(rule(rules, 100).feedsSidList, true);
  assert.equal(rule(rules, 102).search, 'group');
  assert.deepEqual(rule(rules, 100).feedsGroupLists, [rule(rules, 102).searchList]);
});

test('context options need an if_matched_* element', () => {
  assert.match(loadError(() => load(group('<rule id="100" level="1" frequency="3"><match>a</match><description>x</description></rule>'))).reason, /if_matched/);
  assert.match(loadError(() => load(group('<rule id="100" level="1"><match>a</match><same_srcip /><description>x</description></rule>'))).reason, /if_matched/);
  const { rules } = load(group('<rule id="100" level="1"><match>a</match><check_diff /><description>x</description></rule>'));
  assert.equal(rule(rules, 100).checkDiff, true);
  assert.equal(rule(rules, 100).search, undefined);
});

test('text elements concatenate: description (first newline made a space), group, info, cve', () => {
  const { rules } = load(group(`
    <rule id="100" level="3">
      <match>a</match>
      <description>first
part</description>
      <description>, and more</description>
      <group>one,two,</group>
      <group>one,three</group>
      <info type="link">https://example.org/</info>
      <info>!</info>
      <cve>CVE-1</cve>
    </rule>
  `, 'base,'));
  const view = rule(rules, 100).view;
  assert.equal(view.description, 'first part, and more');
  assert.equal(rule(rules, 100).groupString, 'base,one,two,one,three');
  assert.deepEqual(view.groups, ['base', 'one', 'two', 'one', 'three']);
  assert.equal(view.info, 'https://example.org/!');
  assert.equal(view.cve, 'CVE-1');
});

test('options set alert flags; levels set mail and log flags; an unknown option is fatal', () => {
  const { rules } = load(group(`
    <rule id="100" level="12"><match>a</match><description>a</description><options>no_full_log</options></rule>
    <rule id="101" level="3"><match>a</match><description>b</description>
      <options>alert_by_email</options><options>no_log</options><options>no_counter</options><options>no_ar</options></rule>
    <rule id="102" level="13"><match>a</match><description>c</description><options>no_email_alert</options></rule>
    <rule id="103" level="2"><match>a</match><description>d</description><options>log_alert</options></rule>
  `));
  const [a, b, c, d] = [100, 101, 102, 103].map((id) => rule(rules, id));
  assert.deepEqual([a!.view.mail, a!.view.noFullLog, a!.options.logAlert], [true, true, true]);
  assert.deepEqual([b!.view.mail, b!.view.noLog, b!.view.noCounter, b!.options.noAr, b!.options.logAlert], [true, true, true, true, false]);
  assert.equal(c!.view.mail, false);
  assert.deepEqual([d!.options.logAlert, d!.view.noLog], [true, false]);
  assert.match(loadError(() => load(group('<rule id="100" level="1"><match>a</match><description>x</description><options>No_log</options></rule>'))).reason, /No_log/);
});

test('mitre: <id> list; new tacticID+techniqueID pairs; mixing formats is warned and discarded', () => {
  const { rules, warnings } = load(group(`
    <rule id="100" level="3"><match>a</match><description>a</description>
      <mitre><id>T1110</id><id>T1021</id></mitre><mitre><id>T1110</id></mitre></rule>
    <rule id="101" level="3"><match>a</match><description>b</description>
      <mitre><tacticID>TA0006</tacticID><techniqueID>T1110</techniqueID></mitre></rule>
    <rule id="102" level="3"><match>a</match><description>c</description>
      <mitre><id>T1110</id><tacticID>TA0006</tacticID></mitre></rule>
    <rule id="103" level="3"><match>a</match><description>d</description><mitre></mitre></rule>
  `));
  assert.deepEqual(rule(rules, 100).view.mitre, ['T1110', 'T1021']);
  assert.deepEqual(rule(rules, 101).mitrePairs, [['TA0006', 'T1110']]);
  assert.deepEqual(rule(rules, 102).view.mitre, []);
  assert.ok(warnings.some((w) => w.includes('rule 102')));
  assert.ok(warnings.some((w) => w.includes('rule 103')));
});

test('lists: a declared path with or without .cdb; an undeclared list skips the rule; bad lookups are fatal', () => {
  const lists = new Map([['etc/lists/bad-ips', new Map([['10.0.0.1', '']])]]);
  const { rules, warnings } = load(group(`
    <rule id="100" level="3"><list field="srcip">etc/lists/bad-ips</list><description>a</description></rule>
    <rule id="101" level="3"><list field="srcip" lookup="not_match_key">etc/lists/bad-ips.cdb</list><description>b</description></rule>
    <rule id="102" level="3"><list field="srcip">etc/lists/elsewhere</list><description>c</description></rule>
  `), { lists });
  assert.equal(rule(rules, 100).lists[0]!.lookup, 'match_key');
  assert.equal(rule(rules, 101).lists[0]!.lookup, 'not_match_key');
  assert.equal(rules.byId.has(102), false);
  assert.ok(warnings.some((w) => w.includes('etc/lists/elsewhere')));
  assert.match(loadError(() => load(group('<rule id="100" level="1"><list field="srcip" lookup="maybe">etc/lists/bad-ips</list><description>x</description></rule>'), { lists })).reason, /maybe/);
  assert.match(loadError(() => load(group('<rule id="100" level="1"><list lookup="match_key">etc/lists/bad-ips</list><description>x</description></rule>'), { lists })).reason, /field/);
});

test('decoded_as needs a known decoder; time and weekday must parse', () => {
  assert.match(loadError(() => load(group('<rule id="100" level="1"><decoded_as>nope</decoded_as><description>x</description></rule>'))).reason, /nope/);
  assert.match(loadError(() => load(group('<rule id="100" level="1"><time>25:00 - 26:00</time><description>x</description></rule>'))).reason, /time/);
  assert.match(loadError(() => load(group('<rule id="100" level="1"><weekday>!monday</weekday><description>x</description></rule>'))).reason, /weekday/);
  assert.match(loadError(() => load(group('<rule id="100" level="1"><srcip>10.0.0.256</srcip><description>x</description></rule>'))).reason, /IP/);
});

test('overwrite replaces content but keeps the tree position, if_sid and the stateful links', () => {
  const { rules, warnings } = load(group(`
    <rule id="100" level="3"><match>a</match><description>parent</description></rule>
    <rule id="101" level="3"><match>b</match><description>other parent</description></rule>
    <rule id="102" level="5"><if_sid>100</if_sid><match>old</match><description>original</description><group>g1,</group></rule>
    <rule id="103" level="8" frequency="3"><if_matched_sid>102</if_matched_sid><description>freq</description></rule>
    <rule id="102" level="12" overwrite="yes"><if_sid>101</if_sid><match>new</match><description>replaced</description><group>g2,</group></rule>
    <rule id="103" level="9" frequency="5" overwrite="yes"><if_matched_sid>100</if_matched_sid><description>freq2</description></rule>
    <rule id="104" level="1" overwrite="yes"><match>c</match><description>new rule</description></rule>
  `));
  const replaced = rule(rules, 102);
  assert.equal(replaced.view.description, 'replaced');
  assert.equal(replaced.level, 12);
  assert.equal(replaced.match!.matcher.source, 'new');
  assert.equal(replaced.groupString, 'test,g2,');
  assert.deepEqual(nodesOf(rules.roots, 102).length, 1);
  assert.deepEqual(childIds(nodesOf(rules.roots, 100)[0]), [102]);
  const freq = rule(rules, 103);
  assert.equal(freq.frequency, 3);
  assert.equal(freq.searchList, replaced.index, 'still searches the events of 102');
  assert.ok(warnings.some((w) => w.includes('if_sid')));
  assert.ok(warnings.some((w) => w.includes('if_matched_sid')));
  assert.ok(rules.byId.has(104));
  assert.ok(warnings.some((w) => w.includes('rule 104')));
});

test('srcip/dstip accumulate an address list; negate comes from the last element', () => {
  const { rules } = load(group(`
    <rule id="100" level="3"><srcip>10.0.0.0/8</srcip><srcip negate="yes">192.168.1.1</srcip><description>a</description></rule>
  `));
  const srcip = rule(rules, 100).srcip!;
  assert.equal(srcip.entries.length, 2);
  assert.equal(srcip.negate, true);
});

test('an invalid type or negate attribute warns and falls back', () => {
  const { rules, warnings } = load(group('<rule id="100" level="3"><match type="glob" negate="maybe">a</match><description>a</description></rule>'));
  assert.equal(rule(rules, 100).match!.negate, false);
  assert.equal(warnings.length, 2);
});

test('an element text of 2048 bytes or more is dropped with a warning, as loadmemory does', () => {
  const long = 'a'.repeat(2048);
  const { rules, warnings } = load(group(`<rule id="100" level="3"><match>${long}</match><regex>b</regex><description>x</description></rule>`));
  assert.equal(rule(rules, 100).match, undefined);
  assert.equal(rule(rules, 100).regex!.matcher.source, 'b');
  assert.ok(warnings.some((w) => w.includes('too long')));
});
