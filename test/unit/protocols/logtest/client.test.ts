import assert from 'node:assert/strict';
import test from 'node:test';
import {
  EMPTY_TRIPLE, LogtestCliRequests, parseUnitTriple, readCliReply, unitExitCode, unitTripleOf,
} from '../../../../protocols/logtest/client.js';
import { parseJson } from '../../../../protocols/cjson.js';
import { phaseLines, pyFromJson, pyJsonDumps, pyRepr, pyStr, type PyValue } from '../../../../protocols/logtest/python-view.js';

function py(text: string): PyValue {
  const r = parseJson(Buffer.from(text, 'utf8'));
  assert.ok(r.ok);
  return pyFromJson(r.value);
}

test('logtest client - requests keep one parameter set, updated as wazuh_logtest.py updates its dict', () => {
  const requests = new LogtestCliRequests('stdin');
  assert.equal(requests.logProcessing('first', '', false),
    '{"version":1,"origin":{"name":"wazuh-logtest","module":"wazuh-logtest"},"command":"log_processing","parameters":{"location":"stdin","log_format":"syslog","event":"first"}}');
  assert.equal(requests.logProcessing('second', 'abcd1234', true),
    '{"version":1,"origin":{"name":"wazuh-logtest","module":"wazuh-logtest"},"command":"log_processing","parameters":{"location":"stdin","log_format":"syslog","event":"second","token":"abcd1234","options":{"rules_debug":true}}}');
  assert.equal(requests.removeSession('abcd1234'),
    '{"version":1,"origin":{"name":"wazuh-logtest","module":"wazuh-logtest"},"command":"remove_session","parameters":{"location":"stdin","log_format":"syslog","event":"second","token":"abcd1234","options":{"rules_debug":true}}}');
});

test('logtest client - replies: error and codemsg < 0 become the text after "** Wazuh-logtest error "', () => {
  const read = (text: string): ReturnType<typeof readCliReply> => readCliReply(Buffer.from(text, 'utf8'));
  assert.deepEqual(read('{"message":"(7306): Unable to process command","error":3,"data":{}}'), { kind: 'error', text: '3: (7306): Unable to process command' });
  assert.deepEqual(read('{"error":0,"data":{"messages":["INFO: a","ERROR: (7311): Failure to initializing session"],"codemsg":-1}}'),
    { kind: 'error', text: '-1: \n\tINFO: a\n\tERROR: (7311): Failure to initializing session' });
  const ok = read('{"error":0,"data":{"token":"abcd1234","output":{},"alert":false,"codemsg":1}}');
  assert.ok(ok.kind === 'data');
  assert.equal(ok.token, 'abcd1234');
  assert.equal(read('not json').kind, 'error');
});

test('logtest client - the unit triple and the exit code of -U', () => {
  const data = py('{"output":{"rule":{"level":0,"id":"1"},"decoder":{"name":"sshd"}}}') as Map<string, PyValue>;
  assert.deepEqual(unitTripleOf(data), ['1', '0', 'sshd']);
  assert.deepEqual(unitTripleOf(py('{"output":{"decoder":{}}}') as Map<string, PyValue>), ['', '', '']);
  // rule.id is compared as it came: a number never equals the string given to -U.
  const numeric = unitTripleOf(py('{"output":{"rule":{"level":3,"id":5},"decoder":{"name":"x"}}}') as Map<string, PyValue>);
  assert.equal(unitExitCode(['5', '3', 'x'], numeric), 1);
  assert.deepEqual(parseUnitTriple('a:b:c'), ['a', 'b', 'c']);
  assert.equal(parseUnitTriple('a:b'), null);
  assert.equal(parseUnitTriple('a:b:c:d'), null);
  assert.equal(unitExitCode(['1', '0', 'sshd'], ['1', '0', 'sshd']), 0);
  assert.equal(unitExitCode(['', '', ''], EMPTY_TRIPLE), 3);
  assert.equal(unitExitCode(['1', '', ''], ['1', '', '']), 2);
  assert.equal(unitExitCode(['1', '0', 'sshd'], ['1', '0', '']), 1);
});

test('logtest python view - str and repr as Python prints json.loads values', () => {
  assert.equal(pyStr(py('["syslog","sshd"]')), "['syslog', 'sshd']");
  // Int or float as cJSON printed the number (1.0 prints as 1, 1e15 as 1e+15, -0 as -0).
  assert.equal(pyRepr(py('[1, 1.0, 1e16, 1e15, 0.0001, 0.00001, 123.456, -0.0, true, null]')),
    '[1, 1, 1e+16, 1000000000000000.0, 0.0001, 1e-05, 123.456, 0, True, None]');
  assert.equal(pyRepr(py('[1.5, 2.25e-7, 1e300]')), '[1.5, 2.25e-07, 1e+300]');
  assert.equal(pyRepr(py('["it\'s", "say \\"hi\\"", "both \'\\"", "tab\\t\\u0001\\u007f", "\\u00a0é€"]')),
    `["it's", 'say "hi"', 'both \\'"', 'tab\\t\\x01\\x7f', '\\xa0é€']`);
  assert.equal(pyRepr(py('{"a":{"b":[]},"a":2}')), "{'a': 2}");
});

test('logtest python view - json.dumps(indent=2) with ensure_ascii', () => {
  assert.equal(pyJsonDumps(py('{"a":[1,{"b":"é\\u007f"}],"c":{},"d":[],"e":0.5}')),
    '{\n  "a": [\n    1,\n    {\n      "b": "\\u00e9\\u007f"\n    }\n  ],\n  "c": {},\n  "d": [],\n  "e": 0.5\n}');
});

test('logtest python view - phases: first fields in order, then the rest sorted, nested dicts flattened', () => {
  const data = py(`{"output":{"full_log":"x","predecoder":{"program_name":"p","timestamp":"t"},
    "decoder":{"parent":"pa","name":"n"},"data":{"z":"1","a":{"c":"2","b":[1,"x"]},"B":"3"},
    "rule":{"mail":false,"level":3,"id":"7","firedtimes":2,"description":"d","groups":["g"],"pci_dss":["10.2.4"]}},"alert":true}`) as Map<string, PyValue>;
  assert.deepEqual(phaseLines(data), [
    '**Phase 1: Completed pre-decoding.', "\tfull event: 'x'", "\ttimestamp: 't'", "\tprogram_name: 'p'", '',
    '**Phase 2: Completed decoding.', "\tname: 'n'", "\tparent: 'pa'", "\tB: '3'", "\ta.b: '[1, 'x']'", "\ta.c: '2'", "\tz: '1'", '',
    '**Phase 3: Completed filtering (rules).', "\tid: '7'", "\tlevel: '3'", "\tdescription: 'd'", "\tgroups: '['g']'", "\tfiredtimes: '2'",
    "\tmail: 'False'", "\tpci_dss: '['10.2.4']'", '**Alert to be generated.',
  ]);
  assert.deepEqual(phaseLines(py('{"output":{"decoder":{}},"alert":false}') as Map<string, PyValue>),
    ['**Phase 1: Completed pre-decoding.', '', '**Phase 2: Completed decoding.', '\tNo decoder matched.']);
});
