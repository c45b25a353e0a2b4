/** Loading decoder XML: what analysisd refuses (RulesetLoadError naming file, line, element) and what it only warns about. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { RulesetLoadError } from '../../../../engine/types.js';
import { decode, load, loadFiles } from './fixture.js';

function refuses(xml: string, element: string, reason: RegExp, line?: number): void {
  assert.throws(() => load(xml), (err: unknown) => {
    assert.ok(err instanceof RulesetLoadError, String(err));
    assert.equal(err.file, 'test_decoders.xml');
    assert.equal(err.element, element);
    assert.match(err.reason, reason);
    if (line !== undefined) assert.equal(err.line, line);
    return true;
  });
}

test('structural mistakes stop the load', () => {
  refuses('<rule name="x"><prematch>a</prematch></rule>', 'rule', /only <decoder>/);
  refuses('<decoder><prematch>a</prematch></decoder>', 'decoder', /'name'/);
  refuses('<decoder status="x" name="a"><prematch>a</prematch></decoder>', 'decoder', /'name'/);
  refuses('<decoder name="a" id="1"><prematch>a</prematch></decoder>', 'decoder', /name and status/);
  refuses('<decoder name="a">\n<prematch>a</prematch>\n<bogus>1</bogus></decoder>', 'bogus', /invalid element 'bogus'/, 3);
  // <type> is compared case-sensitively, unlike every other element.
  refuses('<decoder name="a"><prematch>a</prematch><Type>ids</Type></decoder>', 'Type', /invalid element/);
  refuses('<decoder name="a"><prematch>a</prematch><type>router</type></decoder>', 'type', /invalid decoder type/);
  refuses('<decoder name="a"><regex>(a)</regex><order>x</order></decoder>', 'decoder', /prematch, a parent or a program_name/);
});

test('status may follow name, element names are case-insensitive (except type)', () => {
  const set = load('<decoder name="a" status="enabled"><PREMATCH>^a</PREMATCH><Regex>^(\\w+)</Regex><ORDER>data</ORDER></decoder>');
  assert.deepEqual(decode(set, 'abc').fields, { data: 'abc' });
});

test('regex and order go together; fts needs a regex; order words must not be empty', () => {
  refuses('<decoder name="a"><prematch>a</prematch><regex>(a)</regex></decoder>', 'decoder', /regex needs an order/);
  refuses('<decoder name="a"><prematch>a</prematch><order>data</order></decoder>', 'decoder', /need a regex/);
  refuses('<decoder name="a"><prematch>a</prematch><fts>srcip</fts></decoder>', 'decoder', /need a regex/);
  refuses('<decoder name="a"><prematch>a</prematch><regex>(a)(b)</regex><order>data,,id</order></decoder>', 'order', /wrong field/);
  refuses('<decoder name="a"><prematch>a</prematch><regex>(a)</regex><order>data,</order></decoder>', 'order', /wrong field/);
  refuses(`<decoder name="a"><prematch>a</prematch><regex>(a)</regex><order>${'f,'.repeat(256)}f</order></decoder>`, 'order', /too many/);
});

test('an OS_Regex <regex> must capture something; a PCRE2 one need not', () => {
  refuses('<decoder name="a"><prematch>a</prematch><regex>\\(a\\)</regex><order>data</order></decoder>', 'regex', /captures nothing/);
  load('<decoder name="a"><prematch>a</prematch><regex type="pcre2">a</regex><order>data</order></decoder>');
});

test('fts: a dynamic word must be in the leading dynamic fields of an earlier order', () => {
  refuses('<decoder name="a"><prematch>a</prematch><regex>(a)</regex><order>x</order><fts>y</fts></decoder>', 'fts', /wrong field 'y'/);
  // The C stops looking at the first static field of the order.
  refuses('<decoder name="a"><prematch>a</prematch><regex>(a)(b)</regex><order>srcip, x</order><fts>x</fts></decoder>', 'fts', /wrong field/);
  const set = load('<decoder name="a"><prematch>a</prematch><regex>(a)(b)</regex><order>x, srcip</order><fts>x, extra_data</fts></decoder>');
  assert.deepEqual(decode(set, 'ab').decoder?.fts, ['name', 'data', 'x']);
  // Before any order an unknown fts word is ignored.
  const early = load('<decoder name="a"><prematch>a</prematch><fts>x, id</fts><regex>(a)</regex><order>x</order></decoder>');
  assert.deepEqual(decode(early, 'a').decoder?.fts, ['name', 'id']);
});

test('offsets: which combinations stop the load', () => {
  refuses('<decoder name="a"><prematch>a</prematch><regex offset="after_parent">(a)</regex><order>x</order></decoder>', 'decoder', /after_parent' needs a parent/);
  refuses('<decoder name="p"><prematch>p</prematch></decoder><decoder name="c"><parent>p</parent><regex offset="after_prematch">(a)</regex><order>x</order></decoder>',
    'decoder', /after_prematch' needs a prematch/);
  refuses('<decoder name="p"><prematch>p</prematch></decoder><decoder name="c"><parent>p</parent><regex offset="after_regex">(a)</regex><order>x</order></decoder>',
    'regex', /after_regex' needs an earlier same-named sibling/);
  refuses('<decoder name="p"><prematch>p</prematch></decoder><decoder name="c"><parent>p</parent><prematch offset="after_prematch">x</prematch></decoder>',
    'decoder', /can only be 'after_parent'/);
  refuses('<decoder name="a"><prematch offset="after_parent">a</prematch></decoder>', 'decoder', /needs a parent/);
  refuses('<decoder name="a"><prematch>a</prematch><regex>(a)</regex><regex offset="after_parent">(b)</regex><order>x</order></decoder>',
    'regex', /only the first <regex>/);
  refuses('<decoder name="a"><prematch>a</prematch><plugin_decoder offset="nowhere">JSON_Decoder</plugin_decoder></decoder>', 'plugin_decoder', /invalid 'offset'/);
  refuses('<decoder name="a"><program_name>a</program_name><plugin_decoder offset="after_prematch">JSON_Decoder</plugin_decoder></decoder>',
    'decoder', /after_prematch' needs a prematch/);
});

test('an invalid regex or prematch offset, or pattern type, only warns and falls back to the default', () => {
  const set = load(`<decoder name="a">
    <prematch offset="somewhere" type="osmatch">^a</prematch>
    <regex offset="elsewhere" type="bogus">^(\\w+)</regex><order>data</order>
    <json_null_field>empty</json_null_field><json_array_structure>list</json_array_structure></decoder>`);
  assert.deepEqual(set.warnings.map((w) => [w.line, w.element]), [[2, 'prematch'], [2, 'prematch'], [3, 'regex'], [3, 'regex'], [4, 'json_null_field'], [4, 'json_array_structure']]);
  assert.deepEqual(decode(set, 'abc').fields, { data: 'abc' });
});

test('bad patterns are refused with the element and the line of their first part', () => {
  refuses('<decoder name="a">\n<prematch>a</prematch>\n<prematch>\\z</prematch></decoder>', 'prematch', /invalid pattern/, 2);
  refuses('<decoder name="a"><prematch>a</prematch>\n<regex type="pcre2">(a</regex><order>x</order></decoder>', 'regex', /invalid pattern/, 2);
});

test('repeated prematch, regex and program_name elements are concatenated; 1,024 bytes or more is refused', () => {
  const set = load(`<decoder name="a"><program_name>^ap</program_name><program_name>p$</program_name>
    <prematch>^one </prematch><prematch>two</prematch><regex>^one (\\w+)|</regex><regex>^(\\d+)</regex><order>data</order></decoder>`);
  assert.deepEqual(decode(set, 'one two', 'app').fields, { data: 'two' });
  assert.equal(decode(set, 'one two', 'ap').decoder, undefined);
  refuses(`<decoder name="a"><prematch>${'a'.repeat(600)}</prematch><prematch>${'b'.repeat(424)}</prematch></decoder>`, 'prematch', /over 1023/);
});

test('children: unknown parents, siblings with a prematch or fts, siblings lacking a regex', () => {
  refuses('<decoder name="c"><parent>nobody</parent><regex>(a)</regex><order>x</order></decoder>', 'parent', /'nobody' is not a top-level decoder/);
  // The parent must come first.
  refuses('<decoder name="c"><parent>p</parent><regex>(a)</regex><order>x</order></decoder><decoder name="p"><prematch>p</prematch></decoder>',
    'parent', /not a top-level/);
  const parent = '<decoder name="p"><prematch>p</prematch></decoder>';
  refuses(`${parent}<decoder name="c"><parent>p</parent><regex>(a)</regex><order>x</order></decoder>
    <decoder name="c"><parent>p</parent><prematch>b</prematch><regex>(b)</regex><order>y</order></decoder>`, 'prematch', /may not have a prematch/);
  refuses(`${parent}<decoder name="c"><parent>p</parent><regex>(a)</regex><order>x</order></decoder>
    <decoder name="c"><parent>p</parent><regex>(b)</regex><order>y</order><fts>y</fts></decoder>`, 'fts', /may not have fts/);
  refuses(`${parent}<decoder name="c"><parent>p</parent><prematch>a</prematch></decoder>
    <decoder name="c"><parent>p</parent><regex>(b)</regex><order>y</order></decoder>`, 'decoder', /must each have a regex or a plugin_decoder/);
});

test('plugin decoders: unknown names are refused, and a plugin excludes regex and order', () => {
  refuses('<decoder name="a"><prematch>a</prematch><plugin_decoder>XML_Decoder</plugin_decoder></decoder>', 'plugin_decoder', /unknown plugin/);
  refuses('<decoder name="a"><prematch>a</prematch><plugin_decoder>json_decoder</plugin_decoder></decoder>', 'plugin_decoder', /unknown plugin/);
  refuses('<decoder name="a"><prematch>a</prematch><plugin_decoder>JSON_Decoder</plugin_decoder><regex>(a)</regex><order>x</order></decoder>',
    'decoder', /cannot be combined/);
});

test('a file without decoders is refused unless it is local_decoder.xml', () => {
  assert.throws(() => loadFiles(['0001-empty.xml', '<!-- nothing -->']), /holds no decoder/);
  assert.equal(loadFiles(['local_decoder.xml', '<!-- nothing -->']).count, 0);
});

test('use_own_name takes exactly "true"', () => {
  const set = load(`<decoder name="p"><prematch>^p</prematch></decoder>
    <decoder name="c1"><parent>p</parent><prematch>1</prematch><use_own_name>yes</use_own_name></decoder>
    <decoder name="c2"><parent>p</parent><prematch>2</prematch><use_own_name>true</use_own_name></decoder>`);
  assert.equal(decode(set, 'p1').decoder?.name, 'p');
  assert.equal(decode(set, 'p2').decoder?.name, 'c2');
});
