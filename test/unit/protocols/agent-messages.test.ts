import assert from 'node:assert/strict';
import test from 'node:test';
import {
  AGENT_ACK, AGENT_SHUTDOWN, classifyAgentMessage, eventLine, eventText, keepaliveText, mergedPush, parseKeepalive, parseUname,
  startupAnswer, startupText, type AgentMessage, type KeepaliveInfo, type KeepaliveParts, type OsFields,
} from '../../../protocols/agent-messages.js';

const MANAGER = 'v4.14.5';
const ERR_HIGH = '#!-err {"message":"Agent version must be lower or equal to manager version"}';
const ERR_MISSING = '#!-err {"message":"Couldn\'t retrieve version"}';
const MD5 = 'ab73af41699f13fdd81903b5f23d8d00';
const MERGED = 'd6e3ac3e75ca0319af3e7c262776f331';

const msg = (s: string): AgentMessage => classifyAgentMessage(Buffer.from(s, 'latin1'));

function keepalive(s: string): KeepaliveInfo {
  const m = msg(s);
  assert.equal(m.kind, 'keepalive');
  return (m as Extract<AgentMessage, { kind: 'keepalive' }>).info;
}

function startup(s: string): Extract<AgentMessage, { kind: 'startup' }> {
  const m = msg(s);
  assert.equal(m.kind, 'startup');
  return m as Extract<AgentMessage, { kind: 'startup' }>;
}

const os = (fields: Partial<OsFields>): OsFields => ({
  name: null, platform: null, version: null, codename: null, major: null, minor: null, build: null, arch: null, ...fields,
});

// §7.1, captured from the simulator.
const DEBIAN_UNAME = 'Linux |agent-debian10 |4.9.0-12-amd64 |#1 SMP Debian 4.9.210-1 (2020-01-20) |x86_64 [Debian GNU/Linux|debian: 10 (buster)]';
const SIMULATOR_KEEPALIVE = `#!-${DEBIAN_UNAME} - Wazuh v4.14.5 / ${MD5}\n"env":ci\n${MERGED} merged.mg\n#"_agent_ip":10.0.2.15\n`;

test('agent-messages - the §7.1 simulator keepalive, every field', () => {
  assert.deepEqual(keepalive(SIMULATOR_KEEPALIVE), {
    uname: DEBIAN_UNAME,
    version: 'Wazuh v4.14.5',
    configSum: MD5,
    mergedSum: MERGED,
    agentIp: '10.0.2.15',
    labels: '"env":ci',
    os: os({ name: 'Debian GNU/Linux', platform: 'debian', version: '10', codename: 'buster', major: '10', arch: 'x86_64' }),
  });
});

test('agent-messages - an Ubuntu keepalive with codename, several labels and no agent.conf sum', () => {
  const uname = 'Linux |web01 |5.4.0-110-generic |#124-Ubuntu SMP Thu Apr 14 19:46:19 UTC 2022 |x86_64 [Ubuntu|ubuntu: 20.04.4 LTS (Focal Fossa)]';
  const info = keepalive(`#!-${uname} - Wazuh v4.14.5\n#"group":web\n!"k":v\n"a":b\nx merged.mg\n`);
  assert.equal(info.uname, uname);
  assert.equal(info.version, 'Wazuh v4.14.5');
  assert.equal(info.configSum, null);
  assert.equal(info.mergedSum, 'x');
  assert.equal(info.agentIp, null);
  assert.equal(info.labels, '#"group":web\n!"k":v\n"a":b');
  assert.deepEqual(info.os, os({
    name: 'Ubuntu', platform: 'ubuntu', version: '20.04.4 LTS', codename: 'Focal Fossa', major: '20', minor: '04', arch: 'x86_64',
  }));
});

test('agent-messages - a Windows keepalive', () => {
  const uname = 'Microsoft Windows 10 Pro [Ver: 10.0.19045.2006] |DESKTOP-1 |x86_64';
  const info = keepalive(`#!-${uname} - Wazuh v4.14.5 / ${MD5}\n${MERGED} merged.mg\n#"_agent_ip":192.168.1.7\n`);
  assert.equal(info.uname, uname);
  assert.equal(info.version, 'Wazuh v4.14.5');
  assert.equal(info.configSum, MD5);
  assert.equal(info.agentIp, '192.168.1.7');
  assert.equal(info.labels, '');
  assert.deepEqual(info.os, os({
    name: 'Microsoft Windows 10 Pro', platform: 'windows', version: '10.0.19045.2006', major: '10', minor: '0', build: '19045', arch: 'x86_64',
  }));
});

test('agent-messages - uname rules: SUSE SP minor, arch order, ARM, fallbacks', () => {
  assert.deepEqual(parseUname('Linux |sles |5.14.21 |#1 SMP |x86_64 [SUSE Linux Enterprise Server 15 SP7|sles: 15-SP7]'), os({
    name: 'SUSE Linux Enterprise Server 15 SP7', platform: 'sles', version: '15-SP7', major: '15', minor: '7', arch: 'x86_64',
  }));
  assert.deepEqual(parseUname('Linux |c7 |3.10.0 |#1 SMP |x86_64 [CentOS Linux|centos: 7.9.2009 (Core)]'), os({
    name: 'CentOS Linux', platform: 'centos', version: '7.9.2009', codename: 'Core', major: '7', minor: '9', arch: 'x86_64',
  }));
  assert.equal(parseUname('Linux |pi |6.1.0 |#1 SMP |aarch64 [Debian GNU/Linux|debian: 12 (bookworm)]').arch, 'aarch64');
  assert.equal(parseUname('Darwin |mac |21.6.0 |Darwin Kernel Version 21.6.0: x; root:xnu/RELEASE_ARM64 |arm64 [macOS|darwin: 12.6 (Monterey)]').arch, 'arm64');
  // x86_64 comes before amd64 in the list even though amd64 appears first in the text.
  assert.equal(parseUname('Linux |h |4.9.0-12-amd64 |#1 |x86_64 [Debian GNU/Linux|debian: 10 (buster)]').arch, 'x86_64');
  assert.deepEqual(parseUname('Linux agent1 5.10.0 #1 SMP x86_64'), os({ arch: 'x86_64' }));
  assert.deepEqual(parseUname('No system info available'), os({}));
  const info = keepalive('#!-No system info available - Wazuh v4.14.5\nx merged.mg\n');
  assert.equal(info.uname, 'No system info available');
  assert.equal(info.version, 'Wazuh v4.14.5');
  assert.deepEqual(info.os, os({}));
});

test('agent-messages - keepalive cleaning: no newline is invalid, text after the last newline is dropped', () => {
  assert.equal(parseKeepalive(`${DEBIAN_UNAME} - Wazuh v4.14.5 / ${MD5}`), null);
  const noNewline = msg(`#!-${DEBIAN_UNAME} - Wazuh v4.14.5 / ${MD5}`);
  assert.equal(noNewline.kind, 'invalid');
  const withJunk = keepalive(`${SIMULATOR_KEEPALIVE}Zq8rX3 random`);
  assert.deepEqual(withJunk, keepalive(SIMULATOR_KEEPALIVE));
  // The random string cut off the last line: that line is lost, as in the manager.
  const cut = keepalive(`#!-${DEBIAN_UNAME} - Wazuh v4.14.5 / ${MD5}\n${MERGED} merged.mg`);
  assert.equal(cut.mergedSum, null);
  assert.equal(cut.configSum, MD5);
  // Without ' / ', the version starts at 'Wazuh'.
  assert.equal(keepalive(`#!-${DEBIAN_UNAME} - junk Wazuh v4.14.5\n`).version, 'Wazuh v4.14.5');
});

test('agent-messages - startup with and without JSON, and its answers', () => {
  const real = startup('#!-agent startup {"version":"v4.14.5"}');
  assert.deepEqual(real, { kind: 'startup', version: 'v4.14.5', badJson: false });
  assert.equal(startupAnswer(real, MANAGER), AGENT_ACK);
  assert.equal(startupAnswer(startup('#!-agent startup {"version":"v4.9.0"}'), MANAGER), AGENT_ACK);

  const simulator = startup('#!-agent startup ');
  assert.deepEqual(simulator, { kind: 'startup', version: null, badJson: false });
  assert.equal(startupAnswer(simulator, MANAGER), AGENT_ACK);
  assert.deepEqual(startup('#!-agent startup'), simulator);

  const newer = startup('#!-agent startup {"version":"v4.15.0"}');
  assert.equal(startupAnswer(newer, MANAGER), ERR_HIGH);
  assert.equal(startupAnswer(newer, MANAGER, true), AGENT_ACK);
  assert.equal(startupAnswer(startup('#!-agent startup {"version":"Wazuh v5.0.0"}'), MANAGER), ERR_HIGH);

  const noVersion = startup('#!-agent startup {"name":"x"}');
  assert.deepEqual(noVersion, { kind: 'startup', version: null, badJson: true });
  assert.equal(startupAnswer(noVersion, MANAGER), ERR_MISSING);
  assert.equal(startupAnswer(startup('#!-agent startup {"version":'), MANAGER), ERR_MISSING);
  assert.equal(startupAnswer(startup('#!-agent startup {"version":4}'), MANAGER), ERR_MISSING);
});

test('agent-messages - shutdown, request answers, unknown control and empty payloads', () => {
  assert.deepEqual(msg('#!-agent shutdown '), { kind: 'shutdown' });
  assert.deepEqual(msg('#!-agent shutdown'), { kind: 'shutdown' });
  assert.deepEqual(msg('#!-req 1a2b ok {"error":0}'), { kind: 'request-answer', counter: '1a2b', body: 'ok {"error":0}' });
  assert.deepEqual(msg('#!-req 3f ack'), { kind: 'request-answer', counter: '3f', body: 'ack' });
  assert.equal(msg('#!-req 3f').kind, 'invalid');
  assert.deepEqual(msg('#!-force_something'), { kind: 'unknown-control', text: 'force_something' });
  assert.equal(msg('').kind, 'invalid');
  assert.equal(msg('#!-').kind, 'invalid');
});

test('agent-messages - events with any queue character and binary-ish text', () => {
  assert.deepEqual(msg('1:/var/log/auth.log:Jan 29 10:03:41 host sshd[1]: ok'), {
    kind: 'event', queue: '1', location: '/var/log/auth.log', text: 'Jan 29 10:03:41 host sshd[1]: ok',
  });
  assert.deepEqual(msg('x:syslog:hello'), { kind: 'event', queue: 'x', location: 'syslog', text: 'hello' });
  assert.deepEqual(msg('8:syscheck:{"type":"event"}'), { kind: 'event', queue: '8', location: 'syscheck', text: '{"type":"event"}' });
  assert.deepEqual(msg('1:keepalive:x'), { kind: 'event', queue: '1', location: 'keepalive', text: 'x' });
  assert.deepEqual(msg('1:loc:'), { kind: 'event', queue: '1', location: 'loc', text: '' });

  const bytes = Buffer.concat([Buffer.from('1:bin:', 'latin1'), Buffer.from([0x00, 0xff, 0x0a, 0x3a, 0xc3, 0xa9, 0x80])]);
  const m = classifyAgentMessage(bytes);
  assert.equal(m.kind, 'event');
  const ev = m as Extract<AgentMessage, { kind: 'event' }>;
  assert.equal(ev.location, 'bin');
  assert.deepEqual(Buffer.from(ev.text, 'latin1'), bytes.subarray(6));

  assert.equal(msg('1').kind, 'invalid');
  assert.equal(msg('1/var/log:x').kind, 'invalid');
  assert.equal(msg('1:no-second-colon').kind, 'invalid');
});

test('agent-messages - mergedPush: header, chunks of at most 900 bytes in order, close', () => {
  for (const size of [0, 1, 900, 901, 2000]) {
    const content = Buffer.alloc(size);
    for (let i = 0; i < size; i++) content[i] = 0x20 + (i % 90);
    const out = mergedPush(MERGED, 'merged.mg', content);
    assert.equal(out[0]?.toString('latin1'), `#!-up file ${MERGED} merged.mg\n`);
    assert.equal(out[out.length - 1]?.toString('latin1'), '#!-close file ');
    const chunks = out.slice(1, -1);
    assert.equal(chunks.length, Math.ceil(size / 900), `size ${size}`);
    for (const c of chunks) assert.ok(c.length > 0 && c.length <= 900);
    assert.deepEqual(Buffer.concat(chunks), content);
  }
});

test('agent-messages - eventLine escapes the source part only', () => {
  assert.equal(eventLine('1', '001', 'web01', 'any', '/var/log/syslog', 'a: b|c'), '1:[001] (web01) any->/var/log/syslog:a: b|c');
  assert.equal(eventLine('x', '002', 'we|b:1', 'fe80::1', 'C', '\\logs\\x.log:t'), 'x:[002] (we||b|:1) fe80|:|:1->C:\\logs\\x.log:t');
  // location + ':' + text is the original, however the location was split.
  const ev = msg('f:C:\\logs\\app.log:line') as Extract<AgentMessage, { kind: 'event' }>;
  assert.equal(eventLine(ev.queue, '003', 'w', 'any', ev.location, ev.text), 'f:[003] (w) any->C:\\logs\\app.log:line');
});

// Round trips: what the agent's half builds (the simulator's texts), the manager's half reads back.

/** As the simulator sends it: the text as UTF-8 bytes. */
const sent = (text: string): AgentMessage => classifyAgentMessage(Buffer.from(text, 'utf8'));

/** Builds a keepalive from `parts`, reads it as the manager does, and checks every field came back. */
function keepaliveRoundTrip(parts: KeepaliveParts, labels: string): KeepaliveInfo {
  const m = sent(keepaliveText(parts));
  assert.equal(m.kind, 'keepalive');
  const info = (m as Extract<AgentMessage, { kind: 'keepalive' }>).info;
  assert.equal(info.uname, parts.uname);
  assert.equal(info.version, `Wazuh ${parts.version}`);
  assert.equal(info.configSum, parts.agentConfSum);
  assert.equal(info.mergedSum, parts.mergedSum);
  assert.equal(info.agentIp, parts.agentIp);
  assert.equal(info.labels, labels);
  assert.deepEqual(info.os, parseUname(parts.uname));
  return info;
}

test('agent-messages round trip - keepaliveText is read back field by field', () => {
  const info = keepaliveRoundTrip({
    uname: DEBIAN_UNAME, version: 'v4.14.5', agentConfSum: MD5, labels: { env: 'ci', 'team.name': 'blue' }, mergedSum: MERGED, agentIp: '10.0.0.7',
  }, '"env":ci\n"team.name":blue');
  assert.equal(info.os.platform, 'debian');
});

test('agent-messages round trip - keepaliveText builds the captured §7.1 keepalive', () => {
  assert.equal(keepaliveText({ uname: DEBIAN_UNAME, version: 'v4.14.5', agentConfSum: MD5, labels: { env: 'ci' }, mergedSum: MERGED, agentIp: '10.0.2.15' }),
    SIMULATOR_KEEPALIVE);
});

test('agent-messages round trip - a keepalive without agent.conf, labels or merged.mg', () => {
  const uname = 'Microsoft Windows 10 Pro [Ver: 10.0.19045.2006] |win01 |x86_64';
  const info = keepaliveRoundTrip({ uname, version: 'v4.9.0', agentConfSum: null, mergedSum: 'x', agentIp: '192.168.1.20' }, '');
  assert.equal(info.os.platform, 'windows');
});

test('agent-messages round trip - startupText is a startup with its version, answered by the version rule', () => {
  for (const version of ['v4.14.5', 'v4.9.0', 'v5.0.0']) {
    assert.deepEqual(sent(startupText(version)), { kind: 'startup', version, badJson: false });
  }
  assert.equal(startupAnswer(startup(startupText('v4.9.0')), MANAGER), AGENT_ACK);
  assert.equal(startupAnswer(startup(startupText('v5.0.0')), MANAGER), ERR_HIGH);
});

test('agent-messages round trip - the shutdown text and events', () => {
  assert.deepEqual(sent(AGENT_SHUTDOWN), { kind: 'shutdown' });
  assert.deepEqual(sent(eventText('1', '/var/log/syslog', 'Jan 29 10:03:41 web01 sshd[42]: a: b')),
    { kind: 'event', queue: '1', location: '/var/log/syslog', text: 'Jan 29 10:03:41 web01 sshd[42]: a: b' });
  assert.deepEqual(sent(eventText('x', 'journald', '')), { kind: 'event', queue: 'x', location: 'journald', text: '' });
});
