import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import { blowfishCbcDecrypt, blowfishCbcEncrypt, piFractionWords } from '../../../protocols/blowfish.js';
import { pseudoRandom } from '../../harness/bytes.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const ZERO_IV = Buffer.alloc(8);

/** One ECB block is CBC with an all-zero IV. */
function ecb(key: Buffer, block: Buffer): string {
  return blowfishCbcEncrypt(key, ZERO_IV, block).toString('hex').toUpperCase();
}

/** Deterministic bytes (xorshift32), so a failing case can be replayed. */

test('blowfish - pi words: P-array and S-box boundaries are the known hex digits of pi', (t) => {
  const t0 = performance.now();
  const words = piFractionWords(1042);
  const ms = performance.now() - t0;
  t.diagnostic(`piFractionWords(1042) took ${ms.toFixed(1)} ms`);
  assert.equal(words.length, 1042);
  assert.equal(words[0], 0x243f6a88);
  assert.equal(words[1], 0x85a308d3);
  assert.equal(words[17], 0x8979fb1b); // P[17]
  assert.equal(words[18], 0xd1310ba6); // S0[0]
  assert.equal(words[1041], 0x3ac372e6); // S3[255]
  assert.ok(ms < 200, `pi generation took ${ms} ms`);
});

test('blowfish - Schneier known-answer vectors (ECB, 8-byte keys)', () => {
  const vectors: [string, string, string][] = [
    ['0000000000000000', '0000000000000000', '4EF997456198DD78'],
    ['FFFFFFFFFFFFFFFF', 'FFFFFFFFFFFFFFFF', '51866FD5B85ECB8A'],
    ['3000000000000000', '1000000000000001', '7D856F9A613063F2'],
    ['1111111111111111', '1111111111111111', '2466DD878B963C9D'],
    ['0123456789ABCDEF', '1111111111111111', '61F9C3802281B096'],
    ['1111111111111111', '0123456789ABCDEF', '7D0CC630AFDA1EC7'],
    ['FEDCBA9876543210', '0123456789ABCDEF', '0ACEAB0FC6A0A28D'],
    ['7CA110454A1A6E57', '01A1D6D039776742', '59C68245EB05282B'],
    ['0131D9619DC1376E', '5CD54CA83DEF57DA', 'B1B8CC0B250F09A0'],
  ];
  for (const [key, plain, cipher] of vectors) {
    assert.equal(ecb(hex(key), hex(plain)), cipher, `key ${key}`);
    assert.deepEqual(blowfishCbcDecrypt(hex(key), ZERO_IV, hex(cipher)), hex(plain), `key ${key}`);
  }
});

test('blowfish - Eric Young variable-key vectors (key lengths 1..24)', () => {
  const key = hex('F0E1D2C3B4A5968778695A4B3C2D1E0F0011223344556677');
  const plain = hex('FEDCBA9876543210');
  const expected = [
    'F9AD597C49DB005E', 'E91D21C1D961A6D6', 'E9C2B70A1BC65CF3', 'BE1E639408640F05', 'B39E44481BDB1E6E', '9457AA83B1928C0D',
    '8BB77032F960629D', 'E87A244E2CC85E82', '15750E7A4F4EC577', '122BA70B3AB64AE0', '3A833C9AFFC537F6', '9409DA87A90F6BF2',
    '884F80625060B8B4', '1F85031C19E11968', '79D9373A714CA34F', '93142887EE3BE15C', '03429E838CE2D14B', 'A4299E27469FF67B',
    'AFD5AED1C1BC96A8', '10851C0E3858DA9F', 'E6F51ED79B9DB21F', '64A6E14AFD36B46F', '80C7D7D45A5479AD', '05044B62FA52D080',
  ];
  expected.forEach((cipher, i) => {
    assert.equal(ecb(key.subarray(0, i + 1), plain), cipher, `key length ${i + 1}`);
  });
});

test('blowfish - Eric Young CBC vector', () => {
  const key = hex('0123456789ABCDEFF0E1D2C3B4A59687');
  const iv = hex('FEDCBA9876543210');
  const data = Buffer.alloc(32);
  Buffer.from('7654321 Now is the time for ', 'latin1').copy(data);
  const out = blowfishCbcEncrypt(key, iv, data);
  assert.equal(out.toString('hex').toUpperCase(), '6B77B4D63006DEE605B156E27403979358DEB9E7154616D959F1652BD5FF92CC');
  assert.deepEqual(blowfishCbcDecrypt(key, iv, out), data);
});

interface Case { key: string; iv: string; data: string }

test('blowfish - CBC agrees with OpenSSL bf-cbc (legacy provider, child process)', (t) => {
  const cases: Case[] = [];
  const keyLengths = [1, 2, 5, 8, 16, 31, 47, 55, 56];
  const dataLengths = [0, 8, 16, 24, 64, 1000, 8192];
  let seed = 7;
  for (const kl of keyLengths) {
    for (const dl of dataLengths) {
      cases.push({
        key: pseudoRandom(kl, seed++).toString('hex'),
        iv: pseudoRandom(8, seed++).toString('hex'),
        data: pseudoRandom(dl, seed++).toString('hex'),
      });
    }
  }
  // The Wazuh shape: a 47-byte ASCII key and the fixed IV.
  cases.push({
    key: Buffer.from('fe3a1ff59f3b89b2ad3d33f08984874b36dd8b69bcdd944', 'latin1').toString('hex'),
    iv: 'fedcba9876543210',
    data: pseudoRandom(96, 99).toString('hex'),
  });
  const code = `
    const crypto = require('node:crypto');
    const cases = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    const out = cases.map((c) => {
      const e = crypto.createCipheriv('bf-cbc', Buffer.from(c.key, 'hex'), Buffer.from(c.iv, 'hex'));
      e.setAutoPadding(false);
      return Buffer.concat([e.update(Buffer.from(c.data, 'hex')), e.final()]).toString('hex');
    });
    process.stdout.write(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ['--openssl-legacy-provider', '-e', code], {
    input: JSON.stringify(cases), encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (r.status !== 0) {
    t.skip(`OpenSSL legacy bf-cbc unavailable here: ${(r.stderr || String(r.error)).split('\n')[0]}`);
    return;
  }
  const expected = JSON.parse(r.stdout) as string[];
  assert.equal(expected.length, cases.length);
  cases.forEach((c, i) => {
    const key = hex(c.key);
    const iv = hex(c.iv);
    const mine = blowfishCbcEncrypt(key, iv, hex(c.data));
    assert.equal(mine.toString('hex'), expected[i], `case ${i}: key ${key.length} bytes, data ${c.data.length / 2} bytes`);
    assert.equal(blowfishCbcDecrypt(key, iv, mine).toString('hex'), c.data);
  });
});

test('blowfish - round trips over key and data lengths, Uint8Array views included', () => {
  for (const kl of [1, 3, 8, 47, 56]) {
    for (const dl of [0, 8, 40, 4096, 65_536]) {
      const key = pseudoRandom(kl, kl * 1000 + dl);
      const iv = pseudoRandom(8, dl + 1);
      const data = pseudoRandom(dl, kl + dl + 2);
      const enc = blowfishCbcEncrypt(key, iv, data);
      assert.equal(enc.length, dl);
      if (dl > 0) assert.notDeepEqual(enc, data);
      assert.deepEqual(blowfishCbcDecrypt(key, iv, enc), data);
    }
  }
  // A Uint8Array that is a window into a larger buffer, not a Buffer.
  const backing = new Uint8Array(64);
  backing.set(pseudoRandom(64, 5));
  const key = backing.subarray(3, 50);
  const iv = backing.subarray(50, 58);
  const data = new Uint8Array(backing.buffer, 8, 16);
  const enc = blowfishCbcEncrypt(key, iv, data);
  assert.deepEqual(enc, blowfishCbcEncrypt(Buffer.from(key), Buffer.from(iv), Buffer.from(data)));
  assert.deepEqual(new Uint8Array(blowfishCbcDecrypt(key, iv, enc)), new Uint8Array(data));
});

test('blowfish - CBC chains blocks: equal plaintext blocks give different ciphertext blocks', () => {
  const key = Buffer.from('k'.repeat(47), 'latin1');
  const enc = blowfishCbcEncrypt(key, ZERO_IV, Buffer.alloc(16));
  assert.notDeepEqual(enc.subarray(0, 8), enc.subarray(8, 16));
  // A flipped ciphertext bit garbles its own block and flips the same bit in the next.
  const flipped = Buffer.from(enc);
  flipped[0] = (flipped[0] as number) ^ 0x01;
  const dec = blowfishCbcDecrypt(key, ZERO_IV, flipped);
  assert.notDeepEqual(dec.subarray(0, 8), Buffer.alloc(8));
  assert.deepEqual(dec.subarray(8, 16), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
});

test('blowfish - bad lengths throw', () => {
  const key = Buffer.alloc(16, 1);
  for (const n of [1, 7, 9, 15, 17]) {
    assert.throws(() => blowfishCbcEncrypt(key, ZERO_IV, Buffer.alloc(n)), RangeError);
    assert.throws(() => blowfishCbcDecrypt(key, ZERO_IV, Buffer.alloc(n)), RangeError);
  }
  assert.throws(() => blowfishCbcEncrypt(Buffer.alloc(0), ZERO_IV, Buffer.alloc(8)), RangeError);
  assert.throws(() => blowfishCbcEncrypt(Buffer.alloc(57), ZERO_IV, Buffer.alloc(8)), RangeError);
  assert.throws(() => blowfishCbcEncrypt(key, Buffer.alloc(7), Buffer.alloc(8)), RangeError);
  assert.throws(() => blowfishCbcDecrypt(key, Buffer.alloc(16), Buffer.alloc(8)), RangeError);
});
