import assert from 'node:assert/strict';
import test from 'node:test';
import { alertLine, alertObject, alertTimestamp, bsdHeaderHostname, ruleDescription, type AlertInput } from '../../../../engine/alert/alert-json.js';
import { fromBytes, toBytes, type EngineEvent, type FiredRule, type RuleView } from '../../../../engine/types.js';
import { JsonObject, type JsonValue } from '../../../../protocols/cjson.js';

const TIME = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));

function event(over: Partial<EngineEvent> = {}): EngineEvent {
  return {
    queue: '1',
    location: '/var/log/auth.log',
    fullLog: 'some message',
    log: 'some message',
    agentId: '000',
    hostname: 'mgr',
    fields: {},
    dynamic: [],
    ...over,
  };
}

function rule(over: Partial<RuleView> = {}): RuleView {
  return {
    id: 100001,
    level: 5,
    description: 'A rule',
    groups: ['local'],
    mitre: [],
    noFullLog: false,
    noCounter: false,
    mail: false,
    noLog: false,
    ...over,
  };
}

function fired(r: Partial<RuleView> = {}, over: Partial<FiredRule> = {}): FiredRule {
  return { rule: rule(r), firedtimes: 1, suppressed: false, ...over };
}

function line(over: Partial<AlertInput>): string {
  return alertLine(alertObject({
    event: event(),
    managerName: 'mgr.example.com',
    time: TIME,
    alertId: '1704164645.42',
    timeZoneOffsetMinutes: 0,
    logtest: false,
    ...over,
  }));
}

const HEAD = '"timestamp":"2024-01-02T03:04:05.678+0000"';

/** An object's member names in order (none for anything else). */
const keysOf = (v: JsonValue | undefined): string[] => (v instanceof JsonObject ? v.entries.map(([k]) => k) : []);

/** A member of an object as its compact JSON text; undefined when absent. */
function member(o: JsonValue | undefined, key: string): string | undefined {
  const v = o instanceof JsonObject ? o.get(key) : undefined;
  return v === undefined ? undefined : alertLine(v);
}

/** The object JSON.parse would build from the printed line: strings read as UTF-8. */
function plain(v: JsonValue): unknown {
  if (typeof v === 'string') return fromBytes(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof JsonObject) return Object.fromEntries(v.entries.map(([k, x]) => [fromBytes(k), plain(x)]));
  return v;
}

test('every top-level key in order: an agent event with a cluster, a stateful rule and a decoder', () => {
  const e = event({
    location: '(web01) 10.0.0.5->/var/log/secure',
    agentId: '001',
    agentName: 'web01',
    agentIp: '10.0.0.5',
    hostname: 'web01',
    fullLog: 'Dec 29 10:00:01 web01 sshd[29205]: Invalid user blimey from 18.18.18.18',
    programName: 'sshd',
    timestamp: 'Dec 29 10:00:01',
    decoder: { name: 'sshd', parent: 'sshd', id: 3, type: 'syslog' },
    fields: { srcuser: 'blimey', srcip: '18.18.18.18' },
  });
  const r = fired(
    {
      id: 5712, level: 10, description: 'sshd: brute force trying to get access to the system. Non existent user.',
      groups: ['syslog', 'sshd', 'authentication_failures', 'pci_dss_11.4', 'gdpr_IV_35.7.d', 'pci_dss_10.2.4', 'tsc_CC6.1'],
      mitre: ['T1110'], cve: 'CVE-0000-0001', info: 'see the docs', frequency: 8, mail: true,
    },
    { firedtimes: 2, previousOutput: ['earlier one', 'earlier two'] },
  );
  assert.equal(line({ event: e, fired: r, cluster: { name: 'wazuh', node: 'worker-1' } }), '{' + [
    HEAD,
    '"rule":{"level":10,"description":"sshd: brute force trying to get access to the system. Non existent user.","id":"5712",' +
      '"mitre":{"id":["T1110"]},"cve":"CVE-0000-0001","info":"see the docs","frequency":8,"firedtimes":2,"mail":true,' +
      '"groups":["syslog","sshd","authentication_failures"],"pci_dss":["11.4","10.2.4"],"gdpr":["IV_35.7.d"],"tsc":["CC6.1"]}',
    '"agent":{"id":"001","name":"web01","ip":"10.0.0.5"}',
    '"manager":{"name":"mgr.example.com"}',
    '"id":"1704164645.42"',
    '"cluster":{"name":"wazuh","node":"worker-1"}',
    '"previous_output":"earlier one\\nearlier two"',
    '"full_log":"Dec 29 10:00:01 web01 sshd[29205]: Invalid user blimey from 18.18.18.18"',
    '"predecoder":{"program_name":"sshd","timestamp":"Dec 29 10:00:01","hostname":"web01"}',
    '"decoder":{"parent":"sshd","name":"sshd"}',
    '"data":{"srcip":"18.18.18.18","srcuser":"blimey"}',
    '"location":"/var/log/secure"',
  ].join(',') + '}');
});

test('a manager event with no rule and no decoder (logtest without a match)', () => {
  assert.equal(
    line({ event: event({ location: 'stdin' }), logtest: true }),
    `{${HEAD},"agent":{"id":"000","name":"mgr.example.com"},"manager":{"name":"mgr.example.com"},"id":"1704164645.42",` +
      '"full_log":"some message","decoder":{},"location":"stdin"}',
  );
});

test('rule.level: omitted at 0, added last in logtest', () => {
  const zero = fired({ level: 0, groups: ['g', 'pci_dss_1'] });
  const alerts = alertObject({ event: event(), fired: zero, managerName: 'm', time: TIME, alertId: 'x', logtest: false });
  assert.deepEqual(keysOf(alerts.get('rule')), ['description', 'id', 'firedtimes', 'mail', 'groups', 'pci_dss']);
  const logtest = alertObject({ event: event(), fired: zero, managerName: 'm', time: TIME, alertId: 'x', logtest: true });
  assert.deepEqual(keysOf(logtest.get('rule')), ['description', 'id', 'firedtimes', 'mail', 'groups', 'pci_dss', 'level']);
  assert.equal(member(logtest.get('rule'), 'level'), '0');
  const five = alertObject({ event: event(), fired: fired(), managerName: 'm', time: TIME, alertId: 'x', logtest: true });
  assert.deepEqual(keysOf(five.get('rule')), ['level', 'description', 'id', 'firedtimes', 'mail', 'groups']);
});

test('rule options: no_full_log drops full_log, no_counter drops firedtimes, groups may be empty', () => {
  const l = line({ fired: fired({ noFullLog: true, noCounter: true, groups: [] }) });
  assert.equal(
    l,
    `{${HEAD},"rule":{"level":5,"description":"A rule","id":"100001","mail":false,"groups":[]},` +
      '"agent":{"id":"000","name":"mgr.example.com"},"manager":{"name":"mgr.example.com"},"id":"1704164645.42",' +
      '"decoder":{},"location":"/var/log/auth.log"}',
  );
});

test('previous_output: only with two earlier logs or more, the second not empty', () => {
  const output = (previousOutput: string[]): unknown =>
    alertObject({ event: event(), fired: fired({}, { previousOutput }), managerName: 'm', time: TIME, alertId: 'x', logtest: false }).get('previous_output');
  assert.equal(output([]), undefined);
  assert.equal(output(['one']), undefined);
  assert.equal(output(['one', '']), undefined);
  assert.equal(output(['', 'two']), '\ntwo');
  assert.equal(output(['one', 'two', '', 'four']), 'one\ntwo\n\nfour');
});

test('the cluster object only when given', () => {
  const o = alertObject({ event: event(), managerName: 'm', time: TIME, alertId: 'x', logtest: false });
  assert.equal(o.has('cluster'), false);
  assert.deepEqual(keysOf(o), ['timestamp', 'agent', 'manager', 'id', 'full_log', 'decoder', 'location']);
});

test('agent and location: "any" has no ip, a "(...)" location without ">" has no location key', () => {
  const any = alertObject({
    event: event({ location: '(DESKTOP) any->EventChannel', agentId: '015', hostname: 'DESKTOP' }),
    managerName: 'm', time: TIME, alertId: 'x', logtest: false,
  });
  assert.equal(member(any, 'agent'), '{"id":"015","name":"DESKTOP"}');
  assert.equal(any.get('location'), 'EventChannel');
  const noArrow = alertObject({
    event: event({ location: '(host) 10.1.1.1', agentId: '002', hostname: 'host' }),
    managerName: 'm', time: TIME, alertId: 'x', logtest: false,
  });
  assert.equal(member(noArrow, 'agent'), '{"id":"002","name":"host","ip":"10.1.1.1"}');
  assert.equal(noArrow.has('location'), false);
  // An agent location without "(name)": no name, and the location is printed as is.
  const bare = alertObject({ event: event({ location: 'xyz', agentId: '003', hostname: '' }), managerName: 'm', time: TIME, alertId: 'x', logtest: false });
  assert.equal(member(bare, 'agent'), '{"id":"003"}');
  assert.equal(bare.get('location'), 'xyz');
  // Only the first 1,023 bytes are searched for '>'.
  const long = alertObject({
    event: event({ location: `(h) ${'x'.repeat(1030)}->/f`, agentId: '004', hostname: 'h' }),
    managerName: 'm', time: TIME, alertId: 'x', logtest: false,
  });
  assert.equal(long.has('location'), false);
});

test('agentless: a manager event located "(script) user@host->..." replaces agent', () => {
  const o = alertObject({
    event: event({ location: '(ssh_integrity_check_linux) admin@192.168.1.2->/bin', hostname: 'x' }),
    managerName: 'm', time: TIME, alertId: 'x', logtest: false,
  });
  assert.deepEqual(keysOf(o), ['timestamp', 'manager', 'id', 'full_log', 'decoder', 'location', 'agentless']);
  assert.equal(member(o, 'agentless'), '{"script":"ssh_integrity_check_linux","user":"admin","host":"192.168.1.2"}');
  assert.equal(o.get('location'), '/bin');
  // Without the full shape the agent stays, named after the hostname, with the would-be ip.
  const partial = alertObject({ event: event({ location: '(script) nohost->/x', hostname: 'h' }), managerName: 'm', time: TIME, alertId: 'x', logtest: false });
  assert.equal(member(partial, 'agent'), '{"id":"000","name":"h","ip":"nohost"}');
});

test('predecoder.hostname: only when full_log starts with a BSD timestamp; created late when needed', () => {
  const iso = alertObject({
    event: event({ fullLog: '2021-07-08T11:01:06-03:00 host db[1]: x', timestamp: '2021-07-08T11:01:06-03:00', programName: 'db' }),
    managerName: 'm', time: TIME, alertId: 'x', logtest: false,
  });
  assert.equal(member(iso, 'predecoder'), '{"program_name":"db","timestamp":"2021-07-08T11:01:06-03:00"}');
  // A hand-made event with no header fields: the predecoder object comes after data.
  const late = alertObject({
    event: event({ fullLog: 'Jan  5 10:00:01 host-1\tx y', fields: { id: '7' } }),
    managerName: 'm', time: TIME, alertId: 'x', logtest: false,
  });
  assert.deepEqual(keysOf(late), ['timestamp', 'agent', 'manager', 'id', 'full_log', 'decoder', 'data', 'predecoder', 'location']);
  assert.equal(member(late, 'predecoder'), '{"hostname":"host-1\\tx"}');
});

test('the BSD hostname regex, byte by byte', () => {
  assert.equal(bsdHeaderHostname('Dec 29 10:00:01 h rest'), 'h');
  assert.equal(bsdHeaderHostname('Dec  9 10:00:01 h'), 'h');
  assert.equal(bsdHeaderHostname('Dec 39 10:00:01 h'), 'h');
  assert.equal(bsdHeaderHostname('Dec 49 10:00:01 h'), undefined);
  assert.equal(bsdHeaderHostname('DEC 29 10:00:01 h'), undefined);
  assert.equal(bsdHeaderHostname('Dec 29 10:00:01  h'), undefined);
  assert.equal(bsdHeaderHostname('Dec 29 10:00:01 '), undefined);
  assert.equal(bsdHeaderHostname(toBytes('Mär 29 10:00:01 h')), undefined);
});

test('decoder: accumulate (as 1), parent, name, ftscomment; {} without a decoder', () => {
  const o = alertObject({
    event: event({ decoder: { name: 'openldap', parent: 'openldap', id: 1, type: 'syslog', accumulate: true, ftscomment: 'First time' } }),
    managerName: 'm', time: TIME, alertId: 'x', logtest: false,
  });
  assert.equal(alertLine({ d: o.get('decoder') }), '{"d":{"accumulate":1,"parent":"openldap","name":"openldap","ftscomment":"First time"}}');
  const child = alertObject({ event: event({ decoder: { name: 'json', id: 2, type: 'syslog' } }), managerName: 'm', time: TIME, alertId: 'x', logtest: false });
  assert.equal(member(child, 'decoder'), '{"name":"json"}');
});

test('data: static fields in order (empty ones too), then dynamic ones in decode order', () => {
  const e = event({
    decoder: { name: 'd', id: 1, type: 'syslog' },
    fields: { system_name: 'sys', dstuser: 'u', protocol: '', id: '4', srcip: '1.2.3.4', action: 'drop', url: '/x', extra_data: 'e', status: 's', data: 'd', dstport: '80', dstip: '5.6.7.8', srcport: '1', srcuser: 'v' },
    dynamic: [
      { name: 'zeta', value: 'z' },
      { name: 'empty', value: '' },
      { name: 'win.system.eventID', value: '4625' },
      { name: 'win.system.channel', value: 'Security' },
      { name: 'WIN.eventdata.x', value: 'y' },
      { name: 'alpha', value: 'a' },
      { name: 'ALPHA', value: 'second' },
      { name: 'Zeta', value: 'again' },
      { name: 'SrcIP', value: 'clash with a static field' },
      { name: 'url.path', value: 'under a string: dropped' },
      { name: '1', value: 'integer-like key keeps its place' },
      { name: 'empty', value: 'now set' },
    ],
  });
  const o = alertObject({ event: e, managerName: 'm', time: TIME, alertId: 'x', logtest: false });
  assert.equal(
    alertLine({ data: o.get('data') }),
    '{"data":{"protocol":"","action":"drop","srcip":"1.2.3.4","srcport":"1","srcuser":"v","dstip":"5.6.7.8","dstport":"80","dstuser":"u",' +
      '"id":"4","status":"s","url":"/x","data":"d","extra_data":"e","system_name":"sys",' +
      '"zeta":"z","win":{"system":{"eventID":"4625","channel":"Security"},"eventdata":{"x":"y"}},"alpha":"a",' +
      '"1":"integer-like key keeps its place","empty":"now set"}}',
  );
});

test('data: dynamic fields need a decoder; no data object when nothing is set', () => {
  const o = alertObject({ event: event({ dynamic: [{ name: 'a', value: 'b' }] }), managerName: 'm', time: TIME, alertId: 'x', logtest: false });
  assert.equal(o.has('data'), false);
});

test('data: a "[...]" value that parses is an array, one that does not is left out', () => {
  const e = event({
    decoder: { name: 'json', id: 1, type: 'syslog' },
    dynamic: [
      { name: 'list', value: '[\n  "a",\n  1.5,\n  {\n    "k": null\n  }\n]' },
      { name: 'bad', value: '[1,]' },
      { name: 'bad', value: '["second try"]' },
      { name: 'tail', value: '[1] trailing text]' },
      { name: 'notarray', value: '[1' },
      { name: 'brackets', value: 'x[1]' },
    ],
  });
  const o = alertObject({ event: e, managerName: 'm', time: TIME, alertId: 'x', logtest: false });
  assert.equal(member(o, 'data'), '{"list":["a",1.5,{"k":null}],"bad":["second try"],"tail":[1],"notarray":"[1","brackets":"x[1]"}');
});

test('description: $(field) substitution as ParseRuleComment does it', () => {
  const e = event({
    hostname: 'web01',
    programName: 'sshd',
    fields: { srcip: '10.0.0.1', dstuser: 'root', data: '' },
    dynamic: [{ name: 'Audit.Key', value: 'k1' }, { name: 'audit.key', value: 'k2' }],
  });
  const cases: [string, string][] = [
    ['from $(srcip) to $(dstuser)', 'from 10.0.0.1 to root'],
    ['$(program_name) on $(hostname)', 'sshd on web01'],
    ['key $(audit.key)', 'key k1'],
    ['missing [$(srcport)] [$(nothing)] [$(data)]', 'missing [] [] []'],
    ['$(SRCIP) is not static', ' is not static'],
    ['unclosed $(srcip', 'unclosed $(srcip'],
    ['two $(srcip) then $(x', 'two 10.0.0.1 then $(x'],
    ['$()', ''],
    ['no fields', 'no fields'],
  ];
  for (const [d, want] of cases) assert.equal(ruleDescription(d, e), want, d);
  // 1,024 bytes or more after substitution: the description as written.
  const long = 'x'.repeat(1016) + ' $(srcip)';
  assert.equal(ruleDescription(long, e), long);
  const fits = 'x'.repeat(1014) + ' $(srcip)';
  assert.equal(ruleDescription(fits, e), 'x'.repeat(1014) + ' 10.0.0.1');
  // Only the first 1,024 bytes are read: a field beyond them is not substituted, but the text is cut.
  const over = 'y'.repeat(1030) + '$(srcip)';
  assert.equal(ruleDescription(over, e), over);
});

test('groups: compliance arrays split off in order of first member, prefixes removed', () => {
  const o = alertObject({
    event: event(),
    fired: fired({ groups: ['tsc_CC7.2', 'syslog', 'hipaa_164.312.b', 'nist_800_53_AU.14', 'gpg13_7.8', 'cis_4.1', 'gdpr_IV_32.2', 'pci_dss_10.6.1', 'nist_800_53_AC.7', 'pci_dss_'] }),
    managerName: 'm', time: TIME, alertId: 'x', logtest: false,
  });
  assert.equal(
    alertLine({ r: o.get('rule') }),
    '{"r":{"level":5,"description":"A rule","id":"100001","firedtimes":1,"mail":false,"groups":["syslog"],' +
      '"tsc":["CC7.2"],"hipaa":["164.312.b"],"nist_800_53":["AU.14","AC.7"],"gpg13":["7.8"],"cis":["4.1"],"gdpr":["IV_32.2"],"pci_dss":["10.6.1",""]}}',
  );
  // The group string is read through 1,023 bytes: later groups are lost.
  const many = Array.from({ length: 120 }, (_, i) => `group_${String(i).padStart(3, '0')}`);
  const cut = alertObject({ event: event(), fired: fired({ groups: many }), managerName: 'm', time: TIME, alertId: 'x', logtest: false });
  const kept = (cut.get('rule') as JsonObject).get('groups') as JsonValue[];
  assert.equal(kept.length, 103);
  assert.equal(kept[101], 'group_101');
  assert.equal(kept[102], 'gro');
});

test('timestamp: local time with a fixed or the process offset', () => {
  assert.equal(alertTimestamp(TIME, 0), '2024-01-02T03:04:05.678+0000');
  assert.equal(alertTimestamp(TIME, 330), '2024-01-02T08:34:05.678+0530');
  assert.equal(alertTimestamp(TIME, -300), '2024-01-01T22:04:05.678-0500');
  assert.equal(alertTimestamp(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 7)), 0), '2024-01-02T03:04:05.007+0000');
  const local = alertTimestamp(TIME);
  assert.match(local, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.678[+-]\d{4}$/);
  assert.equal(local, alertTimestamp(TIME, -TIME.getTimezoneOffset()));
});

test('text: the line holds the ByteStrings\' bytes, so UTF-8 text prints as itself', () => {
  const o = alertObject({
    event: event({ fullLog: toBytes('Mär 02 17:30:52 host sshd: ü'), timestamp: toBytes('Mär 02 17:30:5'), decoder: { name: 'd', id: 1, type: 'syslog' }, dynamic: [{ name: toBytes('schlüssel'), value: toBytes('wert€') }] }),
    fired: fired({ description: toBytes('Über $(schlüssel)'), groups: [toBytes('grüppe')] }),
    managerName: 'm', time: TIME, alertId: 'x', logtest: false,
  });
  const l = fromBytes(alertLine(o));
  assert.ok(l.includes('"full_log":"Mär 02 17:30:52 host sshd: ü"'), l);
  assert.ok(l.includes('"description":"Über wert€"'), l);
  assert.ok(l.includes('"groups":["grüppe"]'), l);
  assert.ok(l.includes('"data":{"schlüssel":"wert€"}'), l);
  assert.ok(l.includes('"predecoder":{"timestamp":"Mär 02 17:30:5"}'), l);
  assert.deepEqual(JSON.parse(l), plain(o));
});

test('text: invalid UTF-8 is printed byte for byte, as the C prints it', () => {
  const o = alertObject({
    event: event({ fullLog: 'bad \xff\xfe\xc3 end', decoder: { name: 'd', id: 1, type: 'syslog' }, dynamic: [{ name: 'k\xe9', value: '\x80[' }] }),
    managerName: 'm', time: TIME, alertId: 'x', logtest: false,
  });
  const bytes = Buffer.from(alertLine(o), 'latin1');
  assert.ok(bytes.includes(Buffer.from([0x22, 0x62, 0x61, 0x64, 0x20, 0xff, 0xfe, 0xc3, 0x20, 0x65, 0x6e, 0x64, 0x22])), bytes.toString('latin1'));
  assert.ok(bytes.includes(Buffer.from([0x22, 0x6b, 0xe9, 0x22, 0x3a, 0x22, 0x80, 0x5b, 0x22])), bytes.toString('latin1'));
});
