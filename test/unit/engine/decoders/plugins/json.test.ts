/** JSON_Decoder through a decoder like the stock `json` one: cJSON's leniencies and the C's value rendering. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { decode, load, summary } from '../fixture.js';

const set = load('<decoder name="json"><prematch>^{\\s*"</prematch><plugin_decoder>JSON_Decoder</plugin_decoder></decoder>');
const csv = load(`<decoder name="csv"><prematch>^CSV </prematch><plugin_decoder offset="after_prematch">JSON_Decoder</plugin_decoder>
  <json_array_structure>csv</json_array_structure><json_null_field>discard</json_null_field></decoder>`);

function dynamicOf(log: string, decoders = set): Record<string, string> {
  return Object.fromEntries(decode(decoders, log).dynamic.map((f) => [f.name, f.value]));
}

test('nested keys are joined with dots; only exact top-level names become static fields', () => {
  const event = decode(set, '{"srcip":"1.1.1.1","systemname":"box","system_name":"x","user":"bob","a":{"srcip":"2.2.2.2","b":{"c":"d"}},"extra_data":"e"}');
  assert.deepEqual(summary(event), {
    decoder: 'json',
    fields: { srcip: '1.1.1.1', system_name: 'box', dstuser: 'bob', extra_data: 'e' },
    dynamic: [['system_name', 'x'], ['a.srcip', '2.2.2.2'], ['a.b.c', 'd']],
  });
});

test('user fills dstuser only while dstuser is unset; a later dstuser overwrites', () => {
  assert.equal(decode(set, '{"dstuser":"x","user":"y"}').fields.dstuser, 'x');
  assert.equal(decode(set, '{"user":"y","dstuser":"x"}').fields.dstuser, 'x');
  assert.equal(decode(set, '{"user":"y"}').fields.dstuser, 'y');
});

test('numbers: whole ints as %i, anything else as %f; strtod leniencies accepted', () => {
  assert.deepEqual(dynamicOf('{"a":42,"b":-7,"c":1.0,"d":-0,"e":2147483647,"f":-2147483648,"g":2147483648,"h":1e10,' +
    '"i":0.5,"j":0.0078125,"k":0.0234375,"l":1e400,"m":-1e400,"n":007,"o":1.,"p":-.5,"q":1E2,"r":12345678901.5}'), {
    a: '42', b: '-7', c: '1', d: '0', e: '2147483647', f: '-2147483648', g: '2147483648.000000', h: '10000000000.000000',
    i: '0.500000', j: '0.007812', k: '0.023438', l: 'inf', m: '-inf', n: '7', o: '1', p: '-0.500000', q: '100',
    r: '12345678901.500000',
  });
});

test('booleans and nulls: null is the text "null" unless the decoder discards it', () => {
  assert.deepEqual(dynamicOf('{"t":true,"f":false,"n":null}'), { t: 'true', f: 'false', n: 'null' });
  assert.deepEqual(dynamicOf('CSV {"t":true,"n":null}', csv), { t: 'true' });
});

test('arrays are printed as cJSON_Print does by default; with csv the scalar items are joined', () => {
  const log = '{"a":[1,"x",null,true,{"k":[2, 0.5],"m":{}},[3,1e10]],"e":[],"s":["q\\"t\\\\","\\n\\u0001"]}';
  assert.deepEqual(dynamicOf(log), {
    // cJSON's print_array adds a level: an object inside the array is indented one tab deeper.
    a: '[1, "x", null, true, {\n\t\t"k":\t[2, 0.5],\n\t\t"m":\t{\n\t\t}\n\t}, [3, 10000000000]]',
    e: '[]',
    s: '["q\\"t\\\\", "\\n\\u0001"]',
  });
  // Objects and arrays inside are skipped, but the comma after the item before them stays.
  assert.deepEqual(dynamicOf(`CSV ${log}`, csv), { a: '1,x,null,true,', s: 'q"t\\,\n\x01' });
});

test('printed floats use %.15g unless it does not read back, then %.17g', () => {
  assert.deepEqual(dynamicOf('{"a":[0.1, 1e-5, 123.456, 0.30000000000000004, 1e300, 2.5e-7]}'), {
    a: '[0.1, 1e-05, 123.456, 0.3, 1e+300, 2.5e-07]',
  });
  assert.deepEqual(dynamicOf('{"a":[0.1234567890123456789]}'), { a: '[0.12345678901234568]' });
});

test('text after the JSON value is ignored; a syntax error anywhere drops every field', () => {
  assert.deepEqual(dynamicOf('{"a":1} and then some text'), { a: '1' });
  for (const bad of ['{"a":1,}', '{"a":1 "b":2}', '{"a":tru}', '{"a":"x', '{"a":-}', '{"a":"\\x"}', '{"a":1,"b":[1,]}', "{'a':1}"]) {
    assert.deepEqual(decode(set, bad).dynamic, [], bad);
  }
});

test('whitespace is any byte up to 0x20; duplicate keys are all kept in order', () => {
  assert.deepEqual(decode(set, '{ "a"\t:\r\n1 ,\x01"a" : 2 }').dynamic, [{ name: 'a', value: '1' }, { name: 'a', value: '2' }]);
});

test('strings: escapes decode to UTF-8 bytes, raw bytes pass through, \\u0000 ends the C string', () => {
  const event = decode(set, '{"e":"caf\\u00e9","s":"\\ud83d\\ude00","r":"naïve","z":"ab\\u0000cd\\n","q":"\\/\\b\\f\\r\\t","bad":"\\uzzzzx"}');
  assert.deepEqual(Object.fromEntries(event.dynamic.map((f) => [f.name, f.value])), {
    e: 'caf\xc3\xa9', s: '\xf0\x9f\x98\x80', r: 'na\xc3\xafve', z: 'ab', q: '/\b\f\r\t', bad: '',
  });
  for (const bad of ['{"a":"\\ude00"}', '{"a":"\\ud83dx"}', '{"a":"\\ud83d\\u0041"}', '{"a":"\\u12"}']) {
    assert.deepEqual(decode(set, bad).dynamic, [], bad);
  }
});

test('keys are strings like any other: escapes decoded, an empty key kept', () => {
  assert.deepEqual(decode(set, '{"k\\u00e9y":1,"":{"x":2}}').dynamic, [{ name: 'k\xc3\xa9y', value: '1' }, { name: '.x', value: '2' }]);
});

test('at most 256 dynamic fields are kept; static fields are not counted', () => {
  const members = Array.from({ length: 300 }, (_, i) => `"f${i}":${i}`).join(',');
  const event = decode(set, `{${members},"srcip":"1.2.3.4"}`);
  assert.equal(event.dynamic.length, 256);
  assert.equal(event.dynamic[255]?.name, 'f255');
  assert.equal(event.fields.srcip, '1.2.3.4');
});

test('nesting deeper than 1,000 objects or arrays fails the whole parse', () => {
  const nest = (depth: number): string => '{"a":'.repeat(depth - 1) + '{"a":1' + '}'.repeat(depth);
  assert.equal(decode(set, nest(1000)).dynamic.length, 1);
  assert.equal(decode(set, nest(1001)).dynamic.length, 0);
});

test('the plugin reads from its offset: after_prematch skips the header', () => {
  assert.deepEqual(dynamicOf('CSV {"a":[1,2]}', csv), { a: '1,2' });
  assert.deepEqual(decode(set, 'CSV {"a":1}').decoder, undefined);
});
