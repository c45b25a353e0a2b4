import assert from 'node:assert/strict';
import test from 'node:test';
import {
  CJSON_NESTING_LIMIT, JsonObject, cjsonInt, formatCJsonNumber, parseJson, printJson, printJsonFormatted, printJsonText, toJsonValue,
  type JsonValue,
} from '../../../protocols/cjson.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
/** Text as a ByteString (its UTF-8 bytes, one code unit each). */
const utf8 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

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

test('cjson - cJSON leniency: trailing bytes, raw control bytes, first-wins duplicates kept in order', () => {
  assert.equal(roundTrip('{"a":1}}} trailing garbage'), '{"a":1}');
  const withNewline = parsed('{"event":"line one\nline\ttwo\u0001"}') as JsonObject;
  assert.equal(withNewline.get('event'), 'line one\nline\ttwo\u0001');
  const dup = parsed('{"a":1,"b":2,"a":3}') as JsonObject;
  assert.equal(dup.get('a'), 1);
  assert.equal(dup.size, 3);
  assert.equal(printJsonText(dup), '{"a":1,"b":2,"a":3}');
});

test('cjson - bytes are kept: invalid UTF-8 and multi-byte text survive a parse and a print', () => {
  const input = Buffer.concat([bytes('{"k":"caf'), Buffer.from([0xc3, 0xa9, 0xff, 0xfe]), bytes('"}')]);
  const value = parsed(input) as JsonObject;
  assert.equal(value.get('k'), 'caf\u00c3\u00a9\u00ff\u00fe');
  assert.deepEqual(printJson(value), input);
});

test('cjson - the text ends at the first NUL byte, and a string value at its first U+0000', () => {
  assert.equal(roundTrip('{"a":1}\u0000{{{'), '{"a":1}');
  failsAt('{"a":\u00001}', 5);
  assert.equal((parsed('{"k":"ab\\u0000cd"}') as JsonObject).get('k'), 'ab');
  // parse_hex4 yields 0 for a bad digit: the escape decodes to NUL, which ends the value.
  assert.equal((parsed('{"k":"ab\\uzzzzcd"}') as JsonObject).get('k'), 'ab');
  assert.equal((parsed('{"ab\\u0000x":1}') as JsonObject).get('ab'), 1);
});

test('cjson - escapes: the short ones, \\/ and \\u to UTF-8 bytes, surrogate pairs; bad ones fail at the backslash', () => {
  assert.equal((parsed('["\\b\\f\\n\\r\\t\\"\\\\\\/"]') as JsonValue[])[0], '\b\f\n\r\t"\\/');
  assert.equal((parsed('["\\u00e9\\u20ac"]') as JsonValue[])[0], Buffer.from('é€', 'utf8').toString('latin1'));
  assert.equal((parsed('["\\ud83d\\ude00"]') as JsonValue[])[0], Buffer.from('😀', 'utf8').toString('latin1'));
  failsAt('["ab\\x"]', 4);
  failsAt('["ab\\udc00"]', 4);
  failsAt('["ab\\ud83dxx"]', 4);
  failsAt('["ab\\u12"]', 4);
});

test('cjson - numbers are what strtod reads from at most 63 number characters', () => {
  assert.deepEqual(parsed('[012, 1., -.5, 1e2, 1E+2, -0]'), [12, 1, -0.5, 100, 100, -0]);
  // strtod stops after 1e5; the next byte is not a separator.
  failsAt('[1e5e5]', 4);
  failsAt('[-]', 1);
  failsAt('[-x]', 1);
  const digits = '1'.repeat(70);
  failsAt(`[${digits}]`, 64);
  assert.equal(printJsonText(parsed(`[${'1'.repeat(63)}]`)), '[1.1111111111111112e+62]');
});

test('cjson - error positions are where cJSON stops', () => {
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

test('cjson - a BOM is skipped and null/true/false are words', () => {
  assert.deepEqual(parsed(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes('[null,true,false]')])), [null, true, false]);
  failsAt('[nul]', 1);
});

test('cjson - nesting deeper than 1000 fails where the 1001st opens', () => {
  const ok = `${'['.repeat(CJSON_NESTING_LIMIT)}${']'.repeat(CJSON_NESTING_LIMIT)}`;
  assert.ok(parseJson(bytes(ok)).ok);
  failsAt(`${'['.repeat(CJSON_NESTING_LIMIT + 1)}${']'.repeat(CJSON_NESTING_LIMIT + 1)}`, CJSON_NESTING_LIMIT);
  failsAt(`${'{"a":'.repeat(CJSON_NESTING_LIMIT)}{}`, 5 * CJSON_NESTING_LIMIT);
});

test('cjson - printing escapes only quote, backslash and bytes below 0x20', () => {
  assert.equal(printJsonText(['a"b\\c/d', '\b\f\n\r\t', '\u0001\u001f\u007f', 'é']), '["a\\"b\\\\c/d","\\b\\f\\n\\r\\t","\\u0001\\u001f\u007f","é"]');
  assert.equal(printJsonText({ a: [], b: {}, c: null, d: true, e: undefined }), '{"a":[],"b":{},"c":null,"d":true}');
  // A character above 0xFF cannot be in a ByteString: it is written as UTF-8.
  assert.deepEqual(printJson(['€']), Buffer.from('["€"]', 'utf8'));
  assert.equal(printJsonText(['ab\0cd']), '["ab"]');
});

test('cjson - numbers print as cJSON 1.7.18 does: %d for an int, else %1.15g, or %1.17g when 15 digits do not read back', () => {
  const cases: [number, string][] = [
    // %d when the double equals its saturated int: -0 is `0`, INT_MAX and INT_MIN too.
    [0, '0'], [-0, '0'], [42, '42'], [-7, '-7'], [5, '5'], [-2147483648, '-2147483648'], [2147483647, '2147483647'],
    // Beyond int range, integers go through %1.15g: plain digits up to 15 of them.
    [2147483648, '2147483648'], [123456789012, '123456789012'], [1e14, '100000000000000'],
    [999_999_999_999_999, '999999999999999'], [1e15, '1e+15'], [1e21, '1e+21'], [1.5e300, '1.5e+300'],
    [1e20, '1e+20'], [0.5, '0.5'], [0.1, '0.1'], [2.5, '2.5'], [1.5e-7, '1.5e-07'], [0.0001, '0.0001'], [0.00001, '1e-05'],
    // 0.30000000000000004 vs 0.3 is within DBL_EPSILON, so compare_double keeps the 15 digits.
    [0.1 + 0.2, '0.3'],
    [123456789012344.5, '123456789012344.5'],
    [1 / 3, '0.33333333333333331'], [123456789012345680, '1.2345678901234568e+17'],
    // An exact tie at 17 digits rounds to even, as glibc does (V8's toExponential rounds it up).
    [1234567890123456.25, '1234567890123456.2'],
    [5e-324, '4.94065645841247e-324'],
    // 15 digits read back as infinity, which compare_double calls equal: cJSON prints a number that overflows.
    [Number.MAX_VALUE, '1.79769313486232e+308'],
    [Infinity, 'null'], [NaN, 'null'],
  ];
  for (const [n, text] of cases) assert.equal(formatCJsonNumber(n), text, String(n));
  assert.deepEqual([cjsonInt(3.9), cjsonInt(-3.9), cjsonInt(1e10), cjsonInt(-1e10)], [3, -3, 2147483647, -2147483648]);
});

test('cjson - toJsonValue: plain objects become ordered objects, undefined members go', () => {
  const v = toJsonValue({ b: 1, a: [{ x: undefined, y: 'z' }] });
  assert.ok(v instanceof JsonObject);
  assert.equal(printJsonText(v), '{"b":1,"a":[{"y":"z"}]}');
});

test('cjson - parsing: every kind of value, strtod leniencies, trailing text and whitespace bytes', () => {
  assert.equal(roundTrip('[]'), '[]');
  assert.equal(roundTrip('[1, -2.5e3 ,"a",true,false,null,[{}],{"k":[0]}]'), '[1,-2500,"a",true,false,null,[{}],{"k":[0]}]');
  assert.equal(roundTrip('[1] and [2]'), '[1]');
  assert.equal(roundTrip('[\t\n\r 1\u0001]'), '[1]');
  assert.deepEqual(parsed('[0123, 1., -.5, 2E+2]'), [123, 1, -0.5, 200]);
  // strtod reads `1` of `1e`; the `e` left over is not a separator.
  assert.equal(parseJson('[0123, 1., -.5, 1e, 2E+2]').ok, false);
  // A ByteString parses as the bytes it stands for.
  assert.deepEqual(parseJson(utf8('["ñ"]')), parseJson(Buffer.from('["ñ"]', 'utf8')));
  assert.deepEqual(parsed(utf8('["ñ","a\\u0000b"]')), ['\xc3\xb1', 'a']);
});

test('cjson - parsing: duplicate keys inside an array are all kept and printed, integer-like ones in place', () => {
  const value = parsed('[{"z":1,"5":2,"z":3}]') as JsonValue[];
  assert.equal((value[0] as JsonObject).get('z'), 1);
  assert.equal(printJsonText(value), '[{"z":1,"5":2,"z":3}]');
});

test('cjson - parsing: what cJSON refuses', () => {
  for (const bad of ['[1,]', '[,1]', '[1 2]', '["a]', '["\\x"]', '["\\ud800"]', '["\\udc00"]', '["\\u12"]', '[-]', '[.5]', '[+1]', '[{1:2}]', '[{"a" 1}]', '[nul]', '[']) {
    assert.equal(parseJson(bad).ok, false, bad);
  }
});

test('cjson - JsonObject: members in insertion order whatever JS does with integer-like keys; __proto__ is a key', () => {
  const obj = new JsonObject().add('b', 1).add('10', 'ten').add('a', [true, false, null, 'x"y\\z\n\u0001']).add('2', new JsonObject());
  assert.equal(printJsonText(obj), '{"b":1,"10":"ten","a":[true,false,null,"x\\"y\\\\z\\n\\u0001"],"2":{}}');
  assert.equal(printJsonText(new JsonObject().add('__proto__', 'p')), '{"__proto__":"p"}');
  const dup = new JsonObject().add('k', 1).add('x', 2).add('k', 3);
  assert.equal(printJsonText(dup.delete('k')), '{"x":2,"k":3}');
  assert.equal(printJsonText(dup.delete('missing')), '{"x":2,"k":3}');
  assert.equal(printJsonText({ a: undefined, b: utf8('é/€') }), `{"b":"${utf8('é/€')}"}`);
});

test('cjson - formatted printing (cJSON_Print): tabs in objects, ", " in arrays, arrays indent what they hold', () => {
  assert.equal(printJsonFormatted(new JsonObject()), '{\n}');
  assert.equal(printJsonFormatted([]), '[]');
  assert.equal(printJsonFormatted(parsed('{"a":1,"b":{"c":[1,2]},"e":{}}')), '{\n\t"a":\t1,\n\t"b":\t{\n\t\t"c":\t[1, 2]\n\t},\n\t"e":\t{\n\t}\n}');
  // print_array counts as a level too: an object inside an array is indented one tab deeper.
  assert.equal(printJsonFormatted(parsed('[1,{"k":[{}],"m":{}},"x"]')), '[1, {\n\t\t"k":\t[{\n\t\t\t}],\n\t\t"m":\t{\n\t\t}\n\t}, "x"]');
  assert.equal(printJsonFormatted(parsed('["q\\"t\\\\","\\n\\u0001",0.1,1e10,-0,null,true]')), '["q\\"t\\\\", "\\n\\u0001", 0.1, 10000000000, 0, null, true]');
  // A plain object's undefined members are left out without a stray comma.
  assert.equal(printJsonFormatted({ a: 1, b: undefined }), '{\n\t"a":\t1\n}');
});
