/** PF_Decoder on OpenBSD pf lines as its C source documents them. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { decode, load } from '../fixture.js';

const set = load('<decoder name="pf"><type>firewall</type><program_name>^pf$</program_name><plugin_decoder>PF_Decoder</plugin_decoder></decoder>');
const pf = (log: string): Record<string, string> => decode(set, log, 'pf').fields as Record<string, string>;

test('action, addresses with their ports and the protocol', () => {
  assert.deepEqual(pf('Mar 30 15:32:33.483712 rule 2/(match) pass in on xl0: 140.211.166.3.6667 > 192.168.2.10.16290: P 7408:7677(269) ack 1773 win 2520 (DF)'), {
    action: 'pass', srcip: '140.211.166.3', srcport: '6667', dstip: '192.168.2.10', dstport: '16290', protocol: 'TCP',
  });
  assert.deepEqual(pf('Mar 30 15:54:22.171929 rule 3/(match) block out on xl0: 192.168.2.10.1514 > 192.168.2.190.1030:  udp 73'), {
    action: 'block', srcip: '192.168.2.10', srcport: '1514', dstip: '192.168.2.190', dstport: '1030', protocol: 'UDP',
  });
  assert.deepEqual(pf('Mar 30 17:47:40.390143 rule 2/(match) pass in on lo0: 127.0.0.1 > 127.0.0.1: icmp: echo reply'), {
    action: 'pass', srcip: '127.0.0.1', dstip: '127.0.0.1', protocol: 'ICMP',
  });
});

test('fields found before the line stops making sense stay set', () => {
  assert.deepEqual(pf('rule 1/(match) drop in on xl0: 1.2.3.4.5 > 6.7.8.9.10: x'), {});
  assert.deepEqual(pf('rule 1/(match) pass in on xl0: 1.2.3.4.5 - 6.7.8.9.10: x'), { action: 'pass', srcip: '1.2.3.4', srcport: '5' });
  assert.deepEqual(pf('rule 1/(match) pass in on xl0 1.2.3.4.5'), { action: 'pass' });
  assert.deepEqual(pf('rule 1/(match) pass in on xl0: 1.2.3.4 > 6.7.8.9:'), { action: 'pass', srcip: '1.2.3.4', dstip: '6.7.8.9' });
});
