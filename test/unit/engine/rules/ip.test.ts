import test from 'node:test';
import assert from 'node:assert/strict';
import { ipListMatches, parseIpEntry, parseIpv6, type IpEntry } from '../../../../engine/rules/ip.js';

const list = (...texts: string[]): IpEntry[] => texts.map((text) => {
  const entry = parseIpEntry(text);
  assert.ok(entry, `${text} parses`);
  return entry;
});

test('rule entries: IPv4, CIDR, dotted netmask, mapped IPv4, IPv6 with prefix, any', () => {
  for (const ok of ['1.2.3.4', '10.0.0.0/8', '10.0.0.0/255.0.0.0', '::ffff:1.2.3.4', '::FFFF:10.0.0.0/8', 'fe80::/10',
    '2001:db8:abcd:0012:0000:0000:0000:0000', '::', '::1/128', '!8.8.8.8', 'any', '0.0.0.0/0']) {
    assert.ok(parseIpEntry(ok), ok);
  }
  for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', '10.0.0.0/33', 'fe80::/129', '1::2::3', 'host', '1:2:3:4:5:6:7:8:9', '::1.2.3.4']) {
    assert.equal(parseIpEntry(bad), undefined, bad);
  }
});

test('matching: networks, families, unparsable event addresses', () => {
  assert.equal(ipListMatches(list('10.0.0.0/8'), '10.200.1.1'), true);
  assert.equal(ipListMatches(list('10.0.0.0/255.255.0.0'), '10.1.0.1'), false);
  assert.equal(ipListMatches(list('::ffff:192.168.0.0/16'), '192.168.4.4'), true);
  assert.equal(ipListMatches(list('2001:db8::/32'), '2001:DB8:1::5'), true);
  assert.equal(ipListMatches(list('2001:db8::/32'), '10.0.0.1'), false);
  assert.equal(ipListMatches(list('any'), '::1'), true);
  assert.equal(ipListMatches(list('10.0.0.0/8'), '10.0.0.1 '), false);
});

test("negation is sticky: after a '!' entry every later hit and the fall-through flip", () => {
  const entries = list('192.168.0.0/16', '!10.1.0.0/16', '10.0.0.0/8');
  assert.equal(ipListMatches(entries, '192.168.1.1'), true);
  assert.equal(ipListMatches(entries, '10.1.0.1'), false);
  assert.equal(ipListMatches(entries, '10.2.0.1'), false, 'a hit after the negated entry reports false');
  assert.equal(ipListMatches(entries, '8.8.8.8'), true, 'so does the fall-through, inverted');
});

test('IPv6 text forms as inet_pton reads them', () => {
  assert.deepEqual([...parseIpv6('::ffff:1.2.3.4')!.slice(10)], [0xff, 0xff, 1, 2, 3, 4]);
  assert.deepEqual([...parseIpv6('1::')!.slice(0, 2)], [0, 1]);
  assert.equal(parseIpv6('1:2:3:4:5:6:7::8'), undefined);
  assert.equal(parseIpv6(':::'), undefined);
});
