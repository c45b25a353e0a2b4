import assert from 'node:assert/strict';
import test from 'node:test';
import {
  CANNOT_REACH_MASTER, ENROLMENT_ERRORS, ENROLMENT_INTERNAL_ERROR_ANSWER, ENROLMENT_INVALID_REQUEST_ANSWER, ENROLMENT_MAX_LINE,
  MANAGER_VERSION, agentVersionTooHigh, enrolmentRequestLine, errorAnswer, keyAnswer, keyAnswerComplete, parseEnrolmentAnswer,
  parseEnrolmentLine, type EnrolmentRequest, type EnrolmentRequestParts,
} from '../../../protocols/enrolment.js';

const HASH = 'c8c5819f112aa236f889c34c9e0debb80bd3e1fd';
const KEY = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

function request(line: string, password: string | null = null): EnrolmentRequest {
  const r = parseEnrolmentLine(line, password);
  assert.ok(r.ok, `expected ${JSON.stringify(line)} to parse, got ${r.ok ? '' : r.error}`);
  return r.request;
}

function error(line: string, password: string | null = null): string {
  const r = parseEnrolmentLine(line, password);
  assert.ok(!r.ok, `expected ${JSON.stringify(line)} to be refused`);
  return r.error;
}

const bare = (name: string): EnrolmentRequest => ({ name, version: null, groups: null, ip: null, keyHash: null });

test('enrolment - constants', () => {
  assert.equal(ENROLMENT_MAX_LINE, 69_632);
  assert.equal(MANAGER_VERSION, 'v4.14.5');
  assert.equal(CANNOT_REACH_MASTER, 'ERROR: Cannot comunicate with master');
});

test("enrolment - the simulator's line, with \\n, \\r\\n or no line end", () => {
  assert.deepEqual(request("OSSEC A:'sim-agent-1'\n"), bare('sim-agent-1'));
  assert.deepEqual(request("OSSEC A:'sim-agent-1'\r\n"), bare('sim-agent-1'));
  assert.deepEqual(request("OSSEC A:'sim-agent-1'"), bare('sim-agent-1'));
});

test('enrolment - the full form with every field, duplicate groups dropped in order', () => {
  const line = `OSSEC PASS: pw OSSEC A:'n1' V:'v4.14.5' G:'a,b,a' IP:'src' K:'${HASH}'\n`;
  const want: EnrolmentRequest = { name: 'n1', version: 'v4.14.5', groups: ['a', 'b'], ip: 'src', keyHash: HASH };
  assert.deepEqual(request(line, 'pw'), want);
  // With no password configured, a sent one is stripped and ignored.
  assert.deepEqual(request(line, null), want);
});

test('enrolment - optional fields may be left out, any subset in order', () => {
  assert.deepEqual(request("OSSEC A:'n1' V:'v4.9.0'"), { ...bare('n1'), version: 'v4.9.0' });
  assert.deepEqual(request("OSSEC A:'n1' G:'default'"), { ...bare('n1'), groups: ['default'] });
  assert.deepEqual(request("OSSEC A:'n1' IP:'10.1.2.3'"), { ...bare('n1'), ip: '10.1.2.3' });
  assert.deepEqual(request("OSSEC A:'n1' IP:'any'"), { ...bare('n1'), ip: 'any' });
  assert.deepEqual(request("OSSEC A:'n1' IP:'2001:db8::/64'"), { ...bare('n1'), ip: '2001:db8::/64' });
  assert.deepEqual(request(`OSSEC A:'n1' V:'v4.14.5' K:'${HASH}'`), { ...bare('n1'), version: 'v4.14.5', keyHash: HASH });
});

test('enrolment - password: required when configured, exact, followed by a space', () => {
  const pw = 'Secr3t pass';
  assert.deepEqual(request(`OSSEC PASS: ${pw} OSSEC A:'n1'\n`, pw), bare('n1'));
  assert.equal(error("OSSEC A:'n1'\n", pw), 'ERROR: Invalid password');
  assert.equal(error("OSSEC PASS: wrong OSSEC A:'n1'\n", pw), 'ERROR: Invalid password');
  assert.equal(error(`OSSEC PASS: ${pw}OSSEC A:'n1'\n`, pw), 'ERROR: Invalid password');
  assert.equal(error(`OSSEC PASS: ${pw}`, pw), 'ERROR: Invalid password');
  assert.equal(error('', pw), 'ERROR: Invalid password');
  // The password check comes first: even a malformed request says "Invalid password".
  assert.equal(error('garbage', pw), 'ERROR: Invalid password');
  // A correct password then a bad request is a bad request.
  assert.equal(error(`OSSEC PASS: ${pw} hello`, pw), 'ERROR: Invalid request for new agent');
});

test('enrolment - the name: OSSEC A: required, quoted, valid', () => {
  for (const line of ['', '\n', 'hello', "OSSEC A:n1", "OSSEC A:'n1", "ossec A:'n1'", " OSSEC A:'n1'", "OSSEC PASS: x"]) {
    assert.equal(error(line), 'ERROR: Invalid request for new agent', JSON.stringify(line));
  }
  assert.equal(error("OSSEC A:''"), 'ERROR: Invalid agent name: ');
  assert.equal(error("OSSEC A:'x'"), 'ERROR: Invalid agent name: x');
  assert.equal(error("OSSEC A:'bad name'"), 'ERROR: Invalid agent name: bad name');
  assert.equal(error(`OSSEC A:'${'a'.repeat(129)}'`), `ERROR: Invalid agent name: ${'a'.repeat(129)}`);
  assert.deepEqual(request(`OSSEC A:'${'a'.repeat(128)}'`), bare('a'.repeat(128)));
  // The name is checked before any optional field.
  assert.equal(error("OSSEC A:'b@d' V:'v4"), 'ERROR: Invalid agent name: b@d');
});

test('enrolment - unterminated fields name the field', () => {
  assert.equal(error("OSSEC A:'n1' V:'v4.14.5\n"), 'ERROR: Unterminated version field');
  assert.equal(error("OSSEC A:'n1' G:'a,b"), 'ERROR: Unterminated group field');
  assert.equal(error("OSSEC A:'n1' V:'v4.14.5' IP:'src"), 'ERROR: Unterminated IP field');
  assert.equal(error(`OSSEC A:'n1' K:'${HASH}`), 'ERROR: Unterminated key field');
});

test('enrolment - fields out of order, unknown, doubled or trailing text are invalid requests', () => {
  const invalid = 'ERROR: Invalid request for new agent';
  assert.equal(error("OSSEC A:'n1' G:'a' V:'v4.14.5'"), invalid);
  assert.equal(error(`OSSEC A:'n1' K:'${HASH}' IP:'src'`), invalid);
  assert.equal(error("OSSEC A:'n1' IP:'src' G:'a'"), invalid);
  assert.equal(error("OSSEC A:'n1' V:'a' V:'b'"), invalid);
  assert.equal(error("OSSEC A:'n1' X:'y'"), invalid);
  assert.equal(error("OSSEC A:'n1'  V:'v4.14.5'"), invalid);
  assert.equal(error("OSSEC A:'n1' V:v4.14.5"), invalid);
  assert.equal(error("OSSEC A:'n1' "), invalid);
  assert.equal(error("OSSEC A:'n1'\n\n"), invalid);
  assert.equal(error("OSSEC A:'n1'junk"), invalid);
});

test('enrolment - K: must be 40 lowercase hex', () => {
  const invalid = 'ERROR: Invalid request for new agent';
  assert.equal(error("OSSEC A:'n1' K:''"), invalid);
  assert.equal(error(`OSSEC A:'n1' K:'${HASH.toUpperCase()}'`), invalid);
  assert.equal(error(`OSSEC A:'n1' K:'${HASH}0'`), invalid);
  assert.equal(error(`OSSEC A:'n1' K:'${HASH.slice(1)}'`), invalid);
});

test('enrolment - IP: src, any or a valid address; anything else refused with the value', () => {
  assert.equal(error("OSSEC A:'n1' IP:'10.0.0.300'"), 'ERROR: Invalid IP: 10.0.0.300');
  assert.equal(error("OSSEC A:'n1' IP:''"), 'ERROR: Invalid IP: ');
  assert.equal(error("OSSEC A:'n1' IP:'localhost'"), 'ERROR: Invalid IP: localhost');
  assert.equal(error("OSSEC A:'n1' IP:'10.0.0.0/40'"), 'ERROR: Invalid IP: 10.0.0.0/40');
});

test('enrolment - G: syntax errors quote the whole value', () => {
  for (const v of ['', ',a', 'a,', 'a,,b', ',']) {
    assert.equal(error(`OSSEC A:'n1' G:'${v}'`), `ERROR: Invalid group name: ${v}`, v);
  }
  const long = 'g'.repeat(255 * 128 + 1);
  assert.equal(error(`OSSEC A:'n1' G:'${long}'`), `ERROR: Invalid group name: ${long}`);
});

test('enrolment - G: each group must be a valid name, not . or ..', () => {
  assert.equal(error("OSSEC A:'n1' G:'ok,b@d'"), 'ERROR: Invalid group name: b@d');
  assert.equal(error("OSSEC A:'n1' G:'.'"), 'ERROR: Invalid group name: .');
  assert.equal(error("OSSEC A:'n1' G:'a,..'"), 'ERROR: Invalid group name: ..');
  assert.equal(error(`OSSEC A:'n1' G:'${'g'.repeat(256)}'`), `ERROR: Invalid group name: ${'g'.repeat(256)}`);
  assert.deepEqual(request("OSSEC A:'n1' G:'A-z_0.9,...'").groups, ['A-z_0.9', '...']);
  // Per-group checks run after the other fields are parsed: a bad IP is reported first.
  assert.equal(error("OSSEC A:'n1' G:'b@d' IP:'nope'"), 'ERROR: Invalid IP: nope');
});

test('enrolment - G: at most 128 distinct groups; duplicates do not count', () => {
  const groups = (n: number): string[] => Array.from({ length: n }, (_, i) => `g${i}`);
  assert.deepEqual(request(`OSSEC A:'n1' G:'${groups(128).join(',')}'`).groups, groups(128));
  assert.deepEqual(request(`OSSEC A:'n1' G:'${[...groups(128), ...groups(128)].join(',')}'`).groups, groups(128));
  assert.equal(error(`OSSEC A:'n1' G:'${groups(129).join(',')}'`), 'ERROR: Maximum multigroup reached: Limit is 128');
});

test('enrolment - agentVersionTooHigh compares MAJOR.MINOR.PATCH numerically', () => {
  assert.equal(agentVersionTooHigh('v4.14.5', MANAGER_VERSION), false);
  assert.equal(agentVersionTooHigh('v4.14.4', MANAGER_VERSION), false);
  assert.equal(agentVersionTooHigh('v4.9.9', MANAGER_VERSION), false);
  assert.equal(agentVersionTooHigh('v3.99.99', MANAGER_VERSION), false);
  assert.equal(agentVersionTooHigh('v4.14.6', MANAGER_VERSION), true);
  assert.equal(agentVersionTooHigh('v4.15.0', MANAGER_VERSION), true);
  assert.equal(agentVersionTooHigh('v5.0.0', MANAGER_VERSION), true);
  assert.equal(agentVersionTooHigh('4.14.10', 'v4.14.9'), true);
  for (const bad of ['', 'v4', 'v4.14', 'latest', 'v4.x.1', 'vv4.14.6']) assert.equal(agentVersionTooHigh(bad, MANAGER_VERSION), false, bad);
  assert.equal(agentVersionTooHigh('v9.9.9', 'garbage'), false);
});

test('enrolment - exact texts of the stateful errors', () => {
  assert.equal(ENROLMENT_ERRORS.versionTooHigh, 'ERROR: Agent version must be lower or equal to manager version');
  assert.equal(ENROLMENT_ERRORS.invalidGroup('web'), 'ERROR: Invalid group: web');
  assert.equal(ENROLMENT_ERRORS.duplicateIp('10.0.0.1'), 'ERROR: Duplicate IP: 10.0.0.1');
  assert.equal(ENROLMENT_ERRORS.duplicateName('web01'), 'ERROR: Duplicate agent name: web01');
  assert.equal(ENROLMENT_ERRORS.invalidName('manager'), 'ERROR: Invalid agent name: manager');
  assert.equal(ENROLMENT_ERRORS.internal('web01'), 'ERROR: Internal manager error adding agent: web01');
  assert.equal(ENROLMENT_ERRORS.maxGroups, 'ERROR: Maximum multigroup reached: Limit is 128');
});

test('enrolment - answers: the key line without newline, errors with the suffix', () => {
  assert.equal(keyAnswer(1, 'agent-test', 'any', KEY), `OSSEC K:'001 agent-test any ${KEY}'`);
  assert.equal(keyAnswer(1234, 'n1', '10.0.0.1', KEY), `OSSEC K:'1234 n1 10.0.0.1 ${KEY}'`);
  assert.equal(errorAnswer(ENROLMENT_ERRORS.duplicateName('web01')), 'ERROR: Duplicate agent name: web01. Unable to add agent');
  assert.equal(errorAnswer(ENROLMENT_ERRORS.invalidPassword), 'ERROR: Invalid password. Unable to add agent');
});

test('enrolment - the answers the listener sends on its own', () => {
  assert.equal(ENROLMENT_INVALID_REQUEST_ANSWER, 'ERROR: Invalid request for new agent. Unable to add agent');
  assert.equal(ENROLMENT_INTERNAL_ERROR_ANSWER, 'ERROR: Internal manager error adding agent. Unable to add agent');
  assert.equal(ENROLMENT_ERRORS.internal('web01'), 'ERROR: Internal manager error adding agent: web01');
});

// Round trips: what the agent's half builds (the simulator's line), the manager's half parses, and back.

test('enrolment round trip - the request line an agent builds parses to the same request', () => {
  const cases: { parts: EnrolmentRequestParts; password: string | null; want: EnrolmentRequest }[] = [
    { parts: { name: 'sim-agent-1' }, password: null, want: { ...bare('sim-agent-1'), version: MANAGER_VERSION } },
    { parts: { name: 'a1', version: 'v4.9.0', password: 'pw', groups: ['web', 'db'] }, password: 'pw',
      want: { name: 'a1', version: 'v4.9.0', groups: ['web', 'db'], ip: null, keyHash: null } },
    // a password the server does not ask for is tolerated
    { parts: { name: 'a.b_c-d', version: 'v4.14.5', password: 'unasked', groups: ['default'] }, password: null,
      want: { name: 'a.b_c-d', version: 'v4.14.5', groups: ['default'], ip: null, keyHash: null } },
    // an empty password or group list is left out of the line
    { parts: { name: 'n2', password: '', groups: [] }, password: null, want: { ...bare('n2'), version: MANAGER_VERSION } },
  ];
  for (const c of cases) assert.deepEqual(request(enrolmentRequestLine(c.parts), c.password), c.want, JSON.stringify(c.parts));
});

test("enrolment round trip - a line built with the wrong password, or none, is refused with authd's text", () => {
  assert.equal(error(enrolmentRequestLine({ name: 'a1', password: 'wrong' }), 'pw'), ENROLMENT_ERRORS.invalidPassword);
  assert.equal(error(enrolmentRequestLine({ name: 'a1' }), 'pw'), ENROLMENT_ERRORS.invalidPassword);
});

test('enrolment round trip - the key answer is read back by the agent, as soon as it is complete', () => {
  const answer = keyAnswer(7, 'a1', '10.0.0.1', KEY);
  assert.deepEqual(parseEnrolmentAnswer(answer), { id: '007', name: 'a1', ip: '10.0.0.1', key: KEY });
  assert.deepEqual(parseEnrolmentAnswer(keyAnswer(12_345_678, 'n1', 'any', KEY)), { id: '12345678', name: 'n1', ip: 'any', key: KEY });
  assert.equal(keyAnswerComplete(answer), true);
  assert.equal(keyAnswerComplete(answer.slice(0, -1)), false);
  assert.equal(keyAnswerComplete(''), false);
});

test("enrolment round trip - every error answer reaches the agent as the server's text", () => {
  const answers = [
    errorAnswer(ENROLMENT_ERRORS.invalidPassword),
    errorAnswer(ENROLMENT_ERRORS.invalidName('bad name')),
    errorAnswer(ENROLMENT_ERRORS.duplicateName('a1')),
    errorAnswer(ENROLMENT_ERRORS.maxGroups),
    errorAnswer(ENROLMENT_ERRORS.versionTooHigh),
    ENROLMENT_INVALID_REQUEST_ANSWER,
    ENROLMENT_INTERNAL_ERROR_ANSWER,
    CANNOT_REACH_MASTER,
  ];
  for (const answer of answers) {
    assert.equal(keyAnswerComplete(answer), false, answer);
    assert.throws(() => parseEnrolmentAnswer(answer), (err: Error) => err.message === answer, answer);
  }
});
