/**
 * The whole Wazuh 4.14.5 ruleset (stock rules minus 0215-policy_rules.xml, as the default
 * ossec.conf loads it, plus testing/ruleset) through compileRules, then a few typical
 * events through matchRules with their cost per call. `decoded_as` resolves through the
 * decoder names found in decoders/ and testing/ruleset plus analysisd's internal decoders
 * (one id per name).
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CdbList, DecoderInfo, EngineEvent } from '../../../../engine/types.js';
import { parseOsXml } from '../../../../engine/xml/os-xml.js';
import { attribute } from '../../../../engine/xml/os-xml.js';
import { parseCdbList } from '../../../../engine/lists/cdb.js';
import { compileRules, matchRules, newRuleState, type RuleFile, type RuleSet } from '../../../../engine/rules/rule-set.js';
import { missingData, upstreamData } from '../../../harness/upstream-data.js';
import { event } from './fixtures.js';

const DATA = 'wazuh-ruleset-v4.14.5';
/** The lists the default ossec.conf declares. */
const DECLARED_LISTS = [
  'etc/lists/audit-keys', 'etc/lists/malicious-ioc/malicious-ip', 'etc/lists/malicious-ioc/malicious-domains',
  'etc/lists/malicious-ioc/malware-hashes',
];

/** Decoders analysisd registers itself (SetDecodeXML), which rules name in decoded_as. */
const INTERNAL_DECODERS = [
  'rootcheck', 'syscheck_integrity_changed', 'syscheck_new_entry', 'syscheck_deleted', 'syscheck_registry_key_modified',
  'syscheck_registry_key_added', 'syscheck_registry_key_deleted', 'syscheck_registry_value_modified',
  'syscheck_registry_value_added', 'syscheck_registry_value_deleted', 'hostinfo_new', 'hostinfo_modified', 'syscollector',
  'ciscat', 'windows_eventchannel', 'sca',
];

const xmlFiles = (dir: string, suffix: string, exclude: readonly string[] = []): string[] =>
  fs.readdirSync(dir).filter((name) => name.endsWith(suffix) && !exclude.includes(name)).sort().map((name) => path.join(dir, name));

function decoderIds(files: readonly string[]): Map<string, number> {
  const ids = new Map<string, number>();
  for (const name of INTERNAL_DECODERS) ids.set(name, ids.size + 1);
  for (const file of files) {
    for (const node of parseOsXml(fs.readFileSync(file, 'latin1'), file)) {
      const name = node.name.toLowerCase() === 'decoder' ? attribute(node, 'name') : undefined;
      if (name !== undefined && !ids.has(name)) ids.set(name, ids.size + 1);
    }
  }
  return ids;
}

function loadLists(root: string): Map<string, CdbList> {
  const lists = new Map<string, CdbList>();
  for (const declared of DECLARED_LISTS) {
    const file = path.join(root, 'lists', declared.slice('etc/lists/'.length));
    if (fs.existsSync(file)) lists.set(declared, parseCdbList(fs.readFileSync(file, 'latin1')));
  }
  return lists;
}

/** Distinct rule ids written in the files (overwrites count once). */
function writtenIds(files: readonly RuleFile[]): Set<number> {
  const ids = new Set<number>();
  for (const { nodes } of files) {
    for (const group of nodes) for (const rule of group.children) ids.add(Number(attribute(rule, 'id')));
  }
  return ids;
}

/** Ids of rules a warning says were skipped (a duplicate id is not: its first rule stays). */
function skippedIds(warnings: readonly string[]): Set<number> {
  const ids = new Set<number>();
  for (const warning of warnings) {
    if (!warning.endsWith(' is skipped') || warning.includes('duplicated id')) continue;
    const match = /rule (\d+)(?!.*rule \d)/.exec(warning);
    if (match) ids.add(Number(match[1]));
  }
  return ids;
}

interface Loaded {
  readonly rules: RuleSet;
  readonly ids: Map<string, number>;
}

let loaded: Loaded | undefined;

interface Sources {
  readonly root: string;
  readonly ids: Map<string, number>;
  readonly lists: Map<string, CdbList>;
}

function sources(): Sources | undefined {
  const root = upstreamData(DATA);
  if (!root) return undefined;
  const decoderFiles = [...xmlFiles(path.join(root, 'decoders'), '.xml'), ...xmlFiles(path.join(root, 'testing', 'ruleset'), 'decoders.xml')];
  return { root, ids: decoderIds(decoderFiles), lists: loadLists(root) };
}

/** Parses and compiles rule files, reporting times, counts and warnings. */
function compileFiles(t: TestContext, from: Sources, ruleFiles: readonly string[]): RuleSet {
  const texts = ruleFiles.map((file) => [file, fs.readFileSync(file, 'latin1')] as const);
  const parseStart = performance.now();
  const files: RuleFile[] = texts.map(([file, text]) => ({ file: path.basename(file), nodes: parseOsXml(text, path.basename(file)) }));
  const compileStart = performance.now();
  const { rules, warnings } = compileRules(files, { decoderId: (name) => from.ids.get(name), lists: from.lists });
  const compileEnd = performance.now();

  const skipped = skippedIds(warnings);
  t.diagnostic(`${files.length} files, ${rules.rules.length} rules loaded, ${skipped.size} skipped, ${warnings.length} warnings`);
  t.diagnostic(`OS_XML parse ${(compileStart - parseStart).toFixed(0)} ms, compileRules ${(compileEnd - compileStart).toFixed(0)} ms`);
  const duplicates = warnings.filter((w) => w.includes('duplicated id'));
  if (duplicates.length > 0) t.diagnostic(`${duplicates.length} duplicated ids (test_static_filters_rules.xml repeats test_rules.xml)`);
  for (const warning of warnings) if (!duplicates.includes(warning)) t.diagnostic(`warning: ${warning}`);

  for (const id of writtenIds(files)) {
    assert.ok(rules.byId.has(id) || skipped.has(id), `rule ${id} is loaded or skipped with a warning`);
  }
  assert.deepEqual(rules.roots.map((root) => root.rule.id), [1, 2, 3, 4, 5, 6, 7]);
  return rules;
}

test('compiles every stock rule file (0215-policy_rules.xml excluded, as the default ossec.conf does)', (t) => {
  const from = sources();
  if (!from) {
    t.skip(missingData(DATA));
    return;
  }
  const rules = compileFiles(t, from, xmlFiles(path.join(from.root, 'rules'), '.xml', ['0215-policy_rules.xml']));
  assert.equal(rules.byId.get(5763)?.view.frequency, 8);
  assert.equal(rules.byId.has(80202), false, 'amazon/aws-eventnames is not a declared list');
  loaded = { rules, ids: from.ids };
});

test('compiles the stock rules together with testing/ruleset', (t) => {
  const from = sources();
  if (!from) {
    t.skip(missingData(DATA));
    return;
  }
  const rules = compileFiles(t, from, [
    ...xmlFiles(path.join(from.root, 'rules'), '.xml', ['0215-policy_rules.xml']),
    ...xmlFiles(path.join(from.root, 'testing', 'ruleset'), 'rules.xml'),
  ]);
  assert.ok(rules.byId.has(999515));
  assert.equal(rules.byId.has(999276), false, "if_sid '999275|1' is refused");
  assert.equal(rules.byId.get(999918)?.level, 5, 'the overwrite naming an undeclared list is skipped');
});

function decoder(ids: Map<string, number>, name: string, type: string): DecoderInfo {
  const id = ids.get(name);
  assert.ok(id, `decoder ${name} exists`);
  return { name, id, type };
}

test('typical events walk the stock tree to the rules the suite expects; cost per matchRules', (t) => {
  if (!loaded) {
    t.skip('the stock ruleset did not load (see the test above)');
    return;
  }
  const { rules, ids } = loaded;
  const sshd = decoder(ids, 'sshd', 'syslog');
  const web = decoder(ids, 'web-accesslog', 'web-log');
  const failed = (srcip: string): EngineEvent => event({
    decoder: sshd, programName: 'sshd', log: 'Failed password for user from 172.18.1.100 port 43042 ssh2',
    fields: { srcip, srcport: '43042', dstuser: 'user' },
  });
  const samples: Record<string, EngineEvent> = {
    'sshd failed password': failed('172.18.1.100'),
    'sshd accepted': event({
      decoder: sshd, programName: 'sshd', log: 'Accepted password for root from 10.0.0.9 port 22 ssh2',
      fields: { srcip: '10.0.0.9', srcport: '22', dstuser: 'root' },
    }),
    'web 200': event({
      decoder: web, log: '10.0.0.5 - - [1/Apr/2014:00:00:01 -0500] "GET /index.html HTTP/1.1" 200 181 "-" "Mozilla/5.0"',
      fields: { srcip: '10.0.0.5', protocol: 'GET', url: '/index.html', id: '200' },
    }),
    'no decoder': event({ log: 'kernel: [ 12.345] usb 1-1: new high-speed USB device number 2 using ehci-pci' }),
  };

  const state = newRuleState();
  const now = Date.UTC(2024, 0, 3, 10, 0);
  const brute = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => matchRules(rules, failed('172.18.1.100'), state, { now: now + i * 1000 }));
  assert.deepEqual(brute.map((r) => r?.rule.id), [5760, 5760, 5760, 5760, 5760, 5760, 5760, 5763]);
  assert.equal(brute[7]?.previousOutput?.length, 7, "the 7 earlier failures");
  assert.equal(matchRules(rules, samples['sshd accepted']!, newRuleState(), { now })?.rule.id, 5715);
  assert.equal(matchRules(rules, samples['web 200']!, newRuleState(), { now })?.rule.id, 31108);

  const rounds = 20_000;
  for (const [name, sample] of Object.entries(samples)) {
    const bench = newRuleState();
    let clock = now;
    for (let i = 0; i < 2000; i++) matchRules(rules, sample, bench, { now: (clock += 1000) });
    const start = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) matchRules(rules, sample, bench, { now: (clock += 1000) });
    const ns = Number(process.hrtime.bigint() - start) / rounds;
    const debug: string[] = [];
    matchRules(rules, sample, newRuleState(), { now, debug });
    t.diagnostic(`${name}: ${ns.toFixed(0)} ns per matchRules (${debug.filter((l) => l.startsWith('Trying')).length} rules tried)`);
  }
});
