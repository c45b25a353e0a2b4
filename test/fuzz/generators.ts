/**
 * The raw material of the fuzz harness: a seeded PRNG (the same seed gives the same
 * cases, so every crash replays), random bytes and values, and mutators that turn a
 * valid sample into an almost-valid one: bit flips, inserts and deletes, truncation,
 * corrupted length fields, splices of two samples, repeated chunks, hostile strings,
 * and, for msgpack envelopes, type confusion at the value level (a field swapped for
 * another type, extra fields, huge arrays and strings, deep nesting) and at the token
 * level (lying lengths, extension types, nesting that never ends).
 */

// ---------------------------------------------------------------------------------------------------------------
// PRNG

/** FNV-1a over the parts, then a murmur3 finaliser: a 32-bit seed from anything printable. */
export function hashSeed(...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const text = `${typeof part}:${String(part)}|`;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: tiny, fast, and good enough to pick mutations. Not for secrets. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  static from(...parts: readonly (string | number)[]): Rng {
    return new Rng(hashSeed(...parts));
  }

  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** [0, 1). */
  float(): number {
    return this.u32() / 4_294_967_296;
  }

  /** [0, n); 0 when n <= 0. */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor(this.float() * n);
  }

  /** [lo, hi], both included. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** Picks by weight: `[[3, 'a'], [1, 'b']]` gives 'a' three times as often. */
  weighted<T>(entries: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of entries) total += w;
    let r = this.float() * total;
    for (const [w, v] of entries) {
      r -= w;
      if (r < 0) return v;
    }
    const last = entries[entries.length - 1];
    if (!last) throw new RangeError('weighted pick from an empty list');
    return last[1];
  }

  /** Log-uniform in [0, max]: small sizes are common, the largest ones rare but reached. */
  size(max: number): number {
    if (max <= 0) return 0;
    return Math.min(max, Math.floor(Math.exp(this.float() * Math.log(max + 1))) - 1 + (this.chance(0.02) ? 1 : 0));
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) out.writeUInt32LE(this.u32(), i);
    for (; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** An independent stream, for a sub-generator that must not shift this one. */
  fork(label: string | number): Rng {
    return Rng.from(this.u32(), label);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Interesting values

export const INTERESTING_U8 = [0x00, 0x01, 0x09, 0x0a, 0x0d, 0x20, 0x21, 0x22, 0x23, 0x27, 0x2c, 0x2e, 0x2f, 0x3a, 0x5c, 0x7f, 0x80, 0xc0, 0xc1, 0xfe, 0xff] as const;

export const INTERESTING_U32 = [
  0, 1, 2, 5, 6, 7, 0x7f, 0x80, 0xff, 0x100, 0x3ff, 0x400, 0x7fff, 0x8000, 0xffff, 0x1_0000, 0x1_0001, 69_632, 69_633,
  0x10_0000, 0x100_0000, 0x100_0001, 0x7fff_fffe, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff,
] as const;

/** Lengths at and just past the limits protocols put on lists and fields. */
export const INTERESTING_LENGTHS: readonly number[] = [0, 1, 2, 32, 33, 127, 128, 129, 255, 256, 1024, 4096, 5000, 5001, 10_000, 10_001, 65_536, 100_000, 100_001, 200_000, 200_001];

export const INTERESTING_NUMBERS: readonly number[] = [
  0, -0, 1, -1, 2, 31, 32, 33, 127, 128, 255, 256, 65_535, 65_536, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000,
  Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Number.MIN_SAFE_INTEGER, -0x8000_0000, 0.5, -0.5, 1.5, 1e-300,
  1e300, -1e300, Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
  99_999_999, 100_000_000, 9_999_999_999,
];

/** Strings that break parsers: empty, control bytes, quotes, paths, unicode edge cases, prototype keys. */
export const HOSTILE_STRINGS: readonly string[] = [
  '', ' ', '\0', 'a\0b', '\n', '\r\n', '\r', '\t', '\x7f', '\x1b[31m', "'", "''", '"', '\\', '`', ',', ',,', ':', '::',
  '!', '!!', '#', '#!-', '%s%s%s%n', '${x}', '{{7*7}}', '..', '.', '/', '//', '../../../etc/passwd', '/etc/passwd',
  'etc/shared/../../x', 'etc/shared/./a', 'C:\\Windows\\x', 'ü', '日本語', '🙂', 'e\u0301', '\u202e', '\ufeff', '\ud800',
  '\udfff', '\uffff', '\u0085', '\u2028', '\xff\xfe', '\x80\x81', '__proto__', 'constructor', 'prototype', 'toString',
  'hasOwnProperty', 'NaN', '-1', '0', '1e309', 'null', 'undefined', 'true', '[]', '{}', 'any', 'src', '0.0.0.0', '::1',
  '10.0.0.1/33', 'fe80::1%eth0', '999.1.1.1', 'v99.99.99', 'v4.14.5', 'Wazuh v4.14.5',
];

/** One hostile string, sometimes a huge one (up to hugeMax characters). */
export function hostileString(rng: Rng, hugeMax: number): string {
  switch (rng.int(10)) {
    case 0:
      return rng.pick(['A', 'a', '0', 'f', ' ', "'", ',', '/', '\0', '🙂', 'ü', '[', '!', '.', '-']).repeat(rng.size(hugeMax));
    case 1:
      return randomText(rng, rng.size(256));
    case 2:
      return `${rng.pick(HOSTILE_STRINGS)}${rng.pick(HOSTILE_STRINGS)}`;
    default:
      return rng.pick(HOSTILE_STRINGS);
  }
}

/** Text of `length` code units: mostly printable ASCII, with some control, latin1 and unicode. */
export function randomText(rng: Rng, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    const r = rng.int(20);
    if (r < 14) out += String.fromCharCode(0x20 + rng.int(95));
    else if (r < 16) out += String.fromCharCode(rng.int(0x20));
    else if (r < 18) out += String.fromCharCode(0x80 + rng.int(0x80));
    else out += String.fromCharCode(rng.int(0x10000));
  }
  return out;
}

/** Random bytes in one of a few flavours (uniform, printable, one repeated byte, interesting bytes). */
export function randomBytes(rng: Rng, maxLength: number): Buffer {
  const n = rng.size(maxLength);
  switch (rng.int(5)) {
    case 0:
      return Buffer.from(randomText(rng, n), 'latin1');
    case 1:
      return Buffer.alloc(n, rng.pick(INTERESTING_U8));
    case 2: {
      const out = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) out[i] = rng.pick(INTERESTING_U8);
      return out;
    }
    default:
      return rng.bytes(n);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Byte mutators

export interface ByteContext {
  /** Another valid sample, to splice with. */
  readonly other: () => Buffer;
  /** Protocol tokens worth inserting (markers, tags, separators). */
  readonly dict: readonly Buffer[];
  /** The largest size a "huge" mutation may reach. */
  readonly hugeMax: number;
}

export type ByteMutator = (rng: Rng, input: Buffer, ctx: ByteContext) => Buffer;

const at = (rng: Rng, input: Buffer): number => rng.int(input.length + 1);

function writeInteresting(rng: Rng, out: Buffer, offset: number): void {
  const width = rng.pick([1, 2, 4] as const);
  if (offset + width > out.length) return;
  const value = rng.chance(0.8) ? rng.pick(INTERESTING_U32) : rng.u32();
  if (width === 1) out[offset] = value & 0xff;
  else if (width === 2) {
    if (rng.chance(0.5)) out.writeUInt16BE(value & 0xffff, offset);
    else out.writeUInt16LE(value & 0xffff, offset);
  } else if (rng.chance(0.5)) out.writeUInt32BE(value >>> 0, offset);
  else out.writeUInt32LE(value >>> 0, offset);
}

/** Overwrites a 1-, 2- or 4-byte field at `offset` with an interesting value, either endianness. */
export function corruptLengthAt(rng: Rng, input: Buffer, offset: number): Buffer {
  const out = Buffer.from(input);
  writeInteresting(rng, out, offset);
  return out;
}

export const BYTE_MUTATORS: Readonly<Record<string, ByteMutator>> = {
  flipBit: (rng, input) => {
    if (input.length === 0) return input;
    const out = Buffer.from(input);
    const i = rng.int(out.length);
    out[i] = (out[i] as number) ^ (1 << rng.int(8));
    return out;
  },
  setInterestingByte: (rng, input) => {
    if (input.length === 0) return input;
    const out = Buffer.from(input);
    out[rng.int(out.length)] = rng.pick(INTERESTING_U8);
    return out;
  },
  randomizeBytes: (rng, input) => {
    if (input.length === 0) return input;
    const out = Buffer.from(input);
    const n = rng.between(1, 8);
    for (let k = 0; k < n; k++) out[rng.int(out.length)] = rng.u32() & 0xff;
    return out;
  },
  arithmetic: (rng, input) => {
    if (input.length === 0) return input;
    const out = Buffer.from(input);
    const i = rng.int(out.length);
    out[i] = ((out[i] as number) + rng.between(-35, 35)) & 0xff;
    return out;
  },
  insertRandom: (rng, input) => {
    const i = at(rng, input);
    return Buffer.concat([input.subarray(0, i), randomBytes(rng, 64), input.subarray(i)]);
  },
  insertToken: (rng, input, ctx) => {
    if (ctx.dict.length === 0) return input;
    const i = at(rng, input);
    return Buffer.concat([input.subarray(0, i), rng.pick(ctx.dict), input.subarray(i)]);
  },
  overwriteToken: (rng, input, ctx) => {
    if (ctx.dict.length === 0 || input.length === 0) return input;
    const token = rng.pick(ctx.dict);
    const i = rng.int(input.length);
    const out = Buffer.from(input);
    token.copy(out, i, 0, Math.min(token.length, out.length - i));
    return out;
  },
  deleteRange: (rng, input) => {
    if (input.length === 0) return input;
    const i = rng.int(input.length);
    const n = 1 + rng.size(input.length - i - 1);
    return Buffer.concat([input.subarray(0, i), input.subarray(i + n)]);
  },
  truncate: (rng, input) => input.subarray(0, rng.int(input.length + 1)),
  dropHead: (rng, input) => input.subarray(rng.int(input.length + 1)),
  append: (rng, input, ctx) => Buffer.concat([input, rng.chance(0.5) ? randomBytes(rng, 64) : ctx.other()]),
  lengthField: (rng, input) => (input.length === 0 ? input : corruptLengthAt(rng, input, rng.int(input.length))),
  splice: (rng, input, ctx) => {
    const other = ctx.other();
    return Buffer.concat([input.subarray(0, at(rng, input)), other.subarray(rng.int(other.length + 1))]);
  },
  crossover: (rng, input, ctx) => {
    const other = ctx.other();
    const from = rng.int(other.length + 1);
    const chunk = other.subarray(from, from + 1 + rng.size(other.length - from));
    const i = at(rng, input);
    return Buffer.concat([input.subarray(0, i), chunk, input.subarray(i)]);
  },
  repeatChunk: (rng, input, ctx) => {
    if (input.length === 0) return input;
    const from = rng.int(input.length);
    const chunk = input.subarray(from, from + 1 + rng.size(Math.min(64, input.length - from - 1)));
    const times = 1 + rng.size(Math.max(1, Math.floor(ctx.hugeMax / Math.max(1, chunk.length))));
    return Buffer.concat([input.subarray(0, from), Buffer.alloc(chunk.length * times, chunk), input.subarray(from)]);
  },
  duplicate: (_rng, input, ctx) => (input.length > ctx.hugeMax * 16 ? input : Buffer.concat([input, input])),
  swapChunks: (rng, input) => {
    if (input.length < 2) return input;
    const a = rng.int(input.length);
    const b = rng.int(input.length);
    const [lo, hi] = a < b ? [a, b] : [b, a];
    const n = 1 + rng.size(Math.min(hi - lo, input.length - hi) - 1);
    if (hi - lo < n) return input;
    return Buffer.concat([input.subarray(0, lo), input.subarray(hi, hi + n), input.subarray(lo + n, hi), input.subarray(lo, lo + n), input.subarray(hi + n)]);
  },
  fillRegion: (rng, input) => {
    if (input.length === 0) return input;
    const out = Buffer.from(input);
    const i = rng.int(out.length);
    out.fill(rng.pick(INTERESTING_U8), i, i + 1 + rng.size(out.length - i - 1));
    return out;
  },
  replaceText: (rng, input, ctx) => {
    // A run of printable bytes (a name, a path, a tag) swapped for a hostile string.
    const runs: [number, number][] = [];
    let start = -1;
    for (let i = 0; i <= input.length && runs.length < 64; i++) {
      const c = input[i];
      const printable = c !== undefined && c >= 0x20 && c < 0x7f;
      if (printable && start < 0) start = i;
      else if (!printable && start >= 0) {
        if (i - start >= 2) runs.push([start, i]);
        start = -1;
      }
    }
    if (runs.length === 0) return input;
    const [s, e] = rng.pick(runs);
    return Buffer.concat([input.subarray(0, s), Buffer.from(hostileString(rng, ctx.hugeMax), rng.chance(0.5) ? 'utf8' : 'latin1'), input.subarray(e)]);
  },
};

const BYTE_MUTATOR_LIST = Object.values(BYTE_MUTATORS);

/** One to several stacked mutations (mostly one or two). */
export function mutateBytes(rng: Rng, input: Buffer, ctx: ByteContext, maxStack = 6): Buffer {
  let out = input;
  const n = 1 + rng.size(maxStack - 1);
  for (let k = 0; k < n; k++) out = rng.pick(BYTE_MUTATOR_LIST)(rng, out, ctx);
  return out;
}

/** Every proper prefix of `sample`, shortest first: truncation at every point. */
export function* everyTruncation<T extends Buffer | string>(sample: T): Generator<T> {
  for (let n = 0; n < sample.length; n++) yield sample.slice(0, n) as T;
}

// ---------------------------------------------------------------------------------------------------------------
// Text mutators

export interface TextContext {
  /** Another valid sample, to splice with. */
  readonly other: () => string;
  /** Protocol tokens worth inserting. */
  readonly dict: readonly string[];
  readonly hugeMax: number;
}

const TOKEN_SPLIT = /('|"|\s|:|,|\/|\n|!|#|\[|\]|\|)/;

/**
 * Mutates text either as bytes (latin1, so every byte survives, or UTF-8) or as tokens
 * (quote, space, colon, comma, slash...): tokens dropped, doubled, swapped, or replaced
 * by hostile strings and protocol tags.
 */
export function mutateText(rng: Rng, text: string, ctx: TextContext): string {
  if (rng.chance(0.35)) {
    const encoding = rng.chance(0.7) ? 'latin1' : 'utf8';
    const byteCtx: ByteContext = {
      other: () => Buffer.from(ctx.other(), encoding),
      dict: ctx.dict.map((t) => Buffer.from(t, encoding)),
      hugeMax: ctx.hugeMax,
    };
    return mutateBytes(rng, Buffer.from(text, encoding), byteCtx).toString(encoding);
  }
  let tokens = text.split(TOKEN_SPLIT);
  const n = 1 + rng.size(4);
  for (let k = 0; k < n; k++) {
    const i = rng.int(tokens.length);
    switch (rng.int(9)) {
      case 0:
        tokens.splice(i, 1);
        break;
      case 1:
        tokens.splice(i, 0, tokens[i] ?? '');
        break;
      case 2:
        tokens[i] = hostileString(rng, ctx.hugeMax);
        break;
      case 3:
        if (ctx.dict.length > 0) tokens.splice(i, 0, rng.pick(ctx.dict));
        break;
      case 4: {
        const j = rng.int(tokens.length);
        const a = tokens[i] ?? '';
        tokens[i] = tokens[j] ?? '';
        tokens[j] = a;
        break;
      }
      case 5: {
        const other = ctx.other().split(TOKEN_SPLIT);
        tokens = [...tokens.slice(0, i), ...other.slice(rng.int(other.length))];
        break;
      }
      case 6:
        tokens = tokens.slice(0, i);
        break;
      case 7: {
        const t = tokens[i] ?? 'x';
        tokens[i] = t.repeat(1 + rng.size(Math.max(1, Math.floor(ctx.hugeMax / Math.max(1, t.length)))));
        break;
      }
      default:
        tokens[i] = randomText(rng, rng.size(32));
        break;
    }
  }
  return tokens.join('');
}

// ---------------------------------------------------------------------------------------------------------------
// Values (what a msgpack envelope decodes to) and their mutations

export interface ValueContext {
  readonly hugeMax: number;
  /** Keys worth adding or renaming to (other fields of the protocol, prototype keys). */
  readonly keys: readonly string[];
}

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'then'];

/** A random value of any type msgpack can carry (and a few it carries through extensions). */
export function randomValue(rng: Rng, ctx: ValueContext, depth = 2): unknown {
  const kind = rng.int(depth > 0 ? 16 : 12);
  switch (kind) {
    case 0: return null;
    case 1: return undefined;
    case 2: return rng.chance(0.5);
    case 3: return rng.pick(INTERESTING_NUMBERS);
    case 4: return rng.u32() - (rng.chance(0.5) ? 0 : 2_147_483_648);
    case 5: return (rng.float() - 0.5) * 10 ** rng.int(20);
    case 6: return hostileString(rng, ctx.hugeMax);
    case 7: return randomText(rng, rng.size(64));
    case 8: return new Uint8Array(rng.bytes(rng.size(64)));
    case 9: return rng.chance(0.5) ? new Uint8Array(32) : Buffer.alloc(rng.pick([0, 31, 33, 64]));
    case 10: return BigInt(rng.u32()) * (rng.chance(0.5) ? 1n : -1n) * 4_294_967_296n;
    case 11: return new Date(rng.pick(INTERESTING_NUMBERS) * 1000);
    case 12:
    case 13: {
      const n = rng.size(8);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(randomValue(rng, ctx, depth - 1));
      return out;
    }
    default: {
      const n = rng.size(8);
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const key = rng.chance(0.5) && ctx.keys.length > 0 ? rng.pick(ctx.keys) : hostileString(rng, 64);
        Object.defineProperty(out, key, { value: randomValue(rng, ctx, depth - 1), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

type Path = (string | number)[];

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof Date);

/** Paths of the first `limit` nodes, depth first (the root is []). */
function nodePaths(value: unknown, limit = 256): Path[] {
  const out: Path[] = [];
  const walk = (v: unknown, path: Path): void => {
    if (out.length >= limit) return;
    out.push(path);
    if (Array.isArray(v)) v.slice(0, 32).forEach((item, i) => walk(item, [...path, i]));
    else if (isRecord(v)) for (const k of Object.keys(v)) walk(v[k], [...path, k]);
  };
  walk(value, []);
  return out;
}

function getAt(value: unknown, path: Path): unknown {
  let v = value;
  for (const p of path) {
    if (Array.isArray(v)) v = v[p as number];
    else if (isRecord(v)) v = v[p as string];
    else return undefined;
  }
  return v;
}

/** A copy of `value` with the node at `path` replaced (copies only along the path). */
function setAt(value: unknown, path: Path, replace: (old: unknown) => unknown): unknown {
  if (path.length === 0) return replace(value);
  const [head, ...rest] = path as [string | number, ...Path];
  if (Array.isArray(value)) {
    const copy = value.slice();
    copy[head as number] = setAt(copy[head as number], rest, replace);
    return copy;
  }
  if (isRecord(value)) {
    const copy: Record<string, unknown> = {};
    for (const k of Object.keys(value)) {
      Object.defineProperty(copy, k, { value: k === head ? setAt(value[k], rest, replace) : value[k], enumerable: true, writable: true, configurable: true });
    }
    return copy;
  }
  return value;
}

function defineKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Wraps `value` in `depth` levels of arrays or single-key maps. */
export function nest(rng: Rng, value: unknown, depth: number): unknown {
  let v = value;
  const asArray = rng.chance(0.5);
  for (let i = 0; i < depth; i++) {
    if (asArray) v = [v];
    else {
      const o: Record<string, unknown> = {};
      defineKey(o, 'a', v);
      v = o;
    }
  }
  return v;
}

/** About how many bytes `value` takes as msgpack (a quick estimate, to keep huge values within budget). */
export function approxSize(value: unknown, depth = 0): number {
  if (typeof value === 'string') return value.length + 1;
  if (typeof value !== 'object' || value === null || depth > 8) return 9;
  if (ArrayBuffer.isView(value)) return value.byteLength + 5;
  let n = 1;
  if (Array.isArray(value)) for (const item of value) n += approxSize(item, depth + 1);
  else for (const [k, v] of Object.entries(value)) n += k.length + 1 + approxSize(v, depth + 1);
  return n;
}

/** What one huge mutation may add in all: about a frame's worth in the long run. */
const hugeBudget = (ctx: ValueContext): number => ctx.hugeMax * 64;

/** `n` copies of `item`, fewer if they would not fit the budget. */
function hugeArray(n: number, item: unknown, budgetBytes: number): unknown[] {
  return new Array(Math.max(0, Math.min(n, Math.floor(budgetBytes / approxSize(item))))).fill(item);
}

/** One mutation of one node: its type swapped, its content made huge, empty or hostile, fields added or removed. */
function mutateNode(rng: Rng, node: unknown, ctx: ValueContext, sibling: unknown): unknown {
  const r = rng.int(14);
  if (r === 0) return randomValue(rng, ctx, 2);
  if (r === 1) return nest(rng, node, 1 + rng.size(rng.chance(0.9) ? 64 : 2000));
  if (r === 2) return sibling;
  if (typeof node === 'string') {
    if (r < 7) return hostileString(rng, ctx.hugeMax);
    if (r < 9) return node.repeat(1 + rng.size(Math.max(1, Math.floor(ctx.hugeMax / Math.max(1, node.length)))));
    if (r < 11) return Buffer.from(node, 'latin1');
    return rng.chance(0.5) ? Number(node) : [node];
  }
  if (typeof node === 'number') {
    if (r < 8) return rng.pick(INTERESTING_NUMBERS);
    if (r < 10) return String(node);
    if (r < 12) return node + rng.pick([-1, 1, 0.5, 2 ** 32]);
    return BigInt(Math.trunc(Number.isFinite(node) ? node : 0)) + 1n;
  }
  if (typeof node === 'boolean') return rng.pick([!node, 0, 1, 'true', null]);
  if (node instanceof Uint8Array) {
    if (r < 6) return new Uint8Array(rng.bytes(rng.pick([0, 1, 31, 33, 64, rng.size(ctx.hugeMax)])));
    if (r < 9) return Array.from(node);
    if (r < 11) return Buffer.from(node).toString('hex');
    return new Uint16Array(16);
  }
  if (Array.isArray(node)) {
    if (r < 6) {
      // Huge: copies of one element (a valid one, or junk), up to hugeMax.
      const n = rng.size(ctx.hugeMax);
      const item = node.length > 0 && rng.chance(0.5) ? node[rng.int(node.length)] : randomValue(rng, ctx, 1);
      return hugeArray(n, item, hugeBudget(ctx));
    }
    if (r < 8) return [];
    if (r < 10) return node.length > 0 ? [...node, node[rng.int(node.length)]] : [randomValue(rng, ctx, 1)];
    if (r < 12) return node.slice(0, Math.max(0, node.length - 1));
    return [...node, randomValue(rng, ctx, 1)];
  }
  if (isRecord(node)) {
    const copy: Record<string, unknown> = {};
    for (const k of Object.keys(node)) defineKey(copy, k, node[k]);
    const keys = Object.keys(copy);
    if (r < 6) {
      // An extra field: a real protocol key in the wrong place, a prototype key, or noise.
      const key = rng.weighted<string>([[3, ctx.keys.length > 0 ? rng.pick(ctx.keys) : 'x'], [2, rng.pick(PROTOTYPE_KEYS)], [1, hostileString(rng, 64)]]);
      defineKey(copy, key, randomValue(rng, ctx, 2));
      return copy;
    }
    if (r < 8 && keys.length > 0) {
      delete copy[rng.pick(keys)];
      return copy;
    }
    if (r < 10) {
      // Many extra fields.
      const n = rng.size(ctx.hugeMax);
      for (let i = 0; i < n; i++) defineKey(copy, `k${i}`, i);
      return copy;
    }
    if (r < 12 && keys.length > 0) {
      const k = rng.pick(keys);
      const v = copy[k];
      delete copy[k];
      defineKey(copy, rng.chance(0.5) ? k.toUpperCase() : `${k} `, v);
      return copy;
    }
    // A byte string where an object goes (a validator may walk it as an object of one key per byte).
    if (r === 12) return Buffer.alloc(rng.size(ctx.hugeMax), 0x41);
    return Object.values(copy);
  }
  return randomValue(rng, ctx, 2);
}

/** One to a few node mutations of a valid value (it is not modified). */
export function mutateValue(rng: Rng, value: unknown, ctx: ValueContext, maxStack = 3): unknown {
  let out = value;
  const n = 1 + rng.size(maxStack - 1);
  for (let k = 0; k < n; k++) {
    const paths = nodePaths(out);
    const path = rng.pick(paths);
    const siblingPath = rng.pick(paths);
    const sibling = getAt(out, siblingPath);
    out = setAt(out, path, (old) => mutateNode(rng, old, ctx, sibling));
  }
  return out;
}

/**
 * Every array of a valid value made huge at once, all with the same size, filled with
 * one junk value (or copies of one of its own items): the most work one frame can ask of
 * a validator that reports every bad item.
 */
export function inflateArrays(rng: Rng, value: unknown, ctx: ValueContext): unknown {
  const atLimit = INTERESTING_LENGTHS.filter((l) => l <= ctx.hugeMax);
  const n = rng.chance(0.5) && atLimit.length > 0 ? rng.pick(atLimit) : rng.size(ctx.hugeMax);
  const junk = rng.pick<() => unknown>([() => ({}), () => 0, () => null, () => [], () => Buffer.alloc(rng.between(1, 64)), () => randomValue(rng, ctx, 1)])();
  let out = value;
  let budget = hugeBudget(ctx);
  const inflated: Path[] = [];
  for (const path of nodePaths(value)) {
    // Parents come first; an array inside one already inflated stays as it is (sizes would multiply).
    if (inflated.some((p) => p.every((part, i) => path[i] === part))) continue;
    const old = getAt(out, path);
    if (!Array.isArray(old)) continue;
    const item = old.length > 0 && rng.chance(0.3) ? old[0] : junk;
    const huge = hugeArray(n, item, budget);
    budget -= huge.length * approxSize(item);
    out = setAt(out, path, () => huge);
    inflated.push(path);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// msgpack at the token level

/** msgpackr's extension types (undefined, BigInt, Error, structured-clone id/pointer, Set, typed array, RegExp, bundle, Date) and others. */
export const MSGPACK_EXT_TYPES = [0x00, 0x42, 0x62, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78, 0xff, 0x01, 0x52, 0x7f, 0x80] as const;

function header(first: number, lengthBytes: 0 | 1 | 2 | 4, length: number): Buffer {
  const b = Buffer.alloc(1 + lengthBytes);
  b[0] = first;
  if (lengthBytes === 1) b[1] = length & 0xff;
  else if (lengthBytes === 2) b.writeUInt16BE(length & 0xffff, 1);
  else if (lengthBytes === 4) b.writeUInt32BE(length >>> 0, 1);
  return b;
}

/**
 * A random msgpack-ish byte string built token by token: every type byte, lengths
 * that lie (short, long, 0xffffffff), invalid UTF-8 in strings, extension types with
 * random payloads, and nesting that goes deeper than any stack.
 */
export function randomMsgpack(rng: Rng, ctx: { hugeMax: number }, depth = 3): Buffer {
  const lie = (n: number): number => (rng.chance(0.8) ? n : rng.pick([n + 1, Math.max(0, n - 1), 0xffff, 0xffff_ffff, rng.u32()]));
  switch (rng.int(depth > 0 ? 14 : 9)) {
    case 0: return Buffer.from([rng.pick([0xc0, 0xc1, 0xc2, 0xc3, 0x00, 0x7f, 0xe0, 0xff])]);
    case 1: {
      const kind = rng.pick([[0xcc, 1], [0xcd, 2], [0xce, 4], [0xcf, 8], [0xd0, 1], [0xd1, 2], [0xd2, 4], [0xd3, 8], [0xca, 4], [0xcb, 8]] as const);
      return Buffer.concat([Buffer.from([kind[0]]), rng.bytes(kind[1])]);
    }
    case 2: {
      const s = Buffer.from(hostileString(rng, ctx.hugeMax), 'utf8');
      const body = rng.chance(0.2) ? rng.bytes(s.length) : s; // invalid UTF-8 too
      const form = rng.int(4);
      const head = form === 0 && body.length < 32 ? Buffer.from([0xa0 | lie(body.length) & 0x1f])
        : form === 1 ? header(0xd9, 1, lie(body.length)) : form === 2 ? header(0xda, 2, lie(body.length)) : header(0xdb, 4, lie(body.length));
      return Buffer.concat([head, body]);
    }
    case 3: {
      const body = rng.bytes(rng.size(64));
      const form = rng.pick([[0xc4, 1], [0xc5, 2], [0xc6, 4]] as const);
      return Buffer.concat([header(form[0], form[1], lie(body.length)), body]);
    }
    case 4: case 5: {
      // Extension: fixext 1/2/4/8/16 or ext 8/16/32 with a type msgpackr knows.
      const type = rng.pick(MSGPACK_EXT_TYPES);
      const payload = rng.chance(0.5) ? rng.bytes(rng.size(64)) : randomMsgpack(rng, ctx, depth - 1);
      const fixed = [1, 2, 4, 8, 16].indexOf(payload.length);
      if (fixed >= 0 && rng.chance(0.5)) return Buffer.concat([Buffer.from([0xd4 + fixed, type]), payload]);
      const form = rng.pick([[0xc7, 1], [0xc8, 2], [0xc9, 4]] as const);
      return Buffer.concat([header(form[0], form[1], lie(payload.length)), Buffer.from([type]), payload]);
    }
    case 6: {
      // Nesting deeper than the decoder's stack: arrays or maps of one.
      const n = rng.size(rng.chance(0.5) ? 5000 : 200_000);
      return Buffer.concat([Buffer.alloc(n, rng.pick([0x91, 0x81, 0xdc])), Buffer.from([0xc0])]);
    }
    case 7: return Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]); // an array that claims 4 billion items
    case 8: return rng.bytes(rng.size(16));
    default: {
      // array or map of random items, length possibly lying
      const n = rng.size(6);
      const isMap = rng.chance(0.5);
      const parts: Buffer[] = [];
      for (let i = 0; i < n * (isMap ? 2 : 1); i++) parts.push(randomMsgpack(rng, ctx, depth - 1));
      const count = lie(n);
      const head = count < 16 && rng.chance(0.5) ? Buffer.from([(isMap ? 0x80 : 0x90) | count])
        : rng.chance(0.5) ? header(isMap ? 0xde : 0xdc, 2, count) : header(isMap ? 0xdf : 0xdd, 4, count);
      return Buffer.concat([head, ...parts]);
    }
  }
}
