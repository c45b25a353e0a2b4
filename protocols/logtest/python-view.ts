/**
 * Replies as Wazuh's wazuh-logtest (framework/scripts/wazuh_logtest.py) shows them. That
 * tool is Python: it reads the reply with json.loads and prints values with str(), lists
 * and nested values with repr(), and its debug dump with json.dumps(indent=2). The output
 * depends on those rules (`groups: '['syslog', 'sshd']'`), so they are kept here:
 *  - a JSON number is an int when cJSON printed it without `.` or exponent, else a float
 *    (repr: shortest digits, `1e+16`, `5.0`);
 *  - objects are dicts: a repeated name keeps its first place and its last value;
 *  - strings are decoded from UTF-8 (invalid bytes become U+FFFD; Python would fail).
 */
import { JsonObject, formatCJsonNumber, type ByteString, type JsonValue } from '../cjson.js';

/** A Python value as json.loads builds it. */
export type PyValue = null | boolean | bigint | number | string | PyValue[] | Map<string, PyValue>;

const utf8 = new TextDecoder('utf-8');

export const decodeBytes = (s: ByteString): string => utf8.decode(Buffer.from(s, 'latin1'));

export function pyFromJson(value: JsonValue): PyValue {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    const text = formatCJsonNumber(value);
    return /^-?\d+$/.test(text) ? BigInt(text) : value;
  }
  if (typeof value === 'string') return decodeBytes(value);
  if (Array.isArray(value)) return value.map(pyFromJson);
  const dict = new Map<string, PyValue>();
  for (const [k, v] of (value as JsonObject).entries) dict.set(decodeBytes(k), pyFromJson(v));
  return dict;
}

/** Python's float repr: shortest round-trip digits, scientific below 1e-4 and from 1e16. */
function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const [mantissa = '0', exp = '0'] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const e = Number(exp);
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  const whole = digits.slice(0, e + 1).padEnd(e + 1, '0');
  const fraction = digits.slice(e + 1);
  return `${sign}${whole}.${fraction === '' ? '0' : fraction}`;
}

/** Characters str.isprintable() refuses, besides ASCII controls. */
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c > 0x7f && NOT_PRINTABLE.test(ch)) {
      out += c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : c <= 0xffff ? `\\u${c.toString(16).padStart(4, '0')}` : `\\U${c.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

export function pyRepr(v: PyValue): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return floatRepr(v);
  if (typeof v === 'string') return strRepr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  return `{${[...v].map(([k, item]) => `${strRepr(k)}: ${pyRepr(item)}`).join(', ')}}`;
}

/** str(): a string as itself, anything else as its repr. */
export const pyStr = (v: PyValue): string => (typeof v === 'string' ? v : pyRepr(v));

/** Python's truth value. */
export function pyTruthy(v: PyValue | undefined): boolean {
  if (v === undefined || v === null || v === false) return false;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string' || Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  return true;
}

const JSON_ESCAPES: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/** json.dumps' string (ensure_ascii: everything outside space..~ as \uXXXX). */
function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    const c = s.charCodeAt(i);
    out += JSON_ESCAPES[ch] ?? (c < 0x20 || c > 0x7e ? `\\u${c.toString(16).padStart(4, '0')}` : ch);
  }
  return `${out}"`;
}

/** json.dumps(value, indent=2). */
export function pyJsonDumps(v: PyValue, level = 0): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return floatRepr(v);
  if (typeof v === 'string') return jsonString(v);
  const pad = '  '.repeat(level + 1);
  const close = '  '.repeat(level);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((item) => pad + pyJsonDumps(item, level + 1)).join(',\n')}\n${close}]`;
  }
  if (v.size === 0) return '{}';
  return `{\n${[...v].map(([k, item]) => `${pad}${jsonString(k)}: ${pyJsonDumps(item, level + 1)}`).join(',\n')}\n${close}}`;
}

/** Code point order (Python's string sort), not UTF-16 unit order. */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i] as string).codePointAt(0)! - (y[i] as string).codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** show_phase_info: the listed fields first, then the rest sorted, nested dicts flattened as `a.b`. */
function phaseInfo(phase: Map<string, PyValue>, showFirst: readonly string[] = [], prefix = ''): string[] {
  const lines: string[] = [];
  const rest = new Map(phase);
  for (const field of showFirst) {
    if (!rest.has(field)) continue;
    lines.push(`\t${field}: '${pyStr(rest.get(field) as PyValue)}'`);
    rest.delete(field);
  }
  for (const field of [...rest.keys()].sort(byCodePoint)) {
    const value = rest.get(field) as PyValue;
    if (value instanceof Map) lines.push(...phaseInfo(value, [], `${prefix}${field}.`));
    else lines.push(`\t${prefix}${field}: '${pyStr(value)}'`);
  }
  return lines;
}

const asDict = (v: PyValue | undefined): Map<string, PyValue> => (v instanceof Map ? v : new Map());

/** The lines of show_ossec_logtest_like for a reply's `data` (the three phases). */
export function phaseLines(data: Map<string, PyValue>): string[] {
  const output = asDict(data.get('output'));
  const lines = ['**Phase 1: Completed pre-decoding.'];
  if (output.has('full_log')) lines.push(`\tfull event: '${pyStr(output.get('full_log') as PyValue)}'`);
  if (output.has('predecoder')) lines.push(...phaseInfo(asDict(output.get('predecoder')), ['timestamp', 'hostname', 'program_name']));
  lines.push('', '**Phase 2: Completed decoding.');
  if (pyTruthy(output.get('decoder'))) {
    lines.push(...phaseInfo(asDict(output.get('decoder')), ['name', 'parent']));
    if (output.has('data')) lines.push(...phaseInfo(asDict(output.get('data'))));
  } else {
    lines.push('\tNo decoder matched.');
  }
  const debug = data.get('rules_debug');
  if (debug !== undefined) {
    lines.push('', '**Rule debugging:');
    for (const m of Array.isArray(debug) ? debug : []) {
      const text = pyStr(m);
      lines.push((text.startsWith('*') ? '\t\t' : '\t') + text);
    }
  }
  if (output.has('rule')) {
    lines.push('', '**Phase 3: Completed filtering (rules).');
    lines.push(...phaseInfo(asDict(output.get('rule')), ['id', 'level', 'description', 'groups', 'firedtimes']));
  }
  if (pyTruthy(data.get('alert'))) lines.push('**Alert to be generated.');
  return lines;
}
