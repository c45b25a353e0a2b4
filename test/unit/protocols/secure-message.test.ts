import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import test from 'node:test';
import { deflateSync, inflateSync } from 'node:zlib';
import { aesKey, deriveEncryptionKey } from '../../../protocols/agent-keys.js';
import { blowfishCbcDecrypt, blowfishCbcEncrypt } from '../../../protocols/blowfish.js';
import {
  ACK, DecodeError, PONG, decodeSecure, encodeSecure, isPing, splitSender, type AgentKeyMaterial, type Cipher, type DecodeReason,
} from '../../../protocols/secure-message.js';
import { pseudoRandom } from '../../harness/bytes.js';

// §5.7 of the Wazuh agent protocol reference.
const K: AgentKeyMaterial = { id: '001', name: 'agent-test', key: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' };
const AES_WIRE = '2130303121234145533a54f3943362ad9ba1a6aa4e070f3ac8a0198b0208130936d25b70be593bac55ed9d8d3e3d39f7766dc9f105c7ba73d2978d31e2aca245a707e9135bc8140ac0c4c40b2dbdc1b4e5d70ce8be0644946d413ae3b6d9d33133937eab0543c0eb65f8a3265f27f27e410c838241ca549c48c9';
const BF_WIRE = '21303031213ace27077453967ed26163f3db1c924f6cc8f8a6d432e836ff3a119f239b6664430abc3cf976cfdad27a30ba22a0514a7dcc47a748d8cfc8a0ae51c8ca6009bb890f9ce769bf2c0256298fa623ad16aef810ad35e71cb543216572635a08c11022';
const STARTUP = Buffer.from('#!-agent startup {"version":"v4.14.5"}', 'latin1');
const CIPHERS: Cipher[] = ['aes', 'blowfish'];

const AES_IV = Buffer.from('FEDCBA0987654321', 'latin1');
const BF_IV = Buffer.from('fedcba9876543210', 'hex');
const bfKey = (k: AgentKeyMaterial): Buffer => Buffer.from(deriveEncryptionKey(k.id, k.name, k.key), 'latin1');
const md5hex = (b: Buffer): string => createHash('md5').update(b).digest('hex');


/** Encrypts an arbitrary plaintext (L0) the way §5.2 step 5–6 does, for hand-built bad messages. */
function seal(l0: Buffer, cipher: Cipher, k: AgentKeyMaterial = K): Buffer {
  if (cipher === 'aes') {
    const c = createCipheriv('aes-256-cbc', aesKey(k.id, k.name, k.key), AES_IV);
    return Buffer.concat([Buffer.from('#AES:'), c.update(l0), c.final()]);
  }
  const padded = Buffer.concat([l0, Buffer.alloc((8 - (l0.length % 8)) % 8)]);
  return Buffer.concat([Buffer.from(':'), blowfishCbcEncrypt(bfKey(k), BF_IV, padded)]);
}

/** §5.2 layers 3..0 built by hand; `tamper` may change the md5+L3 text before compression. */
function handBuilt(l3: Buffer, cipher: Cipher, tamper: (l2: Buffer) => Buffer = (b) => b): Buffer {
  const l2 = tamper(Buffer.concat([Buffer.from(md5hex(l3), 'latin1'), l3]));
  const l1 = deflateSync(l2);
  const n = 1 + ((8 - ((l1.length + 1) % 8)) % 8);
  return seal(Buffer.concat([Buffer.alloc(n, '!'), l1]), cipher);
}

/** The plaintext under the cipher (L0), decrypted with node:crypto / the Blowfish module directly. */
function unseal(rest: Buffer): Buffer {
  if (rest.subarray(0, 5).toString('latin1') === '#AES:') {
    const d = createDecipheriv('aes-256-cbc', aesKey(K.id, K.name, K.key), AES_IV);
    return Buffer.concat([d.update(rest.subarray(5)), d.final()]);
  }
  return blowfishCbcDecrypt(bfKey(K), BF_IV, rest.subarray(1));
}

function assertDecodeError(fn: () => unknown, reason?: DecodeReason): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DecodeError, `expected a DecodeError, got ${String(err)}`);
    if (reason) assert.equal(err.reason, reason);
    return true;
  });
}

const header = (random: number, global: number, local: number): string =>
  `${String(random).padStart(5, '0')}${String(global).padStart(10, '0')}:${String(local).padStart(4, '0')}:`;

test('secure-message - decodes both §5.7 wire vectors', () => {
  for (const [wire, cipher] of [[AES_WIRE, 'aes'], [BF_WIRE, 'blowfish']] as const) {
    const { id, rest } = splitSender(Buffer.from(wire, 'hex'));
    assert.equal(id, '001');
    const r = decodeSecure(rest, K);
    assert.equal(r.cipher, cipher);
    assert.deepEqual(r.payload, STARTUP);
    assert.equal(r.global, 1234567891);
    assert.equal(r.local, 227);
    // 6 leading '!' as the reference says.
    const l0 = unseal(rest);
    assert.equal(l0.subarray(0, 7).toString('latin1'), '!!!!!!x');
  }
});

test('secure-message - L3 header layout and md5 match the §5.7 example', () => {
  for (const cipher of CIPHERS) {
    const wire = encodeSecure(STARTUP, K, cipher, { withId: false, random: 12345, global: 0, local: 1 });
    const l0 = unseal(wire);
    let start = 0;
    while (l0[start] === 0x21) start++;
    const l1 = l0.subarray(start);
    // C formula: n = 1 + ((8 - (len+1) mod 8) mod 8), trailing Blowfish bytes none.
    assert.equal(start, 1 + ((8 - ((l1.length + 1) % 8)) % 8));
    assert.equal(l0.length % 8, 0);
    assert.deepEqual(l1.subarray(0, 2), Buffer.from([0x78, 0xda]), 'zlib level 9 header');
    const text = inflateSync(l1).toString('latin1');
    assert.equal(text, '71a91542199489eb985937350b456b02' + '123450000000000:0001:#!-agent startup {"version":"v4.14.5"}');
  }
});

test('secure-message - defaults: global 0, local 1, random 0..65535; AES is 16-aligned, Blowfish 8-aligned', () => {
  const randoms = new Set<string>();
  for (let i = 0; i < 20; i++) {
    for (const cipher of CIPHERS) {
      const wire = encodeSecure(STARTUP, K, cipher, { withId: false });
      const r = decodeSecure(wire, K);
      assert.equal(r.global, 0);
      assert.equal(r.local, 1);
      const marker = cipher === 'aes' ? 5 : 1;
      assert.equal((wire.length - marker) % (cipher === 'aes' ? 16 : 8), 0);
      const l0 = unseal(wire);
      let start = 0;
      while (l0[start] === 0x21) start++;
      const text = inflateSync(l0.subarray(start)).toString('latin1');
      const random = text.slice(32, 37);
      assert.match(random, /^\d{5}$/);
      assert.ok(Number(random) <= 65535);
      randoms.add(random);
    }
  }
  assert.ok(randoms.size > 1, 'the random field varies');
});

test('secure-message - round trips: both ciphers, with and without id, many sizes and binary bytes', () => {
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  const payloads = [1, 7, 8, 9, 900, 65_000].map((n, i) => pseudoRandom(n, n + i));
  payloads.push(all, Buffer.alloc(65_000, 'a'), Buffer.from('!!!:::#AES:\0\xff', 'latin1'));
  for (const payload of payloads) {
    for (const cipher of CIPHERS) {
      for (const withId of [true, false]) {
        const wire = encodeSecure(payload, K, cipher, { withId, global: 9_999_999_999, local: 9_997, random: 65_535 });
        assert.ok(wire.length <= 65_536, `a ${payload.length}-byte payload fits a frame`);
        const { id, rest } = splitSender(wire);
        assert.equal(id, withId ? '001' : null);
        const r = decodeSecure(rest, K);
        assert.equal(r.cipher, cipher);
        assert.equal(r.global, 9_999_999_999);
        assert.equal(r.local, 9_997);
        assert.ok(r.payload.equals(payload), `${cipher} ${payload.length} bytes withId=${withId}`);
      }
    }
  }
});

test('secure-message - the id is kept as sent, the AES key ignores name and id, Blowfish does not', () => {
  const k7: AgentKeyMaterial = { id: '00000007', name: 'x', key: K.key };
  const wire = encodeSecure(STARTUP, k7, 'aes', { withId: true });
  const { id, rest } = splitSender(wire);
  assert.equal(id, '00000007');
  assert.deepEqual(decodeSecure(rest, K).payload, STARTUP);
  const bf = encodeSecure(STARTUP, k7, 'blowfish', { withId: false });
  assert.deepEqual(decodeSecure(bf, k7).payload, STARTUP);
  assertDecodeError(() => decodeSecure(bf, K));
});

test('secure-message - a wrong key is refused', () => {
  const other: AgentKeyMaterial = { ...K, key: 'f'.repeat(64) };
  for (let i = 0; i < 50; i++) {
    const payload = pseudoRandom(1 + i * 13, i);
    assertDecodeError(() => decodeSecure(encodeSecure(payload, K, 'aes', { withId: false }), other), 'bad-key');
    // Blowfish has no padding check: garbage comes out, and is refused one way or another.
    assertDecodeError(() => decodeSecure(encodeSecure(payload, K, 'blowfish', { withId: false }), other));
  }
});

test('secure-message - a flipped md5 byte is bad-checksum', () => {
  const l3 = Buffer.from(header(55555, 1234567891, 227) + STARTUP.toString('latin1'), 'latin1');
  for (const cipher of CIPHERS) {
    assert.deepEqual(decodeSecure(handBuilt(l3, cipher), K).payload, STARTUP, 'the helper itself is right');
    const flipped = handBuilt(l3, cipher, (l2) => {
      const b = Buffer.from(l2);
      b[3] = (b[3] as number) ^ 0x01;
      return b;
    });
    assertDecodeError(() => decodeSecure(flipped, K), 'bad-checksum');
    // Upper-case hex is not what md5hex writes either.
    const upper = handBuilt(l3, cipher, (l2) => Buffer.from(l2.toString('latin1').replace(/[a-f]/, (c) => c.toUpperCase()), 'latin1'));
    assertDecodeError(() => decodeSecure(upper, K), 'bad-checksum');
  }
});

test('secure-message - malformed counter headers are corrupt', () => {
  const bad = ['5555512345678910:227:x', '55555123456789x:0227:x', '555551234567891;0227:x', '555551234567891:02a7:x', '555551234567891:0227;x'];
  for (const cipher of CIPHERS) {
    for (const text of bad) {
      const l3 = Buffer.from(text.padEnd(21 + 1, 'x'), 'latin1');
      assertDecodeError(() => decodeSecure(handBuilt(l3, cipher), K), 'corrupt');
    }
    // Shorter than 32 + 21 bytes once inflated.
    assertDecodeError(() => decodeSecure(handBuilt(Buffer.from('55555123456789:0227:', 'latin1'), cipher), K), 'corrupt');
    // Exactly 53 bytes: an empty payload still decodes.
    assert.equal(decodeSecure(handBuilt(Buffer.from(header(1, 2, 3), 'latin1'), cipher), K).payload.length, 0);
  }
});

test('secure-message - legacy, non-zlib and oversized plaintexts', () => {
  for (const cipher of CIPHERS) {
    assertDecodeError(() => decodeSecure(seal(Buffer.from(':legacy message', 'latin1'), cipher), K), 'legacy-format');
    assertDecodeError(() => decodeSecure(seal(Buffer.from('plain text here', 'latin1'), cipher), K), 'bad-key');
    assertDecodeError(() => decodeSecure(seal(Buffer.from('!!!!!!!!not zlib', 'latin1'), cipher), K), 'bad-key');
    assertDecodeError(() => decodeSecure(seal(Buffer.from('!!!!!!!!', 'latin1'), cipher), K), 'bad-key');
    // A small message that inflates past the bound.
    const bomb = deflateSync(Buffer.alloc(200_000, 'a'), { level: 9 });
    assertDecodeError(() => decodeSecure(seal(Buffer.concat([Buffer.from('!'), bomb]), cipher), K), 'too-large');
  }
});

test('secure-message - truncated, empty and marker-less input', () => {
  for (const cipher of CIPHERS) {
    const wire = encodeSecure(pseudoRandom(300, 3), K, cipher, { withId: false });
    for (const cut of [1, 3, 8, 16, wire.length - 1 - (cipher === 'aes' ? 5 : 1)]) {
      assertDecodeError(() => decodeSecure(wire.subarray(0, wire.length - cut), K));
    }
    assertDecodeError(() => decodeSecure(wire.subarray(0, cipher === 'aes' ? 5 : 1), K), 'corrupt');
  }
  assertDecodeError(() => decodeSecure(Buffer.alloc(0), K), 'corrupt');
  assertDecodeError(() => decodeSecure(Buffer.from('#AES'), K), 'corrupt');
  assertDecodeError(() => decodeSecure(Buffer.from('#AESx0123456789abcdef'), K), 'corrupt');
  assertDecodeError(() => decodeSecure(Buffer.from('#ping'), K), 'corrupt');
  assertDecodeError(() => decodeSecure(Buffer.from(':1234567'), K), 'corrupt');
  const { id, rest } = splitSender(Buffer.alloc(0));
  assert.equal(id, null);
  assertDecodeError(() => decodeSecure(rest, K), 'corrupt');
  assertDecodeError(() => decodeSecure(splitSender(Buffer.from('!001!')).rest, K), 'corrupt');
});

test('secure-message - splitSender', () => {
  const r = splitSender(Buffer.from('!12345678!:abc'));
  assert.equal(r.id, '12345678');
  assert.deepEqual(r.rest, Buffer.from(':abc'));
  assert.deepEqual(splitSender(Buffer.from('#AES:xyz')), { id: null, rest: Buffer.from('#AES:xyz') });
  for (const bad of ['!abc!', '!!', '!', '!001', '!123456789!:x', '!0a1!:x', '! 1!:x', '!-1!:x']) {
    assertDecodeError(() => splitSender(Buffer.from(bad, 'latin1')), 'bad-sender');
  }
});

test('secure-message - encode refuses out-of-range counters and a non-numeric id', () => {
  for (const opts of [{ random: 65_536 }, { random: -1 }, { global: 10_000_000_000 }, { local: 10_000 }, { local: 1.5 }]) {
    assert.throws(() => encodeSecure(STARTUP, K, 'aes', { withId: false, ...opts }), RangeError);
  }
  assert.throws(() => encodeSecure(STARTUP, { ...K, id: 'abc' }, 'aes', { withId: true }), RangeError);
  // Without the prefix the id is only key material.
  assert.ok(encodeSecure(STARTUP, { ...K, id: 'abc' }, 'aes', { withId: false }).length > 0);
});

test('secure-message - ping, pong and ack constants', () => {
  assert.ok(isPing(Buffer.from('#ping')));
  assert.ok(isPing(Buffer.from('#ping 123')));
  assert.ok(!isPing(Buffer.from('#pin')));
  assert.ok(!isPing(Buffer.from('!001!#ping')));
  assert.ok(!isPing(Buffer.alloc(0)));
  assert.equal(PONG.toString('latin1'), '#pong');
  assert.equal(ACK.toString('latin1'), '#!-agent ack ');
});
