/**
 * CDB lists: the text format as lists_make.c reads it, and the six lookups of
 * lists_list.c, on the stock lists and on hand cases.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { LIST_LOOKUPS, lookupList, parseCdbList } from '../../../../engine/lists/cdb.js';
import type { ByteString, Matcher } from '../../../../engine/types.js';
import { missingData, upstreamData } from '../../../harness/upstream-data.js';

/** A check_value stand-in: `^x` starts with, otherwise contains (ASCII case-insensitive, like OS_Match). */
function osMatch(pattern: string): Matcher {
  const anchored = pattern.startsWith('^');
  const literal = (anchored ? pattern.slice(1) : pattern).toLowerCase();
  const test = (subject: ByteString): boolean =>
    anchored ? subject.toLowerCase().startsWith(literal) : subject.toLowerCase().includes(literal);
  return { source: pattern, test, exec: (subject) => (test(subject) ? { end: 0, captures: [] } : null) };
}

const entries = (text: string): [string, string][] => [...parseCdbList(text)];

test('the stock lists', (t) => {
  const dir = upstreamData('wazuh-ruleset-v4.14.5', 'lists');
  if (!dir) {
    t.skip(missingData('wazuh-ruleset-v4.14.5', 'lists'));
    return;
  }
  const read = (name: string) => parseCdbList(fs.readFileSync(`${dir}/${name}`).toString('latin1'));
  const keys = read('audit-keys');
  assert.deepEqual([...keys.entries()].slice(0, 2), [['audit-wazuh-w', 'write'], ['audit-wazuh-r', 'read']]);
  assert.equal(keys.size, 5);
  const events = read('security-eventchannel');
  assert.equal(events.size, 160, 'the last line has no newline and still counts');
  assert.equal(events.get('200'), '');
  const names = read('amazon/aws-eventnames');
  assert.equal(names.get('ConsoleLogin'), 'Access');
  assert.equal(names.get('TEMPLATE'),
    '# AWS Cloudtrail event names - https://www.gorillastack.com/news/important-aws-cloudtrail-security-events-tracking used as reference',
    'the value keeps its own colons');
  const hashes = read('malicious-ioc/malware-hashes');
  assert.equal(hashes.size, 199);
  assert.equal(hashes.get('3ba8a562f78af7776675f128f12777144fc3c73a471d8efb1950728179bb72d9'), 'SmokeLoader',
    'of a repeated key the first line wins');
  const ips = read('malicious-ioc/malicious-ip');
  assert.equal(ips.size, 199);
  const [ip] = ips.keys();
  assert.ok(ip !== undefined && lookupList(ips, 'address_match_key', ip));
  assert.ok(lookupList(ips, 'not_address_match_key', '127.0.0.1'));
  assert.ok(lookupList(read('malicious-ioc/malicious-domains'), 'match_key', 'netflix-clone-two-opal.vercel.app'));
  assert.ok(lookupList(hashes, 'match_key_value', '2fe6a7ae63c878bd84d7b829349b309e7c84194ddbb6a779816f5b84cd8ad45d',
    osMatch('darkcomet')));
});

test('text format: separators, quotes, line ends, skipped lines', () => {
  assert.deepEqual(entries('a:1\nb:\n:c\nno colon\n#x:y\r\nk:v\rignored\n\nlast:1'), [
    ['a', '1'], ['b', ''], ['', 'c'], ['#x', 'y'], ['k', 'v'], ['last', '1'],
  ]);
  assert.deepEqual(entries('a:b:c\n"fe80::1":v6\n"k:1"x:"quoted:value"tail\nk2:ab"cd"ef\n"":empty'), [
    ['a', 'b:c'], ['fe80::1', 'v6'], ['k:1', 'quoted:value'], ['k2', 'cd'], ['', 'empty'],
  ]);
  assert.deepEqual(entries('pre"key":v\nk:"v\n"open:v\na"b:c\n"k"no-colon\nx:1\n'), [['key', 'v'], ['x', '1']],
    'unclosed quotes and a quoted key without a later ":" skip the line');
  assert.deepEqual(entries('k:v\0tail\nz\0:1\n'), [['k', 'v']], 'a NUL byte ends the line');
  assert.deepEqual(entries('dup:first\ndup:second\n'), [['dup', 'first']]);
  const long = `${'k'.repeat(65530)}:abcdef:gh\n`;
  assert.deepEqual(entries(long).map(([key, value]) => [key.length, value]), [[65530, 'abc'], [3, 'gh']],
    'a line longer than 65,534 bytes comes in pieces, as fgets reads it');
  assert.deepEqual(entries(''), []);
});

test('lookups: exact keys, octet prefixes, values through check_value', () => {
  const list = parseCdbList('10.1.2.3:host\n10.1.:subnet-allow\n192.168.:block-lan\nalice:admin\nBob:\n.:dot\n');
  const cases: [string, ByteString, boolean, Matcher?][] = [
    ['match_key', 'alice', true], ['match_key', 'Alice', false], ['match_key', 'bob', false],
    ['not_match_key', 'carol', true], ['not_match_key', 'alice', false],
    ['match_key_value', 'alice', true, osMatch('^adm')], ['match_key_value', 'alice', false, osMatch('^root')],
    ['match_key_value', 'alice', false], ['match_key_value', 'carol', false, osMatch('')],
    ['address_match_key', '10.1.2.3', true], ['address_match_key', '10.1.9.9', true], ['address_match_key', '10.2.0.1', false],
    ['address_match_key', '192.168.0.7', true], ['address_match_key', '10.1', false], ['address_match_key', '10.1.', true],
    ['address_match_key', 'x.y', false], ['address_match_key', '.5', true], // prefixes end in "." and keep the start
    ['not_address_match_key', '10.1.2.3', false], ['not_address_match_key', '172.16.0.1', true],
    // Inverted as in Wazuh: true when nothing is found or the value found does NOT match.
    ['address_match_key_value', '192.168.0.7', false, osMatch('^block')],
    ['address_match_key_value', '192.168.0.7', true, osMatch('^allow')],
    ['address_match_key_value', '10.1.2.3', true, osMatch('subnet')], // the exact key's value decides
    ['address_match_key_value', '10.1.7.7', false, osMatch('subnet')],
    ['address_match_key_value', '172.16.0.1', true, osMatch('^block')],
    ['address_match_key_value', '192.168.0.7', true], // no check_value: never a value match
  ];
  for (const [lookup, key, expected, check] of cases) {
    assert.ok((LIST_LOOKUPS as readonly string[]).includes(lookup));
    assert.equal(lookupList(list, lookup as (typeof LIST_LOOKUPS)[number], key, check), expected, `${lookup} ${key}`);
  }
  assert.deepEqual([...LIST_LOOKUPS].sort(), [
    'address_match_key', 'address_match_key_value', 'match_key', 'match_key_value', 'not_address_match_key', 'not_match_key',
  ]);
});
