/** DecodeEvent's semantics, one hand-written decoder file per rule of the walk. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeEvent, decoderId, newDecoderState } from '../../../../engine/decoders/decoder-set.js';
import { decode, eventOf, load, loadFiles, summary } from './fixture.js';

test('the program name picks the list: with one only decoders with <program_name>, without one only the others', () => {
  const set = load(`
    <decoder name="by-program"><program_name>^app$</program_name></decoder>
    <decoder name="by-prematch"><prematch>^hello</prematch></decoder>`);
  assert.equal(decode(set, 'hello world', 'app').decoder?.name, 'by-program');
  assert.equal(decode(set, 'hello world').decoder?.name, 'by-prematch');
  // A prematch-only decoder never sees an event that has a program name.
  assert.equal(decode(set, 'hello world', 'other').decoder, undefined);
});

test('program_name is OS_Match, case-insensitive; an empty one matches every program; it combines with a prematch', () => {
  const set = load(`
    <decoder name="pam"><program_name></program_name><prematch>^pam_unix</prematch></decoder>
    <decoder name="sshd"><program_name>^sshd</program_name></decoder>`);
  assert.equal(decode(set, 'pam_unix(sshd:auth): x', 'sshd').decoder?.name, 'pam');
  assert.equal(decode(set, 'Accepted password', 'SSHD').decoder?.name, 'sshd');
  assert.equal(decode(set, 'Accepted password', 'su').decoder, undefined);
});

test('program_name type="pcre2" is case-sensitive, osregex is not', () => {
  const set = load(`
    <decoder name="p"><program_name type="pcre2">^App$</program_name></decoder>
    <decoder name="r"><program_name type="osregex">^other\\d</program_name></decoder>`);
  assert.equal(decode(set, 'x', 'App').decoder?.name, 'p');
  assert.equal(decode(set, 'x', 'app').decoder, undefined);
  assert.equal(decode(set, 'x', 'OTHER1').decoder?.name, 'r');
});

test('the first top-level match wins with no backtracking, even when none of its children matches', () => {
  const set = load(`
    <decoder name="first"><prematch>^x</prematch></decoder>
    <decoder name="child"><parent>first</parent><prematch>zzz</prematch><regex>(\\w+)</regex><order>data</order></decoder>
    <decoder name="second"><prematch>^x y</prematch><regex>^x (\\w+)</regex><order>data</order></decoder>`);
  const event = decode(set, 'x y');
  assert.deepEqual(summary(event), { decoder: 'first', fields: {}, dynamic: [] });
});

test("a parent's own regex runs only when it has no children", () => {
  const set = load(`
    <decoder name="alone"><prematch>^alone </prematch><regex offset="after_prematch">^(\\w+)</regex><order>data</order></decoder>
    <decoder name="family"><prematch>^family </prematch><regex>^family (\\w+)</regex><order>data</order></decoder>
    <decoder name="kid"><parent>family</parent><regex>(\\d+)</regex><order>id</order></decoder>`);
  assert.deepEqual(decode(set, 'alone word').fields, { data: 'word' });
  assert.deepEqual(decode(set, 'family word 42').fields, { id: '42' });
});

test('children are tried in load order; one without prematch is taken unconditionally and reports only the parent', () => {
  const set = load(`
    <decoder name="app"><prematch>^app: </prematch></decoder>
    <decoder name="app-login"><parent>app</parent><prematch>login</prematch><regex>user (\\w+)</regex><order>user</order></decoder>
    <decoder name="app-any"><parent>app</parent><regex>^app: (\\w+)</regex><order>action</order></decoder>
    <decoder name="app-never"><parent>app</parent><prematch>.</prematch><regex>(\\w+)</regex><order>data</order></decoder>`);
  assert.deepEqual(summary(decode(set, 'app: login user bob')), {
    decoder: 'app', parent: 'app', fields: { dstuser: 'bob' }, dynamic: [],
  });
  // A prematch-less child never becomes the selected decoder: no parent in the report.
  assert.deepEqual(summary(decode(set, 'app: logout')), { decoder: 'app', fields: { action: 'logout' }, dynamic: [] });
});

test('use_own_name reports the child name and gives it its own id; other children share the parent id', () => {
  const set = load(`
    <decoder name="svc"><prematch>^svc </prematch></decoder>
    <decoder name="svc-own"><parent>svc</parent><prematch>own</prematch><use_own_name>true</use_own_name></decoder>
    <decoder name="svc-shared"><parent>svc</parent><prematch>shared</prematch></decoder>`);
  const own = decode(set, 'svc own').decoder!;
  const shared = decode(set, 'svc shared').decoder!;
  assert.equal(own.name, 'svc-own');
  assert.equal(own.id, decoderId(set, 'svc-own'));
  assert.equal(shared.name, 'svc');
  assert.equal(shared.parent, 'svc');
  assert.equal(shared.id, decoderId(set, 'svc'));
  // decoded_as with the child's own name never matches an event it decodes.
  assert.notEqual(shared.id, decoderId(set, 'svc-shared'));
});

test('decoder ids number every name (internal decoders included) in byte order from 1', () => {
  const set = load('<decoder name="Zed"><prematch>z</prematch></decoder><decoder name="alpha"><prematch>a</prematch></decoder>');
  const names = [...set.ids.keys()].sort((a, b) => (a < b ? -1 : 1));
  assert.deepEqual(names.map((n) => set.ids.get(n)), names.map((_, i) => i + 1));
  assert.ok(decoderId(set, 'Zed')! < decoderId(set, 'alpha')!);
  assert.ok(decoderId(set, 'windows_eventchannel') !== undefined);
  assert.equal(decoderId(set, 'nope'), undefined);
});

test('a sibling group is a regex chain: every member runs; a failing middle member is skipped, a failing last one ends it', () => {
  const set = load(`
    <decoder name="kv"><prematch>^kv:</prematch></decoder>
    <decoder name="kv-f"><parent>kv</parent><regex>a=(\\w+)</regex><order>srcuser</order></decoder>
    <decoder name="kv-f"><parent>kv</parent><regex>b=(\\w+)</regex><order>dstuser</order></decoder>
    <decoder name="kv-f"><parent>kv</parent><regex>c=(\\w+)</regex><order>c</order></decoder>`);
  assert.deepEqual(summary(decode(set, 'kv: a=1 b=2 c=3')), {
    decoder: 'kv', fields: { srcuser: '1', dstuser: '2' }, dynamic: [['c', '3']],
  });
  assert.deepEqual(decode(set, 'kv: a=1 c=3').fields, { srcuser: '1' });
  assert.deepEqual(decode(set, 'kv: a=1 c=3').dynamic, [{ name: 'c', value: '3' }]);
  // The first member failing does not stop the chain either.
  assert.deepEqual(decode(set, 'kv: b=2').fields, { dstuser: '2' });
});

test('after_regex starts after the previous successful regex of the chain (after the prematch when none matched yet)', () => {
  const set = load(`
    <decoder name="seq"><prematch>^seq</prematch></decoder>
    <decoder name="seq-x"><parent>seq</parent><prematch offset="after_parent">^ go</prematch><regex offset="after_prematch">^ (\\w+);</regex><order>first</order></decoder>
    <decoder name="seq-x"><parent>seq</parent><regex offset="after_regex">^(\\w+);</regex><order>second</order></decoder>
    <decoder name="seq-x"><parent>seq</parent><regex offset="after_regex">(\\w+);</regex><order>third</order></decoder>`);
  const names = (log: string): string[] => decode(set, log).dynamic.map((f) => `${f.name}=${f.value}`);
  assert.deepEqual(names('seq go one;two;three;'), ['first=one', 'second=two', 'third=three']);
  assert.deepEqual(names('seq go one;!x;three;'), ['first=one', 'third=x']);
  assert.deepEqual(names('seq go !;two;'), ['third=two']);
});

test('offsets: after_parent starts after the parent prematch, after_prematch after the child one, none at the log start', () => {
  const set = load(`
    <decoder name="off"><prematch>^HDR </prematch></decoder>
    <decoder name="off-a"><parent>off</parent><prematch offset="after_parent">^A </prematch><regex offset="after_prematch">^(\\S+)</regex><order>data</order></decoder>
    <decoder name="off-b"><parent>off</parent><prematch offset="after_parent">^B </prematch><regex offset="after_parent">^(\\S+)</regex><order>data</order></decoder>
    <decoder name="off-c"><parent>off</parent><prematch>C </prematch><regex>^(\\S+)</regex><order>data</order></decoder>
    <decoder name="off-d"><parent>off</parent><prematch offset="after_parent">^HDR</prematch><regex>(\\d)</regex><order>id</order></decoder>`);
  assert.deepEqual(decode(set, 'HDR A value').fields, { data: 'value' });
  assert.deepEqual(decode(set, 'HDR B value').fields, { data: 'B' });
  assert.deepEqual(decode(set, 'HDR C value').fields, { data: 'HDR' });
  // A prematch with offset="after_parent" only sees the text after the parent's match.
  const after = decode(set, 'HDR HDR 7');
  assert.deepEqual([after.decoder?.parent, after.fields], ['off', { id: '7' }]);
  assert.equal(decode(set, 'HDR D 7').decoder?.parent, undefined);
});

test('after_prematch on a top-level decoder means after its prematch', () => {
  const set = load('<decoder name="top"><prematch>^key=</prematch><regex offset="after_prematch">^(\\w+)</regex><order>data</order></decoder>');
  assert.deepEqual(decode(set, 'key=value').fields, { data: 'value' });
});

test('a failing chain head skips its whole chain and the next child is tried', () => {
  const set = load(`
    <decoder name="fam"><prematch>^fam </prematch></decoder>
    <decoder name="fam-a"><parent>fam</parent><prematch>alpha</prematch><regex>(\\w+)$</regex><order>a1</order></decoder>
    <decoder name="fam-a"><parent>fam</parent><regex>(\\w+)</regex><order>a2</order></decoder>
    <decoder name="fam-b"><parent>fam</parent><prematch>beta</prematch><regex>beta (\\w+)</regex><order>b</order></decoder>`);
  assert.deepEqual(decode(set, 'fam beta x').dynamic, [{ name: 'b', value: 'x' }]);
  assert.deepEqual(decode(set, 'fam gamma').dynamic, []);
  assert.equal(decode(set, 'fam gamma').decoder?.name, 'fam');
});

test('the chain follows load order: a differently named child between two siblings runs inside the chain (as the C does)', () => {
  const set = load(`
    <decoder name="mix"><prematch>^mix</prematch></decoder>
    <decoder name="mix-a"><parent>mix</parent><regex>a=(\\w+)</regex><order>a</order></decoder>
    <decoder name="mix-b"><parent>mix</parent><regex>b=(\\w+)</regex><order>b</order></decoder>
    <decoder name="mix-a"><parent>mix</parent><regex>c=(\\w+)</regex><order>c</order></decoder>`);
  assert.deepEqual(decode(set, 'mix a=1 b=2 c=3').dynamic, [{ name: 'a', value: '1' }, { name: 'b', value: '2' }]);
});

test('a child joins every top-level decoder of its parent name, in both lists, when defined after them', () => {
  const set = load(`
    <decoder name="dual"><program_name>^dual$</program_name></decoder>
    <decoder name="dual"><prematch>^dual: </prematch></decoder>
    <decoder name="dual-f"><parent>dual</parent><regex>n=(\\d+)</regex><order>id</order></decoder>`);
  assert.deepEqual(decode(set, 'n=1', 'dual').fields, { id: '1' });
  assert.deepEqual(decode(set, 'dual: n=2').fields, { id: '2' });
});

test('a selected child reports its own type; a prematch-less child reports the parent and its type', () => {
  const set = load(`
    <decoder name="fw"><prematch>^fw </prematch><type>firewall</type></decoder>
    <decoder name="fw-deny"><parent>fw</parent><prematch>deny</prematch></decoder>
    <decoder name="fw-any"><parent>fw</parent><regex>(\\S+)$</regex><order>action</order></decoder>`);
  assert.equal(decode(set, 'fw deny').decoder?.type, 'syslog');
  assert.equal(decode(set, 'fw allow').decoder?.type, 'firewall');
});

test('order maps captures by position: static names (user is dstuser), dynamic names as written, extra captures dropped', () => {
  const set = load(`
    <decoder name="o"><prematch>^o </prematch><regex offset="after_prematch">^(\\S+) (\\S+) (\\S+) (\\S+) (\\S+) (\\S+)</regex>
      <order>user, extra_data,system_name, Audit.Key,srcport</order></decoder>`);
  assert.deepEqual(summary(decode(set, 'o u e s k p dropped')), {
    decoder: 'o', fields: { dstuser: 'u', extra_data: 'e', system_name: 's', srcport: 'p' }, dynamic: [['Audit.Key', 'k']],
  });
});

test('DecoderInfo carries fts (in key order), ftscomment and accumulate of the selected decoder', () => {
  const set = load(`
    <decoder name="f"><prematch>^f </prematch><regex>^f (\\S+) (\\S+)</regex><order>custom, srcip</order>
      <fts>location, custom, name, srcip, user</fts><ftscomment>First time</ftscomment><accumulate/></decoder>`);
  const info = decode(set, 'f a 1.2.3.4').decoder!;
  assert.deepEqual(info.fts, ['name', 'dstuser', 'srcip', 'location', 'custom']);
  assert.equal(info.ftscomment, 'First time');
  assert.equal(info.accumulate, true);
});

test('accumulate: a later event of the same id, host and decoder gets the fields it lacks', () => {
  const set = load(`
    <decoder name="ldap"><program_name>^slapd</program_name><accumulate/></decoder>
    <decoder name="ldap-conn"><parent>ldap</parent><prematch>ACCEPT</prematch><regex>^conn=(\\d+) \\.+IP=(\\S+):</regex><order>id, srcip</order><accumulate/></decoder>
    <decoder name="ldap-bind"><parent>ldap</parent><prematch>BIND</prematch><regex>^conn=(\\d+) \\.+dn="(\\w+)"</regex><order>id, dstuser</order><accumulate/></decoder>`);
  const state = newDecoderState();
  const first = eventOf('conn=7 fd=1 ACCEPT from IP=10.0.0.1:55', 'slapd');
  decodeEvent(set, first, state, 1_000_000);
  const second = eventOf('conn=7 op=1 BIND dn="bob"', 'slapd');
  decodeEvent(set, second, state, 1_050_000);
  assert.deepEqual(second.fields, { id: '7', dstuser: 'bob', srcip: '10.0.0.1' });
  const otherConnection = eventOf('conn=8 op=1 BIND dn="eve"', 'slapd');
  decodeEvent(set, otherConnection, state, 1_050_000);
  assert.equal(otherConnection.fields.srcip, undefined);
  // 120 s after the last update the entry has expired.
  const late = eventOf('conn=7 op=2 BIND dn="bob"', 'slapd');
  decodeEvent(set, late, state, 1_171_000);
  assert.equal(late.fields.srcip, undefined);
});

test('no decoder: the event keeps no decoder and no fields', () => {
  const set = load('<decoder name="a"><prematch>^a</prematch></decoder>');
  assert.deepEqual(summary(decode(set, 'b')), { fields: {}, dynamic: [] });
});

test('files load in the given order: a child may attach to a parent from an earlier file', () => {
  const set = loadFiles(
    ['0001-base.xml', '<decoder name="base"><prematch>^base</prematch></decoder>'],
    ['local_decoder.xml', '<decoder name="base-local"><parent>base</parent><regex>(\\d+)</regex><order>id</order></decoder>'],
  );
  assert.deepEqual(decode(set, 'base 12').fields, { id: '12' });
});

test('plugin decoders read the offset and JSON options of the selected decoder', () => {
  const set = load(`
    <decoder name="j"><prematch>^JSON: </prematch></decoder>
    <decoder name="j-child"><parent>j</parent><prematch>^JSON: </prematch><plugin_decoder offset="after_prematch">JSON_Decoder</plugin_decoder>
      <json_null_field>discard</json_null_field></decoder>
    <decoder name="k"><program_name>^k$</program_name></decoder>
    <decoder name="k-child"><parent>k</parent><plugin_decoder offset="after_parent">JSON_Decoder</plugin_decoder><json_null_field>discard</json_null_field></decoder>`);
  assert.deepEqual(summary(decode(set, 'JSON: {"a":1,"n":null}')), {
    decoder: 'j', parent: 'j', fields: {}, dynamic: [['a', '1']],
  });
  // A prematch-less child runs under its parent's settings: whole log, nulls as "null".
  assert.deepEqual(decode(set, '{"a":1,"n":null}', 'k').dynamic, [{ name: 'a', value: '1' }, { name: 'n', value: 'null' }]);
});

test('a plugin and a regex can share a sibling chain', () => {
  const set = load(`
    <decoder name="ar"><prematch>^AR: </prematch></decoder>
    <decoder name="ar-c"><parent>ar</parent><prematch>^AR: </prematch><plugin_decoder offset="after_prematch">JSON_Decoder</plugin_decoder></decoder>
    <decoder name="ar-c"><parent>ar</parent><regex type="pcre2">"ip":"([^"]+)"</regex><order>srcip</order></decoder>`);
  assert.deepEqual(summary(decode(set, 'AR: {"ip":"1.2.3.4","x":true}')), {
    decoder: 'ar', parent: 'ar', fields: { srcip: '1.2.3.4' }, dynamic: [['ip', '1.2.3.4'], ['x', 'true']],
  });
});

test('program_name results are remembered per name without changing any outcome, past the memo size too', () => {
  const set = load(`
    <decoder name="even"><program_name>0$|2$|4$|6$|8$</program_name></decoder>
    <decoder name="any"><program_name>^p</program_name></decoder>`);
  for (let i = 0; i < 5000; i++) {
    assert.equal(decode(set, 'x', `p${i}`).decoder?.name, i % 2 === 0 ? 'even' : 'any');
  }
  assert.equal(decode(set, 'x', 'p2').decoder?.name, 'even');
  assert.equal(decode(set, 'x', 'q1').decoder, undefined);
});
