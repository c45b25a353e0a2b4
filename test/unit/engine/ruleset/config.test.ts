/**
 * ossec.conf as the analysis engine reads it: rulesets, alert levels (and each reader's
 * default), the cluster object of alerts, logtest's settings, and the refusals.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  ANALYSISD_DEFAULT_LOG_ALERT_LEVEL, LOGTEST_DEFAULT_LOG_ALERT_LEVEL, parseTimeValue, readAnalysisConf,
} from '../../../../engine/ruleset/config.js';
import { RulesetLoadError } from '../../../../engine/types.js';
import { OsXmlError } from '../../../../engine/xml/os-xml.js';

const MANAGER = `<!-- a manager's configuration, trimmed -->
<ossec_config>
  <global>
    <jsonout_output>yes</jsonout_output>
  </global>
  <alerts>
    <log_alert_level>3</log_alert_level>
    <email_alert_level>12</email_alert_level>
  </alerts>
  <ruleset>
    <decoder_dir>ruleset/decoders</decoder_dir>
    <rule_dir>ruleset/rules</rule_dir>
    <rule_exclude>0215-policy_rules.xml</rule_exclude>
    <list>etc/lists/audit-keys</list>
    <list>etc/lists/malicious-ioc/malicious-ip</list>
    <decoder_dir>etc/decoders</decoder_dir>
    <rule_dir>etc/rules</rule_dir>
  </ruleset>
  <rule_test>
    <enabled>yes</enabled>
    <threads>1</threads>
    <max_sessions>64</max_sessions>
    <session_timeout>15m</session_timeout>
  </rule_test>
  <cluster>
    <name>wazuh</name>
    <node_name>node01</node_name>
    <node_type>master</node_type>
    <key></key>
    <port>1516</port>
    <bind_addr>0.0.0.0</bind_addr>
    <nodes>
        <node>NODE_IP</node>
    </nodes>
    <hidden>no</hidden>
    <disabled>yes</disabled>
  </cluster>
</ossec_config>
`;

function refused(text: string): RulesetLoadError {
  try {
    readAnalysisConf(text, 'etc/ossec.conf');
  } catch (error) {
    assert.ok(error instanceof RulesetLoadError, String(error));
    assert.equal(error.file, 'etc/ossec.conf');
    return error;
  }
  assert.fail('accepted');
}

const conf = (body: string): string => `<ossec_config>\n${body}\n</ossec_config>\n`;

test('a manager configuration: ruleset, levels, hidden cluster, logtest settings', () => {
  const read = readAnalysisConf(MANAGER);
  assert.equal(read.file, 'etc/ossec.conf');
  assert.equal(read.rulesets.length, 1);
  const [block] = read.rulesets;
  assert.deepEqual(block?.decoderDirs.map((dir) => [dir.path, dir.pattern, dir.line]),
    [['ruleset/decoders', '.xml$', 11], ['etc/decoders', '.xml$', 16]]);
  assert.deepEqual(block?.ruleDirs.map((dir) => dir.path), ['ruleset/rules', 'etc/rules']);
  assert.deepEqual(block?.ruleExcludes, ['0215-policy_rules.xml']);
  assert.deepEqual(block?.lists, ['etc/lists/audit-keys', 'etc/lists/malicious-ioc/malicious-ip']);
  assert.deepEqual(read.logAlertLevel, { analysisd: 3, logtest: 3 });
  assert.deepEqual(read.alerts, { logAlertLevel: 3, emailAlertLevel: 12 });
  assert.equal(read.cluster.disabled, true);
  assert.equal(read.cluster.hidden, true, 'disabled forces the cluster out of alerts even with hidden=no');
  assert.equal(read.alertCluster, undefined);
  assert.deepEqual({ ...read.ruleTest }, { enabled: true, threads: 1, maxSessions: 64, sessionTimeout: 900, warnings: [] });
});

test('without <alerts>, analysisd alerts from level 1 and a logtest session from level 0', () => {
  const read = readAnalysisConf(conf('<global><logall>no</logall></global>'));
  assert.deepEqual(read.logAlertLevel, { analysisd: ANALYSISD_DEFAULT_LOG_ALERT_LEVEL, logtest: LOGTEST_DEFAULT_LOG_ALERT_LEVEL });
  assert.deepEqual(read.logAlertLevel, { analysisd: 1, logtest: 0 });
  assert.deepEqual(read.alerts, { logAlertLevel: undefined, emailAlertLevel: undefined });
  assert.deepEqual(read.rulesets, [], 'no <ruleset>: the reader decides (see files.ts)');
  assert.equal(read.cluster.configured, false);
  assert.equal(read.alertCluster, undefined, 'no cluster block: no cluster object');
});

test('every <ossec_config> counts, later ones override levels; other roots and $VARs are ignored', () => {
  const read = readAnalysisConf(
    '<var name="LEVEL">9</var>\n' +
    '<ossec_config><alerts><log_alert_level>3</log_alert_level></alerts>\n' +
    '<ruleset><list>etc/lists/a</list></ruleset></ossec_config>\n' +
    '<agent_config><alerts><log_alert_level>x</log_alert_level></alerts></agent_config>\n' +
    '<ossec_config/>\n' +
    '<ossec_config><alerts><log_alert_level>7</log_alert_level></alerts></ossec_config>' +
    '\n<ossec_config><ruleset><rule_include>mine.xml</rule_include><decoder_include>etc/decoders/d.xml</decoder_include></ruleset></ossec_config>');
  assert.deepEqual(read.logAlertLevel, { analysisd: 7, logtest: 7 });
  assert.equal(read.rulesets.length, 2);
  assert.deepEqual(read.rulesets[1]?.ruleIncludes, ['ruleset/rules/mine.xml'], 'a bare name gets the default directory');
  assert.deepEqual(read.rulesets[1]?.decoderIncludes, ['etc/decoders/d.xml']);
  assert.deepEqual(read.rulesets[1]?.decoderDirs.map((dir) => dir.path), ['ruleset/decoders'],
    'a block without directories gets the defaults');
  assert.deepEqual(read.rulesets[1]?.ruleDirs.map((dir) => dir.pattern), ['.xml$']);
  const error = refused(conf('<alerts><log_alert_level>$LEVEL</log_alert_level></alerts>'));
  assert.match(error.reason, /\$LEVEL/, 'ossec.conf variables are not substituted');
});

test('ruleset: dir patterns, and the options Wazuh refuses', () => {
  const read = readAnalysisConf(conf(
    '<ruleset><decoder_dir pattern="_decoders.xml$">etc/decoders</decoder_dir>' +
    '<rule_dir PATTERN="a" pattern="^local">etc/rules</rule_dir></ruleset>'));
  assert.deepEqual(read.rulesets[0]?.decoderDirs.map((dir) => dir.pattern), ['_decoders.xml$']);
  assert.deepEqual(read.rulesets[0]?.ruleDirs.map((dir) => dir.pattern), ['^local'], 'the last pattern counts');
  let error = refused(conf('<ruleset>\n<rule_dir type="x">etc/rules</rule_dir></ruleset>'));
  assert.deepEqual([error.line, error.element], [3, 'rule_dir']);
  for (const legacy of ['include', 'rule', 'decoder', 'Rule_Include']) {
    error = refused(conf(`<ruleset>\n\n<${legacy}>x.xml</${legacy}>\n</ruleset>`));
    assert.deepEqual([error.line, error.element], [4, legacy], `<${legacy}> is not read any more`);
  }
});

test('an empty section is refused (logtest 7311), an empty <ossec_config> is not', () => {
  for (const empty of ['<alerts></alerts>', '<ruleset/>', '<syscheck>\n</syscheck>', '<ruleset><!-- none --></ruleset>']) {
    const error = refused(conf(`  <global><logall>no</logall></global>\n  ${empty}`));
    assert.equal(error.line, 3);
    assert.match(error.reason, /empty/);
  }
  assert.deepEqual(readAnalysisConf('<ossec_config></ossec_config>').rulesets, []);
  assert.match(refused('<!-- nothing -->\n').reason, /no configuration block/);
  assert.ok(refused('<ossec_config>\n<alerts>') instanceof OsXmlError, 'XML faults come from the parser');
});

test('alerts: digits only, kept to a byte as Wazuh stores them', () => {
  assert.deepEqual(readAnalysisConf(conf('<alerts><log_alert_level>300</log_alert_level></alerts>')).logAlertLevel,
    { analysisd: 44, logtest: 44 });
  assert.equal(readAnalysisConf(conf('<alerts><log_alert_level>99999999999999999999</log_alert_level></alerts>'))
    .alerts.logAlertLevel, 255);
  for (const bad of ['', ' 3', '-1', '3a']) {
    const error = refused(conf(`<alerts>\n<log_alert_level>${bad}</log_alert_level></alerts>`));
    assert.deepEqual([error.line, error.element], [3, 'log_alert_level']);
  }
  assert.equal(refused(conf('<alerts><use_geoip>yes</use_geoip></alerts>')).element, 'use_geoip');
});

test('cluster: what alerts carry', () => {
  const shown = readAnalysisConf(conf('<cluster><node_name>worker-1</node_name><disabled>no</disabled></cluster>'));
  assert.deepEqual(shown.alertCluster, { name: 'wazuh', node: 'worker-1' });
  assert.deepEqual(readAnalysisConf(conf('<cluster><name>prod</name><node_type>worker</node_type></cluster>')).alertCluster,
    { name: 'prod' });
  assert.equal(readAnalysisConf(conf('<cluster><hidden>yes</hidden></cluster>')).alertCluster, undefined);
  assert.equal(readAnalysisConf(conf('<cluster><disabled>yes</disabled><hidden>no</hidden></cluster>')).alertCluster, undefined);
  const twice = readAnalysisConf(
    '<ossec_config><cluster><name>a</name><hidden>yes</hidden></cluster></ossec_config>' +
    '<ossec_config><cluster><node_name>n</node_name></cluster></ossec_config>');
  assert.deepEqual(twice.alertCluster, { name: 'a', node: 'n' }, 'each block resets hidden; names carry over');
  for (const [bad, element] of [
    ['<name>my cluster</name>', 'name'], ['<node_name></node_name>', 'node_name'], ['<node_type>boss</node_type>', 'node_type'],
    ['<disabled>true</disabled>', 'disabled'], ['<hidden>1</hidden>', 'hidden'], ['<unknown>x</unknown>', 'unknown'],
    ['<haproxy_helper><haproxy_protocol>tcp</haproxy_protocol></haproxy_helper>', 'haproxy_protocol'],
  ] as const) {
    assert.equal(refused(conf(`<cluster>${bad}</cluster>`)).element, element, bad);
  }
});

test('rule_test: caps with warnings 7000-7002, auto threads, and invalid values that only disable logtest', () => {
  const capped = readAnalysisConf(conf(
    '<rule_test><threads>200</threads><max_sessions>600</max_sessions><session_timeout>400d</session_timeout>' +
    '<enabled>no</enabled></rule_test>')).ruleTest;
  assert.deepEqual({ ...capped, warnings: [] }, { enabled: false, threads: 128, maxSessions: 500, sessionTimeout: 31_536_000, warnings: [] });
  assert.deepEqual(capped.warnings, [
    '(7000): Number of logtest threads too high. Only creates 128 threads',
    '(7001): Number of maximum users connected in logtest too high. Only allows 500 users',
    '(7002): Number of maximum user timeouts in logtest too high. Only allows 31536000s maximum timeouts',
  ]);
  assert.equal(readAnalysisConf(conf('<rule_test><threads>auto</threads></rule_test>')).ruleTest.threads, 'auto');
  assert.equal(readAnalysisConf(conf('<rule_test><max_sessions> +12</max_sessions></rule_test>')).ruleTest.maxSessions, 12);
  assert.equal(readAnalysisConf(conf('<rule_test><threads></threads></rule_test>')).ruleTest.threads, 0, "'' reads as 0 in C");
  for (const [bad, element] of [
    ['<threads>-1</threads>', 'threads'], ['<threads>2 </threads>', 'threads'], ['<max_sessions>65535</max_sessions>', 'max_sessions'],
    ['<session_timeout>0</session_timeout>', 'session_timeout'], ['<session_timeout>10y</session_timeout>', 'session_timeout'],
    ['<enabled>on</enabled>', 'enabled'], ['<other>1</other>', 'other'],
  ] as const) {
    const read = readAnalysisConf(conf(`<rule_test>\n${bad}</rule_test>\n<alerts><log_alert_level>5</log_alert_level></alerts>`));
    assert.equal(read.ruleTest.error?.element, element, bad);
    assert.equal(read.ruleTest.error?.line, 3);
    assert.equal(read.logAlertLevel.analysisd, 5, 'the rest of the configuration still counts');
  }
});

test('time values', () => {
  const cases: [string, number][] = [
    ['900', 900], ['15m', 900], ['2h', 7200], ['1d', 86400], ['1w', 604800], ['30s', 30], ['15mins', 900],
    [' 7', 7], ['', 0], ['m', 0], ['-5', -1], ['5x', -1], ['99999999999999999999', -1],
  ];
  for (const [text, seconds] of cases) assert.equal(parseTimeValue(text), seconds, JSON.stringify(text));
});
