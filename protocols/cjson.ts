/**
 * JSON as Wazuh's C daemons read and print it (cJSON 1.7.18).
 *
 * Why not JSON.parse/JSON.stringify: the logtest server must accept what cJSON accepts
 * and refuse what it refuses, at the same byte offset (the 7307 error quotes it):
 *  - the text ends at the first NUL byte (the C server hands cJSON a C string);
 *  - bytes after the top-level value are ignored;
 *  - raw control bytes inside strings are accepted, escapes are cJSON's (`\u` with bad
 *    hex digits decodes to U+0000, lone low surrogates fail);
 *  - numbers are what strtod reads from at most 63 of `0-9 + - e E .` (so `012`, `1.`,
 *    `-.5` parse, and `1e5e5` stops after `1e5`);
 *  - objects keep every member in order, duplicates included; lookups take the first;
 *  - nesting deeper than 1000 fails.
 * Printing is cJSON_PrintUnformatted: no spaces, only `"` `\` and bytes below 0x20 are
 * escaped (`\b \f \n \r \t`, else `\u00xx`), numbers as `%1.15g`, or `%1.17g` when the
 * 15-digit text does not read back (within DBL_EPSILON) to the same double.
 *
 * Strings are ByteStrings: one UTF-16 code unit per byte (a latin1 view of the bytes, the
 * engine's convention), so invalid UTF-8 survives a parse and a print unchanged. Like
 * a C string, a value ends at its first NUL (`"a\u0000b"` is `a`). The printer also takes
 * ordinary JS strings: a character above 0xFF (never in a ByteString) is written as its
 * UTF-8 bytes, so ASCII and such text print the same either way; characters 0x80-0xFF
 * are always taken as bytes.
 */

/** Bytes as a string, one code unit per byte (`Buffer.toString('latin1')`). */
export type ByteString = string;

export type JsonValue = null | boolean | number | ByteString | JsonValue[] | JsonObject;

/** An object as cJSON holds it: members in order, duplicate names kept. */
export class JsonObject {
  constructor(readonly entries: [ByteString, JsonValue][] = []) {}

  /** The first member of that name (cJSON_GetObjectItemCaseSensitive). */
  get(key: ByteString): JsonValue | undefined {
    for (const [k, v] of this.entries) if (k === key) return v;
    return undefined;
  }

  has(key: ByteString): boolean {
    return this.entries.some(([k]) => k === key);
  }

  /** Replaces the first member of that name in place, or appends it (a Python dict assignment). */
  set(key: ByteString, value: JsonValue): this {
    const at = this.entries.findIndex(([k]) => k === key);
    if (at < 0) this.entries.push([key, value]);
    else this.entries[at] = [key, value];
    return this;
  }

  /** Appends a member (cJSON_AddItemToObject), even when the name is already there. */
  add(key: ByteString, value: JsonValue): this {
    this.entries.push([key, value]);
    return this;
  }

  get size(): number {
    return this.entries.length;
  }
}

/**
 * What the printer takes: parsed values, plus plain objects and arrays for callers that
 * build answers by hand (a plain object's members print in JS key order, and members
 * whose value is undefined are left out, as JSON.stringify does).
 */
export type JsonInput =
  | JsonValue
  | JsonObject
  | readonly JsonInput[]
  | { readonly [key: string]: JsonInput | undefined };

export const CJSON_NESTING_LIMIT = 1000;
/** parse_number copies at most this many number characters before calling strtod. */
const NUMBER_CHARS_MAX = 63;

export type JsonParseOutcome =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly position: number };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** One cJSON parse over the bytes before the first NUL; `position` is where cJSON stopped. */
export function parseJson(input: Uint8Array): JsonParseOutcome {
  const nul = input.indexOf(0);
  return new CJsonParser(nul < 0 ? input : input.subarray(0, nul)).run();
}

/** Does `c` belong to the characters parse_number copies? */
function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x65 || c === 0x45 || c === 0x2e;
}

/** The prefix strtod reads from parse_number's characters (no leading blanks, hex or words can occur there). */
const STRTOD_PREFIX = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

class CJsonParser {
  /** cJSON's buffer length: the text plus its terminating NUL. */
  private readonly length: number;
  private offset = 0;
  private depth = 0;

  constructor(private readonly text: Uint8Array) {
    this.length = text.length + 1;
  }

  run(): JsonParseOutcome {
    if (this.length > 4 && this.text[0] === 0xef && this.text[1] === 0xbb && this.text[2] === 0xbf) this.offset = 3;
    this.skipWhitespace();
    const value = this.parseValue();
    if (value !== undefined) return { ok: true, value };
    return { ok: false, position: this.offset < this.length ? this.offset : this.length - 1 };
  }

  /** The byte at `i`; the terminating NUL reads as 0. */
  private at(i: number): number {
    return i < this.text.length ? (this.text[i] as number) : 0;
  }

  private canAccess(i = 0): boolean {
    return this.offset + i < this.length;
  }

  private skipWhitespace(): void {
    if (!this.canAccess()) return;
    while (this.canAccess() && this.at(this.offset) <= 32) this.offset++;
    if (this.offset === this.length) this.offset--;
  }

  private startsWith(word: string): boolean {
    if (this.offset + word.length > this.length) return false;
    for (let i = 0; i < word.length; i++) if (this.at(this.offset + i) !== word.charCodeAt(i)) return false;
    return true;
  }

  /** undefined on failure, with `offset` where cJSON leaves it. */
  private parseValue(): JsonValue | undefined {
    if (this.startsWith('null')) { this.offset += 4; return null; }
    if (this.startsWith('false')) { this.offset += 5; return false; }
    if (this.startsWith('true')) { this.offset += 4; return true; }
    if (!this.canAccess()) return undefined;
    const c = this.at(this.offset);
    if (c === QUOTE) return this.parseString();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
    if (c === 0x5b) return this.parseArray();
    if (c === 0x7b) return this.parseObject();
    return undefined;
  }

  private parseNumber(): number | undefined {
    let n = 0;
    while (n < NUMBER_CHARS_MAX && this.canAccess(n) && isNumberChar(this.at(this.offset + n))) n++;
    const chars = String.fromCharCode(...this.text.subarray(this.offset, this.offset + n));
    const read = STRTOD_PREFIX.exec(chars);
    if (!read) return undefined;
    this.offset += read[0].length;
    return Number(read[0]);
  }

  private parseString(): ByteString | undefined {
    const open = this.offset;
    // On any failure cJSON leaves the offset just after the opening quote, or at the failing escape.
    const failAt = (pos: number): undefined => { this.offset = pos; return undefined; };
    if (this.at(open) !== QUOTE) return failAt(open + 1);
    // The closing quote must come before the terminating NUL (an escape may not hide it).
    const text = this.text;
    let end = open + 1;
    while (end < text.length) {
      const c = text[end];
      if (c === QUOTE) break;
      end += c === BACKSLASH ? 2 : 1;
    }
    if (end >= text.length) return failAt(open + 1);
    const raw = this.text.subarray(open + 1, end);
    let value: ByteString;
    if (raw.indexOf(BACKSLASH) < 0) {
      value = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1');
    } else {
      const decoded = unescapeString(raw);
      if (typeof decoded === 'number') return failAt(open + 1 + decoded);
      value = decoded;
    }
    this.offset = end + 1;
    const nul = value.indexOf('\0');
    return nul < 0 ? value : value.slice(0, nul);
  }

  private parseArray(): JsonValue[] | undefined {
    if (this.depth >= CJSON_NESTING_LIMIT) return undefined;
    this.depth++;
    const items: JsonValue[] = [];
    this.offset++;
    this.skipWhitespace();
    if (this.canAccess() && this.at(this.offset) === 0x5d) return this.close(items);
    if (!this.canAccess()) { this.offset--; return undefined; }
    this.offset--;
    do {
      this.offset++;
      this.skipWhitespace();
      const item = this.parseValue();
      if (item === undefined) return undefined;
      items.push(item);
      this.skipWhitespace();
    } while (this.canAccess() && this.at(this.offset) === 0x2c);
    if (!this.canAccess() || this.at(this.offset) !== 0x5d) return undefined;
    return this.close(items);
  }

  private parseObject(): JsonObject | undefined {
    if (this.depth >= CJSON_NESTING_LIMIT) return undefined;
    this.depth++;
    const object = new JsonObject();
    this.offset++;
    this.skipWhitespace();
    if (this.canAccess() && this.at(this.offset) === 0x7d) return this.close(object);
    if (!this.canAccess()) { this.offset--; return undefined; }
    this.offset--;
    do {
      this.offset++;
      this.skipWhitespace();
      const key = this.parseString();
      if (key === undefined) return undefined;
      this.skipWhitespace();
      if (!this.canAccess() || this.at(this.offset) !== 0x3a) return undefined;
      this.offset++;
      this.skipWhitespace();
      const value = this.parseValue();
      if (value === undefined) return undefined;
      object.add(key, value);
      this.skipWhitespace();
    } while (this.canAccess() && this.at(this.offset) === 0x2c);
    if (!this.canAccess() || this.at(this.offset) !== 0x7d) return undefined;
    return this.close(object);
  }

  private close<T>(value: T): T {
    this.depth--;
    this.offset++;
    return value;
  }
}

/**
 * Decodes the escapes of a string body (cJSON's second pass). Returns the decoded bytes,
 * or the offset in `raw` of the escape that failed.
 */
function unescapeString(raw: Uint8Array): ByteString | number {
  // The output is never longer than the escaped text.
  const out = Buffer.allocUnsafe(raw.length);
  let n = 0;
  let p = 0;
  while (p < raw.length) {
    const c = raw[p] as number;
    if (c !== BACKSLASH) { out[n++] = c; p++; continue; }
    const kind = raw[p + 1] as number;
    let used = 2;
    switch (kind) {
      case 0x62: out[n++] = 0x08; break;
      case 0x66: out[n++] = 0x0c; break;
      case 0x6e: out[n++] = 0x0a; break;
      case 0x72: out[n++] = 0x0d; break;
      case 0x74: out[n++] = 0x09; break;
      case QUOTE: case BACKSLASH: case 0x2f: out[n++] = kind; break;
      case 0x75: {
        const decoded = utf16Escape(raw, p);
        if (decoded === null) return p;
        for (const b of decoded.bytes) out[n++] = b;
        used = decoded.used;
        break;
      }
      default: return p;
    }
    p += used;
  }
  return out.toString('latin1', 0, n);
}

/** parse_hex4: four hex digits, or 0 as soon as one is not a hex digit. */
function hex4(raw: Uint8Array, at: number): number {
  let h = 0;
  for (let i = 0; i < 4; i++) {
    const d = hexDigit(raw[at + i] ?? 0);
    if (d < 0) return 0;
    h = (h << 4) | d;
  }
  return h;
}

/** `\uXXXX` (or a surrogate pair) at `p`: its UTF-8 bytes and the escape's length, or null. */
function utf16Escape(raw: Uint8Array, p: number): { bytes: number[]; used: number } | null {
  if (raw.length - p < 6) return null;
  const first = hex4(raw, p + 2);
  if (first >= 0xdc00 && first <= 0xdfff) return null;
  let cp = first;
  let used = 6;
  if (first >= 0xd800 && first <= 0xdbff) {
    const second = p + 6;
    if (raw.length - second < 6 || raw[second] !== BACKSLASH || raw[second + 1] !== 0x75) return null;
    const low = hex4(raw, second + 2);
    if (low < 0xdc00 || low > 0xdfff) return null;
    cp = 0x10000 + (((first & 0x3ff) << 10) | (low & 0x3ff));
    used = 12;
  }
  if (cp < 0x80) return { bytes: [cp], used };
  if (cp < 0x800) return { bytes: [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)], used };
  if (cp < 0x10000) return { bytes: [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)], used };
  return { bytes: [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)], used };
}

// ---------------------------------------------------------------------------------------------------------------
// Printing

const ESCAPES: readonly string[] = Array.from({ length: 0x20 }, (_, c) => `\\u${c.toString(16).padStart(4, '0')}`);
const SHORT_ESCAPES: Readonly<Record<number, string>> = { 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x22: '\\"', 0x5c: '\\\\' };
const NEEDS_ESCAPE = /["\\\x00-\x1f]/;
const ABOVE_BYTE = /[^\x00-\xff]+/g;

/** print_string_ptr on a ByteString (a C string: it ends at its first NUL). */
function printString(s: string): string {
  const nul = s.indexOf('\0');
  const text = nul < 0 ? s : s.slice(0, nul);
  if (!NEEDS_ESCAPE.test(text)) return `"${text}"`;
  let out = '"';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += text.slice(from, i) + (SHORT_ESCAPES[c] ?? ESCAPES[c]);
    from = i + 1;
  }
  return `${out}${text.slice(from)}"`;
}

/** True when the 15-digit text reads back close enough (cJSON's compare_double). */
function closeEnough(a: number, b: number): boolean {
  return Math.abs(a - b) <= Math.max(Math.abs(a), Math.abs(b)) * Number.EPSILON;
}

/** A number as cJSON prints it. */
export function formatCJsonNumber(d: number): string {
  if (!Number.isFinite(d)) return 'null';
  if (Number.isInteger(d) && Math.abs(d) < 1e15) return Object.is(d, -0) ? '-0' : String(d);
  const short = formatG(d, 15);
  return closeEnough(Number(short), d) ? short : formatG(d, 17);
}

/** The exact decimal value of a finite double: digits × 10^exponent, digits without trailing zeros. */
function exactDecimal(d: number): { digits: string; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(d));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = hi >>> 20;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased !== 0) mantissa |= 1n << 52n;
  const binary = (biased === 0 ? 1 : biased) - 1075;
  let digits: string;
  let exponent: number;
  if (binary >= 0) {
    digits = (mantissa << BigInt(binary)).toString();
    exponent = 0;
  } else {
    digits = (mantissa * 5n ** BigInt(-binary)).toString();
    exponent = binary;
  }
  const trimmed = digits.replace(/0+$/, '');
  return { digits: trimmed, exponent: exponent + (digits.length - trimmed.length) };
}

/** printf's `%1.<p>g` (glibc: exact value, ties to even). */
function formatG(d: number, p: number): string {
  const sign = d < 0 || Object.is(d, -0) ? '-' : '';
  if (d === 0) return `${sign}0`;
  const exact = exactDecimal(d);
  let digits = exact.digits;
  let point = digits.length + exact.exponent; // value = 0.digits × 10^point
  if (digits.length > p) {
    const rest = digits.slice(p);
    let kept = digits.slice(0, p);
    const first = rest.charCodeAt(0) - 0x30;
    const up = first > 5 || (first === 5 && (rest.length > 1 || (kept.charCodeAt(p - 1) - 0x30) % 2 === 1));
    if (up) {
      const bumped = (BigInt(kept) + 1n).toString();
      if (bumped.length > kept.length) point++;
      kept = bumped.slice(0, p);
    }
    digits = kept.replace(/0+$/, '');
  }
  const x = point - 1; // decimal exponent of the first digit
  if (x < -4 || x >= p) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mantissa}e${x < 0 ? '-' : '+'}${String(Math.abs(x)).padStart(2, '0')}`;
  }
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function printValue(value: JsonInput | undefined, out: string[]): void {
  if (value === null || value === undefined) { out.push('null'); return; }
  switch (typeof value) {
    case 'boolean': out.push(value ? 'true' : 'false'); return;
    case 'number': out.push(formatCJsonNumber(value)); return;
    case 'string': out.push(printString(value)); return;
    default: break;
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      printValue(value[i] as JsonInput, out);
    }
    out.push(']');
    return;
  }
  out.push('{');
  let first = true;
  const member = (key: string, v: JsonInput | undefined): void => {
    if (v === undefined) return;
    if (!first) out.push(',');
    first = false;
    out.push(printString(key), ':');
    printValue(v, out);
  };
  if (value instanceof JsonObject) for (const [k, v] of value.entries) member(k, v);
  else for (const k of Object.keys(value)) member(k, (value as { readonly [key: string]: JsonInput | undefined })[k]);
  out.push('}');
}

/** The parsed form of a printable value: plain objects become JsonObjects, undefined members are dropped. */
export function toJsonValue(value: JsonInput | undefined): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || value instanceof JsonObject) return value;
  if (Array.isArray(value)) return value.map((item: JsonInput | undefined) => toJsonValue(item));
  const object = new JsonObject();
  for (const [k, v] of Object.entries(value as { readonly [key: string]: JsonInput | undefined })) {
    if (v !== undefined) object.add(k, toJsonValue(v));
  }
  return object;
}

/** cJSON_PrintUnformatted, as a ByteString. */
export function printJsonText(value: JsonInput): ByteString {
  const out: string[] = [];
  printValue(value, out);
  const text = out.join('');
  return text.replace(ABOVE_BYTE, (wide) => Buffer.from(wide, 'utf8').toString('latin1'));
}

/** cJSON_PrintUnformatted, as bytes. */
export function printJson(value: JsonInput): Buffer {
  return Buffer.from(printJsonText(value), 'latin1');
}
