/**
 * JSON as Wazuh's C daemons read and print it (cJSON 1.7.18): the logtest socket, the
 * JSON decoder and the alert JSON all go through this one module.
 *
 * Why not JSON.parse/JSON.stringify: we must accept what cJSON accepts and refuse what it
 * refuses, at the same byte offset (logtest's 7307 error quotes it):
 *  - the text ends at the first NUL byte (the C hands cJSON a C string);
 *  - bytes after the top-level value are ignored;
 *  - any byte up to 0x20 is whitespace, raw control bytes inside strings are accepted,
 *    escapes are cJSON's (`\u` with bad hex digits decodes to U+0000, lone low
 *    surrogates fail);
 *  - numbers are what strtod reads from at most 63 of `0-9 + - e E .` (so `012`, `1.`,
 *    `-.5` parse, and `1e5e5` stops after `1e5`);
 *  - objects keep every member in order, duplicates included; lookups take the first;
 *  - nesting deeper than 1000 fails.
 * Printing: cJSON_PrintUnformatted (no spaces) or cJSON_Print (tabs and newlines in
 * objects, `, ` in arrays, one more indent level per enclosing array or object). Only
 * `"` `\` and bytes below 0x20 are escaped (`\b \f \n \r \t`, else `\u00xx`). Numbers:
 * `%d` when the double equals its saturated int (so -0 prints `0`), else `%1.15g`, or
 * `%1.17g` when the 15-digit text does not read back (within DBL_EPSILON) as the same
 * double.
 *
 * Strings are ByteStrings: one UTF-16 code unit per byte (a latin1 view of the bytes, the
 * engine's convention), so invalid UTF-8 survives a parse and a print unchanged. Like
 * a C string, a value ends at its first NUL (`"a\u0000b"` is `a`). The printer also takes
 * ordinary JS strings: a character above 0xFF (never in a ByteString) is written as its
 * UTF-8 bytes, so ASCII and such text print the same either way; characters 0x80-0xFF
 * are always taken as bytes.
 */
import { formatGeneral } from './c-format.js';

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

  /** Removes the first member of that name (cJSON_DeleteItemFromObjectCaseSensitive). */
  delete(key: ByteString): this {
    const at = this.entries.findIndex(([k]) => k === key);
    if (at >= 0) this.entries.splice(at, 1);
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
const MINUS = 0x2d;
const DOT = 0x2e;

/**
 * One cJSON parse (cJSON_ParseWithOpts, trailing text allowed) over the bytes before the
 * first NUL; on failure `position` is the byte offset where cJSON stopped.
 */
export function parseJson(input: Uint8Array | ByteString): JsonParseOutcome {
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.length).toString('latin1');
  const nul = text.indexOf('\0');
  return new CJsonParser(nul < 0 ? text : text.slice(0, nul)).run();
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Does `c` belong to the characters parse_number copies? */
function isNumberChar(c: number): boolean {
  return isDigit(c) || c === 0x2b || c === MINUS || c === 0x65 || c === 0x45 || c === DOT;
}

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
  /** The first backslash at or after the last string searched (Infinity for none). */
  private nextBackslash = -1;

  constructor(private readonly text: ByteString) {
    this.length = text.length + 1;
  }

  run(): JsonParseOutcome {
    if (this.length > 4 && this.text.startsWith('\xef\xbb\xbf')) this.offset = 3;
    this.skipWhitespace();
    const value = this.parseValue();
    if (value !== undefined) return { ok: true, value };
    return { ok: false, position: this.offset < this.length ? this.offset : this.length - 1 };
  }

  /** The byte at `i`; the terminating NUL reads as 0. */
  private at(i: number): number {
    return i < this.text.length ? this.text.charCodeAt(i) : 0;
  }

  private canAccess(i = 0): boolean {
    return this.offset + i < this.length;
  }

  private skipWhitespace(): void {
    if (!this.canAccess()) return;
    while (this.canAccess() && this.at(this.offset) <= 32) this.offset++;
    if (this.offset === this.length) this.offset--;
  }

  /** undefined on failure, with `offset` where cJSON leaves it. */
  private parseValue(): JsonValue | undefined {
    const text = this.text;
    if (text.startsWith('null', this.offset)) { this.offset += 4; return null; }
    if (text.startsWith('false', this.offset)) { this.offset += 5; return false; }
    if (text.startsWith('true', this.offset)) { this.offset += 4; return true; }
    if (!this.canAccess()) return undefined;
    const c = this.at(this.offset);
    if (c === QUOTE) return this.parseString();
    if (c === MINUS || isDigit(c)) return this.parseNumber();
    if (c === 0x5b) return this.parseArray();
    if (c === 0x7b) return this.parseObject();
    return undefined;
  }

  /** strtod over what parse_number copied: the longest prefix that is a number, at least one digit. */
  private parseNumber(): number | undefined {
    const text = this.text;
    const start = this.offset;
    const limit = Math.min(text.length, start + NUMBER_CHARS_MAX);
    let copied = start;
    while (copied < limit && isNumberChar(text.charCodeAt(copied))) copied++;
    const digitsFrom = (i: number): number => {
      while (i < copied && isDigit(text.charCodeAt(i))) i++;
      return i;
    };
    let i = text.charCodeAt(start) === MINUS ? start + 1 : start;
    const intEnd = digitsFrom(i);
    let digits = intEnd - i;
    i = intEnd;
    if (i < copied && text.charCodeAt(i) === DOT) {
      const fractionEnd = digitsFrom(i + 1);
      digits += fractionEnd - (i + 1);
      i = fractionEnd;
    }
    if (digits === 0) return undefined;
    const e = text.charCodeAt(i);
    if (i < copied && (e === 0x65 || e === 0x45)) {
      const sign = text.charCodeAt(i + 1);
      const expFrom = i + 1 < copied && (sign === 0x2b || sign === MINUS) ? i + 2 : i + 1;
      const expEnd = digitsFrom(expFrom);
      if (expEnd > expFrom) i = expEnd;
    }
    this.offset = i;
    return Number(text.slice(start, i));
  }

  private backslashFrom(from: number): number {
    if (this.nextBackslash < from) {
      const found = this.text.indexOf('\\', from);
      this.nextBackslash = found < 0 ? Infinity : found;
    }
    return this.nextBackslash;
  }

  private parseString(): ByteString | undefined {
    const text = this.text;
    const open = this.offset;
    // On any failure cJSON leaves the offset just after the opening quote, or at the failing escape.
    const failAt = (pos: number): undefined => { this.offset = pos; return undefined; };
    if (this.at(open) !== QUOTE) return failAt(open + 1);
    const quote = text.indexOf('"', open + 1);
    if (quote < 0) return failAt(open + 1);
    if (this.backslashFrom(open + 1) > quote) {
      this.offset = quote + 1;
      return text.slice(open + 1, quote);
    }
    // The closing quote must come before the terminating NUL (an escape may not hide it).
    let end = open + 1;
    while (end < text.length) {
      const c = text.charCodeAt(end);
      if (c === QUOTE) break;
      end += c === BACKSLASH ? 2 : 1;
    }
    if (end >= text.length) return failAt(open + 1);
    const decoded = unescapeString(text, open + 1, end);
    if (typeof decoded === 'number') return failAt(decoded);
    this.offset = end + 1;
    const nul = decoded.indexOf('\0');
    return nul < 0 ? decoded : decoded.slice(0, nul);
  }

  private parseArray(): JsonValue[] | undefined {
    const items: JsonValue[] = [];
    const item = (): boolean => {
      const value = this.parseValue();
      if (value === undefined) return false;
      items.push(value);
      return true;
    };
    return this.parseMembers(0x5d, item) ? items : undefined;
  }

  private parseObject(): JsonObject | undefined {
    const object = new JsonObject();
    return this.parseMembers(0x7d, () => this.parseMember(object)) ? object : undefined;
  }

  /** `"key" : value`, the whitespace around the colon included. */
  private parseMember(object: JsonObject): boolean {
    const key = this.parseString();
    if (key === undefined) return false;
    this.skipWhitespace();
    if (!this.canAccess() || this.at(this.offset) !== 0x3a) return false;
    this.offset++;
    this.skipWhitespace();
    const value = this.parseValue();
    if (value === undefined) return false;
    object.add(key, value);
    return true;
  }

  /**
   * The body of an array or object from its opening bracket: `member` reads one item at a
   * time, separated by ',', up to `closer`. False on failure, `offset` where cJSON leaves it.
   */
  private parseMembers(closer: number, member: () => boolean): boolean {
    if (this.depth >= CJSON_NESTING_LIMIT) return false;
    this.depth++;
    this.offset++;
    this.skipWhitespace();
    if (this.canAccess() && this.at(this.offset) === closer) return this.close();
    if (!this.canAccess()) { this.offset--; return false; }
    this.offset--;
    do {
      this.offset++;
      this.skipWhitespace();
      if (!member()) return false;
      this.skipWhitespace();
    } while (this.canAccess() && this.at(this.offset) === 0x2c);
    if (!this.canAccess() || this.at(this.offset) !== closer) return false;
    return this.close();
  }

  private close(): true {
    this.depth--;
    this.offset++;
    return true;
  }
}

const SHORT_UNESCAPES: Readonly<Record<number, string>> = {
  0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t', [QUOTE]: '"', [BACKSLASH]: '\\', 0x2f: '/',
};

/**
 * Decodes the escapes of the string body text[from, to) (cJSON's second pass). Returns
 * the decoded bytes, or the offset in `text` of the escape that failed.
 */
function unescapeString(text: ByteString, from: number, to: number): ByteString | number {
  let out = '';
  let run = from;
  for (let p = text.indexOf('\\', from); p >= 0 && p < to; p = text.indexOf('\\', run)) {
    out += text.slice(run, p);
    const kind = text.charCodeAt(p + 1);
    if (kind === 0x75) {
      const decoded = utf16Escape(text, p, to);
      if (decoded === undefined) return p;
      out += decoded.bytes;
      run = p + decoded.used;
    } else {
      const simple = SHORT_UNESCAPES[kind];
      if (simple === undefined) return p;
      out += simple;
      run = p + 2;
    }
  }
  return out + text.slice(run, to);
}

/** parse_hex4: four hex digits, or 0 as soon as one is not a hex digit. */
function hex4(text: ByteString, at: number): number {
  let h = 0;
  for (let i = 0; i < 4; i++) {
    const d = hexDigit(text.charCodeAt(at + i));
    if (d < 0) return 0;
    h = (h << 4) | d;
  }
  return h;
}

/** `\uXXXX` (or a surrogate pair) at `p`, before `to`: its UTF-8 bytes and the escape's length. */
function utf16Escape(text: ByteString, p: number, to: number): { bytes: ByteString; used: number } | undefined {
  if (to - p < 6) return undefined;
  const first = hex4(text, p + 2);
  if (first >= 0xdc00 && first <= 0xdfff) return undefined;
  if (first < 0xd800 || first > 0xdbff) return { bytes: utf8Bytes(first), used: 6 };
  const second = p + 6;
  if (to - second < 6 || text.charCodeAt(second) !== BACKSLASH || text.charCodeAt(second + 1) !== 0x75) return undefined;
  const low = hex4(text, second + 2);
  if (low < 0xdc00 || low > 0xdfff) return undefined;
  return { bytes: utf8Bytes(0x10000 + (((first & 0x3ff) << 10) | (low & 0x3ff))), used: 12 };
}

function utf8Bytes(cp: number): ByteString {
  const b = String.fromCharCode;
  if (cp < 0x80) return b(cp);
  if (cp < 0x800) return b(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  if (cp < 0x10000) return b(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  return b(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers

/** cJSON's valueint: the double cast to int, saturated at INT_MIN and INT_MAX. */
export function cjsonInt(d: number): number {
  if (d >= 2147483647) return 2147483647;
  if (d <= -2147483648) return -2147483648;
  return Math.trunc(d);
}

/** True when the 15-digit text reads back close enough (cJSON's compare_double). */
function closeEnough(a: number, b: number): boolean {
  return Math.abs(a - b) <= Math.max(Math.abs(a), Math.abs(b)) * Number.EPSILON;
}

/** A number as cJSON's print_number writes it. */
export function formatCJsonNumber(d: number): string {
  if (!Number.isFinite(d)) return 'null';
  const asInt = cjsonInt(d);
  // -0 equals its int 0 and prints as `0`; String(-0) is '0' too.
  if (d === asInt) return String(asInt);
  const short = formatGeneral(d, 15);
  return closeEnough(Number(short), d) ? short : formatGeneral(d, 17);
}

// ---------------------------------------------------------------------------------------------------------------
// Printing

const ESCAPES: readonly string[] = Array.from({ length: 0x20 }, (_, c) => `\\u${c.toString(16).padStart(4, '0')}`);
const SHORT_ESCAPES: Readonly<Record<number, string>> = { 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x22: '\\"', 0x5c: '\\\\' };
const NEEDS_ESCAPE = /["\\\x00-\x1f]/;
const ABOVE_BYTE = /[^\x00-\xff]+/g;
const TABS = Array.from({ length: 16 }, (_, n) => '\t'.repeat(n));

function tabs(n: number): string {
  return TABS[n] ?? '\t'.repeat(n);
}

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

type PlainObject = { readonly [key: string]: JsonInput | undefined };

/** print_value; `depth` counts the arrays and objects around the value (formatted printing indents by it). */
function printValue(value: JsonInput | undefined, out: string[], formatted: boolean, depth: number): void {
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
      if (i > 0) out.push(formatted ? ', ' : ',');
      printValue(value[i] as JsonInput, out, formatted, depth + 1);
    }
    out.push(']');
    return;
  }
  out.push(formatted ? '{\n' : '{');
  let first = true;
  const member = (key: string, v: JsonInput | undefined): void => {
    if (v === undefined) return;
    if (!first) out.push(formatted ? ',\n' : ',');
    first = false;
    if (formatted) out.push(tabs(depth + 1));
    out.push(printString(key), formatted ? ':\t' : ':');
    printValue(v, out, formatted, depth + 1);
  };
  if (value instanceof JsonObject) for (const [k, v] of value.entries) member(k, v);
  else for (const k of Object.keys(value)) member(k, (value as PlainObject)[k]);
  if (formatted) out.push(first ? tabs(depth) : `\n${tabs(depth)}`);
  out.push('}');
}

/** The parsed form of a printable value: plain objects become JsonObjects, undefined members are dropped. */
export function toJsonValue(value: JsonInput | undefined): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || value instanceof JsonObject) return value;
  if (Array.isArray(value)) return value.map((item: JsonInput | undefined) => toJsonValue(item));
  const object = new JsonObject();
  for (const [k, v] of Object.entries(value as PlainObject)) {
    if (v !== undefined) object.add(k, toJsonValue(v));
  }
  return object;
}

function printText(value: JsonInput, formatted: boolean): ByteString {
  const out: string[] = [];
  printValue(value, out, formatted, 0);
  const text = out.join('');
  return text.replace(ABOVE_BYTE, (wide) => Buffer.from(wide, 'utf8').toString('latin1'));
}

/** cJSON_PrintUnformatted, as a ByteString. */
export function printJsonText(value: JsonInput): ByteString {
  return printText(value, false);
}

/** cJSON_PrintUnformatted, as bytes. */
export function printJson(value: JsonInput): Buffer {
  return Buffer.from(printJsonText(value), 'latin1');
}

/** cJSON_Print (formatted), as a ByteString. */
export function printJsonFormatted(value: JsonInput): ByteString {
  return printText(value, true);
}
