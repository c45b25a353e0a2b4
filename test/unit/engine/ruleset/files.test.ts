/**
 * The order Wazuh loads ruleset files in: hand listings for each rule of Read_Rules, and
 * the stock ruleset with the manager's default <ruleset> block.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { readAnalysisConf } from '../../../../engine/ruleset/config.js';
import { orderRulesetFiles, rulesetDirectories } from '../../../../engine/ruleset/files.js';
import { RulesetLoadError } from '../../../../engine/types.js';
import { missingData, upstreamData } from '../../../harness/upstream-data.js';

const STOCK_BLOCK = `<ossec_config>
  <ruleset>
    <decoder_dir>ruleset/decoders</decoder_dir>
    <rule_dir>ruleset/rules</rule_dir>
    <rule_exclude>0215-policy_rules.xml</rule_exclude>
    <list>etc/lists/audit-keys</list>
    <list>etc/lists/malicious-ioc/malware-hashes</list>
    <list>etc/lists/malicious-ioc/malicious-ip</list>
    <list>etc/lists/malicious-ioc/malicious-domains</list>
    <decoder_dir>etc/decoders</decoder_dir>
    <rule_dir>etc/rules</rule_dir>
  </ruleset>
</ossec_config>`;

const conf = (ruleset: string): ReturnType<typeof readAnalysisConf> =>
  readAnalysisConf(`<ossec_config>${ruleset}</ossec_config>`, 'etc/ossec.conf');

const listing = (entries: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(entries));

test('the stock ruleset with the manager default block', (t) => {
  const decodersDir = upstreamData('wazuh-ruleset-v4.14.5', 'decoders');
  const rulesDir = upstreamData('wazuh-ruleset-v4.14.5', 'rules');
  if (!decodersDir || !rulesDir) {
    t.skip(missingData('wazuh-ruleset-v4.14.5', 'decoders'));
    return;
  }
  const read = readAnalysisConf(STOCK_BLOCK);
  assert.deepEqual(rulesetDirectories(read), ['ruleset/decoders', 'ruleset/rules', 'etc/decoders', 'etc/rules']);
  // readdir order is not sorted: hand the names over reversed to prove the order is ours.
  const files = orderRulesetFiles(read, listing({
    'ruleset/decoders': fs.readdirSync(decodersDir).reverse(),
    'ruleset/rules': fs.readdirSync(rulesDir).reverse(),
    'etc/decoders': ['local_decoder.xml'],
    'etc/rules': ['local_rules.xml'],
  }));
  t.diagnostic(`${files.decoders.length} decoder files, ${files.rules.length} rule files, ${files.lists.length} lists`);
  assert.equal(files.decoders.length, 121);
  assert.equal(files.rules.length, 168, '168 stock rule files, less 0215-policy_rules.xml, plus local_rules.xml');
  assert.ok(!files.rules.includes('ruleset/rules/0215-policy_rules.xml'));
  assert.deepEqual(files.decoders.slice(0, 2), ['ruleset/decoders/0005-wazuh_decoders.xml', 'ruleset/decoders/0006-json_decoders.xml']);
  assert.equal(files.decoders.at(-1), 'etc/decoders/local_decoder.xml', 'sorted by basename across directories');
  assert.deepEqual(files.rules.slice(0, 2), ['ruleset/rules/0010-rules_config.xml', 'ruleset/rules/0015-ossec_rules.xml']);
  assert.equal(files.rules.at(-1), 'etc/rules/local_rules.xml');
  const basenames = files.rules.map((file) => file.slice(file.lastIndexOf('/') + 1));
  assert.deepEqual(basenames, [...basenames].sort(), 'the stock names are ASCII: plain order is byte order');
  assert.deepEqual(files.lists, [
    'etc/lists/audit-keys', 'etc/lists/malicious-ioc/malware-hashes',
    'etc/lists/malicious-ioc/malicious-ip', 'etc/lists/malicious-ioc/malicious-domains',
  ]);
});

test('one block: includes, directories, excludes, duplicates, patterns, byte order', () => {
  const read = conf(`<ruleset>
    <rule_include>b.xml</rule_include>
    <rule_include>etc/rules/z.xml</rule_include>
    <rule_dir>ruleset/rules</rule_dir>
    <rule_dir>etc/rules</rule_dir>
    <rule_exclude>ruleset/rules/x.xml</rule_exclude>
    <rule_exclude>y.xml</rule_exclude>
    <decoder_dir pattern="_decoders.xml$">etc/decoders</decoder_dir>
  </ruleset>`);
  const files = orderRulesetFiles(read, listing({
    'ruleset/rules': ['.', '..', 'b.xml', 'a.xml', 'x.xml', 'y.xml', 'B.xml', 'a_b.xml', 'a-b.xml', 'README', 'C.XML', 'old.xml.bak'],
    'etc/rules': ['a.xml', 'x.xml', 'y.xml', 'z.xml'],
    'etc/decoders': ['one_decoders.xml', 'two.xml', 'THREE_DECODERS.XML'],
  }));
  assert.deepEqual(files.rules, [
    'ruleset/rules/B.xml', // bytewise: upper case first
    'ruleset/rules/C.XML', // the pattern ignores case
    'ruleset/rules/a-b.xml',
    'ruleset/rules/a.xml',
    'etc/rules/a.xml', // same basename in two directories: both, in directory order
    'ruleset/rules/a_b.xml',
    'ruleset/rules/b.xml', // the include, once (the directory's copy is the same path)
    'etc/rules/x.xml', // excluded by path in ruleset/rules only
    'etc/rules/z.xml', // the include, once
  ]);
  assert.deepEqual(files.decoders, ['etc/decoders/THREE_DECODERS.XML', 'etc/decoders/one_decoders.xml']);
});

test('an include comes before directory files of the same basename; a missing directory is skipped', () => {
  const read = conf('<ruleset><decoder_include>etc/decoders/d.xml</decoder_include>' +
    '<decoder_dir>ruleset/decoders</decoder_dir><decoder_dir>nowhere</decoder_dir></ruleset>');
  assert.deepEqual(orderRulesetFiles(read, listing({ 'ruleset/decoders': ['d.xml', 'c.xml'] })).decoders,
    ['ruleset/decoders/c.xml', 'etc/decoders/d.xml', 'ruleset/decoders/d.xml']);
});

test('a later block replaces what it yields and leaves the rest', () => {
  const read = readAnalysisConf(
    '<ossec_config><ruleset><decoder_dir>A</decoder_dir><rule_dir>R1</rule_dir><list>L1</list></ruleset></ossec_config>' +
    '<ossec_config><ruleset><decoder_dir>B</decoder_dir><rule_dir>R2</rule_dir></ruleset></ossec_config>');
  const files = orderRulesetFiles(read, listing({ A: ['a.xml'], R1: ['r1.xml'], R2: ['r2.xml'] }));
  assert.deepEqual(files, { decoders: ['A/a.xml'], rules: ['R2/r2.xml'], lists: ['L1'] });
});

test('no decoder file at all: analysisd reads the default directories again, logtest does not', () => {
  const defaults = listing({ 'ruleset/decoders': ['d.xml'], 'ruleset/rules': ['r.xml'], R: ['mine.xml'] });
  assert.deepEqual(orderRulesetFiles(readAnalysisConf('<ossec_config/>'), defaults),
    { decoders: ['ruleset/decoders/d.xml'], rules: ['ruleset/rules/r.xml'], lists: [] });
  assert.deepEqual(orderRulesetFiles(readAnalysisConf('<ossec_config/>'), defaults, { daemon: 'logtest' }),
    { decoders: [], rules: [], lists: [] });
  const noDecoders = conf('<ruleset><decoder_dir>empty</decoder_dir><rule_dir>R</rule_dir><list>L</list></ruleset>');
  assert.deepEqual(orderRulesetFiles(noDecoders, defaults),
    { decoders: ['ruleset/decoders/d.xml'], rules: ['ruleset/rules/r.xml'], lists: ['L'] },
    'the fallback replaces the rules too');
  assert.deepEqual(orderRulesetFiles(noDecoders, defaults, { daemon: 'logtest' }), { decoders: [], rules: ['R/mine.xml'], lists: ['L'] });
});

test('directory patterns: literals here, OS_Regex through the caller', () => {
  const read = conf('<ruleset><rule_dir pattern="^etc/rules/local|b.XML$">etc/rules</rule_dir>' +
    '<decoder_dir pattern="\\d+_x.xml$">etc/decoders</decoder_dir></ruleset>');
  const entries = listing({ 'etc/rules': ['local_a.xml', 'other.xml', 'B.XML'], 'etc/decoders': ['1_x.xml', 'a_x.xml'] });
  assert.throws(() => orderRulesetFiles(read, entries), (error: unknown) =>
    error instanceof RulesetLoadError && /OS_Regex/.test(error.reason) && error.line === 1);
  const files = orderRulesetFiles(read, entries, {
    compilePattern: (pattern) => {
      assert.equal(pattern, '\\d+_x.xml$');
      return (file) => /[0-9]+_x\.xml$/i.test(file);
    },
  });
  assert.deepEqual(files.rules, ['etc/rules/B.XML', 'etc/rules/local_a.xml']);
  assert.deepEqual(files.decoders, ['etc/decoders/1_x.xml']);
  assert.throws(() => orderRulesetFiles(read, entries, { compilePattern: () => { throw new Error('bad token'); } }),
    (error: unknown) => error instanceof RulesetLoadError && /bad token/.test(error.reason));
  const empty = conf('<ruleset><rule_dir pattern="">etc/rules</rule_dir></ruleset>');
  assert.throws(() => orderRulesetFiles(empty, entries), RulesetLoadError);
});
