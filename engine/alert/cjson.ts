/**
 * The parts of cJSON that Wazuh's alert JSON depends on: its lenient parser (a data
 * value holding a JSON array is re-parsed) and its compact printer (keys in insertion
 * order, numbers printed the cJSON way).
 */
import { fromBytes, type ByteString } from '../types.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/** Insertion order of an object's keys, kept only once it has a key JS would move to the front. */
export const KEY_ORDER: unique symbol = Symbol('cJSON key order');

export interface JsonObject {
  [key: string]: JsonValue;
  [KEY_ORDER]?: string[];
}

/** cJSON refuses deeper nesting than this. */
const NESTING_LIMIT = 1000;

/** True for keys JS objects enumerate first (array indices), which cJSON keeps in insertion order. */
function isIndexKey(key: string): boolean {
  const n = key.length;
  if (n === 0 || n > 10) return false;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x30 || c > 0x39 || (i === 0 && c === 0x30 && n > 1)) return false;
  }
  return Number(key) < 4294967295;
}

/** Adds a key (assumed new) at the end of an object, as cJSON_AddItemToObject does. */
export function putKey(obj: JsonObject, key: string, value: JsonValue): void {
  const order = obj[KEY_ORDER];
  if (order) order.push(key);
  else if (isIndexKey(key)) {
    Object.defineProperty(obj, KEY_ORDER, { value: [...Object.keys(obj), key], enumerable: false, writable: true });
  }
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** Removes a key, keeping the recorded order right. */
export function deleteKey(obj: JsonObject, key: string): void {
  const order = obj[KEY_ORDER];
  if (order) {
    const at = order.indexOf(key);
    if (at >= 0) order.splice(at, 1);
  }
  delete obj[key];
}

/** An object's keys in cJSON order. */
export function keysOf(obj: object): readonly string[] {
  return (obj as JsonObject)[KEY_ORDER] ?? Object.keys(obj);
}

/**
 * Parses the JSON value at the start of `bytes` as cJSON_ParseWithOpts does without
 * requiring the end: whatever follows the value is ignored; undefined when it fails.
 * Strings come out as text (their bytes read as UTF-8), cut at a NUL as C strings are.
 */
export function parseCJson(bytes: ByteString): JsonValue | undefined {
  const parser = new Parser(bytes);
  const value = parser.value(parser.skip(0), 0);
  return value === FAIL ? undefined : value;
}

const FAIL = Symbol('fail');
type Parsed = JsonValue | typeof FAIL;

class Parser {
  /** Where the last parsed value ended. */
  end = 0;

  constructor(private readonly s: ByteString) {}

  /** cJSON skips every byte up to and including the space. */
  skip(i: number): number {
    while (i < this.s.length && this.s.charCodeAt(i) <= 0x20) i++;
    return i;
  }

  value(i: number, depth: number): Parsed {
    const s = this.s;
    const c = s.charCodeAt(i);
    if (s.startsWith('null', i)) return this.done(i + 4, null);
    if (s.startsWith('false', i)) return this.done(i + 5, false);
    if (s.startsWith('true', i)) return this.done(i + 4, true);
    if (c === 0x22) return this.string(i);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number(i);
    if (c === 0x5b) return depth >= NESTING_LIMIT ? FAIL : this.array(i, depth + 1);
    if (c === 0x7b) return depth >= NESTING_LIMIT ? FAIL : this.object(i, depth + 1);
    return FAIL;
  }

  private done(end: number, value: JsonValue): JsonValue {
    this.end = end;
    return value;
  }

  /** strtod over the run of number bytes cJSON collects: the longest prefix that is a number. */
  private number(i: number): Parsed {
    const s = this.s;
    let p = i;
    if (s.charCodeAt(p) === 0x2d) p++;
    const digitsFrom = p;
    while (isDigit(s.charCodeAt(p))) p++;
    let digits = p - digitsFrom;
    if (s.charCodeAt(p) === 0x2e) {
      const fractionFrom = ++p;
      while (isDigit(s.charCodeAt(p))) p++;
      digits += p - fractionFrom;
    }
    if (digits === 0) return FAIL;
    const e = s.charCodeAt(p);
    if (e === 0x65 || e === 0x45) {
      let q = p + 1;
      const sign = s.charCodeAt(q);
      if (sign === 0x2b || sign === 0x2d) q++;
      if (isDigit(s.charCodeAt(q))) {
        while (isDigit(s.charCodeAt(q))) q++;
        p = q;
      }
    }
    return this.done(p, Number(s.slice(i, p)));
  }

  private string(i: number): Parsed {
    const s = this.s;
    if (s.charCodeAt(i) !== 0x22) return FAIL;
    let close = i + 1;
    while (close < s.length && s.charCodeAt(close) !== 0x22) close += s.charCodeAt(close) === 0x5c ? 2 : 1;
    if (close >= s.length) return FAIL;
    let out = '';
    let p = i + 1;
    while (p < close) {
      const slash = s.indexOf('\\', p);
      if (slash < 0 || slash >= close) {
        out += s.slice(p, close);
        break;
      }
      out += s.slice(p, slash);
      const esc = s[slash + 1];
      p = slash + 2;
      if (esc === 'u') {
        const decoded = this.unicodeEscape(slash);
        if (decoded === undefined) return FAIL;
        out += decoded.bytes;
        p = decoded.end;
      } else {
        const simple = SIMPLE_ESCAPES[esc ?? ''];
        if (simple === undefined) return FAIL;
        out += simple;
      }
    }
    const nul = out.indexOf('\0');
    return this.done(close + 1, fromBytes(nul < 0 ? out : out.slice(0, nul)));
  }

  /** `\uXXXX` (a surrogate pair takes two) as UTF-8 bytes. */
  private unicodeEscape(at: number): { bytes: ByteString; end: number } | undefined {
    const first = hex4(this.s, at + 2);
    if (first < 0 || (first >= 0xdc00 && first <= 0xdfff)) return undefined;
    if (first < 0xd800 || first > 0xdbff) return { bytes: utf8(first), end: at + 6 };
    if (this.s[at + 6] !== '\\' || this.s[at + 7] !== 'u') return undefined;
    const second = hex4(this.s, at + 8);
    if (second < 0xdc00 || second > 0xdfff) return undefined;
    return { bytes: utf8(0x10000 + (((first & 0x3ff) << 10) | (second & 0x3ff))), end: at + 12 };
  }

  private array(i: number, depth: number): Parsed {
    const items: JsonValue[] = [];
    let p = this.skip(i + 1);
    if (this.s.charCodeAt(p) === 0x5d) return this.done(p + 1, items);
    for (;;) {
      const item = this.value(this.skip(p), depth);
      if (item === FAIL) return FAIL;
      items.push(item);
      p = this.skip(this.end);
      const c = this.s.charCodeAt(p);
      if (c === 0x5d) return this.done(p + 1, items);
      if (c !== 0x2c) return FAIL;
      p++;
    }
  }

  private object(i: number, depth: number): Parsed {
    const obj: JsonObject = {};
    let p = this.skip(i + 1);
    if (this.s.charCodeAt(p) === 0x7d) return this.done(p + 1, obj);
    for (;;) {
      const key = this.string(this.skip(p));
      if (typeof key !== 'string') return FAIL;
      p = this.skip(this.end);
      if (this.s.charCodeAt(p) !== 0x3a) return FAIL;
      const item = this.value(this.skip(p + 1), depth);
      if (item === FAIL) return FAIL;
      // cJSON keeps duplicate keys; a JS object cannot, so the first one stays.
      if (!Object.prototype.hasOwnProperty.call(obj, key)) putKey(obj, key, item);
      p = this.skip(this.end);
      const c = this.s.charCodeAt(p);
      if (c === 0x7d) return this.done(p + 1, obj);
      if (c !== 0x2c) return FAIL;
      p++;
    }
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', '/': '/',
};

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hex4(s: string, at: number): number {
  let v = 0;
  for (let i = at; i < at + 4; i++) {
    const c = s.charCodeAt(i);
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

function utf8(cp: number): ByteString {
  if (cp < 0x80) return String.fromCharCode(cp);
  if (cp < 0x800) return String.fromCharCode(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  if (cp < 0x10000) return String.fromCharCode(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  return String.fromCharCode(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
}

/**
 * A number as cJSON prints it: an int-range integer as is, anything else with `%1.15g`
 * unless that does not read back as the same double, then `%1.17g`; non-finite is null.
 */
export function formatCJsonNumber(d: number): string {
  if (!Number.isFinite(d)) return 'null';
  if (Number.isInteger(d) && d >= -2147483648 && d <= 2147483647) return String(d);
  const short = formatG(d, 15);
  return Number(short) === d ? short : formatG(d, 17);
}

/** C's `%1.<precision>g`. */
function formatG(d: number, precision: number): string {
  const exp = d.toExponential(precision - 1);
  const at = exp.indexOf('e');
  const x = Number(exp.slice(at + 1));
  if (x < -4 || x >= precision) {
    const sign = x < 0 ? '-' : '+';
    const digits = String(Math.abs(x)).padStart(2, '0');
    return `${trimFraction(exp.slice(0, at))}e${sign}${digits}`;
  }
  return trimFraction(d.toFixed(precision - 1 - x));
}

function trimFraction(s: string): string {
  if (s.indexOf('.') < 0) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 0x30) end--;
  if (s.charCodeAt(end - 1) === 0x2e) end--;
  return s.slice(0, end);
}

/**
 * cJSON_PrintUnformatted: no spaces, keys in insertion order, strings escaped as
 * JSON.stringify does (which is what cJSON does for valid text), cJSON numbers.
 * Object members that are undefined are left out.
 */
export function printCJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return formatCJsonNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((v: unknown) => (v === undefined ? 'null' : printCJson(v))).join(',')}]`;
      return printObject(value);
    default:
      throw new TypeError(`cannot print a ${typeof value} as JSON`);
  }
}

function printObject(obj: object): string {
  const parts: string[] = [];
  for (const key of keysOf(obj)) {
    const v = (obj as Record<string, unknown>)[key];
    if (v !== undefined) parts.push(`${JSON.stringify(key)}:${printCJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}
