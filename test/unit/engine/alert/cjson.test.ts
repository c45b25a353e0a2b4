import assert from 'node:assert/strict';
import test from 'node:test';
import { formatCJsonNumber, parseCJson, printCJson, putKey, type JsonObject } from '../../../../engine/alert/cjson.js';
import { toBytes } from '../../../../engine/types.js';

test('numbers print as cJSON prints them (%d in int range, else %1.15g or %1.17g)', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [-0, '0'],
    [5, '5'],
    [-2147483648, '-2147483648'],
    [2147483647, '2147483647'],
    [2147483648, '2147483648'],
    [123456789012, '123456789012'],
    [1e14, '100000000000000'],
    [1e15, '1e+15'],
    [1.5e300, '1.5e+300'],
    [1e21, '1e+21'],
    [0.1, '0.1'],
    [2.5, '2.5'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [0.1 + 0.2, '0.30000000000000004'],
    [1 / 3, '0.33333333333333331'],
    [123456789012344.5, '123456789012344.5'],
    [NaN, 'null'],
    [Infinity, 'null'],
  ];
  for (const [n, s] of cases) assert.equal(formatCJsonNumber(n), s, String(n));
});

test('printing: compact, keys in insertion order even when JS would move integer keys first', () => {
  const obj: JsonObject = {};
  putKey(obj, 'b', 1);
  putKey(obj, '10', 'ten');
  putKey(obj, 'a', [true, false, null, 'x"y\\z\n\u0001']);
  putKey(obj, '2', {});
  assert.deepEqual(Object.keys(obj), ['2', '10', 'b', 'a']);
  assert.equal(printCJson(obj), '{"b":1,"10":"ten","a":[true,false,null,"x\\"y\\\\z\\n\\u0001"],"2":{}}');
  // '__proto__' is an ordinary key, not the prototype.
  const proto: JsonObject = {};
  putKey(proto, '__proto__', 'p');
  assert.equal(printCJson(proto), '{"__proto__":"p"}');
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.equal(printCJson({ a: undefined, b: 'é/€' }), '{"b":"é/€"}');
  assert.throws(() => printCJson(() => 1), TypeError);
});

test('parsing: what cJSON accepts, trailing text ignored', () => {
  assert.deepEqual(parseCJson('[]'), []);
  assert.deepEqual(parseCJson('[1, -2.5e3 ,"a",true,false,null,[{}],{"k":[0]}]'), [1, -2500, 'a', true, false, null, [{}], { k: [0] }]);
  assert.deepEqual(parseCJson('[1] and [2]'), [1]);
  assert.deepEqual(parseCJson('[\t\n\r 1\u0001]'), [1]);
  assert.deepEqual(parseCJson('[0123, 1., -.5, 1e, 2E+2]'), undefined);
  assert.deepEqual(parseCJson('[0123, 1., -.5, 2E+2]'), [123, 1, -0.5, 200]);
  assert.deepEqual(parseCJson('["\\b\\f\\n\\r\\t\\"\\\\\\/"]'), ['\b\f\n\r\t"\\/']);
  assert.deepEqual(parseCJson('["\\u00e9\\u20ac\\ud83d\\ude00"]'), ['é€😀']);
  // Raw UTF-8 bytes inside strings are read as UTF-8; a \u0000 ends the C string.
  assert.deepEqual(parseCJson(toBytes('["ñ","a\\u0000b"]')), ['ñ', 'a']);
  // Raw control bytes are accepted inside strings.
  assert.deepEqual(parseCJson('["a\u0001b"]'), ['a\u0001b']);
  // Objects keep insertion order; a duplicate key keeps the first value.
  const obj = parseCJson('[{"z":1,"5":2,"z":3}]');
  assert.equal(printCJson(obj), '[{"z":1,"5":2}]');
});

test('parsing: what cJSON refuses', () => {
  for (const bad of ['[1,]', '[,1]', '[1 2]', '["a]', '["\\x"]', '["\\ud800"]', '["\\udc00"]', '["\\u12"]', '[-]', '[.5]', '[+1]', '[{1:2}]', '[{"a" 1}]', '[nul]', '[']) {
    assert.equal(parseCJson(bad), undefined, bad);
  }
  assert.notEqual(parseCJson('['.repeat(1000) + ']'.repeat(1000)), undefined);
  assert.equal(parseCJson('['.repeat(1001) + ']'.repeat(1001)), undefined);
});
