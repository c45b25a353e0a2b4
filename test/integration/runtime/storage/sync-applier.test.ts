import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test, { type TestContext } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { SYNC_CHUNK_BYTES, type ClusterBody } from '../../../../protocols/cluster-messages.js';
import {
  SyncApplier, SyncRefusedError, removeStaleTempFiles, tempNameFor, type ApplyResult, type SyncApplierOptions,
} from '../../../../runtime/storage/sync-applier.js';

type Plan = ClusterBody<'integrity-plan'>;
type Chunk = ClusterBody<'sync-data'>;
type Content = string | Buffer;

const MAX_FILE = 64 * 1024 * 1024;
const OPTS: SyncApplierOptions = { maxFileBytes: MAX_FILE };

const md5 = (b: Content): string => createHash('md5').update(b).digest('hex');
const bytes = (c: Content): Buffer => (typeof c === 'string' ? Buffer.from(c) : c);
const newSyncId = (): string => randomBytes(8).toString('hex');

// ---- fixtures ----

async function makeRoot(t: TestContext): Promise<string> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'clusterd-applier-'));
  t.after(() => fs.rm(root, { recursive: true, force: true }));
  return root;
}

async function makeHome(t: TestContext, files: Record<string, Content> = {}): Promise<string> {
  const home = path.join(await makeRoot(t), 'home');
  await fs.mkdir(home);
  for (const [rel, content] of Object.entries(files)) await put(home, rel, content);
  return home;
}

async function put(home: string, rel: string, content: Content): Promise<void> {
  await fs.mkdir(path.dirname(path.join(home, rel)), { recursive: true });
  await fs.writeFile(path.join(home, rel), content);
}

const read = (home: string, rel: string): Promise<Buffer> => fs.readFile(path.join(home, rel));

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Every path under dir (folders with a trailing slash), without following symlinks. */
async function listAll(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(`${child}/`, ...(await listAll(dir, child)));
    else out.push(child);
  }
  return out.sort();
}

/** Paths, kinds, contents and modes: equal snapshots mean nothing changed. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const snap = new Map<string, string>();
  for (const rel of await listAll(dir)) {
    const abs = path.join(dir, rel);
    const st = await fs.lstat(abs);
    const what = st.isSymbolicLink() ? `link:${await fs.readlink(abs)}` : st.isDirectory() ? 'dir' : md5(await fs.readFile(abs));
    snap.set(rel, `${what}:${(st.mode & 0o777).toString(8)}`);
  }
  return snap;
}

const tempsIn = async (home: string): Promise<string[]> => (await listAll(home)).filter((p) => p.endsWith('.tmp'));

// ---- building a sync like the master does ----

function chunksFor(syncId: string, rel: string, content: Content, chunkBytes = SYNC_CHUNK_BYTES): Chunk[] {
  const buf = bytes(content);
  const chunks: Chunk[] = [];
  let offset = 0;
  do {
    const raw = buf.subarray(offset, offset + chunkBytes);
    const last = offset + raw.length >= buf.length;
    chunks.push({ syncId, path: rel, offset, rawSize: raw.length, data: deflateRawSync(raw), last, ...(last ? { md5: md5(buf) } : {}) });
    offset += raw.length;
  } while (offset < buf.length);
  return chunks;
}

interface SyncSpec {
  create?: Record<string, Content>;
  update?: Record<string, Content>;
  delete?: string[];
  chunkBytes?: number;
}

interface Sync {
  plan: Plan;
  chunks: Chunk[];
}

function buildSync(spec: SyncSpec): Sync {
  const syncId = newSyncId();
  const entries = (files: Record<string, Content> = {}) =>
    Object.entries(files).map(([p, c]) => ({ path: p, md5: md5(c), size: bytes(c).length }));
  const create = entries(spec.create);
  const update = entries(spec.update);
  const all = { ...spec.create, ...spec.update };
  const chunks = Object.entries(all).flatMap(([rel, c]) => chunksFor(syncId, rel, c, spec.chunkBytes));
  const total = [...create, ...update].reduce((n, e) => n + e.size, 0);
  const plan: Plan = {
    syncId, revision: 1, files: create.length + update.length, create, update, delete: spec.delete ?? [], deferred: 0, tooLarge: [], bytes: total,
  };
  return { plan, chunks };
}

async function apply(home: string, sync: Sync, opts: SyncApplierOptions = OPTS): Promise<ApplyResult> {
  const applier = await SyncApplier.begin(home, sync.plan, opts);
  for (const c of sync.chunks) applier.chunk(c);
  return applier.finish();
}

async function modeOf(home: string, rel: string): Promise<number> {
  return (await fs.stat(path.join(home, rel))).mode & 0o777;
}

// ---- tests ----

test('tempNameFor: a hidden .tmp name beside the target', () => {
  assert.equal(tempNameFor('etc/shared/default/agent.conf', '0123456789abcdef'), 'etc/shared/default/.agent.conf.0123456789abcdef.tmp');
  assert.equal(tempNameFor('etc/client.keys', 'fedcba9876543210'), 'etc/.client.keys.fedcba9876543210.tmp');
});

test('applies creates, updates and deletes across items; removes emptied etc/shared and multigroup folders only', async (t) => {
  const home = await makeHome(t, {
    'etc/client.keys': 'old keys',
    'etc/shared/default/agent.conf': 'old agent conf',
    'etc/shared/default/ar.conf': 'local active response',
    'etc/shared/gone/agent.conf': 'to delete',
    'etc/shared/onlyar/agent.conf': 'to delete',
    'etc/shared/onlyar/ar.conf': 'local',
    'etc/shared/deep/a/b/file.txt': 'to delete',
    'var/multigroups/abcd1234/merged.mg': 'to delete',
    'etc/rules/local_rules.xml': '<group/>',
    'etc/rules/old/local.xml': 'to delete',
    'etc/lists/old-list': 'to delete',
  });
  const create = {
    'etc/shared/newgroup/sub/agent.conf': 'new group conf',
    'etc/rules/new/sub/custom.xml': '<rule id="100001"/>',
    'etc/lists/new-list': 'key:value\n',
    'var/multigroups/ffff0000/merged.mg': randomBytes(5000),
    'etc/decoders/local_decoder.xml': '<decoder/>',
    'etc/sca/custom/p.yml': 'policy: {}\n',
    'etc/shared/default/empty.txt': '',
  };
  const update = {
    'etc/client.keys': '001 agent any 0123\n',
    'etc/shared/default/agent.conf': 'new agent conf',
    'etc/rules/local_rules.xml': '<group name="local"/>',
  };
  const del = [
    'etc/shared/gone/agent.conf', 'etc/shared/onlyar/agent.conf', 'etc/shared/deep/a/b/file.txt',
    'var/multigroups/abcd1234/merged.mg', 'etc/rules/old/local.xml', 'etc/lists/old-list',
  ];
  const sync = buildSync({ create, update, delete: del });
  const result = await apply(home, sync);

  assert.equal(result.created, 7);
  assert.equal(result.updated, 3);
  assert.equal(result.deleted, 6);
  assert.deepEqual(result.skipped, []);
  assert.deepEqual(result.removed, [...del].sort());
  const all: Record<string, Content> = { ...create, ...update };
  assert.deepEqual(result.written.map((w) => w.path), Object.keys(all).sort());
  for (const w of result.written) {
    const content = all[w.path] as Content;
    assert.equal(w.md5, md5(content), w.path);
    assert.equal(w.size, bytes(content).length, w.path);
    assert.deepEqual(await read(home, w.path), bytes(content), w.path);
    assert.equal(w.mtimeMs, (await fs.stat(path.join(home, w.path))).mtimeMs, w.path);
  }
  assert.equal(result.receivedBytes, Object.values(all).reduce((n, c) => n + bytes(c).length, 0));

  assert.equal(await modeOf(home, 'etc/client.keys'), 0o640);
  for (const rel of Object.keys(all).filter((p) => p !== 'etc/client.keys')) assert.equal(await modeOf(home, rel), 0o660, rel);

  for (const rel of del) assert.equal(await exists(path.join(home, rel)), false, rel);
  assert.deepEqual([...result.removedDirs].sort(), [
    'etc/shared/deep', 'etc/shared/deep/a', 'etc/shared/deep/a/b', 'etc/shared/gone', 'etc/shared/onlyar', 'var/multigroups/abcd1234',
  ]);
  assert.equal(await exists(path.join(home, 'etc/shared/onlyar')), false, 'a folder holding only ar.conf goes too');
  assert.equal(await exists(path.join(home, 'etc/rules/old')), true, 'etc/rules keeps its empty folders');
  assert.equal(await exists(path.join(home, 'var/multigroups')), true, 'never the item root');
  assert.equal((await read(home, 'etc/shared/default/ar.conf')).toString(), 'local active response');

  assert.deepEqual([...result.rulesetChanged].sort(), [
    'etc/decoders/local_decoder.xml', 'etc/lists/new-list', 'etc/lists/old-list', 'etc/rules/local_rules.xml',
    'etc/rules/new/sub/custom.xml', 'etc/rules/old/local.xml', 'etc/sca/custom/p.yml',
  ]);
  assert.deepEqual(await tempsIn(home), []);
});

test('the item root stays even when a deletion empties it', async (t) => {
  const home = await makeHome(t, { 'etc/shared/only.txt': 'x', 'etc/shared/ar.conf': 'local' });
  const result = await apply(home, buildSync({ delete: ['etc/shared/only.txt'] }));
  assert.deepEqual(result.removed, ['etc/shared/only.txt']);
  assert.deepEqual(result.removedDirs, []);
  assert.deepEqual(await listAll(path.join(home, 'etc/shared')), ['ar.conf']);
});

test('deleting a file that is already gone is fine and not counted', async (t) => {
  const home = await makeHome(t, { 'etc/rules/a.xml': 'a' });
  const result = await apply(home, buildSync({ delete: ['etc/rules/a.xml', 'etc/rules/never-there.xml'] }));
  assert.deepEqual(result.removed, ['etc/rules/a.xml']);
  assert.equal(result.deleted, 1);
  assert.deepEqual(result.rulesetChanged, ['etc/rules/a.xml']);
});

test('a multi-chunk file (3.5 MB) arrives byte-identical; targets stay untouched until finish', async (t) => {
  const home = await makeHome(t, { 'etc/lists/big': 'old big' });
  const content = Buffer.concat([randomBytes(2 * SYNC_CHUNK_BYTES), Buffer.alloc(1.5 * SYNC_CHUNK_BYTES, 7)]);
  const sync = buildSync({ update: { 'etc/lists/big': content } });
  assert.equal(sync.chunks.length, 4);
  const applier = await SyncApplier.begin(home, sync.plan, OPTS);
  for (const c of sync.chunks) applier.chunk(c);
  assert.ok(applier.queuedBytes > 0, 'chunks are queued, not written on the caller stack');
  await applier.idle();
  assert.equal(applier.queuedBytes, 0);
  assert.equal(applier.receivedBytes, content.length);
  assert.equal((await read(home, 'etc/lists/big')).toString(), 'old big', 'the target changes only at finish');
  const temp = path.join(home, tempNameFor('etc/lists/big', sync.plan.syncId));
  assert.equal((await fs.stat(temp)).mode & 0o777, 0o600, 'temp files are private while incomplete');

  const result = await applier.finish();
  assert.equal(result.updated, 1);
  assert.equal(result.receivedBytes, content.length);
  assert.deepEqual(await read(home, 'etc/lists/big'), content);
  assert.equal(result.written[0]?.md5, md5(content));
  assert.deepEqual(await tempsIn(home), []);
});

// ---- failures: finish rejects, temps go, old content stays ----

const OLD: Record<string, Content> = {
  'etc/rules/a.xml': 'old a',
  'etc/client.keys': 'old keys',
  'etc/lists/l': 'old l',
};

function failingSync(): Sync {
  return buildSync({
    update: { 'etc/rules/a.xml': randomBytes(3000), 'etc/client.keys': 'new keys' },
    create: { 'etc/shared/g/sub/new.conf': 'new conf' },
    delete: ['etc/lists/l'],
    chunkBytes: 1000,
  });
}

const chunkIndex = (s: Sync, rel: string, which: 'first' | 'last'): number => {
  const idx = s.chunks.map((c, i) => (c.path === rel ? i : -1)).filter((i) => i >= 0);
  return (which === 'first' ? idx[0] : idx[idx.length - 1]) as number;
};

let zipBomb: Buffer | null = null;
const bomb = (): Buffer => (zipBomb ??= deflateRawSync(Buffer.alloc(100 * 1024 * 1024)));

const failures: { name: string; error: RegExp; opts?: SyncApplierOptions; mutate(s: Sync): void }[] = [
  {
    name: 'chunk out of order',
    error: /'etc\/rules\/a\.xml'.*offset 1000, expected 0/,
    mutate: (s) => {
      const i = chunkIndex(s, 'etc/rules/a.xml', 'first');
      [s.chunks[i], s.chunks[i + 1]] = [s.chunks[i + 1] as Chunk, s.chunks[i] as Chunk];
    },
  },
  {
    name: 'chunk for an unplanned path',
    error: /'etc\/rules\/other\.xml'.*not create or update/,
    mutate: (s) => { s.chunks.splice(1, 0, ...chunksFor(s.plan.syncId, 'etc/rules/other.xml', 'x')); },
  },
  {
    name: 'chunk for a path the plan deletes',
    error: /'etc\/lists\/l'.*not create or update/,
    mutate: (s) => { s.chunks.push(...chunksFor(s.plan.syncId, 'etc/lists/l', 'x')); },
  },
  {
    name: 'chunk after the last one',
    error: /'etc\/client\.keys'.*after the file's last chunk/,
    mutate: (s) => {
      const last = s.chunks[chunkIndex(s, 'etc/client.keys', 'last')] as Chunk;
      s.chunks.push({ ...last, offset: last.offset + last.rawSize });
    },
  },
  {
    name: 'wrong md5',
    error: /'etc\/client\.keys'.*md5 mismatch/,
    mutate: (s) => {
      const i = chunkIndex(s, 'etc/client.keys', 'last');
      s.chunks[i] = { ...(s.chunks[i] as Chunk), md5: md5('something else') };
    },
  },
  {
    name: 'chunk inflating beyond its rawSize',
    error: /'etc\/rules\/a\.xml'.*inflates to 1010 bytes, declared 1000/,
    mutate: (s) => {
      const i = chunkIndex(s, 'etc/rules/a.xml', 'first') + 1;
      s.chunks[i] = { ...(s.chunks[i] as Chunk), data: deflateRawSync(randomBytes(1010)) };
    },
  },
  {
    name: 'zip bomb (100 MB of zeros declared as 1 MB)',
    error: /'etc\/rules\/a\.xml'.*inflates beyond 1048576 bytes/,
    mutate: (s) => {
      const i = chunkIndex(s, 'etc/rules/a.xml', 'first');
      s.chunks[i] = { ...(s.chunks[i] as Chunk), rawSize: SYNC_CHUNK_BYTES, data: bomb() };
    },
  },
  {
    name: 'corrupt deflate data',
    error: /'etc\/shared\/g\/sub\/new\.conf'.*not valid deflate data/,
    mutate: (s) => {
      const i = chunkIndex(s, 'etc/shared/g/sub/new.conf', 'first');
      s.chunks[i] = { ...(s.chunks[i] as Chunk), data: Buffer.from([0xff, 0xff, 0xff, 0xff]) };
    },
  },
  {
    name: 'file growing beyond maxFileBytes on the master',
    error: /'etc\/client\.keys'.*exceeds the 5000-byte limit/,
    opts: { maxFileBytes: 5000 },
    mutate: (s) => {
      s.chunks = s.chunks.filter((c) => c.path !== 'etc/client.keys');
      s.chunks.push(...chunksFor(s.plan.syncId, 'etc/client.keys', randomBytes(6000), 1000));
    },
  },
  {
    name: 'a file never completed',
    error: /1 file\(s\) incomplete.*'etc\/rules\/a\.xml'/,
    mutate: (s) => { s.chunks.splice(chunkIndex(s, 'etc/rules/a.xml', 'last'), 1); },
  },
  {
    name: 'chunk of another sync',
    error: /belongs to sync 0000000000000000/,
    mutate: (s) => { s.chunks[2] = { ...(s.chunks[2] as Chunk), syncId: '0000000000000000' }; },
  },
];

for (const f of failures) {
  test(`bad sync (${f.name}): finish rejects, no temp files, old content intact`, async (t) => {
    const home = await makeHome(t, OLD);
    const before = await snapshot(home);
    const sync = failingSync();
    f.mutate(sync);
    const applier = await SyncApplier.begin(home, sync.plan, f.opts ?? OPTS);
    for (const c of sync.chunks) applier.chunk(c);
    await assert.rejects(applier.finish(), (err: Error) => {
      assert.match(err.message, f.error);
      return true;
    });
    assert.deepEqual(await tempsIn(home), []);
    assert.deepEqual(await snapshot(home), before, 'the tree is exactly as before (no new folders either)');
    assert.equal(applier.queuedBytes, 0);
  });
}

// ---- refusals: begin throws, nothing written anywhere ----

test('begin refuses bad plans before touching anything', async (t) => {
  const root = await makeRoot(t);
  const home = path.join(root, 'home');
  const outside = path.join(root, 'outside');
  await fs.mkdir(outside);
  await put(outside, 'x.xml', 'outside');
  for (const [rel, c] of Object.entries(OLD)) await put(home, rel, c);
  await fs.mkdir(path.join(home, 'etc/shared'), { recursive: true });
  await fs.symlink(outside, path.join(home, 'etc/shared/evil'));
  await fs.mkdir(path.join(home, 'etc/rules/sub/deeper'), { recursive: true });
  await fs.symlink(outside, path.join(home, 'etc/rules/sub/link'));
  await put(home, 'etc/shared/file', 'a file where a folder is expected');
  await fs.mkdir(path.join(home, 'etc/lists/dir-target'), { recursive: true });

  const cases: { spec: SyncSpec; path: string; reason: RegExp; opts?: SyncApplierOptions }[] = [
    { spec: { create: { 'etc/rules/ok.xml': 'ok', '../outside/x.xml': 'evil' } }, path: '../outside/x.xml', reason: /normalised/ },
    { spec: { create: { 'etc/shared/../../../outside/x.xml': 'evil' } }, path: 'etc/shared/../../../outside/x.xml', reason: /normalised/ },
    { spec: { update: { '/etc/passwd': 'evil' } }, path: '/etc/passwd', reason: /absolute/ },
    { spec: { delete: ['etc/ossec.conf'] }, path: 'etc/ossec.conf', reason: /not a file etc\/ syncs/ },
    { spec: { create: { 'etc/shared/good/agent.conf': 'ok', 'etc/shared/evil/agent.conf': 'evil' } }, path: 'etc/shared/evil/agent.conf', reason: /'etc\/shared\/evil' is a symbolic link/ },
    { spec: { delete: ['etc/rules/sub/link/x.xml'] }, path: 'etc/rules/sub/link/x.xml', reason: /'etc\/rules\/sub\/link' is a symbolic link/ },
    { spec: { create: { 'etc/rules/sub/link/new/deeper.xml': 'evil' } }, path: 'etc/rules/sub/link/new/deeper.xml', reason: /symbolic link/ },
    { spec: { create: { 'etc/shared/file/agent.conf': 'x' } }, path: 'etc/shared/file/agent.conf', reason: /'etc\/shared\/file' is not a folder/ },
    { spec: { create: { 'etc/lists/dir-target': 'x' } }, path: 'etc/lists/dir-target', reason: /is a folder/ },
    { spec: { delete: ['etc/rules/sub'] }, path: 'etc/rules/sub', reason: /is a folder/ },
    { spec: { create: { 'etc/rules/a.xml': 'x' }, delete: ['etc/rules/a.xml'] }, path: 'etc/rules/a.xml', reason: /more than once/ },
    { spec: { create: { 'etc/rules/big.xml': randomBytes(2000) } }, path: 'etc/rules/big.xml', reason: /2000 bytes, above the 1000-byte limit/, opts: { maxFileBytes: 1000 } },
  ];
  for (const c of cases) {
    const before = await snapshot(root);
    const sync = buildSync(c.spec);
    await assert.rejects(SyncApplier.begin(home, sync.plan, c.opts ?? OPTS), (err: unknown) => {
      assert.ok(err instanceof SyncRefusedError, `${c.path}: ${String(err)}`);
      assert.equal(err.path, c.path);
      assert.match(err.reason, c.reason);
      assert.equal(err.message, `refused path '${c.path}': ${err.reason}`);
      return true;
    });
    assert.deepEqual(await snapshot(root), before, `${c.path}: nothing changed inside or outside home`);
  }
});

test('a symlinked file target is replaced, not written through', async (t) => {
  const root = await makeRoot(t);
  const home = path.join(root, 'home');
  await put(root, 'outside/secret', 'untouched');
  await fs.mkdir(path.join(home, 'etc/rules'), { recursive: true });
  await fs.symlink(path.join(root, 'outside/secret'), path.join(home, 'etc/rules/link.xml'));
  await apply(home, buildSync({ update: { 'etc/rules/link.xml': 'new rule' } }));
  assert.equal((await read(root, 'outside/secret')).toString(), 'untouched');
  assert.equal((await fs.lstat(path.join(home, 'etc/rules/link.xml'))).isFile(), true);
  assert.equal((await read(home, 'etc/rules/link.xml')).toString(), 'new rule');
});

// ---- abort, gone, stale temps ----

test('abort removes every temp file and folder of the sync and leaves old files', async (t) => {
  const home = await makeHome(t, OLD);
  const before = await snapshot(home);
  const sync = failingSync();
  const applier = await SyncApplier.begin(home, sync.plan, OPTS);
  // Everything but the last chunk: complete and partial temp files exist now.
  for (const c of sync.chunks.slice(0, -1)) applier.chunk(c);
  await applier.idle();
  assert.ok((await tempsIn(home)).length >= 2);
  await applier.abort('link lost');
  assert.deepEqual(await tempsIn(home), []);
  assert.deepEqual(await snapshot(home), before);
  // Chunks after abort are dropped; finish reports the abort.
  applier.chunk(sync.chunks[sync.chunks.length - 1] as Chunk);
  await assert.rejects(applier.finish(), /aborted: link lost/);
  assert.deepEqual(await snapshot(home), before);
});

test('gone: a file that vanished on the master is skipped, the rest applies', async (t) => {
  const home = await makeHome(t, { 'etc/rules/vanished.xml': 'old vanished' });
  const sync = buildSync({
    create: { 'etc/rules/kept.xml': 'kept', 'etc/shared/newgroup/agent.conf': 'never arrives', 'etc/lists/partial': randomBytes(3000) },
    update: { 'etc/rules/vanished.xml': 'new vanished' },
    chunkBytes: 1000,
  });
  const goneChunk = (rel: string, offset = 0): Chunk => ({ syncId: sync.plan.syncId, path: rel, offset, rawSize: 0, data: new Uint8Array(0), last: true, gone: true });
  sync.chunks = [
    ...sync.chunks.filter((c) => c.path === 'etc/rules/kept.xml'),
    goneChunk('etc/shared/newgroup/agent.conf'),
    goneChunk('etc/rules/vanished.xml'),
    // Vanished mid-transfer: its partial temp must go too.
    ...sync.chunks.filter((c) => c.path === 'etc/lists/partial').slice(0, 2),
    goneChunk('etc/lists/partial', 2000),
  ];
  const result = await apply(home, sync);
  assert.deepEqual([...result.skipped].sort(), ['etc/lists/partial', 'etc/rules/vanished.xml', 'etc/shared/newgroup/agent.conf']);
  assert.equal(result.created, 1);
  assert.equal(result.updated, 0);
  assert.deepEqual(result.written.map((w) => w.path), ['etc/rules/kept.xml']);
  assert.deepEqual(result.rulesetChanged, ['etc/rules/kept.xml']);
  assert.equal((await read(home, 'etc/rules/vanished.xml')).toString(), 'old vanished');
  assert.equal(await exists(path.join(home, 'etc/lists/partial')), false);
  assert.equal(await exists(path.join(home, 'etc/shared/newgroup')), false, 'a folder made only for a vanished file is removed');
  assert.deepEqual(await tempsIn(home), []);
});

test('removeStaleTempFiles removes leftover sync temps and nothing else', async (t) => {
  const stale = [
    'etc/.client.keys.0123456789abcdef.tmp',
    'etc/shared/default/.agent.conf.0123456789abcdef.tmp',
    'etc/rules/sub/deep/.local.xml.fedcba9876543210.tmp',
    'var/multigroups/abcd/.merged.mg.00000000ffffffff.tmp',
  ];
  const kept = [
    'etc/client.keys',
    'etc/shared/default/agent.conf',
    'etc/shared/default/x.tmp',
    'etc/rules/.a.xml.0123.tmp',
    'etc/rules/.A.XML.0123456789ABCDEF.tmp',
    'etc/rules/a.0123456789abcdef.tmp',
    'etc/.ossec.conf.0123456789abcdef.tmp',
    'etc/other/.x.0123456789abcdef.tmp',
    'queue/.x.0123456789abcdef.tmp',
  ];
  const home = await makeHome(t, Object.fromEntries([...stale, ...kept].map((p) => [p, 'x'])));
  assert.deepEqual(await removeStaleTempFiles(home), [...stale].sort());
  const left = (await listAll(home)).filter((p) => !p.endsWith('/'));
  assert.deepEqual(left, [...kept].sort());
  assert.deepEqual(await removeStaleTempFiles(home), []);
  assert.deepEqual(await removeStaleTempFiles(path.join(home, 'no-such-home')), []);
});

// ---- scale ----

test('interleaved chunks of many files complete with few descriptors open', async (t) => {
  const home = await makeHome(t);
  const files = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`etc/lists/l${i}`, randomBytes(1000 + i * 37)]));
  const sync = buildSync({ create: files, chunkBytes: 100 });
  // Round-robin across files, keeping each file's own order.
  const perFile = Object.keys(files).map((rel) => sync.chunks.filter((c) => c.path === rel));
  const interleaved: Chunk[] = [];
  while (perFile.some((q) => q.length > 0)) for (const q of perFile) if (q.length) interleaved.push(q.shift() as Chunk);
  sync.chunks = interleaved;
  const result = await apply(home, sync);
  assert.equal(result.created, 20);
  for (const [rel, c] of Object.entries(files)) assert.deepEqual(await read(home, rel), c);
  assert.deepEqual(await tempsIn(home), []);
});

test('a 5,000-file sync completes without running out of descriptors', async (t) => {
  const home = await makeHome(t);
  const create: Record<string, string> = {};
  for (let i = 0; i < 5000; i++) create[`etc/shared/g${i % 50}/f${i}.txt`] = `file ${i}\n`;
  const sync = buildSync({ create });
  const started = Date.now();
  const result = await apply(home, sync);
  const ms = Date.now() - started;
  assert.equal(result.created, 5000);
  assert.equal(result.written.length, 5000);
  assert.ok(ms < 60_000, `took ${ms} ms`);
  for (const i of [0, 1234, 4999]) assert.equal((await read(home, `etc/shared/g${i % 50}/f${i}.txt`)).toString(), `file ${i}\n`);
  assert.deepEqual(await tempsIn(home), []);
  // And back: deleting them all removes the emptied group folders.
  const back = await apply(home, buildSync({ delete: Object.keys(create) }));
  assert.equal(back.deleted, 5000);
  assert.equal(back.removedDirs.length, 50);
  assert.deepEqual(await listAll(path.join(home, 'etc/shared')), []);
});
