import assert from 'node:assert/strict';
import test from 'node:test';
import {
  CJSON_NESTING_LIMIT, JsonObject, formatCJsonNumber, parseJson, printJson, printJsonText, toJsonValue, type JsonValue,
} from '../../../protocols/cjson.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

function parsed(text: string | Buffer): JsonValue {
  const r = parseJson(typeof text === 'string' ? bytes(text) : text);
  assert.ok(r.ok, `expected ${JSON.stringify(text.toString())} to parse`);
  return r.value;
}

function failsAt(text: string | Buffer, position: number): void {
  const r = parseJson(typeof text === 'string' ? bytes(text) : text);
  assert.deepEqual(r, { ok: false, position }, `position for ${JSON.stringify(text.toString())}`);
}

/** Parse then print: what analysisd echoes of an object event. */
const roundTrip = (text: string): string => printJsonText(parsed(text));

test('logtest json - cJSON leniency: trailing bytes, raw control bytes, first-wins duplicates kept in order', () => {
  assert.equal(roundTrip('{"a":1}}} trailing garbage'), '{"a":1}');
  const withNewline = parsed('{"event":"line one\nline\ttwo\u0001"}') as JsonObject;
  assert.equal(withNewline.get('event'), 'line one\nline\ttwo\u0001');
  const dup = parsed('{"a":1,"b":2,"a":3}') as JsonObject;
  assert.equal(dup.get('a'), 1);
  assert.equal(dup.size, 3);
  assert.equal(printJsonText(dup), '{"a":1,"b":2,"a":3}');
});

test('logtest json - bytes are kept: invalid UTF-8 and multi-byte text survive a parse and a print', () => {
  const input = Buffer.concat([bytes('{"k":"caf'), Buffer.from([0xc3, 0xa9, 0xff, 0xfe]), bytes('"}')]);
  const value = parsed(input) as JsonObject;
  assert.equal(value.get('k'), 'caf\u00c3\u00a9\u00ff\u00fe');
  assert.deepEqual(printJson(value), input);
});

test('logtest json - the text ends at the first NUL byte, and a string value at its first U+0000', () => {
  assert.equal(roundTrip('{"a":1}\u0000{{{'), '{"a":1}');
  failsAt('{"a":\u00001}', 5);
  assert.equal((parsed('{"k":"ab\\u0000cd"}') as JsonObject).get('k'), 'ab');
  // parse_hex4 yields 0 for a bad digit: the escape decodes to NUL, which ends the value.
  assert.equal((parsed('{"k":"ab\\uzzzzcd"}') as JsonObject).get('k'), 'ab');
  assert.equal((parsed('{"ab\\u0000x":1}') as JsonObject).get('ab'), 1);
});

test('logtest json - escapes: the short ones, \\/ and \\u to UTF-8 bytes, surrogate pairs; bad ones fail at the backslash', () => {
  assert.equal((parsed('["\\b\\f\\n\\r\\t\\"\\\\\\/"]') as JsonValue[])[0], '\b\f\n\r\t"\\/');
  assert.equal((parsed('["\\u00e9\\u20ac"]') as JsonValue[])[0], Buffer.from('é€', 'utf8').toString('latin1'));
  assert.equal((parsed('["\\ud83d\\ude00"]') as JsonValue[])[0], Buffer.from('😀', 'utf8').toString('latin1'));
  failsAt('["ab\\x"]', 4);
  failsAt('["ab\\udc00"]', 4);
  failsAt('["ab\\ud83dxx"]', 4);
  failsAt('["ab\\u12"]', 4);
});

test('logtest json - numbers are what strtod reads from at most 63 number characters', () => {
  assert.deepEqual(parsed('[012, 1., -.5, 1e2, 1E+2, -0]'), [12, 1, -0.5, 100, 100, -0]);
  // strtod stops after 1e5; the next byte is not a separator.
  failsAt('[1e5e5]', 4);
  failsAt('[-]', 1);
  failsAt('[-x]', 1);
  const digits = '1'.repeat(70);
  failsAt(`[${digits}]`, 64);
  assert.equal(printJsonText(parsed(`[${'1'.repeat(63)}]`)), '[1.1111111111111112e+62]');
});

test('logtest json - error positions are where cJSON stops', () => {
  failsAt('', 0);
  failsAt('   ', 3);
  failsAt('{', 1);
  failsAt('{"a":1', 6);
  failsAt('[1,]', 3);
  failsAt('"abc', 1);
  failsAt('{"a" 1}', 5);
  failsAt('tru', 0);
  // A key that is not a string: cJSON reports one past the offending byte.
  failsAt('{a:1}', 2);
  failsAt('{"a":1,b:2}', 8);
  failsAt('{"a":}', 5);
});

test('logtest json - a BOM is skipped and null/true/false are words', () => {
  assert.deepEqual(parsed(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes('[null,true,false]')])), [null, true, false]);
  failsAt('[nul]', 1);
});

test('logtest json - nesting deeper than 1000 fails where the 1001st opens', () => {
  const ok = `${'['.repeat(CJSON_NESTING_LIMIT)}${']'.repeat(CJSON_NESTING_LIMIT)}`;
  assert.ok(parseJson(bytes(ok)).ok);
  failsAt(`${'['.repeat(CJSON_NESTING_LIMIT + 1)}${']'.repeat(CJSON_NESTING_LIMIT + 1)}`, CJSON_NESTING_LIMIT);
  failsAt(`${'{"a":'.repeat(CJSON_NESTING_LIMIT)}{}`, 5 * CJSON_NESTING_LIMIT);
});

test('logtest json - printing escapes only quote, backslash and bytes below 0x20', () => {
  assert.equal(printJsonText(['a"b\\c/d', '\b\f\n\r\t', '\u0001\u001f\u007f', 'é']), '["a\\"b\\\\c/d","\\b\\f\\n\\r\\t","\\u0001\\u001f\u007f","é"]');
  assert.equal(printJsonText({ a: [], b: {}, c: null, d: true, e: undefined }), '{"a":[],"b":{},"c":null,"d":true}');
  // A character above 0xFF cannot be in a ByteString: it is written as UTF-8.
  assert.deepEqual(printJson(['€']), Buffer.from('["€"]', 'utf8'));
  assert.equal(printJsonText(['ab\0cd']), '["ab"]');
});

test('logtest json - numbers print as cJSON does: %1.15g, or %1.17g when 15 digits do not read back', () => {
  const cases: [number, string][] = [
    [0, '0'], [-0, '-0'], [42, '42'], [-7, '-7'], [999_999_999_999_999, '999999999999999'], [1e15, '1e+15'],
    [1e20, '1e+20'], [0.5, '0.5'], [1.5e-7, '1.5e-07'], [0.0001, '0.0001'], [0.1 + 0.2, '0.3'],
    [1 / 3, '0.33333333333333331'], [123456789012345680, '1.2345678901234568e+17'],
    // An exact tie at 17 digits rounds to even, as glibc does (V8's toExponential rounds it up).
    [1234567890123456.25, '1234567890123456.2'],
    [5e-324, '4.94065645841247e-324'],
    // 15 digits read back as infinity, which compare_double calls equal: cJSON prints a number that overflows.
    [Number.MAX_VALUE, '1.79769313486232e+308'],
    [Infinity, 'null'], [NaN, 'null'],
  ];
  for (const [n, text] of cases) assert.equal(formatCJsonNumber(n), text, String(n));
});

test('logtest json - toJsonValue: plain objects become ordered objects, undefined members go', () => {
  const v = toJsonValue({ b: 1, a: [{ x: undefined, y: 'z' }] });
  assert.ok(v instanceof JsonObject);
  assert.equal(printJsonText(v), '{"b":1,"a":[{"y":"z"}]}');
});
