import assert from 'node:assert/strict';
import test from 'node:test';
import { JsonObject, parseJson, printJsonText, toJsonValue } from '../../../../protocols/cjson.js';
import { logtestMessage, logtestText, prefixedMessage } from '../../../../protocols/logtest/messages.js';
import {
  LOGTEST_CODEMSG, LOGTEST_MESSAGES_MAX, LogtestMessageList, alertOf, errorReply, servedReply, tooLargeReply, withRuleLevel,
} from '../../../../protocols/logtest/response.js';

test('logtest response - error replies: message, error, data in that order; the oversize one has no data', () => {
  assert.equal(printJsonText(errorReply(3, logtestText(7306))), '{"message":"(7306): Unable to process command","error":3,"data":{}}');
  assert.equal(printJsonText(tooLargeReply()), '{"message":"(7315): Failure to receive message: size is bigger than expected","error":5}');
  assert.equal(printJsonText(servedReply(new JsonObject([['codemsg', 0]]))), '{"error":0,"data":{"codemsg":0}}');
});

test('logtest response - the catalogue: every text in its (code): form', () => {
  assert.equal(logtestText(7003, 'abcd1234'), "(7003): 'abcd1234' token expires");
  assert.equal(logtestText(7004, 'abcd1234'), "(7004): No session found for token 'abcd1234'");
  assert.equal(logtestText(7006, 'rules_debug'), "(7006): 'rules_debug' field must be a boolean. The parameter will be ignored");
  assert.equal(logtestText(7202, 'abcd1234'), "(7202): Session initialized with token 'abcd1234'");
  assert.equal(logtestText(7206, 'abcd1234'), "(7206): The session 'abcd1234' was closed successfully");
  assert.equal(logtestText(7311), '(7311): Failure to initializing session');
  assert.equal(logtestText(7312), '(7312): Failed to process the event');
  assert.equal(logtestText(7318, 'abcd1234'), "(7318): Failure to remove session 'abcd1234'");
  assert.equal(logtestText(1106), '(1106): String not correctly formatted.');
  assert.equal(logtestText(7000, 128), '(7000): Number of logtest threads too high. Only creates 128 threads');
  assert.equal(prefixedMessage(logtestMessage('warning', 7005, 'options')), "WARNING: (7005): 'options' field must be a JSON object. The parameter will be ignored");
});

test('logtest response - codemsg: warnings make 1, an error makes -1 and stays; the array is made where the first message lands', () => {
  const data = new JsonObject();
  const list = new LogtestMessageList();
  assert.equal(list.flushInto(data, LOGTEST_CODEMSG.success), 0);
  assert.equal(data.has('messages'), false, 'no messages, no array');
  list.add(logtestMessage('info', 7202, 'aaaaaaaa'));
  assert.equal(list.flushInto(data, LOGTEST_CODEMSG.success), 0);
  data.add('token', 'aaaaaaaa');
  list.add(logtestMessage('warning', 7006, 'rules_debug'));
  assert.equal(list.flushInto(data, LOGTEST_CODEMSG.success), 1);
  list.add(logtestMessage('error', 7312), logtestMessage('warning', 7003, 'x'));
  assert.equal(list.flushInto(data, LOGTEST_CODEMSG.warning), -1);
  assert.equal(printJsonText(data), '{"messages":["INFO: (7202): Session initialized with token \'aaaaaaaa\'",'
    + '"WARNING: (7006): \'rules_debug\' field must be a boolean. The parameter will be ignored",'
    + '"ERROR: (7312): Failed to process the event","WARNING: (7003): \'x\' token expires"],"token":"aaaaaaaa"}');
  const late = new JsonObject([['token', 't'], ['output', new JsonObject()]]);
  list.add(logtestMessage('warning', 7006, 'rules_debug'));
  list.flushInto(late, LOGTEST_CODEMSG.success);
  assert.deepEqual(late.entries.map(([k]) => k), ['token', 'output', 'messages']);
});

test('logtest response - at most 50 pending messages (the newest), each cut to 2047 bytes', () => {
  const list = new LogtestMessageList();
  for (let i = 0; i < 60; i++) list.add({ level: 'warning', text: `m${i}` });
  list.add({ level: 'error', text: 'e'.repeat(5000) });
  assert.equal(list.length, LOGTEST_MESSAGES_MAX);
  const data = new JsonObject();
  list.flushInto(data, 0);
  const messages = data.get('messages') as string[];
  assert.equal(messages[0], 'WARNING: m11');
  assert.equal(messages.at(-1), `ERROR: ${'e'.repeat(2047)}`);
});

test('logtest response - alert: a stored match at or above log_alert_level', () => {
  assert.equal(alertOf(null, 0), false);
  assert.equal(alertOf({ level: 0, suppressed: false }, 0), false);
  assert.equal(alertOf({ level: 5, suppressed: false }, 0), true);
  assert.equal(alertOf({ level: 5, suppressed: true }, 0), false);
  assert.equal(alertOf({ level: 5, suppressed: false }, 5), true);
  assert.equal(alertOf({ level: 4, suppressed: false }, 5), false);
});

test('logtest response - rule.level is appended when the serializer left it out (level 0), never moved', () => {
  const parse = (text: string): ReturnType<typeof toJsonValue> => {
    const r = parseJson(Buffer.from(text));
    assert.ok(r.ok);
    return r.value;
  };
  assert.equal(printJsonText(withRuleLevel(parse('{"rule":{"description":"x","id":"1"},"decoder":{}}'), { level: 0, suppressed: false })),
    '{"rule":{"description":"x","id":"1","level":0},"decoder":{}}');
  assert.equal(printJsonText(withRuleLevel(parse('{"rule":{"level":3,"id":"1"}}'), { level: 3, suppressed: false })), '{"rule":{"level":3,"id":"1"}}');
  assert.equal(printJsonText(withRuleLevel(parse('{"decoder":{}}'), null)), '{"decoder":{}}');
});
