/**
 * OS_XML: every stock ruleset file parses (and fast), and each quirk and each refusal of
 * Wazuh's parser holds on hand-written documents, line numbers included.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { attribute, childrenNamed, OsXmlError, parseOsXml } from '../../../../engine/xml/os-xml.js';
import { RulesetLoadError, type XmlNode } from '../../../../engine/types.js';
import { missingData, upstreamData } from '../../../harness/upstream-data.js';

/** A compact view of a tree: name, attributes, text and children. */
interface Shape {
  n: string;
  a?: [string, string][];
  t?: string;
  c?: Shape[];
}

function shape(node: XmlNode): Shape {
  const out: Shape = { n: node.name };
  if (node.attributes.length > 0) out.a = node.attributes.map(([k, v]) => [k, v]);
  if (node.text !== '') out.t = node.text;
  if (node.children.length > 0) out.c = node.children.map(shape);
  return out;
}

const parse = (text: string): Shape[] => parseOsXml(text, 'hand.xml').map(shape);

function refused(text: string): OsXmlError {
  try {
    parseOsXml(text, 'hand.xml');
  } catch (error) {
    assert.ok(error instanceof OsXmlError, `not an OsXmlError: ${String(error)}`);
    assert.ok(error instanceof RulesetLoadError);
    assert.equal(error.file, 'hand.xml');
    return error;
  }
  assert.fail(`accepted: ${JSON.stringify(text)}`);
}

function xmlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return xmlFiles(full);
    return entry.name.endsWith('.xml') ? [full] : [];
  });
}

function* walk(nodes: readonly XmlNode[]): Generator<XmlNode> {
  for (const node of nodes) {
    yield node;
    yield* walk(node.children);
  }
}

test('every XML file of the stock ruleset parses, within the time budget', (t) => {
  const root = upstreamData('wazuh-ruleset-v4.14.5');
  if (!root) {
    t.skip(missingData('wazuh-ruleset-v4.14.5'));
    return;
  }
  const files = xmlFiles(root);
  const texts = files.map((file) => [path.relative(root, file), fs.readFileSync(file).toString('latin1')] as const);
  assert.ok(files.length >= 288, `only ${files.length} files`);
  const started = performance.now();
  const trees = new Map(texts.map(([file, text]) => [file, parseOsXml(text, file)]));
  const elapsed = performance.now() - started;
  let elements = 0;
  for (const tree of trees.values()) for (const node of walk(tree)) {
    elements++;
    assert.notEqual(node.name.toLowerCase(), 'var', 'var elements never reach the tree');
  }
  t.diagnostic(`${files.length} files, ${texts.reduce((sum, [, text]) => sum + text.length, 0)} bytes, ` +
    `${elements} elements parsed in ${elapsed.toFixed(1)} ms (first pass, cold)`);
  assert.ok(elapsed < 2000, `parsing took ${elapsed} ms`);

  const decoders = [...walk(trees.get('decoders/0340-trend-osce_decoders.xml') ?? [])];
  assert.ok(decoders.some((node) => node.name === 'prematch' && node.text === '^20\\d\\d\\d\\d\\d\\d\\<;>'),
    '\\< stays in the text with its backslash');

  const syslog = [...walk(trees.get('rules/0020-syslog_rules.xml') ?? [])];
  const badWords = syslog.find((node) => node.name === 'match' && node.text.startsWith('core_dumped|'));
  assert.equal(badWords?.text,
    'core_dumped|failure|error|attack| bad |illegal |denied|refused|unauthorized|fatal|failed|Segmentation Fault|Corrupted');
  assert.ok(!syslog.some((node) => node.text.includes('$BAD_WORDS')));

  const security = [...walk(trees.get('rules/0580-win-security_rules.xml') ?? [])];
  const rule = security.find((node) => node.name === 'rule' && attribute(node, 'id') === '60203');
  assert.equal(rule && attribute(rule, 'frequency'), '8', 'frequency="$MS_FREQ" is substituted');
  assert.ok(security.some((node) => node.name === 'description' && node.text.includes('$(')),
    '$(field) references survive in a file that defines variables');
});

test('several roots, text outside elements, entities never decoded', () => {
  assert.deepEqual(parse('\uFEFFjunk <a>1</a> > words <b x="1"/>\n<c/>'), [
    { n: 'a', t: '1' }, { n: 'b', a: [['x', '1']] }, { n: 'c' },
  ]);
  assert.deepEqual(parse('<a>&lt;&amp; & &#x41;</a>'), [{ n: 'a', t: '&lt;&amp; & &#x41;' }]);
  assert.deepEqual(parse(''), []);
});

test('content is kept verbatim; a parent keeps only the text after its last child', () => {
  assert.deepEqual(parse('<m>  spaced \t</m>'), [{ n: 'm', t: '  spaced \t' }]);
  assert.deepEqual(parse('<r>first<a>x</a>last</r>'), [{ n: 'r', t: 'last', c: [{ n: 'a', t: 'x' }] }]);
  assert.deepEqual(parse('<r>first<a>x</a></r>'), [{ n: 'r', c: [{ n: 'a', t: 'x' }] }]);
  // A tag closed by "/" after its attributes leaves its ">" to the parent's text.
  assert.deepEqual(parse('<r><a x="1"/></r>'), [{ n: 'r', t: '>', c: [{ n: 'a', a: [['x', '1']] }] }]);
  assert.deepEqual(parse('<r><a /></r>'), [{ n: 'r', t: '>', c: [{ n: 'a' }] }]);
  assert.deepEqual(parse('<r><a/></r>'), [{ n: 'r', c: [{ n: 'a' }] }]);
});

test('backslashes: an odd run escapes the "<" and stays in the text', () => {
  assert.deepEqual(parse('<p>^a\\<;>b</p>'), [{ n: 'p', t: '^a\\<;>b' }]);
  assert.deepEqual(parse('<f>E:\\\\</f>'), [{ n: 'f', t: 'E:\\\\' }], 'an even run escapes nothing');
  assert.deepEqual(parse('<f>\\\\\\<x</f>'), [{ n: 'f', t: '\\\\\\<x' }]);
  assert.deepEqual(parse('<r>\\</r\\></r>'), [{ n: 'r', t: '\\</r\\>' }], 'an escaped "</" is text');
  assert.deepEqual(parse('<r><a/>\\<</r>'), [{ n: 'r', t: '\\<', c: [{ n: 'a' }] }], 'the escape covers one "<"');
  assert.deepEqual(parse('<r>\\<!--c--><a/></r>'), [{ n: 'r', t: '\\<a/>' }],
    'a comment does not end the escape: the "<" after it is text');
  assert.deepEqual(parse('\\<a>t<b/>'), [{ n: 'b' }], 'outside elements an escaped "<" is skipped text');
});

test('comments: "<!" anywhere, ending at the first "-->" or "!>", "--" allowed inside', () => {
  assert.deepEqual(parse('<!-- a -- b --><a/><! old style !><b/><!--><c/>'), [{ n: 'a' }, { n: 'b' }, { n: 'c' }]);
  assert.deepEqual(parse('<a>foo<!-- x -- y --->bar</a>'), [{ n: 'a', t: 'foobar' }]);
  assert.deepEqual(parse('<a>1<!-- ends here !> 2</a>'), [{ n: 'a', t: '1 2' }]);
  assert.deepEqual(parse('<na<!--x-->me>t</name>'), [{ n: 'name', t: 't' }], 'even inside a tag name');
});

test('attributes: quotes, spacing after "=", self-closing forms', () => {
  assert.deepEqual(parse(`<a x="1" y='2' z="a'b" w='a"b'/>`), [
    { n: 'a', a: [['x', '1'], ['y', '2'], ['z', "a'b"], ['w', 'a"b']] },
  ]);
  assert.deepEqual(parse('<a x=\n  "1"\n\ty="a/b<c"></a>'), [{ n: 'a', a: [['x', '1'], ['y', 'a/b<c']] }]);
  assert.deepEqual(parse('<a x="" X="2"/>'), [{ n: 'a', a: [['x', ''], ['X', '2']] }], 'names are case-sensitive');
  const [node] = parseOsXml('<a Name="first" NAME="last"><b/><B/><c/></a>', 'hand.xml');
  assert.ok(node);
  assert.equal(attribute(node, 'name'), 'last', 'the last of case-insensitive duplicates wins');
  assert.equal(attribute(node, 'none'), undefined);
  assert.deepEqual(childrenNamed(node, 'b').map((child) => child.name), ['b', 'B']);
});

test('line numbers are those of the opening "<"', () => {
  const tree = parseOsXml('<!--\n-->\n<group name="g">\n  <rule\n    id="1">\n    <match>x</match>\n  </rule>\n</group>\n', 'f');
  const lines = [...walk(tree)].map((node) => [node.name, node.line]);
  assert.deepEqual(lines, [['group', 3], ['rule', 4], ['match', 6]]);
});

test('variables: defined by <var>, used after the definition, removed from the tree', () => {
  assert.deepEqual(parse(
    '<var name="FREQ">8</var><var name="W">a|b</var>' +
    '<rule frequency="$FREQ" x="$freq$W"><match>$W.</match><d>x $W,$FREQ.$W|$$ </d><e>$W</e></rule>'), [
    { n: 'rule', a: [['frequency', '8'], ['x', '8a|b']], c: [
      { n: 'match', t: 'a|b.' }, { n: 'd', t: 'x a|b,8.a|b|$$ ' }, { n: 'e', t: '$W' },
    ] },
  ], 'texts of two bytes or less are left alone');
  assert.deepEqual(parse('<a>$X.</a><var name="X">v</var><b>$X.</b>'), [{ n: 'a', t: '$X.' }, { n: 'b', t: 'v.' }],
    'a variable reaches only what follows its definition');
  assert.deepEqual(parse('<a>$UNDEFINED</a>'), [{ n: 'a', t: '$UNDEFINED' }], 'nothing is substituted before any var');
  assert.deepEqual(parse('<var name="X">1</var><var name="x">2</var><a>$x.</a>'), [{ n: 'a', t: '1.' }],
    'the first definition wins, names compare case-insensitively');
  assert.deepEqual(parse('<var name="X">$Y</var><var name="Y">2</var><a>$X.</a>'), [{ n: 'a', t: '$Y.' }],
    'values are not substituted themselves');
  assert.deepEqual(parse('<var name="X">1</var><d>$(srcip) and $(win.x) $</d>'), [{ n: 'd', t: '$(srcip) and $(win.x) $' }]);
  assert.deepEqual(parse('<g><VAR name="X">1</VAR><a>$X,</a></g><b>$X,</b>'), [
    { n: 'g', c: [{ n: 'a', t: '1,' }] }, { n: 'b', t: '1,' },
  ], 'a nested var is still defined for everything after it');
  assert.deepEqual(parseOsXml('<var name="X">1</var><a>$X.</a>', 'f', { variables: false }).map(shape),
    [{ n: 'a', t: '$X.' }], 'ossec.conf is read without variables; the var element is still hidden');
});

test('variable errors', () => {
  let error = refused('<var name="X">1</var>\n<a>$X)</a>');
  assert.deepEqual([error.line, error.element, error.wazuhMessage], [2, 'a', "XMLERR: Unknown variable: 'X)'."]);
  error = refused('<var name="X">1</var><a b="$YY"/>');
  assert.equal(error.wazuhMessage, "XMLERR: Unknown variable: 'YY'.");
  assert.deepEqual(parse('<var name="X">1</var><a b="$Y"/>'), [{ n: 'a', a: [['b', '$Y']] }], 'two bytes are never looked at');
  error = refused('<var>v</var>');
  assert.deepEqual([error.line, error.element, error.wazuhMessage], [1, 'var', 'XMLERR: No value set for variable.']);
  error = refused('<var>v</var>\n<a id="1"/>');
  assert.deepEqual([error.line, error.wazuhMessage], [2, 'XMLERR: Only "name" is allowed as an attribute for a variable.']);
  error = refused(`<var name="${'v'.repeat(256)}">1</var>`);
  assert.equal(error.wazuhMessage, 'XMLERR: Invalid variable name size.');
  error = refused(`<var name="X">1</var><a>$${'c'.repeat(300)}</a>`);
  assert.equal(error.wazuhMessage, "XMLERR: Invalid variable name size: '255'.");
  error = refused(`<var name="X">1</var><a>$${'c'.repeat(255)}</a>`);
  assert.equal(error.wazuhMessage, `XMLERR: Unknown variable: '${'c'.repeat(255)}'.`.slice(0, 126),
    'a 255-byte name is still a name; the message is cut as Wazuh cuts it');
});

test('structural errors name the element and the line', () => {
  const cases: [string, number, string, string, number][] = [
    // text, line, element, Wazuh's message, Wazuh's line
    ['<a>\n<b>\n', 2, 'b', 'XMLERR: End of file and some elements were not closed.', 3],
    ['<a>\n  <b>x</c>\n</a>', 2, 'b', "XMLERR: Element 'b' not closed.", 2],
    ['<a>x</a >', 1, 'a', "XMLERR: Element 'a' not closed.", 1],
    ['<a/>\n\n</a>', 3, 'a', 'XMLERR: Element not opened.', 3],
    ['<a>\n<!-- never\n closed', 2, 'a', 'XMLERR: Comment not closed.', 3],
    ['<a x="1>\n', 1, 'a', "XMLERR: Attribute 'x' not closed.", 1],
    ['<a x = "1"/>', 1, 'a', "XMLERR: Attribute 'x' has no value.", 1],
    ['<a\n x/>', 2, 'a', "XMLERR: Attribute 'x' has no value.", 2],
    ['<a x=1/>', 1, 'a', `XMLERR: Attribute 'x' not followed by a " or '.`, 1],
    ['<a x="1"y="2"/>', 1, 'a', "XMLERR: Bad attribute closing for 'x'='1'.", 1],
    ['<a x="1" x="2"/>', 1, 'a', "XMLERR: Attribute 'x' already defined.", 1],
    ['<a x="1', 1, 'a', 'XMLERR: End of file while reading an attribute.', 1],
    ['<?xml version="1.0"?>\n<a/>', 1, '?xml', "XMLERR: Bad attribute closing for 'version'='1.0'.", 1],
    [`<a>${'x'.repeat(20480)}</a>`, 1, 'a', 'XMLERR: String overflow.', 1],
    [`<a x="${'x'.repeat(20480)}"/>`, 1, 'a', "XMLERR: Overflow attempt at attribute 'x'.", 1],
    [`<a ${'n'.repeat(20480)}="1"/>`, 1, 'a', `XMLERR: Overflow attempt at attribute '${'n'.repeat(20)}'.`, 1],
    [`<${'n'.repeat(20480)}/>`, 1, 'n'.repeat(64), 'XMLERR: String overflow.', 1],
    ['<a>'.repeat(1025) + '</a>'.repeat(1025), 1, 'a', 'XMLERR: Max recursion level reached', 1],
  ];
  for (const [text, line, element, message, wazuhLine] of cases) {
    const error = refused(text);
    assert.deepEqual([error.line, error.element, error.wazuhMessage, error.wazuhLine], [line, element, message, wazuhLine],
      JSON.stringify(text.slice(0, 40)));
    assert.match(error.message, new RegExp(`^hand\\.xml:${line}: <`));
  }
  assert.deepEqual(parse(`<a>${'x'.repeat(20479)}</a>`)[0]?.t?.length, 20479);
  assert.deepEqual(parse(`<a x="${'v'.repeat(20479)}"/>`)[0]?.a?.[0]?.[1].length, 20479);
  assert.equal(parse('<a>'.repeat(1024) + '</a>'.repeat(1024)).length, 1);
});
