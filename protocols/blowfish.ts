/**
 * Blowfish (Schneier, 1993) and CBC mode in plain TypeScript. Node 20 ships
 * OpenSSL 3, which refuses `bf-cbc` unless the process runs with the legacy
 * provider, and Wazuh agents may still speak Blowfish (§5 of the agent protocol).
 *
 * The initial P-array and S-boxes are the hexadecimal digits of pi's fractional
 * part. They are computed here with a BigInt Machin formula the first time a key
 * is expanded (about 30 ms, once per process), not pasted from a table.
 *
 * No padding: the data length must be a multiple of 8 bytes.
 */

export const BLOWFISH_BLOCK_BYTES = 8;
export const BLOWFISH_MIN_KEY_BYTES = 1;
export const BLOWFISH_MAX_KEY_BYTES = 56;

const ROUNDS = 16;
const P_WORDS = ROUNDS + 2;
const SBOX_WORDS = 4 * 256;
const PI_WORDS = P_WORDS + SBOX_WORDS;

/** Guard bits below the last wanted word: the series' truncation errors stay far under them. */
const GUARD_BITS = 64n;

/** arctan(1/x) scaled by `one`, truncated, from the alternating Taylor series. */
function arctanInverse(x: bigint, one: bigint): bigint {
  const x2 = x * x;
  let power = one / x;
  let sum = power;
  let n = 1n;
  let subtract = true;
  while (power !== 0n) {
    power /= x2;
    n += 2n;
    const term = power / n;
    sum = subtract ? sum - term : sum + term;
    subtract = !subtract;
  }
  return sum;
}

/**
 * The first `count` 32-bit words of the fractional part of pi, i.e. its hex digits
 * 243F6A88 85A308D3 …, by Machin: pi = 16·atan(1/5) − 4·atan(1/239).
 */
export function piFractionWords(count: number): Uint32Array {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`bad word count ${count}`);
  const bits = BigInt(count) * 32n + GUARD_BITS;
  const one = 1n << bits;
  const pi = 16n * arctanInverse(5n, one) - 4n * arctanInverse(239n, one);
  const fraction = (pi - 3n * one) >> GUARD_BITS;
  const hex = fraction.toString(16).padStart(count * 8, '0');
  const words = new Uint32Array(count);
  for (let i = 0; i < count; i++) words[i] = Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16);
  return words;
}

let piTable: Uint32Array | null = null;

/** P-array (18 words) then the four S-boxes (256 words each), computed once. */
function initialTable(): Uint32Array {
  piTable ??= piFractionWords(PI_WORDS);
  return piTable;
}

/** An expanded key: P-array and S-boxes in one array, S-box i at P_WORDS + 256·i. */
class KeySchedule {
  readonly p: Uint32Array;
  readonly s0: Uint32Array;
  readonly s1: Uint32Array;
  readonly s2: Uint32Array;
  readonly s3: Uint32Array;
  /** Scratch output of one block operation: [left, right]. */
  private readonly lr = new Uint32Array(2);

  constructor(key: Uint8Array) {
    const table = initialTable().slice();
    this.p = table.subarray(0, P_WORDS);
    this.s0 = table.subarray(P_WORDS, P_WORDS + 256);
    this.s1 = table.subarray(P_WORDS + 256, P_WORDS + 512);
    this.s2 = table.subarray(P_WORDS + 512, P_WORDS + 768);
    this.s3 = table.subarray(P_WORDS + 768, P_WORDS + 1024);
    // XOR the key, cycled, into the P-array (big-endian words).
    let k = 0;
    for (let i = 0; i < P_WORDS; i++) {
      let word = 0;
      for (let b = 0; b < 4; b++) {
        word = (word << 8) | (key[k] as number);
        k = k + 1 === key.length ? 0 : k + 1;
      }
      this.p[i] = (this.p[i] as number) ^ word;
    }
    // Replace every P and S word by successive encryptions of the all-zero block.
    let l = 0;
    let r = 0;
    for (let i = 0; i < PI_WORDS; i += 2) {
      this.encryptBlock(l, r);
      l = this.lr[0] as number;
      r = this.lr[1] as number;
      table[i] = l;
      table[i + 1] = r;
    }
  }

  private f(x: number): number {
    const a = this.s0[x >>> 24] as number;
    const b = this.s1[(x >>> 16) & 0xff] as number;
    const c = this.s2[(x >>> 8) & 0xff] as number;
    const d = this.s3[x & 0xff] as number;
    return ((((a + b) | 0) ^ c) + d) | 0;
  }

  /** Encrypts one block given as two big-endian words; the result is left in `lr`. */
  encryptBlock(left: number, right: number): Uint32Array {
    const p = this.p;
    let l = left;
    let r = right;
    for (let i = 0; i < ROUNDS; i += 2) {
      l ^= p[i] as number;
      r ^= this.f(l);
      r ^= p[i + 1] as number;
      l ^= this.f(r);
    }
    this.lr[0] = r ^ (p[ROUNDS + 1] as number);
    this.lr[1] = l ^ (p[ROUNDS] as number);
    return this.lr;
  }

  decryptBlock(left: number, right: number): Uint32Array {
    const p = this.p;
    let l = left;
    let r = right;
    for (let i = ROUNDS + 1; i > 1; i -= 2) {
      l ^= p[i] as number;
      r ^= this.f(l);
      r ^= p[i - 1] as number;
      l ^= this.f(r);
    }
    this.lr[0] = r ^ (p[0] as number);
    this.lr[1] = l ^ (p[1] as number);
    return this.lr;
  }
}

/**
 * Expanding a key costs 521 block encryptions, so the last few schedules are kept
 * (an agent server reuses one key per agent). Keyed by the key bytes as latin1.
 */
const SCHEDULE_CACHE_SIZE = 64;
const scheduleCache = new Map<string, KeySchedule>();

function scheduleFor(key: Uint8Array): KeySchedule {
  if (key.length < BLOWFISH_MIN_KEY_BYTES || key.length > BLOWFISH_MAX_KEY_BYTES) {
    throw new RangeError(`Blowfish key must be ${BLOWFISH_MIN_KEY_BYTES}..${BLOWFISH_MAX_KEY_BYTES} bytes, got ${key.length}`);
  }
  const id = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
  const hit = scheduleCache.get(id);
  if (hit) {
    // Refresh its position: Map iteration order makes the first entry the oldest.
    scheduleCache.delete(id);
    scheduleCache.set(id, hit);
    return hit;
  }
  const made = new KeySchedule(key);
  if (scheduleCache.size >= SCHEDULE_CACHE_SIZE) {
    const oldest = scheduleCache.keys().next();
    if (!oldest.done) scheduleCache.delete(oldest.value);
  }
  scheduleCache.set(id, made);
  return made;
}

function checkArgs(iv: Uint8Array, data: Uint8Array): void {
  if (iv.length !== BLOWFISH_BLOCK_BYTES) throw new RangeError(`Blowfish IV must be 8 bytes, got ${iv.length}`);
  if (data.length % BLOWFISH_BLOCK_BYTES !== 0) {
    throw new RangeError(`Blowfish-CBC data must be a multiple of 8 bytes, got ${data.length}`);
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Blowfish-CBC encryption without padding. Throws RangeError on a bad key, IV or length. */
export function blowfishCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  checkArgs(iv, data);
  const ks = scheduleFor(key);
  const input = asBuffer(data);
  const ivb = asBuffer(iv);
  const out = Buffer.allocUnsafe(input.length);
  let cl = ivb.readUInt32BE(0);
  let cr = ivb.readUInt32BE(4);
  for (let off = 0; off < input.length; off += BLOWFISH_BLOCK_BYTES) {
    const lr = ks.encryptBlock(input.readUInt32BE(off) ^ cl, input.readUInt32BE(off + 4) ^ cr);
    cl = lr[0] as number;
    cr = lr[1] as number;
    out.writeUInt32BE(cl, off);
    out.writeUInt32BE(cr, off + 4);
  }
  return out;
}

/** Blowfish-CBC decryption without padding. Throws RangeError on a bad key, IV or length. */
export function blowfishCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  checkArgs(iv, data);
  const ks = scheduleFor(key);
  const input = asBuffer(data);
  const ivb = asBuffer(iv);
  const out = Buffer.allocUnsafe(input.length);
  let pl = ivb.readUInt32BE(0);
  let pr = ivb.readUInt32BE(4);
  for (let off = 0; off < input.length; off += BLOWFISH_BLOCK_BYTES) {
    const cl = input.readUInt32BE(off);
    const cr = input.readUInt32BE(off + 4);
    const lr = ks.decryptBlock(cl, cr);
    out.writeUInt32BE(((lr[0] as number) ^ pl) >>> 0, off);
    out.writeUInt32BE(((lr[1] as number) ^ pr) >>> 0, off + 4);
    pl = cl;
    pr = cr;
  }
  return out;
}
