import assert from 'node:assert/strict';
import { createDecipheriv, createHash } from 'node:crypto';
import test from 'node:test';
import { inflateSync } from 'node:zlib';
import {
  aesKey, deriveEncryptionKey, enrolmentKeyHash, isValidAgentIp, newAgentKey, parseClientKeys, renderClientKeys, type ClientKeyLine,
} from '../../../protocols/agent-keys.js';

// §5.7 of the Wazuh agent protocol reference.
const ID = '001';
const NAME = 'agent-test';
const KEY = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const AES_WIRE = '2130303121234145533a54f3943362ad9ba1a6aa4e070f3ac8a0198b0208130936d25b70be593bac55ed9d8d3e3d39f7766dc9f105c7ba73d2978d31e2aca245a707e9135bc8140ac0c4c40b2dbdc1b4e5d70ce8be0644946d413ae3b6d9d33133937eab0543c0eb65f8a3265f27f27e410c838241ca549c48c9';
const AES_PAYLOAD = '555551234567891:0227:#!-agent startup {"version":"v4.14.5"}';

const md5hex = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

/** The §5.3 decode of one agent→manager AES message, enough to prove a derived key works. */
function decodeAes(wire: Buffer, key: Buffer): string {
  const prefix = Buffer.from('!001!#AES:', 'latin1');
  assert.deepEqual(wire.subarray(0, prefix.length), prefix);
  const decipher = createDecipheriv('aes-256-cbc', key, Buffer.from('FEDCBA0987654321', 'latin1'));
  const plain = Buffer.concat([decipher.update(wire.subarray(prefix.length)), decipher.final()]);
  let start = 0;
  while (plain[start] === 0x21) start++;
  assert.ok(start >= 1, 'the plaintext starts with ! padding');
  const text = inflateSync(plain.subarray(start)).toString('latin1');
  const rest = text.slice(32);
  assert.equal(text.slice(0, 32), md5hex(Buffer.from(rest, 'latin1')));
  return rest;
}

const sample: ClientKeyLine[] = [
  { id: 1, name: 'web01', ip: 'any', key: 'a'.repeat(64) },
  { id: 2, name: 'db.02', ip: '10.0.0.2', key: 'b'.repeat(64) },
  { id: 1000, name: 'edge_1000', ip: '192.168.0.0/24', key: 'c'.repeat(64) },
];

test('agent-keys - newAgentKey gives 64 lowercase hex characters, different each time', () => {
  const a = newAgentKey();
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.notEqual(a, newAgentKey());
});

test('agent-keys - §5.7 vectors: encryption key, AES key and K hash', () => {
  assert.equal(deriveEncryptionKey(ID, NAME, KEY), 'fe3a1ff59f3b89b2ad3d33f08984874b36dd8b69bcdd944');
  assert.equal(deriveEncryptionKey(ID, NAME, KEY).length, 47);
  const aes = aesKey(ID, NAME, KEY);
  assert.equal(aes.length, 32);
  assert.equal(aes.toString('latin1'), 'fe3a1ff59f3b89b2ad3d33f08984874b');
  assert.equal(enrolmentKeyHash(ID, NAME, KEY), 'c8c5819f112aa236f889c34c9e0debb80bd3e1fd');
});

test('agent-keys - the AES key depends on the key only, the 47-char string on name and id too', () => {
  assert.deepEqual(aesKey('002', 'other', KEY), aesKey(ID, NAME, KEY));
  assert.notEqual(deriveEncryptionKey('002', NAME, KEY), deriveEncryptionKey(ID, NAME, KEY));
  assert.notEqual(deriveEncryptionKey(ID, 'other', KEY), deriveEncryptionKey(ID, NAME, KEY));
});

test('agent-keys - the derived AES key decrypts the §5.7 wire vector', () => {
  assert.equal(decodeAes(Buffer.from(AES_WIRE, 'hex'), aesKey(ID, NAME, KEY)), AES_PAYLOAD);
});

test('agent-keys - renderClientKeys writes ID NAME IP KEY lines with padded ids, in order', () => {
  assert.equal(renderClientKeys([]), '');
  assert.equal(renderClientKeys(sample),
    `001 web01 any ${'a'.repeat(64)}\n002 db.02 10.0.0.2 ${'b'.repeat(64)}\n1000 edge_1000 192.168.0.0/24 ${'c'.repeat(64)}\n`);
});

test('agent-keys - render then parse round-trips', () => {
  const parsed = parseClientKeys(renderClientKeys(sample));
  assert.deepEqual(parsed, { agents: sample, removedIds: [], errors: [] });
  assert.deepEqual(parseClientKeys(''), { agents: [], removedIds: [], errors: [] });
});

test('agent-keys - parseClientKeys skips comments, blank and space-led lines; removed agents give their ids', () => {
  const text = [
    '# client.keys',
    '',
    `001 web01 any ${'a'.repeat(64)}`,
    `  002 indented any ${'b'.repeat(64)}`,
    `003 !gone any ${'c'.repeat(64)}`,
    `004 #gone2 10.0.0.4 ${'d'.repeat(64)}`,
    `005 short-key any abc.DEF_1-2`,
    `006 crlf any ${'e'.repeat(64)}\r`,
  ].join('\n');
  const parsed = parseClientKeys(text);
  assert.deepEqual(parsed.agents.map((a) => [a.id, a.name, a.key]), [
    [1, 'web01', 'a'.repeat(64)], [5, 'short-key', 'abc.DEF_1-2'], [6, 'crlf', 'e'.repeat(64)],
  ]);
  assert.deepEqual(parsed.removedIds, [3, 4]);
  assert.deepEqual(parsed.errors, []);
});

test('agent-keys - parseClientKeys reports bad fields and duplicates with 1-based line numbers', () => {
  const k = 'f'.repeat(64);
  const text = [
    `001 good any ${k}`,
    `000 manager any ${k}`,
    `123456789 toolong any ${k}`,
    `0x1 hexid any ${k}`,
    `002 x any ${k}`,
    `003 bad/name any ${k}`,
    `004 badip 10.0.0.256 ${k}`,
    `005 badcidr 10.0.0.0/33 ${k}`,
    `006 badkey any ${'k'.repeat(129)}`,
    `007 badkey2 any key!`,
    `001 dupid any ${k}`,
    `008 good any ${k}`,
    `009 two  spaces ${k}`,
    `010 three fields`,
    `011 ok 2001:db8::/64 ${k}`,
  ].join('\n');
  const parsed = parseClientKeys(text);
  assert.deepEqual(parsed.agents.map((a) => a.id), [1, 11]);
  assert.deepEqual(parsed.errors, [
    { line: 2, message: "invalid agent id '000': 000 is the manager itself" },
    { line: 3, message: "invalid agent id '123456789'" },
    { line: 4, message: "invalid agent id '0x1'" },
    { line: 5, message: "invalid agent name 'x'" },
    { line: 6, message: "invalid agent name 'bad/name'" },
    { line: 7, message: "invalid agent ip '10.0.0.256'" },
    { line: 8, message: "invalid agent ip '10.0.0.0/33'" },
    { line: 9, message: "invalid agent key for agent '006'" },
    { line: 10, message: "invalid agent key for agent '007'" },
    { line: 11, message: "duplicate agent id '001'" },
    { line: 12, message: "duplicate agent name 'good'" },
    { line: 13, message: "expected 4 fields 'ID NAME IP KEY', found 5" },
    { line: 14, message: "expected 4 fields 'ID NAME IP KEY', found 3" },
  ]);
});

test('agent-keys - isValidAgentIp accepts any, IPv4, IPv6 and CIDRs within their family', () => {
  for (const ip of ['any', '10.0.0.1', '0.0.0.0/0', '10.0.0.0/32', '::1', '2001:db8::1', '2001:db8::/128', '::ffff:10.0.0.1']) {
    assert.equal(isValidAgentIp(ip), true, ip);
  }
  for (const ip of ['', 'ANY', 'localhost', '10.0.0', '10.0.0.1/33', '::1/129', '10.0.0.1/', '10.0.0.1/a', '/24', 'fe80::1%eth0', '10.0.0.1/-1', '10.0.0.1/24/1']) {
    assert.equal(isValidAgentIp(ip), false, ip);
  }
});
