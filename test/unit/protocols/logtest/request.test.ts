import assert from 'node:assert/strict';
import test from 'node:test';
import { printJsonText } from '../../../../protocols/cjson.js';
import { checkRequest, escapeLocation, logtestQueueLine, type LogtestRequest } from '../../../../protocols/logtest/request.js';
import { errorReply } from '../../../../protocols/logtest/response.js';

const check = (text: string): LogtestRequest => checkRequest(Buffer.from(text, 'latin1'));

/** The reply a refused request gets, as bytes on the wire. */
function refusal(text: string): string {
  const r = check(text);
  assert.equal(r.kind, 'error', `expected ${text} to be refused`);
  return r.kind === 'error' ? printJsonText(errorReply(r.error, r.message)) : '';
}

const envelope = (command: string, parameters: string): string =>
  `{"version":1,"origin":{"name":"Integration Test","module":"api"},"command":${command},"parameters":${parameters}}`;
const logProcessing = (parameters: string): string => envelope('"log_processing"', parameters);
const EVENT = '"event":"Jun 24 11:54:19 Master systemd[2099]: Started VTE child process."';

test('logtest request - the two upstream 7307 cases: positions 14 and 13, windows byte-exact', () => {
  // tests/integration/test_logtest/test_invalid_socket_input: a key without its opening quote.
  assert.equal(
    refusal('{"version":1,origin":{"name":"Integration Test","module":"api"},"command":"log_processing","parameters":{"token":"4885bbf4","log_format":"syslog","location":"master->/var/log/syslog"}}'),
    '{"message":"(7307): Error parsing JSON in position 14, ... rsion\\":1,origin\\":{\\"n ...","error":1,"data":{}}',
  );
  // tests/integration/test_logtest/test_remove_session: a key that swallowed the colon.
  assert.equal(
    refusal('{"version:1,"origin":{"name":"Integration Test","module":"api"},"command":"remove_session","parameters":{"token":6}}'),
    '{"message":"(7307): Error parsing JSON in position 13, ... ersion:1,\\"origin\\":{\\" ...","error":1,"data":{}}',
  );
});

test('logtest request - the 7307 window starts 10 bytes back (clamped at 0) and stops at the NUL', () => {
  assert.equal(refusal('{x'), '{"message":"(7307): Error parsing JSON in position 2, ... {x ...","error":1,"data":{}}');
  assert.equal(refusal('[1,]\u0000zzzz'), '{"message":"(7307): Error parsing JSON in position 3, ... [1,] ...","error":1,"data":{}}');
  const r = check('x123456789abcdefghijklmnop');
  assert.ok(r.kind === 'error');
  assert.equal(r.message, '(7307): Error parsing JSON in position 0, ... x123456789abcdefghij ...');
  const late = check('{"abcdefghijklmnopqrstuvwxyz" 1}');
  assert.ok(late.kind === 'error');
  assert.equal(late.message, '(7307): Error parsing JSON in position 30, ... stuvwxyz" 1} ...');
});

test('logtest request - rows 2-6: parameters, then command, in that order', () => {
  const e2 = (msg: string): string => `{"message":"${msg}","error":2,"data":{}}`;
  assert.equal(refusal('[1,2]'), e2("(7313): 'parameters' JSON field not found"));
  assert.equal(refusal('"just text"'), e2("(7313): 'parameters' JSON field not found"));
  assert.equal(refusal('{"command":"log_processing"}'), e2("(7313): 'parameters' JSON field not found"));
  assert.equal(refusal('{"command":1,"parameters":[]}'), e2("(7317): 'parameters' JSON field value is not valid"));
  assert.equal(refusal('{"parameters":{}}'), e2("(7313): 'command' JSON field not found"));
  for (const bad of ['112', 'false', '["112"]', '{"command":"log_processing"}', 'null']) {
    assert.equal(refusal(envelope(bad, '{}')), e2("(7317): 'command' JSON field value is not valid"), bad);
  }
  assert.equal(refusal(envelope('"bad_command"', '{}')), '{"message":"(7306): Unable to process command","error":3,"data":{}}');
  // Names are case-sensitive; the first of duplicate members counts.
  assert.equal(refusal(envelope('"Log_Processing"', '{}')), '{"message":"(7306): Unable to process command","error":3,"data":{}}');
  assert.equal(check('{"command":"remove_session","command":"x","parameters":{"token":"abcdefgh"}}').kind, 'remove_session');
});

test('logtest request - rows 7-10 of log_processing: location, log_format, event presence, event value', () => {
  const e2 = (msg: string): string => `{"message":"${msg}","error":2,"data":{}}`;
  const location = e2("(7308): 'location' JSON field is required and must be a string");
  const logFormat = e2("(7308): 'log_format' JSON field is required and must be a string");
  assert.equal(refusal(logProcessing('{}')), location);
  assert.equal(refusal(logProcessing(`{"token":"4885bbf4",${EVENT},"log_format":"syslog"}`)), location);
  for (const bad of ['123456', '["test"]', 'false', 'null', '""', '"\\u0000x"']) {
    assert.equal(refusal(logProcessing(`{"location":${bad},${EVENT},"log_format":"syslog"}`)), location, bad);
    assert.equal(refusal(logProcessing(`{"location":"x",${EVENT},"log_format":${bad}}`)), logFormat, bad);
  }
  assert.equal(refusal(logProcessing('{"token":"4885bbf4","location":"master->/var/log/syslog"}')), logFormat);
  assert.equal(refusal(logProcessing('{"location":"stdin","log_format":"syslog"}')), e2("(7313): 'event' JSON field not found"));
  for (const bad of ['123456', '["test"]', 'true', 'null', '""', '{}']) {
    assert.equal(refusal(logProcessing(`{"event":${bad},"log_format":"syslog","location":"stdin"}`)), e2("(7317): 'event' JSON field value is not valid"), bad);
  }
});

test('logtest request - a valid log_processing: the event as text, an object event as its cJSON text', () => {
  const r = check(logProcessing('{"location":"master->/var/log/syslog","log_format":"syslog","event":"Oct 15 21:07:56 host sshd[1]: x"}'));
  assert.deepEqual(r, {
    kind: 'log_processing', location: 'master->/var/log/syslog', logFormat: 'syslog', event: 'Oct 15 21:07:56 host sshd[1]: x',
    token: null, rulesDebug: 'off', warnings: [],
  });
  const o = check(logProcessing('{"location":"stdin","log_format":"json","event":{"a": 1, "b" : [1.0, "x\\/y"], "a": 2e0}}'));
  assert.ok(o.kind === 'log_processing');
  assert.equal(o.event, '{"a":1,"b":[1,"x/y"],"a":2}');
});

test('logtest request - row 11: a token that is not an 8-byte string is a warning quoting it, and is dropped', () => {
  const warned = (token: string): [string, string | null] => {
    const r = check(logProcessing(`{"location":"stdin","log_format":"syslog",${EVENT},"token":${token}}`));
    assert.ok(r.kind === 'log_processing');
    assert.equal(r.warnings.length, 1);
    const w = r.warnings[0];
    assert.equal(w?.level, 'warning');
    return [w?.text ?? '', r.token];
  };
  assert.deepEqual(warned('"helloworld"'), ["(7309): 'helloworld' is not a valid token", null]);
  assert.deepEqual(warned('123123132'), ["(7309): '123123132' is not a valid token", null]);
  assert.deepEqual(warned('true'), ["(7309): 'true' is not a valid token", null]);
  assert.deepEqual(warned('null'), ["(7309): 'null' is not a valid token", null]);
  assert.deepEqual(warned('["hello","world!"]'), ['(7309): \'["hello","world!"]\' is not a valid token', null]);
  assert.deepEqual(warned('{}'), ["(7309): '{}' is not a valid token", null]);
  // Any 8 bytes are well-formed (no hex check); the session lookup decides.
  const ok = check(logProcessing(`{"location":"stdin","log_format":"syslog",${EVENT},"token":"ZZZZ zzz"}`));
  assert.ok(ok.kind === 'log_processing');
  assert.deepEqual([ok.token, ok.warnings], ['ZZZZ zzz', []]);
  // The warning text is cut at 2047 bytes, as analysisd's message buffer does.
  const huge = warned(`"${'x'.repeat(5000)}"`)[0];
  assert.equal(huge.length, 2047);
  assert.ok(huge.startsWith("(7309): 'xxx"));
});

test('logtest request - row 12 and rules_debug: options must be an object; rules_debug on, off or invalid', () => {
  const options = (value: string): LogtestRequest => check(logProcessing(`{"location":"stdin","log_format":"syslog",${EVENT},"options":${value}}`));
  const notObject = options('true');
  assert.ok(notObject.kind === 'log_processing');
  assert.deepEqual(notObject.warnings.map((w) => w.text), ["(7005): 'options' field must be a JSON object. The parameter will be ignored"]);
  assert.equal(notObject.rulesDebug, 'off');
  const cases: [string, string][] = [['{"rules_debug":true}', 'on'], ['{"rules_debug":false}', 'off'], ['{}', 'off'], ['{"rules_debug":"yes"}', 'invalid'], ['{"rules_debug":1}', 'invalid']];
  for (const [value, want] of cases) {
    const r = options(value);
    assert.ok(r.kind === 'log_processing');
    assert.equal(r.rulesDebug, want, value);
    assert.deepEqual(r.warnings, []);
  }
  // A bad token and bad options: both warnings, token first.
  const both = check(logProcessing(`{"token":1,"options":[],"location":"stdin","log_format":"syslog",${EVENT}}`));
  assert.ok(both.kind === 'log_processing');
  assert.deepEqual(both.warnings.map((w) => w.text.slice(0, 7)), ['(7309):', '(7005):']);
});

test('logtest request - trailing bytes after the request are ignored (the upstream one-brace-too-many case)', () => {
  assert.equal(
    refusal(envelope('"remove_session"', '{"token":{}}}')),
    '{"message":"(7316): Failure to remove session. token JSON field must be a string","error":4,"data":{}}',
  );
});

test('logtest request - remove_session rows 7-8: token type, then length', () => {
  const e4 = (msg: string): string => `{"message":"${msg}","error":4,"data":{}}`;
  for (const bad of ['6', '{}', '["12345678","asd"]', 'null', 'true']) {
    assert.equal(refusal(envelope('"remove_session"', `{"token":${bad}}`)), e4('(7316): Failure to remove session. token JSON field must be a string'), bad);
  }
  assert.equal(refusal(envelope('"remove_session"', '{}')), e4('(7316): Failure to remove session. token JSON field must be a string'));
  assert.equal(refusal(envelope('"remove_session"', '{"token":"asd"}')), e4("(7309): 'asd' is not a valid token"));
  assert.deepEqual(check(envelope('"remove_session"', '{"token":"12345678","location":"stdin"}')), { kind: 'remove_session', token: '12345678' });
});

test('logtest request - the queue line: location escaped (| and :), cut at 2048 bytes without splitting a pair', () => {
  assert.equal(logtestQueueLine('stdin', 'hello: world'), '1:stdin:hello: world');
  assert.equal(escapeLocation('[001] (web) any->/var/log/a|b'), '[001] (web) any->/var/log/a||b');
  assert.equal(escapeLocation('a:b|c::'), 'a|:b||c|:|:');
  assert.equal(escapeLocation('a:b|c'), 'a|:b||c');
  assert.equal(escapeLocation('stdin'), 'stdin');
  assert.equal(escapeLocation(''), '');
  // wstr_escape into 2,049 bytes: at most 2,048 of them.
  assert.equal(escapeLocation('x'.repeat(3000)), 'x'.repeat(2048));
  // A pair is written whole when it starts before byte 2047, then the copy stops.
  assert.equal(escapeLocation(`${'x'.repeat(2045)}:yyyy`), `${'x'.repeat(2045)}|:`);
  assert.equal(escapeLocation(`${'x'.repeat(2045)}::y`), `${'x'.repeat(2045)}|:`);
  assert.equal(escapeLocation(`${'x'.repeat(2046)}:yyyy`), `${'x'.repeat(2046)}|:`);
  assert.equal(escapeLocation(`${'x'.repeat(2046)}:`), `${'x'.repeat(2046)}|:`);
  assert.equal(escapeLocation(`${'x'.repeat(2047)}:yy`), 'x'.repeat(2047));
});
