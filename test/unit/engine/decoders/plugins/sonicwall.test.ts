/** SonicWall_Decoder on the lines its C source documents, plus a proxy line. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { decode, load, summary } from '../fixture.js';

const set = load('<decoder name="sw"><prematch>^id=</prematch><plugin_decoder>SonicWall_Decoder</plugin_decoder><type>ids</type></decoder>');
const HEAD = 'id=firewall sn=000SERIAL time="2007-01-03 14:48:06" fw=1.1.1.1';

test('an opened connection: status, id, addresses, ports, protocol; a firewall pass', () => {
  const event = decode(set, `${HEAD} pri=6 c=262144 m=98 msg="Connection Opened" n=23419 src=2.2.2.2:36701:WAN dst=1.1.1.1:50000:WAN proto=tcp/50000`);
  assert.deepEqual(summary(event).fields, {
    status: '6', id: '98', srcip: '2.2.2.2', srcport: '36701', dstip: '1.1.1.1', dstport: '50000', protocol: 'tcp', action: 'pass',
  });
  assert.equal(event.decoder?.type, 'firewall');
});

test('category 32 makes an ids event; drops and closes set the action; the protocol is cut at 6 bytes', () => {
  const ids = decode(set, `${HEAD} pri=1 c=32 m=30 msg="Administrator login denied" n=7 src=2.2.2.2:36701:WAN dst=1.1.1.1:50000:WAN`);
  assert.equal(ids.decoder?.type, 'ids');
  assert.equal(ids.fields.protocol, undefined);
  const drop = decode(set, `${HEAD} pri=5 c=64 m=36 msg="TCP connection dropped" n=2686 src=6.7.8.9:4507:WAN dst=6.7.8.1:445:LAN proto=icmp note="x"`);
  assert.deepEqual([drop.decoder?.type, drop.fields.action, drop.fields.protocol], ['firewall', 'drop', 'icmp n']);
  assert.equal(decode(set, `${HEAD} pri=5 c=64 m=537 msg="closed" src=6.7.8.9:1:W dst=6.7.8.1:2:L`).fields.action, 'close');
});

test('a proxy message (m=97) is a squid event with the HTTP result as id and dstname + arg as url', () => {
  const event = decode(set, `${HEAD} pri=6 c=1024 m=97 msg="Web site hit" n=1 src=10.0.0.1:1234:X0 dst=2.2.2.2:80:X1 proto=tcp/http op=1 result=200 dstname=example.com arg=/index.html`);
  assert.deepEqual([event.decoder?.type, event.fields.id, event.fields.url], ['squid', '200', 'example.com/index.html']);
});

test('without the priority triple nothing is set and the event is syslog, whatever the decoder type', () => {
  const event = decode(set, `${HEAD} msg="no priority"`);
  assert.deepEqual([event.decoder?.type, event.fields], ['syslog', {}]);
});
