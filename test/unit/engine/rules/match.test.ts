import test from 'node:test';
import assert from 'node:assert/strict';
import { matchRules, newRuleState, type MatchOptions, type RuleMatch, type RuleSet } from '../../../../engine/rules/rule-set.js';
import type { EngineEvent } from '../../../../engine/types.js';
import { event, group, load, type EventInit } from './fixtures.js';

const T0 = new Date(2024, 0, 3, 10, 30).getTime();

/** A session: one state, a clock that moves one second per event unless told. */
function session(set: RuleSet, base: Partial<MatchOptions> = {}) {
  const state = newRuleState();
  let now = base.now ?? T0;
  return {
    state,
    run(init: EventInit | EngineEvent, options: Partial<MatchOptions> = {}): RuleMatch | null {
      now = options.now ?? now + 1000;
      const ev = 'fullLog' in init ? init : event(init);
      return matchRules(set, ev, state, { ...base, ...options, now });
    },
    idOf(init: EventInit, options: Partial<MatchOptions> = {}): number | undefined {
      return this.run(init, options)?.rule.id;
    },
  };
}

const rules = (xml: string, lists?: Map<string, Map<string, string>>): RuleSet => {
  const { rules: set, warnings } = load(group(xml), lists ? { lists } : {});
  assert.deepEqual(warnings, []);
  return set;
};

test('roots are chosen by decoder type; an event without decoder walks the syslog root', () => {
  const set = rules(`
    <rule id="100" level="3"><match>hello</match><description>syslog hello</description></rule>
    <rule id="101" level="3"><category>web-log</category><match>hello</match><description>web hello</description></rule>`);
  const s = session(set);
  assert.equal(s.idOf({ log: 'hello world' }), 100);
  assert.equal(s.idOf({ log: 'hello world', decoder: 'web' }), 101);
  assert.equal(s.idOf({ log: 'hello world', decoder: 'fw' }), undefined);
});

test('debug lines follow the C order: trying, matched, trying child rules', () => {
  const set = rules(`
    <rule id="100" level="0"><match>x</match><description>zero</description></rule>
    <rule id="101" level="3"><match>hello</match><description>parent</description></rule>
    <rule id="102" level="5"><if_sid>101</if_sid><match>nope</match><description>child miss</description></rule>
    <rule id="103" level="4"><if_sid>101</if_sid><match>world</match><description>child hit</description></rule>`);
  const debug: string[] = [];
  const hit = session(set).run({ log: 'hello world' }, { debug });
  assert.equal(hit?.rule.id, 103);
  assert.deepEqual(debug, [
    'Trying rule: 1 - syslog root', '*Rule 1 matched', '*Trying child rules',
    'Trying rule: 100 - zero',
    'Trying rule: 101 - parent', '*Rule 101 matched', '*Trying child rules',
    'Trying rule: 102 - child miss',
    'Trying rule: 103 - child hit', '*Rule 103 matched',
  ]);
});

test('the deepest match wins; a noalert parent with no matching child lets its siblings run', () => {
  const set = rules(`
    <rule id="100" level="3" noalert="1"><match>a</match><description>silent</description></rule>
    <rule id="101" level="6"><if_sid>100</if_sid><match>ab</match><description>child</description></rule>
    <rule id="102" level="2"><match>a</match><description>sibling</description></rule>`);
  const s = session(set);
  assert.equal(s.idOf({ log: 'ab' }), 101);
  assert.equal(s.idOf({ log: 'a' }), 102);
});

test('a level-0 result stops the walk and is reported; it is not remembered', () => {
  const set = rules(`
    <rule id="100" level="0"><match>noise</match><description>ignore me</description></rule>
    <rule id="101" level="3"><match>noise</match><description>never reached</description></rule>
    <rule id="102" level="7" frequency="2"><if_matched_sid>100</if_matched_sid><description>never counts</description></rule>`);
  const s = session(set);
  const first = s.run({ log: 'noise' });
  assert.equal(first?.rule.id, 100);
  assert.equal(first?.rule.level, 0);
  assert.equal(first?.suppressed, false);
  assert.equal(s.idOf({ log: 'noise' }), 100, 'the level-0 events never reach the frequency rule');
});

test('firedtimes counts final matches per rule within a state', () => {
  const set = rules('<rule id="100" level="3"><match>x</match><description>x</description></rule>');
  const s = session(set);
  assert.deepEqual([1, 2, 3].map(() => s.run({ log: 'x' })?.firedtimes), [1, 2, 3]);
  assert.equal(session(set).run({ log: 'x' })?.firedtimes, 1);
});

test('static checks: decoded_as, program_name, id, system_name, protocol, action (exact), url, location, hostname', () => {
  const set = rules(`
    <rule id="100" level="3"><decoded_as>sshd</decoded_as><description>sshd</description></rule>
    <rule id="101" level="4"><if_sid>100</if_sid><program_name>^sshd$</program_name><id>4625</id>
      <system_name>Win</system_name><protocol>tcp</protocol><action>Drop</action><description>statics</description></rule>
    <rule id="102" level="5"><if_sid>101</if_sid><url>/admin</url><location>secure</location><hostname>web</hostname>
      <description>more statics</description></rule>`);
  const s = session(set);
  const base: EventInit = {
    decoder: 'sshd', programName: 'sshd', location: '(web01) 10.0.0.1->/var/log/secure', hostname: 'web01',
    fields: { id: 'x4625', system_name: 'windows', protocol: 'TCP', action: 'Drop', url: '/admin/x' },
  };
  assert.equal(s.idOf(base), 102);
  assert.equal(s.idOf({ ...base, fields: { ...base.fields, action: 'drop' } }), 100, 'action is an exact string compare');
  assert.equal(s.idOf({ ...base, fields: { ...base.fields, url: undefined } }), 101, 'a missing field is a non-match');
  assert.equal(s.idOf({ ...base, hostname: 'db01' }), 101);
  assert.equal(s.idOf({ ...base, decoder: 'json' }), undefined);
});

test('location is matched as pre-decoding leaves it (an agent location after its "[id] ")', () => {
  const set = rules('<rule id="100" level="3"><location>^(web01) any</location><description>loc</description></rule>');
  assert.equal(session(set).idOf({ location: '(web01) any->/var/log/secure' }), 100);
  assert.equal(session(set).idOf({ location: '/var/log/secure' }), undefined);
});

test('match and regex read the log; negate flips; pcre2 is case-sensitive', () => {
  const set = rules(`
    <rule id="100" level="3"><match>Failed|Invalid</match><regex>from \\d+.\\d+</regex><description>both</description></rule>
    <rule id="101" level="2"><match negate="yes">Accepted</match><description>not accepted</description></rule>
    <rule id="102" level="1"><regex type="pcre2">^Accepted</regex><description>pcre2</description></rule>`);
  const s = session(set);
  assert.equal(s.idOf({ log: 'failed password from 10.0 port' }), 100);
  assert.equal(s.idOf({ log: 'failed password from x' }), 101);
  assert.equal(s.idOf({ log: 'Accepted key' }), 102);
  assert.equal(s.idOf({ log: 'accepted key' }), undefined, 'osmatch ignores case, pcre2 does not');
});

test('<field>: dynamic fields by case-insensitive name; missing is a non-match; negate and pcre2', () => {
  const set = rules(`
    <rule id="100" level="3"><field name="audit.Type">^EXECVE$</field><description>execve</description></rule>
    <rule id="101" level="4"><if_sid>100</if_sid><field name="audit.exe" negate="yes">/usr/bin/</field><description>not usr bin</description></rule>
    <rule id="102" level="2"><field name="win.EventID" type="pcre2">^46(24|25)$</field><description>logon</description></rule>`);
  const s = session(set);
  assert.equal(s.idOf({ dynamic: { 'audit.type': 'EXECVE', 'audit.exe': '/tmp/x' } }), 101);
  assert.equal(s.idOf({ dynamic: { 'audit.type': 'EXECVE', 'audit.exe': '/usr/bin/ls' } }), 100);
  assert.equal(s.idOf({ dynamic: { 'audit.type': 'EXECVE' } }), 100, 'the negated field is missing: no match');
  assert.equal(s.idOf({ dynamic: { 'win.eventid': '4625' } }), 102);
  assert.equal(s.idOf({ dynamic: { 'win.eventid': '4626' } }), undefined);
});

test('<field> on a long field list: the first name that folds equal wins, for every sibling and every event', () => {
  const set = rules(`
    <rule id="100" level="3"><field name="github.action">^repo.create$</field><description>create</description></rule>
    <rule id="101" level="3"><field name="GitHub.Action">^repo.destroy$</field><description>destroy</description></rule>
    <rule id="102" level="3"><field name="github.actor">^bob$</field><field name="github.action">^team.add$</field><description>team</description></rule>`);
  const s = session(set);
  const filler = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}`, String(i)]));
  const run = (dynamic: Record<string, string>): number | undefined => s.idOf({ dynamic: { ...filler, ...dynamic } });
  assert.equal(run({ 'GitHub.ACTION': 'repo.destroy', 'github.action': 'repo.create' }), 101);
  assert.equal(run({ 'github.action': 'repo.create', 'GitHub.ACTION': 'repo.destroy' }), 100);
  assert.equal(run({ 'github.Actor': 'bob', 'github.action': 'team.add' }), 102);
  assert.equal(run({ 'github.actor': 'eve', 'github.action': 'team.add' }), undefined);
  assert.equal(run({ 'github.actions': 'repo.create' }), undefined);
});

test('srcip/dstip: addresses, CIDR, netmask, !negation, IPv6, negate attribute', () => {
  const set = rules(`
    <rule id="100" level="3"><srcip>10.0.0.0/8</srcip><srcip>192.168.1.0/255.255.255.0</srcip><description>inside</description></rule>
    <rule id="101" level="2"><srcip>!172.16.0.1</srcip><description>not the gateway</description></rule>
    <rule id="102" level="4"><dstip>fe80::/10</dstip><description>link local</description></rule>
    <rule id="103" level="1"><dstip negate="yes">8.8.8.8</dstip><description>not google</description></rule>`);
  const s = session(set);
  assert.equal(s.idOf({ fields: { srcip: '10.1.2.3' } }), 100);
  assert.equal(s.idOf({ fields: { srcip: '192.168.1.77' } }), 100);
  assert.equal(s.idOf({ fields: { srcip: '192.168.2.77' } }), 101);
  assert.equal(s.idOf({ fields: { srcip: '172.16.0.1' } }), undefined);
  assert.equal(s.idOf({ fields: { srcip: 'not-an-ip' } }), undefined);
  assert.equal(s.idOf({ fields: { dstip: 'FE80::1' } }), 102);
  assert.equal(s.idOf({ fields: { dstip: '1.1.1.1' } }), 103);
  assert.equal(s.idOf({ fields: { dstip: '8.8.8.8' } }), undefined);
});

test('ports, data, extra_data, status, user (dstuser first, then srcuser)', () => {
  const set = rules(`
    <rule id="100" level="3"><srcport>^22$</srcport><dstport>^80$|^443$</dstport><description>ports</description></rule>
    <rule id="101" level="3"><data>secret</data><extra_data>more</extra_data><status>^ok</status><description>data</description></rule>
    <rule id="102" level="3"><user>^root$</user><description>root</description></rule>`);
  const s = session(set);
  assert.equal(s.idOf({ fields: { srcport: '22', dstport: '443' } }), 100);
  assert.equal(s.idOf({ fields: { srcport: '22', dstport: '8080' } }), undefined);
  assert.equal(s.idOf({ fields: { data: 'a secret', extra_data: 'and more', status: 'OK' } }), 101);
  assert.equal(s.idOf({ fields: { dstuser: 'root', srcuser: 'bob' } }), 102);
  assert.equal(s.idOf({ fields: { srcuser: 'root' } }), 102);
  assert.equal(s.idOf({ fields: { dstuser: 'bob', srcuser: 'root' } }), undefined);
});

test('compiled rules: is_simple_http_request, is_valid_crawler, comp_srcuser_dstuser, check_id_size', () => {
  const set = rules(`
    <rule id="100" level="3"><category>web-log</category><compiled_rule>is_simple_http_request</compiled_rule><description>simple</description></rule>
    <rule id="101" level="2"><category>web-log</category><compiled_rule>is_valid_crawler</compiled_rule><description>crawler</description></rule>
    <rule id="102" level="3"><compiled_rule>comp_srcuser_dstuser</compiled_rule><match>su</match><description>same user</description></rule>
    <rule id="103" level="3"><compiled_rule>check_id_size</compiled_rule><description>long id</description></rule>`);
  const s = session(set);
  assert.equal(s.idOf({ decoder: 'web', fields: { url: '/index.html' } }), 100);
  assert.equal(s.idOf({ decoder: 'web', log: '66.249.1.1 - GET /?q=1', fields: { url: '/?q=1' } }), 101);
  assert.equal(s.idOf({ decoder: 'web', log: '1.2.3.4 - GET /?q=1', fields: { url: '/?q=1' } }), undefined);
  assert.equal(s.idOf({ log: 'su', fields: { srcuser: 'a', dstuser: 'a' } }), 102);
  assert.equal(s.idOf({ log: 'su', fields: { srcuser: 'a', dstuser: 'b' } }), undefined);
  assert.equal(s.idOf({ fields: { id: '1234567890' } }), 103);
});

test('maxsize, time and weekday', () => {
  const set = rules(`
    <rule id="100" level="3" maxsize="10"><match>x</match><description>big event</description></rule>
    <rule id="101" level="2"><match>x</match><description>small event</description></rule>
    <rule id="102" level="4"><time>6 pm - 8:30 am</time><match>night</match><description>night</description></rule>
    <rule id="103" level="4"><weekday>weekends</weekday><match>weekend</match><description>weekend</description></rule>`);
  const s = session(set);
  assert.equal(s.idOf({ log: 'x' }), 101);
  assert.equal(s.idOf({ log: 'x123456789' }), 100);
  assert.equal(s.idOf({ log: 'night' }, { now: new Date(2024, 0, 3, 7, 0).getTime() }), 102);
  assert.equal(s.idOf({ log: 'night' }, { now: new Date(2024, 0, 3, 12, 0).getTime() }), undefined);
  assert.equal(s.idOf({ log: 'weekend' }, { now: new Date(2024, 0, 6, 12, 0).getTime() }), 103);
  assert.equal(s.idOf({ log: 'weekend' }, { now: new Date(2024, 0, 3, 12, 0).getTime() }), undefined);
});

test('if_matched_sid + frequency: frequency-1 earlier events in the timeframe, then counting restarts', () => {
  const set = rules(`
    <rule id="100" level="5"><match>fail</match><description>one failure</description></rule>
    <rule id="101" level="10" frequency="3" timeframe="60"><if_matched_sid>100</if_matched_sid><description>brute force</description></rule>`);
  const s = session(set);
  const ids = [1, 2, 3, 4, 5, 6].map((i) => s.run({ log: `fail ${i}`, fields: { srcip: '1.2.3.4' } }));
  assert.deepEqual(ids.map((r) => r?.rule.id), [100, 100, 101, 100, 100, 101]);
  const fired = ids[2]!;
  assert.deepEqual(fired.previousOutput, ['Jan  1 00:00:00 host fail 2', 'Jan  1 00:00:00 host fail 1']);
  assert.equal(fired.rule.frequency, 3);
  assert.equal(ids[5]?.firedtimes, 2);
});

test('timeframe and agent: old events and other agents do not count unless global_frequency', () => {
  const set = rules(`
    <rule id="100" level="5"><match>fail</match><description>one failure</description></rule>
    <rule id="101" level="10" frequency="2" timeframe="60"><if_matched_sid>100</if_matched_sid><description>per agent</description></rule>
    <rule id="102" level="5"><match>deny</match><description>one deny</description></rule>
    <rule id="103" level="10" frequency="2" timeframe="60"><if_matched_sid>102</if_matched_sid><global_frequency />
      <description>any agent</description></rule>`);
  const s = session(set);
  assert.equal(s.idOf({ log: 'fail', agentId: '001' }), 100);
  assert.equal(s.idOf({ log: 'fail', agentId: '002' }), 100);
  assert.equal(s.idOf({ log: 'fail', agentId: '001' }, { now: T0 + 120_000 }), 100, 'the first 001 event is too old');
  assert.equal(s.idOf({ log: 'fail', agentId: '001' }), 101);
  assert.equal(s.idOf({ log: 'deny', agentId: '001' }), 102);
  assert.equal(s.idOf({ log: 'deny', agentId: '002' }), 103);
});

test('same_* and different_* filters on static fields', () => {
  const set = rules(`
    <rule id="100" level="5"><match>a</match><description>a</description></rule>
    <rule id="101" level="10" frequency="2"><if_matched_sid>100</if_matched_sid><same_srcip /><same_user />
      <different_url /><description>same ip and user, other url</description></rule>`);
  const s = session(set);
  const ev = (srcip: string, dstuser: string | undefined, url: string): EventInit => ({ log: 'a', fields: { srcip, dstuser, url } });
  assert.equal(s.idOf(ev('1.1.1.1', 'bob', '/a')), 100);
  assert.equal(s.idOf(ev('2.2.2.2', 'bob', '/b')), 100, 'other srcip');
  assert.equal(s.idOf(ev('1.1.1.1', 'eve', '/b')), 100, 'other user');
  assert.equal(s.idOf(ev('1.1.1.1', 'bob', '/a')), 100, 'same url as the only candidate');
  assert.equal(s.idOf(ev('1.1.1.1', 'bob', '/c')), 101);
  assert.equal(s.idOf(ev('3.3.3.3', undefined, '/z')), 100);
  assert.equal(s.idOf(ev('3.3.3.3', undefined, '/y')), 100, 'same_user needs the user in both events');
});

test('same_field and different_field compare dynamic fields', () => {
  const set = rules(`
    <rule id="100" level="3"><match>same test</match><description>s</description></rule>
    <rule id="101" level="7" frequency="3"><if_matched_sid>100</if_matched_sid><same_field>Number</same_field><description>same</description></rule>
    <rule id="102" level="3"><match>diff test</match><description>d</description></rule>
    <rule id="103" level="7" frequency="3"><if_matched_sid>102</if_matched_sid><different_field>number</different_field><description>diff</description></rule>`);
  const s = session(set);
  const run = (log: string, n: string): number | undefined => s.idOf({ log, dynamic: { number: n } });
  assert.deepEqual(['5', '6', '5', '5'].map((n) => run('same test', n)), [100, 100, 100, 101]);
  assert.deepEqual(['5', '5', '5', '6'].map((n) => run('diff test', n)), [102, 102, 102, 103]);
});

test('if_matched_group counts events of every rule in the group', () => {
  const set = rules(`
    <rule id="100" level="5"><match>bad</match><description>a</description><group>attack,</group></rule>
    <rule id="101" level="6"><match>evil</match><description>b</description><group>attack,</group></rule>
    <rule id="102" level="12" frequency="3" timeframe="100"><if_matched_group>attack</if_matched_group><same_srcip />
      <description>many attacks</description></rule>`);
  const s = session(set);
  assert.equal(s.idOf({ log: 'bad', fields: { srcip: '9.9.9.9' } }), 100);
  assert.equal(s.idOf({ log: 'evil', fields: { srcip: '9.9.9.9' } }), 101);
  assert.equal(s.idOf({ log: 'bad', fields: { srcip: '9.9.9.9' } }), 102);
});

test('if_matched_regex searches the global memory of the same category', () => {
  const set = rules(`
    <rule id="100" level="3"><match>login</match><description>login</description></rule>
    <rule id="101" level="3"><category>web-log</category><match>login</match><description>web login</description></rule>
    <rule id="102" level="9" timeframe="30"><match>sudo</match><if_matched_regex>login as \\w+</if_matched_regex>
      <description>sudo after login</description></rule>`);
  const s = session(set);
  assert.equal(s.idOf({ log: 'login as admin', decoder: 'web' }), 101);
  assert.equal(s.idOf({ log: 'sudo' }), undefined, 'the web event is another category');
  assert.equal(s.idOf({ log: 'login as admin' }), 100);
  assert.equal(s.idOf({ log: 'sudo' }), 102);
  assert.equal(s.idOf({ log: 'sudo' }), 102, 'without frequency the counted event is never consumed (as in Wazuh)');
});

test('ignore: logtest reports the rule suppressed inside the window; analysisd falls back to the parent', () => {
  const set = rules(`
    <rule id="100" level="3"><match>scan</match><description>parent</description></rule>
    <rule id="101" level="8" ignore="60"><if_sid>100</if_sid><match>port</match><description>noisy</description></rule>`);
  const logtest = session(set);
  const outcomes = [0, 10_000, 70_000, 80_000, 90_000].map((offset) => logtest.run({ log: 'scan port' }, { now: T0 + offset }));
  assert.deepEqual(outcomes.map((r) => [r?.rule.id, r?.suppressed]), [
    [101, false], [101, true], [101, false], [101, false], [101, true],
  ]);
  const analysisd = session(set, { mode: 'analysisd' });
  const fallback = [0, 10_000, 70_000, 80_000].map((offset) => analysisd.run({ log: 'scan port' }, { now: T0 + offset }));
  assert.deepEqual(fallback.map((r) => [r?.rule.id, r?.suppressed]), [[101, false], [100, false], [101, false], [100, false]]);
});

test('check_diff: alerts when the output of a command changes, per host', () => {
  const set = rules('<rule id="100" level="7"><match>ports:</match><check_diff /><description>listened ports changed</description></rule>');
  const s = session(set);
  assert.equal(s.idOf({ log: 'ports: 22' }), undefined, 'the first output is only stored');
  assert.equal(s.idOf({ log: 'ports: 22' }), undefined);
  const changed = s.run({ log: 'ports: 22 80' });
  assert.equal(changed?.rule.id, 100);
  assert.equal(changed?.previousLog, 'ports: 22');
  assert.deepEqual(changed?.previousOutput, ['Previous output:', 'ports: 22']);
  assert.equal(s.idOf({ log: 'ports: 22 80', hostname: '(agent1) any->netstat' }), undefined, 'another host starts its own history');
});

test('if_fts: first time seen per decoder fts tuple', () => {
  const set = rules(`<rule id="100" level="3"><category>ids</category><if_fts /><description>first time</description></rule>`);
  const s = session(set);
  const alert = (srcip: string): EventInit => ({ decoder: 'snort', fields: { id: '1:2000', srcip } });
  assert.equal(s.idOf(alert('1.1.1.1')), 100);
  assert.equal(s.idOf(alert('1.1.1.1')), undefined);
  assert.equal(s.idOf(alert('2.2.2.2')), 100);
  assert.equal(s.idOf({ decoder: 'fw' }), undefined);
});

test('lists: keys from static, user and dynamic fields; lookups and check_value', () => {
  const lists = new Map([
    ['etc/lists/bad-ips', new Map([['10.0.0.1', ''], ['192.168.', 'lan']])],
    ['etc/lists/audit-keys', new Map([['k1', 'write'], ['k2', 'read']])],
  ]);
  const set = rules(`
    <rule id="100" level="5"><list field="srcip" lookup="match_key">etc/lists/bad-ips</list><description>bad ip</description></rule>
    <rule id="101" level="4"><list field="srcip" lookup="address_match_key">etc/lists/bad-ips</list><description>bad net</description></rule>
    <rule id="102" level="3"><list field="audit.key" lookup="match_key_value" check_value="write">etc/lists/audit-keys</list>
      <description>write key</description></rule>
    <rule id="103" level="2"><list field="user" lookup="not_match_key">etc/lists/audit-keys</list><description>user not a key</description></rule>`, lists);
  const s = session(set);
  assert.equal(s.idOf({ fields: { srcip: '10.0.0.1' } }), 100);
  assert.equal(s.idOf({ fields: { srcip: '192.168.3.4' } }), 101);
  assert.equal(s.idOf({ dynamic: { 'audit.key': 'k1' } }), 102);
  assert.equal(s.idOf({ dynamic: { 'audit.key': 'k2' } }), undefined);
  assert.equal(s.idOf({ fields: { srcuser: 'k9', dstuser: 'k1' } }), 103, 'user takes srcuser first for lists');
  assert.equal(s.idOf({ fields: { srcuser: 'k1' } }), undefined);
});

test('geoip fields are absent without a resolver and compared through it when given', () => {
  const set = rules('<rule id="100" level="3"><srcgeoip>^ES$</srcgeoip><description>spain</description></rule>');
  const ev: EventInit = { fields: { srcip: '2.136.147.146' } };
  assert.equal(session(set).idOf(ev), undefined);
  assert.equal(session(set, { geoip: (ip) => (ip.startsWith('2.') ? 'ES' : undefined) }).idOf(ev), 100);
});

test('check_if_ignored and ignore: analysisd records the key, later matches are suppressed; logtest never records', () => {
  const set = rules(`
    <rule id="100" level="3"><match>hit</match><ignore>srcip, id</ignore><check_if_ignored>srcip, id</check_if_ignored>
      <description>once per srcip and id</description></rule>`);
  const analysisd = session(set, { mode: 'analysisd' });
  const ev: EventInit = { log: 'hit', fields: { srcip: '1.1.1.1', id: '7' } };
  assert.equal(analysisd.run(ev)?.suppressed, false);
  assert.equal(analysisd.run(ev)?.suppressed, true);
  assert.equal(analysisd.run({ ...ev, fields: { srcip: '1.1.1.1', id: '8' } })?.suppressed, false);
  const logtest = session(set);
  assert.equal(logtest.run(ev)?.suppressed, false);
  assert.equal(logtest.run(ev)?.suppressed, false);
});

test('previous_output keeps at most 11 earlier logs, newest first', () => {
  const set = rules(`
    <rule id="100" level="3"><match>x</match><description>x</description></rule>
    <rule id="101" level="9" frequency="15"><if_matched_sid>100</if_matched_sid><description>many</description></rule>`);
  const s = session(set);
  const results = Array.from({ length: 15 }, (_, i) => s.run({ log: `x ${i}` }));
  assert.equal(results[14]?.rule.id, 101);
  const previous = results[14]!.previousOutput!;
  assert.equal(previous.length, 11);
  assert.equal(previous[0], 'Jan  1 00:00:00 host x 13');
  assert.equal(previous[10], 'Jan  1 00:00:00 host x 3');
});

test('the event memory keeps memorySize events; evicted ones leave the per-rule lists too', () => {
  const set = rules(`
    <rule id="100" level="3"><match>x</match><description>x</description></rule>
    <rule id="101" level="3"><match>y</match><description>y</description></rule>
    <rule id="102" level="9" frequency="3" timeframe="3600"><if_matched_sid>100</if_matched_sid><description>three x</description></rule>`);
  const state = newRuleState({ memorySize: 12 });
  let now = T0;
  const run = (log: string): number | undefined => matchRules(set, event({ log }), state, { now: (now += 1000) })?.rule.id;
  assert.equal(run('x'), 100);
  assert.equal(run('x'), 100);
  for (let i = 0; i < 11; i++) assert.equal(run('y'), 101);
  assert.equal(run('x'), 100, 'past 12 events the 10 oldest are dropped, both x with them');
  assert.equal(run('x'), 100);
  assert.equal(run('x'), 102);
});

test('overwrite at match time: the new content, the old position and stateful links (overwrite.ini)', () => {
  const { rules: set } = load(group(`
    <rule id="999910" level="0"><decoded_as>sshd</decoded_as><description>Base rule to test overwrite option.</description></rule>
    <rule id="999911" level="12"><if_sid>999910</if_sid><match>TEST 1 - rule to be overwritten</match><description>Rule that will be overwritten.</description></rule>
    <rule id="999912" level="12" frequency="3" timeframe="120" ignore="60"><if_matched_sid>999911</if_matched_sid><description>Child rule.</description></rule>
    <rule id="999911" level="12" overwrite="yes"><match>TEST 1 - rule overwritten</match><description>Rule to overwrite the original.</description></rule>
    <rule id="999915" level="7"><if_sid>999910</if_sid><match>Do not match anything</match><description>Rule to create invalid_group.</description><group>invalid_group</group></rule>
    <rule id="999916" level="7"><if_sid>999910</if_sid><match>TEST 3 - Parent rule</match><description>Parent rule</description><group>my_group</group></rule>
    <rule id="999917" level="10" frequency="3" timeframe="120" ignore="60"><if_matched_group>my_group</if_matched_group><description>Frequency rule.</description></rule>
    <rule id="999917" level="12" frequency="3" timeframe="120" ignore="60" overwrite="yes"><if_matched_group>invalid_group</if_matched_group><description>Overwrite if_matched_group.</description></rule>
  `, 'qa,test,'));
  const ids = (log: string, times: number): (number | undefined)[] => {
    const s = session(set);
    return Array.from({ length: times }, () => s.idOf({ decoder: 'sshd', log }));
  };
  assert.deepEqual(ids('TEST 1 - rule to be overwritten', 1), [999910]);
  assert.deepEqual(ids('TEST 1 - rule overwritten', 3), [999911, 999911, 999912]);
  const third = session(set);
  const outcomes = [1, 2, 3].map(() => third.run({ decoder: 'sshd', log: 'TEST 3 - Parent rule' }));
  assert.deepEqual(outcomes.map((r) => [r?.rule.id, r?.rule.level]), [[999916, 7], [999916, 7], [999917, 12]]);
});

test('a state serves one ruleset', () => {
  const a = rules('<rule id="100" level="3"><match>x</match><description>x</description></rule>');
  const b = rules('<rule id="100" level="3"><match>x</match><description>x</description></rule>');
  const state = newRuleState();
  matchRules(a, event({ log: 'x' }), state, { now: T0 });
  assert.throws(() => matchRules(b, event({ log: 'x' }), state, { now: T0 }), /one RuleSet/);
});
