import assert from 'node:assert/strict';
import test from 'node:test';
import {
  checkSyncPath, classify, itemOf, manifestDigest, planSync, type Classification, type FileDigest, type ManifestEntry,
} from '../../../protocols/integrity.js';
import { SYNCED_SET } from '../../../protocols/synced-set.js';

const md5 = (c: string): string => c.repeat(32).slice(0, 32);
const A = md5('a');
const B = md5('b');
const C = md5('c');

const entry = (path: string, size: number, digest = A): ManifestEntry => ({ path, md5: digest, size });
const classification = (missing: ManifestEntry[], shared: ManifestEntry[] = [], extra: string[] = []): Classification => ({ missing, shared, extra });

test('manifestDigest: independent of insertion order, a 64-hex sha256', () => {
  const one = new Map<string, FileDigest>([['etc/client.keys', { md5: A, size: 1 }], ['etc/shared/default/agent.conf', { md5: B, size: 2 }]]);
  const two = new Map<string, FileDigest>([['etc/shared/default/agent.conf', { md5: B, size: 2 }], ['etc/client.keys', { md5: A, size: 1 }]]);
  assert.match(manifestDigest(one), /^[0-9a-f]{64}$/);
  assert.equal(manifestDigest(one), manifestDigest(two));
});

test('manifestDigest: changes with any md5, size or path, and with an added file', () => {
  const base = new Map<string, FileDigest>([['etc/rules/a.xml', { md5: A, size: 10 }], ['etc/lists/b', { md5: B, size: 20 }]]);
  const digest = manifestDigest(base);
  const variants: Map<string, FileDigest>[] = [
    new Map([['etc/rules/a.xml', { md5: C, size: 10 }], ['etc/lists/b', { md5: B, size: 20 }]]),
    new Map([['etc/rules/a.xml', { md5: A, size: 11 }], ['etc/lists/b', { md5: B, size: 20 }]]),
    new Map([['etc/rules/a2.xml', { md5: A, size: 10 }], ['etc/lists/b', { md5: B, size: 20 }]]),
    new Map([...base, ['etc/lists/c', { md5: C, size: 0 }]]),
    new Map(),
  ];
  for (const v of variants) assert.notEqual(manifestDigest(v), digest);
});

test('classify: missing, shared (md5 or size differs) and extra', () => {
  const master = new Map<string, FileDigest>([
    ['etc/client.keys', { md5: A, size: 5 }],
    ['etc/rules/same.xml', { md5: B, size: 7 }],
    ['etc/rules/md5.xml', { md5: C, size: 7 }],
    ['etc/rules/size.xml', { md5: A, size: 8 }],
  ]);
  const worker = new Map<string, FileDigest>([
    ['etc/rules/same.xml', { md5: B, size: 7 }],
    ['etc/rules/md5.xml', { md5: A, size: 7 }],
    ['etc/rules/size.xml', { md5: A, size: 9 }],
    ['etc/shared/old/agent.conf', { md5: A, size: 1 }],
  ]);
  const c = classify(master, worker);
  assert.deepEqual(c.missing, [{ path: 'etc/client.keys', md5: A, size: 5 }]);
  assert.deepEqual(c.shared, [{ path: 'etc/rules/md5.xml', md5: C, size: 7 }, { path: 'etc/rules/size.xml', md5: A, size: 8 }]);
  assert.deepEqual(c.extra, ['etc/shared/old/agent.conf']);
  const none = classify(master, master);
  assert.deepEqual([none.missing, none.shared, none.extra], [[], [], []]);
});

test('planSync: files above the per-file limit are tooLarge, never sent', () => {
  const p = planSync(classification([entry('etc/rules/big', 101), entry('etc/rules/ok', 100)]), 100, 1000);
  assert.deepEqual(p.tooLarge, ['etc/rules/big']);
  assert.deepEqual(p.create.map((e) => e.path), ['etc/rules/ok']);
  assert.equal(p.bytes, 100);
  assert.equal(p.deferred, 0);
});

test('planSync: files past the per-sync limit are deferred; creates go before updates', () => {
  const p = planSync(classification([entry('etc/rules/a', 40), entry('etc/rules/b', 40)], [entry('etc/rules/c', 30), entry('etc/rules/d', 10)]), 100, 90);
  assert.deepEqual(p.create.map((e) => e.path), ['etc/rules/a', 'etc/rules/b']);
  assert.deepEqual(p.update.map((e) => e.path), ['etc/rules/d']);
  assert.equal(p.deferred, 1);
  assert.equal(p.bytes, 90);
});

test('planSync: a single file bigger than the per-sync limit (within the per-file one) goes alone', () => {
  const p = planSync(classification([entry('etc/lists/huge', 500), entry('etc/lists/small', 1)]), 1000, 100);
  assert.deepEqual(p.create.map((e) => e.path), ['etc/lists/huge']);
  assert.equal(p.deferred, 1);
  assert.equal(p.bytes, 500);
  assert.deepEqual(p.tooLarge, []);
});

test('planSync: deletions are always kept, whatever the limits', () => {
  const p = planSync(classification([entry('etc/rules/a', 50), entry('etc/rules/b', 60)], [], ['etc/shared/x/y', 'etc/rules/z']), 100, 50);
  assert.deepEqual(p.delete, ['etc/shared/x/y', 'etc/rules/z']);
  assert.equal(p.deferred, 1);
  const onlyDeletes = planSync(classification([], [], ['etc/rules/z']), 0, 0);
  assert.deepEqual(onlyDeletes.delete, ['etc/rules/z']);
  assert.equal(onlyDeletes.bytes, 0);
});

test('checkSyncPath: accepts clean paths in every synced item', () => {
  const good: [string, string][] = [
    ['etc/client.keys', 'etc'],
    ['etc/shared/default/agent.conf', 'etc/shared'],
    ['etc/shared/default/sub/deep/file.txt', 'etc/shared'],
    ['var/multigroups/abcd1234/merged.mg', 'var/multigroups'],
    ['etc/rules/local_rules.xml', 'etc/rules'],
    ['etc/decoders/local_decoder.xml', 'etc/decoders'],
    ['etc/lists/audit-keys', 'etc/lists'],
    ['etc/sca/custom/policy.yml', 'etc/sca'],
  ];
  for (const [rel, dir] of good) {
    const v = checkSyncPath(rel);
    assert.ok(v.ok, `${rel} should be accepted`);
    assert.equal(v.item.dir, dir, rel);
  }
});

test('checkSyncPath: refuses anything a peer should not name', () => {
  const bad = [
    '../etc/passwd', 'etc/shared/../../x', '/etc/passwd', 'etc/ossec.conf', 'etc/shared/default/ar.conf', 'etc/shared/x.swp',
    'var/multigroups/a/other.txt', 'etc/client.keys/x', 'etc//shared/a', './etc/rules/a', 'etc\\rules\\a', 'etc/rules/a\\b',
    'etc/rules/a\0b', 'etc/rulesX/a', 'queue/db/global.db', 'etc/shared/', 'etc/rules/.', 'etc/shared/default/file.tmp', 'etc/rules/x~',
    'etc', 'etc/shared', '',
  ];
  for (const rel of bad) {
    const v = checkSyncPath(rel);
    assert.equal(v.ok, false, `${JSON.stringify(rel)} should be refused`);
    if (!v.ok) assert.ok(v.reason.length > 0);
  }
});

test('checkSyncPath: reasons say what is wrong', () => {
  const reason = (rel: string): string => {
    const v = checkSyncPath(rel);
    assert.equal(v.ok, false);
    return v.ok ? '' : v.reason;
  };
  assert.match(reason('etc/a\0'), /NUL/);
  assert.match(reason('etc\\a'), /backslash/);
  assert.match(reason('/etc/passwd'), /absolute/);
  assert.match(reason('etc/shared/../x'), /normalised/);
  assert.match(reason('queue/db/global.db'), /outside/);
  assert.match(reason('etc/ossec.conf'), /not a file etc\/ syncs/);
});

test('itemOf: the deepest matching item; non-recursive items only hold direct children', () => {
  assert.equal(itemOf('etc/client.keys')?.dir, 'etc');
  assert.equal(itemOf('etc/ossec.conf')?.dir, 'etc');
  assert.equal(itemOf('etc/shared/default/agent.conf')?.dir, 'etc/shared');
  assert.equal(itemOf('etc/rules/sub/a.xml')?.dir, 'etc/rules');
  assert.equal(itemOf('var/multigroups/abc/merged.mg')?.dir, 'var/multigroups');
  assert.equal(itemOf('etc/other/x'), undefined);
  assert.equal(itemOf('etc'), undefined);
  assert.equal(itemOf('var/other'), undefined);
  assert.equal(itemOf('etc/rules/a.xml', SYNCED_SET.filter((i) => i.dir !== 'etc/rules')), undefined);
});
