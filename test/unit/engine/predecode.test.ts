import assert from 'node:assert/strict';
import fs from 'node:fs';
import test, { type TestContext } from 'node:test';
import { PredecodeError, agentIpFromLocation, predecode } from '../../../engine/predecode.js';
import { escapeLocation } from '../../../protocols/logtest/request.js';
import { fromBytes, toBytes, type EngineEvent } from '../../../engine/types.js';
import { missingData, upstreamData } from '../../harness/upstream-data.js';

const MANAGER = 'wazuh-manager';

/** Pre-decodes a manager-local event the way logtest feeds one (`1:stdin:<log>`). */
function local(log: string, location = 'stdin'): EngineEvent {
  return predecode(toBytes(`1:${location}:${log}`), { managerHostname: MANAGER });
}

interface Expected {
  log: string;
  hostname: string;
  programName?: string;
  timestamp?: string;
}

/** The header fields as text, with absent ones left out, so one deepEqual checks all. */
function header(e: EngineEvent): Expected {
  const out: Expected = { log: fromBytes(e.log), hostname: fromBytes(e.hostname) };
  if (e.programName !== undefined) out.programName = fromBytes(e.programName);
  if (e.timestamp !== undefined) out.timestamp = fromBytes(e.timestamp);
  return out;
}

/** The `log ... = value` lines of an upstream .ini test file, or undefined (the test skips) when absent. */
function iniLogs(t: TestContext, name: string): string[] | undefined {
  const parts = ['wazuh-ruleset-v4.14.5', 'testing', 'tests', name];
  const file = upstreamData(...parts);
  if (!file) {
    t.skip(missingData(...parts));
    return undefined;
  }
  const out: string[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^log [^=:]*[=:](.*)$/.exec(line);
    if (m?.[1] !== undefined) out.push(m[1].trim());
  }
  return out;
}

function iniLine(t: TestContext, name: string, startsWith: string): string | undefined {
  const logs = iniLogs(t, name);
  if (!logs) return undefined;
  const line = logs.find((l) => l.startsWith(startsWith));
  assert.ok(line, `${name} has no log line starting ${JSON.stringify(startsWith)}`);
  return line;
}

test('upstream lines: BSD syslog with program[pid]: (sshd.ini)', (t) => {
  const line = iniLine(t, 'sshd.ini', 'Feb  9 11:44:56 someserver sshd[1234]: ');
  if (!line) return;
  assert.deepEqual(header(local(line)), {
    log: line.slice('Feb  9 11:44:56 someserver sshd[1234]: '.length),
    hostname: 'someserver',
    programName: 'sshd',
    timestamp: 'Feb  9 11:44:56',
  });
});

test('upstream lines: [ID n facility.severity] is removed from the log (sshd.ini)', (t) => {
  const line = iniLine(t, 'sshd.ini', 'Aug 18 07:30:25 192.168.1.5 sshd[20247]: [ID 800047 auth.notice] ');
  if (!line) return;
  assert.deepEqual(header(local(line)), {
    log: line.slice(line.indexOf('] Failed') + 2),
    hostname: '192.168.1.5',
    programName: 'sshd',
    timestamp: 'Aug 18 07:30:25',
  });
});

test('upstream lines: Solaris style, the first name is the program (dovecot.ini)', (t) => {
  const logs = iniLogs(t, 'dovecot.ini');
  if (!logs) return;
  const line = logs.find((l) => /^[A-Z][a-z]{2} [ \d]\d [\d:]{8} Info: /.test(l));
  assert.ok(line, 'dovecot.ini has a header-without-hostname line');
  assert.deepEqual(header(local(line)), {
    log: line.slice(22),
    hostname: MANAGER,
    programName: 'Info',
    timestamp: line.slice(0, 15),
  });
});

test('upstream lines: a name followed by neither ":" nor "[pid]" is no program name (SonicWall.ini)', (t) => {
  const line = iniLine(t, 'SonicWall.ini', 'Jan  3 13:45:36 192.168.5.1 id=firewall ');
  if (!line) return;
  assert.deepEqual(header(local(line)), { log: line.slice(28), hostname: '192.168.5.1', timestamp: 'Jan  3 13:45:36' });
});

test('upstream lines: apache [Fri Feb 11 18:06:35 2004] and its microsecond variant (apache.ini)', (t) => {
  const logs = iniLogs(t, 'apache.ini');
  if (!logs) return;
  const plain = logs.find((l) => /^\[[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d [\d:]{8} \d{4}\] /.test(l));
  assert.ok(plain);
  assert.deepEqual(header(local(plain)), { log: plain.slice(27), hostname: MANAGER, timestamp: plain.slice(1, 25) });
  // A fraction after the seconds moves the year: no header format fits, nothing is taken.
  const micro = logs.find((l) => /^\[[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d [\d:]{8}\.\d+ \d{4}\] /.test(l));
  assert.ok(micro);
  assert.deepEqual(header(local(micro)), { log: micro, hostname: MANAGER });
});

test('upstream lines: vsftpd "Wed Jul 27 18:32:27 2016 [pid 2]" is no xferlog header (vsftpd.ini)', (t) => {
  const line = iniLogs(t, 'vsftpd.ini')?.[0];
  if (line === undefined) return;
  assert.match(line, /^[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d [\d:]{8} \d{4} \[pid/);
  assert.deepEqual(header(local(line)), { log: line, hostname: MANAGER });
});

test('upstream lines: squid epoch time (squid_rules.ini)', (t) => {
  const line = iniLogs(t, 'squid_rules.ini')?.find((l) => /^1\d{9}\.\d{3} {3}\d/.test(l));
  if (line === undefined) return;
  // The C ends the timestamp one byte before the first field: the other spaces stay in it.
  assert.deepEqual(header(local(line)), { log: line.slice(17), hostname: MANAGER, timestamp: line.slice(0, 16) });
  assert.equal(fromBytes(local(line).timestamp ?? ''), line.slice(0, 14) + '  ');
});

test('upstream lines: macOS ULS with two spaces before the hostname (macos.ini)', (t) => {
  const line = iniLogs(t, 'macos.ini')?.find((l) => l.includes(' localhost tccd['));
  if (line === undefined) return;
  assert.equal(line.slice(31, 33), '  ');
  const afterPid = line.indexOf(']: ') + 3;
  assert.deepEqual(header(local(line)), {
    log: line.slice(afterPid),
    hostname: 'localhost',
    programName: 'tccd',
    timestamp: line.slice(0, 31),
  });
});

test('upstream lines: proftpd 1.3.5 time and a "name[pid] " without colon (proftpd.ini)', (t) => {
  const line = iniLogs(t, 'proftpd.ini')?.find((l) => /^\d{4}-\d\d-\d\d [\d:]{8},\d{3} /.test(l));
  if (line === undefined) return;
  assert.deepEqual(header(local(line)), {
    log: line.slice(line.indexOf('] ') + 2),
    hostname: 'zuse',
    programName: 'proftpd',
    timestamp: line.slice(0, 23),
  });
});

test('upstream lines: ISO 8601 with an offset (fortiauth.ini) and with an unexpected fraction (exchange.ini)', (t) => {
  const iso = iniLogs(t, 'fortiauth.ini')?.find((l) => /^\d{4}-\d\d-\d\dT[\d:]{8}-\d\d:\d\d /.test(l));
  if (iso === undefined) return;
  assert.deepEqual(header(local(iso)), {
    log: iso.slice(iso.indexOf(']: ') + 3),
    hostname: 'XXX.XXX.XXX.XXX',
    programName: 'db',
    timestamp: iso.slice(0, 25),
  });
  // `.255Z,...`: no ':' at 26 or 29, so the C takes 32 bytes blindly; what follows is no hostname.
  const csv = iniLogs(t, 'exchange.ini')?.find((l) => /^\d{4}-\d\d-\d\dT[\d:]{8}\.\d{3}Z,/.test(l) && l.length > 40);
  if (csv === undefined) return;
  assert.deepEqual(header(local(csv)), { log: csv.slice(32), hostname: MANAGER, timestamp: csv.slice(0, 31) });
});

test('upstream lines: year-first time followed by an invalid hostname (cisco_ios.ini)', (t) => {
  const line = iniLogs(t, 'cisco_ios.ini')?.find((l) => /^\d{4} [A-Z][a-z]{2} \d\d [\d:]{8} [\w-]+->/.test(l));
  if (line === undefined) return;
  assert.deepEqual(header(local(line)), { log: line.slice(21), hostname: MANAGER, timestamp: line.slice(0, 20) });
});

test('BSD syslog: every accepted program-name ending', () => {
  const ts = 'Dec 29 10:00:01';
  const cases: [string, Expected][] = [
    ['host sshd: msg', { log: 'msg', hostname: 'host', programName: 'sshd', timestamp: ts }],
    ['host sshd:msg', { log: 'msg', hostname: 'host', programName: 'sshd', timestamp: ts }],
    ['host sshd[12]: msg', { log: 'msg', hostname: 'host', programName: 'sshd', timestamp: ts }],
    ['host sshd[12]:msg', { log: 'msg', hostname: 'host', programName: 'sshd', timestamp: ts }],
    ['host sshd[12] msg', { log: 'msg', hostname: 'host', programName: 'sshd', timestamp: ts }],
    // A broken pid: the '[' is put back, no program name, the log starts at the name.
    ['host sshd[12x msg', { log: 'sshd[12x msg', hostname: 'host', timestamp: ts }],
    ['host sshd[x] msg', { log: 'sshd[x] msg', hostname: 'host', timestamp: ts }],
    ['host sshd msg', { log: 'sshd msg', hostname: 'host', timestamp: ts }],
    ['host : msg', { log: 'msg', hostname: 'host', programName: '', timestamp: ts }],
    ['h.example.com/x@y(z)_1-2 p(x)/y@z.w-1_2: msg', { log: 'msg', hostname: 'h.example.com/x@y(z)_1-2', programName: 'p(x)/y@z.w-1_2', timestamp: ts }],
    // One extra space is skipped; with two, the hostname is empty.
    [' host sshd: msg', { log: 'msg', hostname: 'host', programName: 'sshd', timestamp: ts }],
    ['  sshd: msg', { log: 'msg', hostname: '', programName: 'sshd', timestamp: ts }],
  ];
  for (const [rest, expected] of cases) assert.deepEqual(header(local(`${ts} ${rest}`)), expected, rest);
});

test('BSD syslog: Solaris style, invalid hostnames and [ID ...]', () => {
  const ts = 'Dec 29 10:00:01';
  assert.deepEqual(header(local(`${ts} sshd: msg`)), { log: 'msg', hostname: MANAGER, programName: 'sshd', timestamp: ts });
  // Solaris needs ": " exactly; anything but a space after the name makes it no hostname.
  assert.deepEqual(header(local(`${ts} sshd:msg`)), { log: 'sshd:msg', hostname: MANAGER, timestamp: ts });
  assert.deepEqual(header(local(`${ts} host,x p: msg`)), { log: 'host,x p: msg', hostname: MANAGER, timestamp: ts });
  assert.deepEqual(header(local(`${ts} host`)), { log: 'host', hostname: MANAGER, timestamp: ts });
  assert.deepEqual(header(local(`${ts} h p[1]: [ID 123 auth.info] msg`)), { log: 'msg', hostname: 'h', programName: 'p', timestamp: ts });
  assert.deepEqual(header(local(`${ts} h p: [ID 123 auth.info]`)), { log: '', hostname: 'h', programName: 'p', timestamp: ts });
  assert.deepEqual(header(local(`${ts} h p: [ID 123 no close`)), { log: '[ID 123 no close', hostname: 'h', programName: 'p', timestamp: ts });
  assert.deepEqual(header(local(`${ts} h: [ID 1 a.b] msg`)), { log: 'msg', hostname: MANAGER, programName: 'h', timestamp: ts });
});

test('AIX: host facility|x:severity program endings', () => {
  const ts = 'Dec 29 10:00:01';
  assert.deepEqual(header(local(`${ts} h auth|security:info sshd: msg`)), { log: 'msg', hostname: 'h', programName: 'sshd', timestamp: ts });
  assert.deepEqual(header(local(`${ts} h auth|security:info sshd[1]: msg`)), { log: 'msg', hostname: 'h', programName: 'sshd', timestamp: ts });
  // "[pid]" without ": ": the C has already ended the name at '[', and that NUL ends the log too.
  assert.deepEqual(header(local(`${ts} h auth|security:info sshd[1] msg`)), { log: 'auth|security:info sshd', hostname: 'h', programName: 'sshd', timestamp: ts });
  // No terminator at all: the name is never ended, so it runs to the end of the message.
  assert.deepEqual(header(local(`${ts} h auth|security:info sshd msg`)), { log: ' msg', hostname: 'h', programName: 'sshd msg', timestamp: ts });
  // Not AIX after all: upper case after '|', or no ':' or space where they belong.
  assert.deepEqual(header(local(`${ts} h auth|Security:info sshd: msg`)), { log: 'auth|Security:info sshd: msg', hostname: 'h', timestamp: ts });
  assert.deepEqual(header(local(`${ts} h auth|security sshd: msg`)), { log: 'auth|security sshd: msg', hostname: 'h', timestamp: ts });
  assert.deepEqual(header(local(`${ts} h auth|security:info:sshd: msg`)), { log: 'auth|security:info:sshd: msg', hostname: 'h', timestamp: ts });
});

test('every timestamp format: header length, timestamp text, hostname and program', () => {
  const tail = 'host prog[1]: body of the message';
  const withHost = { log: 'body of the message', hostname: 'host', programName: 'prog' };
  const cases: [string, string][] = [
    ['Dec 29 10:00:01', 'bsd'],
    ['2015-04-16 21:51:02,805', 'proftpd'],
    ['2007-06-14T15:48:55-04:00', 'iso'],
    ['2022-12-19T15:02:53.288+00:00', 'iso millis'],
    ['2009-05-22T09:36:46.214994-07:00', 'iso micros'],
    ['2015 Dec 29 10:00:01', 'year first'],
    ['2021-04-21 10:16:09.404756-0700', 'macOS ULS'],
  ];
  for (const [ts, name] of cases) assert.deepEqual(header(local(`${ts} ${tail}`)), { ...withHost, timestamp: ts }, name);
  // Another fraction with 'T' and no ':' at 26 or 29: 32 bytes are skipped blindly, the last one dropped.
  assert.deepEqual(header(local('2009-05-22T09:36:46.21Z host prog: msg')), {
    log: 'msg', hostname: MANAGER, programName: 'g', timestamp: '2009-05-22T09:36:46.21Z host pr',
  });
});

test('timestamp-only formats: xferlog, snort, suricata, apache, squid', () => {
  assert.deepEqual(header(local('Mon Apr 17 18:27:14 2006 1 64.160.42.130 5 /f b _ o r u ftp 0 * c')), {
    log: '1 64.160.42.130 5 /f b _ o r u ftp 0 * c', hostname: MANAGER, timestamp: 'Mon Apr 17 18:27:14 2006',
  });
  assert.deepEqual(header(local('01/28-09:13:16.240702  [**] [1:2:3] alert')), {
    log: '[**] [1:2:3] alert', hostname: MANAGER, timestamp: '01/28-09:13:16.240702',
  });
  // snort skips 23 bytes whatever byte 22 is.
  assert.deepEqual(header(local('01/28-09:13:16.240702 x[**] alert')), { log: '[**] alert', hostname: MANAGER, timestamp: '01/28-09:13:16.240702' });
  assert.deepEqual(header(local('01/28/1979-09:13:16.240702  [**] alert')), {
    log: '[**] alert', hostname: MANAGER, timestamp: '01/28/1979-09:13:16.240702',
  });
  assert.deepEqual(header(local('[Fri Feb 11 18:06:35 2004] [warn] something')), {
    log: '[warn] something', hostname: MANAGER, timestamp: 'Fri Feb 11 18:06:35 2004',
  });
  assert.deepEqual(header(local('1140804070.368  11623 10.0.0.1 TCP_MISS/200 1 GET u')), {
    log: '11623 10.0.0.1 TCP_MISS/200 1 GET u', hostname: MANAGER, timestamp: '1140804070.368 ',
  });
});

test('OS X ASL: Sender, Message and Host entries', () => {
  const full = '[Time 2006.12.28 15:53:55 UTC] [Facility auth] [Sender sshd] [PID 483] [Message error: PAM: failure for u from 192.168.0.2] [Level 3] [UID -2] [GID -2] [Host Hostname]';
  assert.deepEqual(header(local(full)), { log: 'error: PAM: failure for u from 192.168.0.2', hostname: 'Hostname', programName: 'sshd' });
  // Without a Message entry the log runs from byte 25 to the first value the C ended.
  assert.deepEqual(header(local('[Time 2006.12.28 15:53:55 UTC] [Facility auth] [Sender sshd] [Host h]')), {
    log: ' UTC] [Facility auth] [Sender sshd', hostname: 'h', programName: 'sshd',
  });
  // Only the first Message counts; Host ends the scan; a later Sender is ignored.
  assert.deepEqual(header(local('[Time 2006.12.28 15:53:55 UTC] [Message one] [Message two] [Host h] [Sender late]')), {
    log: 'one', hostname: 'h',
  });
  // A Message without ']' runs to the end and stops the scan.
  assert.deepEqual(header(local('[Time 2006.12.28 15:53:55 UTC] [Sender s] [Message open to the end')), {
    log: 'open to the end', hostname: MANAGER, programName: 's',
  });
});

test('the Mär repair: formats are recognised, the timestamp loses its last byte', () => {
  assert.deepEqual(header(local('Mär 02 17:30:52 linux-agent sshd[29205]: Invalid user blimey')), {
    log: 'Invalid user blimey', hostname: 'linux-agent', programName: 'sshd', timestamp: 'Mär 02 17:30:5',
  });
  const e = local('Mär 02 17:30:52 h p: x');
  assert.equal(fromBytes(e.fullLog), 'Mär 02 17:30:52 h p: x');
});

test('minimum lengths: the shortest message each format accepts, and one byte less', () => {
  // [shortest accepted message, the C's loglen bound (strlen + 1 > bound)]
  const cases: [string, number][] = [
    ['Dec 29 10:00:01 h', 17],
    ['2015-04-16 21:51:02,805 ', 24],
    ['2007-06-14T15:48:55-04:00 h p: xx', 33],
    ['2015 Dec 29 10:00:01 ', 21],
    ['2021-04-21 10:16:09.404756-0700 h', 33],
    ['Mon Apr 17 18:27:14 2006 1 6', 28],
    ['01/28-09:13:16.240702  [', 24],
    ['01/28/1979-09:13:16.240702  ', 28],
    ['[Fri Feb 11 18:06:35 2004] ', 27],
    ['[Time 2006.12.28 15:53:55 ', 26],
    ['1140804070.368  11623 10.0.0.12 ', 32],
  ];
  for (const [enough, bound] of cases) {
    assert.equal(enough.length, bound, enough);
    const found = local(enough);
    const asl = enough.startsWith('[Time');
    assert.ok(asl ? found.log !== toBytes(enough) : found.timestamp !== undefined, `${enough} has a header`);
    const short = enough.slice(0, -1);
    const none = local(short);
    assert.equal(none.timestamp, undefined, short);
    assert.equal(none.log, toBytes(short), short);
  }
});

test('manager locations: agent 000, hostname from the header or the manager', () => {
  const e = local('Dec 29 10:00:01 web01 sshd: x', '/var/log/auth.log');
  assert.equal(e.queue, '1');
  assert.equal(e.location, '/var/log/auth.log');
  assert.equal(e.agentId, '000');
  assert.equal(e.hostname, 'web01');
  assert.equal(e.agentName, undefined);
  assert.equal(e.agentIp, undefined);
  assert.equal(local('no header here').hostname, MANAGER);
  assert.deepEqual(e.fields, {});
  assert.deepEqual(e.dynamic, []);
});

test('agent locations: id, name, ip, hostname and the location rules see', () => {
  const ctx = { managerHostname: MANAGER };
  const e = predecode(toBytes('1:[001] (web01) 10.0.0.5->/var/log/secure:Dec 29 10:00:01 other sshd[1]: x'), ctx);
  assert.deepEqual(
    { agentId: e.agentId, agentName: e.agentName, agentIp: e.agentIp, hostname: e.hostname, location: e.location, programName: e.programName, log: e.log },
    { agentId: '001', agentName: 'web01', agentIp: '10.0.0.5', hostname: 'web01', location: '(web01) 10.0.0.5->/var/log/secure', programName: 'sshd', log: 'x' },
  );
  const any = predecode(toBytes('f:[015] (DESKTOP) any->EventChannel:{"win":{}}'), ctx);
  assert.equal(any.queue, 'f');
  assert.equal(any.agentIp, undefined);
  assert.equal(any.location, '(DESKTOP) any->EventChannel');
  assert.equal(any.fullLog, '{"win":{}}');
  // An IPv6 agent address arrives with its colons escaped.
  const v6 = predecode(toBytes('1:[002] (h) fe80|:|:1->/var/log/x:msg'), ctx);
  assert.equal(v6.location, '(h) fe80::1->/var/log/x');
  assert.equal(v6.agentIp, 'fe80::1');
  assert.equal(v6.log, 'msg');
  // Odd shapes, as the C takes them.
  const bare = predecode(toBytes('1:[003]:m'), ctx);
  assert.deepEqual([bare.agentId, bare.location, bare.hostname, bare.agentName], ['003', '', '', undefined]);
  const noParen = predecode(toBytes('1:[004] xyz->p:m'), ctx);
  assert.deepEqual([noParen.location, noParen.hostname], ['xyz->p', '']);
  const open = predecode(toBytes('1:[005] (name->p:m'), ctx);
  assert.deepEqual([open.location, open.hostname, open.agentName], ['(name->p', '', '']);
  assert.throws(() => predecode(toBytes('1:[006 (x) y->z:m'), ctx), PredecodeError);
});

test('agent IP from a location: after ") ", up to "-"', () => {
  assert.equal(agentIpFromLocation('(a) 10.1.1.1->x'), '10.1.1.1');
  assert.equal(agentIpFromLocation('(a) any->x'), undefined);
  assert.equal(agentIpFromLocation('(a) 10.1.1.1'), '10.1.1.1');
  assert.equal(agentIpFromLocation('(a)'), undefined);
  assert.equal(agentIpFromLocation('(a) '), '');
  assert.equal(agentIpFromLocation('/var/log/x'), undefined);
});

test('location escapes: "|:" is ":", "||" is "|", the first unescaped ":" ends it', () => {
  const ctx = { managerHostname: MANAGER };
  const cases: [string, string, string][] = [
    ['2:0000|:0000|:0001:payload', '0000:0000:0001', 'payload'],
    ['1:a||:b', 'a|', 'b'],
    ['1:a|||::b', 'a|:', 'b'],
    ['1:a|x:b', 'ax', 'b'],
    ['1:loc:with:colons', 'loc', 'with:colons'],
    ['1:a:', 'a', ''],
    ['1::m', '', 'm'],
  ];
  for (const [msg, location, full] of cases) {
    const e = predecode(toBytes(msg), ctx);
    assert.deepEqual([e.location, e.fullLog], [location, full], msg);
  }
  // The unescaped location fits analysisd's 8,451-byte buffer.
  const long = predecode(toBytes(`1:${'|a'.repeat(9000)}:m`), ctx);
  assert.equal(long.location.length, 8450);
});

test('messages that cannot be split throw (1106)', () => {
  const ctx = { managerHostname: MANAGER };
  for (const bad of ['fail message', '1:a', '1:', '1', '', '1:only|:escaped']) {
    assert.throws(() => predecode(toBytes(bad), ctx), (err: unknown) => {
      assert.ok(err instanceof PredecodeError, bad);
      assert.equal(err.message, '(1106): String not correctly formatted.');
      return true;
    });
  }
});

test('the queue byte and the separator after it are not checked, a NUL ends the message', () => {
  const ctx = { managerHostname: MANAGER };
  const e = predecode(toBytes('5xloc:pay\0load'), ctx);
  assert.deepEqual([e.queue, e.location, e.fullLog], ['5', 'loc', 'pay']);
  assert.throws(() => predecode(toBytes('1:lo\0c:x'), ctx), PredecodeError);
});

test('the split undoes the logtest queue line\'s location escape (protocols escapeLocation)', () => {
  const ctx = { managerHostname: MANAGER };
  for (const loc of ['a:b', 'x||y', '|:|', '[001] (a) fe80::1->/x']) {
    assert.equal(predecode(`1:${escapeLocation(loc)}:m`, ctx).location, loc.startsWith('[') ? '(a) fe80::1->/x' : loc);
  }
});

test('speed: a typical line pre-decodes in well under the event budget', () => {
  const ctx = { managerHostname: MANAGER };
  const lines = [
    toBytes('1:/var/log/secure:Feb  9 11:44:56 someserver sshd[1234]: Failed password for root from 10.0.0.1 port 22 ssh2'),
    toBytes('1:[001] (web01) 10.0.0.5->/var/log/secure:Feb  9 11:44:56 web01 sshd[1234]: Accepted publickey for u'),
    toBytes('1:stdin:{"win":{"system":{"eventID":"4625"}}}'),
  ];
  for (let i = 0; i < 20000; i++) predecode(lines[i % 3] as string, ctx);
  const n = 300000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) predecode(lines[i % 3] as string, ctx);
  const perLine = Number(process.hrtime.bigint() - start) / n;
  console.log(`predecode: ${perLine.toFixed(0)} ns per line`);
  assert.ok(perLine < 5000, `${perLine} ns per line`);
});
