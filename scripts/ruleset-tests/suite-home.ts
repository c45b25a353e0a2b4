/**
 * A throwaway Wazuh home for the upstream ruleset tests, set up as Wazuh's runtests.py
 * sets up a real installation: the stock ruleset read in place from a Wazuh ruleset
 * folder, the suite's test decoders and rules installed as custom files, the stock
 * lists installed and declared, and rule 60000 keyed on the JSON decoder (so Windows
 * eventchannel events pasted as text reach the Windows rules). Nothing of the ruleset
 * is copied into the project: it is read from the folder given.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

const TEST_RULES = /^test_(.*_)?rules\.xml$/;
const TEST_DECODERS = /^test_(.*_)?decoders\.xml$/;
const WIN_BASE = '0575-win-base_rules.xml';

/** Lists the stock ossec.conf of 4.14 declares, and the suite's rules name. */
const LISTS = [
  'audit-keys',
  'amazon/aws-eventnames',
  'security-eventchannel',
  'malicious-ioc/malicious-ip',
  'malicious-ioc/malicious-domains',
  'malicious-ioc/malware-hashes',
];

/** Rule 60000 as runtests.py leaves it: decoded_as json, no category. */
export function keyWindowsBaseOnJson(xml: string): string {
  const start = xml.search(/<rule\s+id="60000"/);
  if (start < 0) throw new Error(`${WIN_BASE}: rule 60000 not found`);
  const end = xml.indexOf('</rule>', start);
  const rule = xml
    .slice(start, end)
    .replace(/\s*<category>[^<]*<\/category>/, '')
    .replace(/<decoded_as>[^<]*<\/decoded_as>/, '<decoded_as>json</decoded_as>');
  return xml.slice(0, start) + rule + xml.slice(end);
}

/**
 * Writes the home under `home` for the ruleset folder `ruleset` (holding decoders/,
 * rules/, lists/, testing/). With `tests: false` it is the stock ruleset alone, as a
 * stock ossec.conf loads it (benchmarks).
 */
export async function writeSuiteHome(home: string, ruleset: string, options: { tests?: boolean } = {}): Promise<void> {
  const abs = path.resolve(ruleset);
  for (const dir of ['etc/decoders', 'etc/rules', 'etc/lists', 'queue/sockets', 'logs']) await fs.mkdir(path.join(home, dir), { recursive: true });
  if (options.tests ?? true) await installTestRuleset(home, abs);
  else await fs.copyFile(path.join(abs, 'rules', WIN_BASE), path.join(home, 'etc/rules', WIN_BASE));
  for (const list of LISTS) {
    await fs.mkdir(path.dirname(path.join(home, 'etc/lists', list)), { recursive: true });
    await fs.copyFile(path.join(abs, 'lists', list), path.join(home, 'etc/lists', list));
  }
  await fs.writeFile(path.join(home, 'etc/ossec.conf'), suiteOssecConf(abs));
}

async function installTestRuleset(home: string, ruleset: string): Promise<void> {
  const testing = path.join(ruleset, 'testing', 'ruleset');
  for (const name of await fs.readdir(testing)) {
    if (TEST_RULES.test(name)) await fs.copyFile(path.join(testing, name), path.join(home, 'etc/rules', name));
    else if (TEST_DECODERS.test(name)) await fs.copyFile(path.join(testing, name), path.join(home, 'etc/decoders', name));
  }
  const winBase = await fs.readFile(path.join(ruleset, 'rules', WIN_BASE), 'latin1');
  await fs.writeFile(path.join(home, 'etc/rules', WIN_BASE), keyWindowsBaseOnJson(winBase), 'latin1');
}

function suiteOssecConf(ruleset: string): string {
  const lists = LISTS.map((l) => `    <list>etc/lists/${l}</list>\n`).join('');
  return `<ossec_config>
  <ruleset>
    <decoder_dir>${ruleset}/decoders</decoder_dir>
    <rule_dir>${ruleset}/rules</rule_dir>
    <rule_exclude>0215-policy_rules.xml</rule_exclude>
    <rule_exclude>${ruleset}/rules/${WIN_BASE}</rule_exclude>
${lists}    <decoder_dir>etc/decoders</decoder_dir>
    <rule_dir>etc/rules</rule_dir>
  </ruleset>
  <rule_test>
    <enabled>yes</enabled>
    <threads>1</threads>
    <max_sessions>500</max_sessions>
    <session_timeout>15m</session_timeout>
  </rule_test>
</ossec_config>
`;
}
