/** OSSECAlert_Decoder: an alert forwarded by another manager points at a known rule and replaces the log. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeEvent, forwardedAlert, newDecoderState } from '../../../../../engine/decoders/decoder-set.js';
import { eventOf, load } from '../fixture.js';

const set = load('<decoder name="ossec-alert"><program_name>^ossec$</program_name><plugin_decoder>OSSECAlert_Decoder</plugin_decoder></decoder>');
const LOG = 'Alert Level: 3; Rule: 5402 - Successful sudo to ROOT executed; Location: (host) 1.2.3.4->/var/log/secure; srcip: 9.9.9.9; user: root;  Jun  1 10:00:00 host sudo: root : TTY=pts/0';

test('a forwarded alert of a known rule: location and hostname extended, srcip and user read, the log replaced', () => {
  const state = newDecoderState();
  state.ruleExists = (id) => id === '5402';
  const event = eventOf(LOG, 'ossec');
  decodeEvent(set, event, state);
  assert.equal(event.decoder?.type, 'ossec-alert');
  assert.equal(event.hostname, 'stdin|(host) 1.2.3.4->/var/log/secure');
  assert.deepEqual(event.fields, { srcip: '9.9.9.9', dstuser: 'root' });
  assert.equal(event.log, 'Jun  1 10:00:00 host sudo: root : TTY=pts/0');
  assert.deepEqual(forwardedAlert(event), {
    ruleId: '5402', location: 'stdin|(host) 1.2.3.4->/var/log/secure', fullLog: 'Jun  1 10:00:00 host sudo: root : TTY=pts/0',
  });
});

test('an unknown rule (or no rule lookup at all) leaves the event as it was, typed ossec-alert', () => {
  for (const ruleExists of [undefined, (): boolean => false]) {
    const state = newDecoderState();
    state.ruleExists = ruleExists;
    const event = eventOf(LOG, 'ossec');
    decodeEvent(set, event, state);
    assert.deepEqual([event.decoder?.type, event.log, event.fields, forwardedAlert(event)], ['ossec-alert', LOG, {}, undefined]);
  }
});
