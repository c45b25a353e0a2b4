/**
 * A JSON reader and printer with cJSON's (1.7) behaviour, which is not JSON's: the parse
 * stops after the first value (trailing text is fine), any byte <= 0x20 is whitespace,
 * numbers are what strtod accepts (leading zeros, `1.`), raw control bytes may sit in
 * strings, `\u0000` (or a bad `\uXXXX`) ends the C string there, and the printer renders
 * arrays as `[a, b]` and objects with tabs. Text in and out is a ByteString.
 */
import type { ByteString } from '../../types.js';
import { formatGeneral } from './c-format.js';

/** A parsed value. Objects keep every member in order, duplicates included. */
export type JsonValue = null | boolean | number | ByteString | JsonValue[] | JsonObject;

export class JsonObject {
  constructor(readonly keys: ByteString[], readonly values: JsonValue[]) {}
}

/** cJSON's CJSON_NESTING_LIMIT. */
const NESTING_LIMIT = 1000;
/** parse_number copies at most this many characters for strtod. */
const NUMBER_CHARS = 63;

/** Thrown (one shared instance, no stack) at the first syntax error. */
export const SYNTAX_ERROR: unique symbol = Symbol('cjson syntax error');

/** A read position over text[pos, end). Every method throws SYNTAX_ERROR where cJSON fails. */
export class CJsonCursor {
  depth = 0;
  private nextBackslash = -1;

  constructor(readonly text: ByteString, public pos: number, readonly end: number) {}

  skipWhitespace(): void {
    while (this.pos < this.end && this.text.charCodeAt(this.pos) <= 0x20) this.pos++;
  }

  /** The code of the next byte, or -1 at the end. */
  peek(): number {
    return this.pos < this.end ? this.text.charCodeAt(this.pos) : -1;
  }

  /** Opens an object or array: consumes the bracket, counts nesting. */
  open(): void {
    if (this.depth >= NESTING_LIMIT) throw SYNTAX_ERROR;
    this.depth++;
    this.pos++;
  }

  close(): void {
    this.depth--;
    this.pos++;
  }

  /** `null`, `true` or `false` when the next bytes spell one of them (prefix match, as strncmp). */
  literal(): null | boolean | undefined {
    const { text, pos } = this;
    if (text.startsWith('null', pos) && pos + 4 <= this.end) { this.pos += 4; return null; }
    if (text.startsWith('false', pos) && pos + 5 <= this.end) { this.pos += 5; return false; }
    if (text.startsWith('true', pos) && pos + 4 <= this.end) { this.pos += 4; return true; }
    return undefined;
  }

  /** strtod over the run of number characters: the longest valid prefix, at least one digit. */
  number(): number {
    const { text } = this;
    const start = this.pos;
    const limit = Math.min(this.end, start + NUMBER_CHARS);
    let i = start;
    const c0 = text.charCodeAt(i);
    if (c0 === 0x2d || c0 === 0x2b) i++;
    let digits = 0;
    while (i < limit && isDigit(text.charCodeAt(i))) { i++; digits++; }
    if (i < limit && text.charCodeAt(i) === 0x2e) {
      i++;
      while (i < limit && isDigit(text.charCodeAt(i))) { i++; digits++; }
    }
    if (digits === 0) throw SYNTAX_ERROR;
    const c = text.charCodeAt(i);
    if (i < limit && (c === 0x65 || c === 0x45)) {
      let j = i + 1;
      const sign = text.charCodeAt(j);
      if (j < limit && (sign === 0x2b || sign === 0x2d)) j++;
      const expStart = j;
      while (j < limit && isDigit(text.charCodeAt(j))) j++;
      if (j > expStart) i = j;
    }
    this.pos = i;
    return Number(text.slice(start, i));
  }

  /** A string at `"`: escapes decoded to UTF-8 bytes, cut at the first NUL as the C string is. */
  string(): ByteString {
    const { text, end } = this;
    const start = this.pos + 1;
    const quote = text.indexOf('"', start);
    if (quote < 0 || quote >= end) throw SYNTAX_ERROR;
    if (this.backslashFrom(start) > quote) {
      this.pos = quote + 1;
      return text.slice(start, quote);
    }
    // The end is the first quote after an even run of backslashes (each backslash escapes one byte).
    let close = quote;
    for (;;) {
      let before = close - 1;
      while (before >= start && text.charCodeAt(before) === 0x5c) before--;
      if ((close - 1 - before) % 2 === 0) break;
      close = text.indexOf('"', close + 1);
      if (close < 0 || close >= end) throw SYNTAX_ERROR;
    }
    this.pos = close + 1;
    return decodeEscapes(text, start, close);
  }

  /** The first backslash at or after `from` (Infinity for none); searched again only once passed. */
  private backslashFrom(from: number): number {
    if (this.nextBackslash < from) {
      const found = this.text.indexOf('\\', from);
      this.nextBackslash = found < 0 ? Infinity : found;
    }
    return this.nextBackslash;
  }

  /** Any value as a tree (used for arrays, which the decoder prints whole). */
  value(): JsonValue {
    const c = this.peek();
    if (c === 0x22) return this.string();
    if (c === 0x2d || isDigit(c)) return this.number();
    if (c === 0x5b) return this.array();
    if (c === 0x7b) return this.object();
    const lit = this.literal();
    if (lit === undefined) throw SYNTAX_ERROR;
    return lit;
  }

  private array(): JsonValue[] {
    this.open();
    const items: JsonValue[] = [];
    this.skipWhitespace();
    if (this.peek() === 0x5d) {
      this.close();
      return items;
    }
    for (;;) {
      this.skipWhitespace();
      items.push(this.value());
      this.skipWhitespace();
      const c = this.peek();
      if (c === 0x2c) { this.pos++; continue; }
      if (c === 0x5d) { this.close(); return items; }
      throw SYNTAX_ERROR;
    }
  }

  private object(): JsonObject {
    this.open();
    const object = new JsonObject([], []);
    this.skipWhitespace();
    if (this.peek() === 0x7d) {
      this.close();
      return object;
    }
    for (;;) {
      object.keys.push(this.key());
      object.values.push(this.value());
      this.skipWhitespace();
      const c = this.peek();
      if (c === 0x2c) { this.pos++; continue; }
      if (c === 0x7d) { this.close(); return object; }
      throw SYNTAX_ERROR;
    }
  }

  /** A member's `"key" :` with the whitespace around it; leaves the cursor on the value. */
  key(): ByteString {
    this.skipWhitespace();
    if (this.peek() !== 0x22) throw SYNTAX_ERROR;
    const key = this.string();
    this.skipWhitespace();
    if (this.peek() !== 0x3a) throw SYNTAX_ERROR;
    this.pos++;
    this.skipWhitespace();
    return key;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Decodes a string with escapes; after a NUL the rest is still checked but no longer kept. */
function decodeEscapes(text: ByteString, start: number, close: number): ByteString {
  let out = '';
  let runStart = start;
  let cut = false;
  for (let i = text.indexOf('\\', start); i >= 0 && i < close; i = text.indexOf('\\', runStart)) {
    if (!cut) out += text.slice(runStart, i);
    const kind = text.charCodeAt(i + 1);
    let decoded: string;
    if (kind === 0x75) {
      const [codepoint, length] = utf16Escape(text, i, close);
      cut ||= codepoint === 0;
      decoded = utf8Bytes(codepoint);
      runStart = i + length;
    } else {
      decoded = simpleEscape(kind);
      runStart = i + 2;
    }
    if (!cut) out += decoded;
  }
  return cut ? out : out + text.slice(runStart, close);
}

function simpleEscape(kind: number): string {
  switch (kind) {
    case 0x62: return '\b';
    case 0x66: return '\f';
    case 0x6e: return '\n';
    case 0x72: return '\r';
    case 0x74: return '\t';
    case 0x22: return '"';
    case 0x5c: return '\\';
    case 0x2f: return '/';
    default: throw SYNTAX_ERROR;
  }
}

/** `\uXXXX` or a `\uD8xx\uDCxx` pair: [code point, escape length]. Bad hex reads as 0, as in cJSON. */
function utf16Escape(text: ByteString, at: number, close: number): [number, number] {
  if (close - at < 6) throw SYNTAX_ERROR;
  const first = hex4(text, at + 2);
  if (first >= 0xdc00 && first <= 0xdfff) throw SYNTAX_ERROR;
  if (first < 0xd800 || first > 0xdbff) return [first, 6];
  const second = at + 6;
  if (close - second < 6 || text.charCodeAt(second) !== 0x5c || text.charCodeAt(second + 1) !== 0x75) throw SYNTAX_ERROR;
  const low = hex4(text, second + 2);
  if (low < 0xdc00 || low > 0xdfff) throw SYNTAX_ERROR;
  return [0x10000 + (((first & 0x3ff) << 10) | (low & 0x3ff)), 12];
}

function hex4(text: ByteString, at: number): number {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    const c = text.charCodeAt(at + i);
    let digit: number;
    if (c >= 0x30 && c <= 0x39) digit = c - 0x30;
    else if (c >= 0x41 && c <= 0x46) digit = c - 0x37;
    else if (c >= 0x61 && c <= 0x66) digit = c - 0x57;
    else return 0;
    value = (value << 4) | digit;
  }
  return value;
}

function utf8Bytes(cp: number): ByteString {
  const b = String.fromCharCode;
  if (cp < 0x80) return b(cp);
  if (cp < 0x800) return b(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  if (cp < 0x10000) return b(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  return b(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
}

/** cJSON's valueint: the double cast to int, saturated. */
export function cjsonInt(d: number): number {
  if (d >= 2147483647) return 2147483647;
  if (d <= -2147483648) return -2147483648;
  return Math.trunc(d);
}

/** cJSON_Print (formatted) of one value; `depth` is the object nesting around it. */
export function printJson(value: JsonValue, depth = 0): ByteString {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') return printNumber(value);
  if (typeof value === 'string') return printString(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ', ') + printJson(value[i]!, depth);
    return out + ']';
  }
  const inner = indent(depth + 1);
  let out = '{\n';
  const last = value.keys.length - 1;
  for (let i = 0; i <= last; i++) {
    out += inner + printString(value.keys[i]!) + ':\t' + printJson(value.values[i]!, depth + 1) + (i < last ? ',\n' : '\n');
  }
  return out + indent(depth) + '}';
}

const INDENTS = Array.from({ length: 16 }, (_, n) => '\t'.repeat(n));

function indent(depth: number): string {
  return INDENTS[depth] ?? '\t'.repeat(depth);
}

/** Integers as `%d`; others with 15 significant digits unless that loses the value, then 17. */
function printNumber(d: number): string {
  if (!Number.isFinite(d)) return 'null';
  if (d === cjsonInt(d)) return String(cjsonInt(d));
  const short = formatGeneral(d, 15);
  const back = Number(short);
  const scale = Math.max(Math.abs(back), Math.abs(d));
  return Math.abs(back - d) <= scale * Number.EPSILON ? short : formatGeneral(d, 17);
}

function printString(s: ByteString): ByteString {
  let runStart = 0;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(runStart, i) + escapeByte(c);
    runStart = i + 1;
  }
  return runStart === 0 ? '"' + s + '"' : out + s.slice(runStart) + '"';
}

function escapeByte(c: number): string {
  switch (c) {
    case 0x22: return '\\"';
    case 0x5c: return '\\\\';
    case 0x08: return '\\b';
    case 0x0c: return '\\f';
    case 0x0a: return '\\n';
    case 0x0d: return '\\r';
    case 0x09: return '\\t';
    default: return '\\u' + c.toString(16).padStart(4, '0');
  }
}
