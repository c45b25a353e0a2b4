/**
 * merged.mg on real folders: the exact bytes of a group bundle, byte-wise ordering,
 * what is left out, the write-only-on-change rule, and multigroup bundles.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildGroupMerged, buildMultigroupMerged, collectGroupFiles, mergedChecksum,
} from '../../../../runtime/storage/merged-mg.js';

function tempHome(): { dir: string; put: (rel: string, content: string | Buffer) => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-merged-'));
  const put = (rel: string, content: string | Buffer): void => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  };
  return { dir, put };
}

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

test('merged-mg - a group bundle: exact bytes, skipped files, md5 of the written file', async (t) => {
  const { dir, put } = tempHome();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  put('etc/shared/ar.conf', 'restart-ossec0 - restart-ossec.sh - 0\n');
  put('etc/shared/web/agent.conf', '<agent_config>\n</agent_config>\n');
  put('etc/shared/web/rootkit_files.txt', 'no trailing newline');
  put('etc/shared/web/sub/x.txt', 'x\n');
  put('etc/shared/web/.hidden', 'hidden\n');
  put('etc/shared/web/.git/config', 'hidden dir\n');
  put('etc/shared/web/sub/.swap', 'hidden in sub\n');
  put('etc/shared/web/merged.mg.old', 'stale\n');
  put('etc/shared/web/sub/merged.mg', 'stale\n');
  put('etc/shared/web/blob.bin', Buffer.from([0x41, 0x00, 0x42]));

  const collected = await collectGroupFiles(path.join(dir, 'etc/shared/web'));
  assert.deepEqual(collected.files.map((f) => f.name), ['agent.conf', 'rootkit_files.txt', 'sub/x.txt']);
  assert.deepEqual(collected.skipped, ['blob.bin']);

  const res = await buildGroupMerged(dir, 'web');
  const expected =
    '#web\n' +
    '!38 ar.conf\nrestart-ossec0 - restart-ossec.sh - 0\n' +
    '!31 agent.conf\n<agent_config>\n</agent_config>\n' +
    '!19 rootkit_files.txt\nno trailing newline' +
    '!2 sub/x.txt\nx\n';
  assert.equal(res.path, path.join(dir, 'etc/shared/web/merged.mg'));
  const written = fs.readFileSync(res.path);
  assert.equal(written.toString('utf8'), expected);
  assert.equal(res.changed, true);
  assert.equal(res.md5, md5(written));
  assert.equal(res.md5, md5(expected));
  assert.deepEqual(res.skipped, ['web/blob.bin']);
  assert.equal(await mergedChecksum(dir, ['web']), res.md5);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'etc/shared/web')).filter((n) => n.endsWith('.tmp')), []);
});

test('merged-mg - no ar.conf: the group files come right after the header', async (t) => {
  const { dir, put } = tempHome();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  put('etc/shared/default/agent.conf', '<agent_config/>\n');
  const res = await buildGroupMerged(dir, 'default');
  assert.equal(fs.readFileSync(res.path, 'utf8'), '#default\n!16 agent.conf\n<agent_config/>\n');
});

test('merged-mg - a rebuild that changes nothing writes nothing; a change rewrites', async (t) => {
  const { dir, put } = tempHome();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  put('etc/shared/default/agent.conf', '<agent_config/>\n');
  const first = await buildGroupMerged(dir, 'default');
  const past = new Date(Date.now() - 60_000);
  fs.utimesSync(first.path, past, past);
  const before = fs.statSync(first.path);

  const second = await buildGroupMerged(dir, 'default');
  assert.equal(second.changed, false);
  assert.equal(second.md5, first.md5);
  const after = fs.statSync(first.path);
  assert.equal(after.mtimeMs, before.mtimeMs);
  assert.equal(after.ino, before.ino, 'not replaced');

  put('etc/shared/default/new.txt', 'n\n');
  const third = await buildGroupMerged(dir, 'default');
  assert.equal(third.changed, true);
  assert.notEqual(third.md5, first.md5);
  assert.equal(third.md5, md5(fs.readFileSync(third.path)));
});

test('merged-mg - byte-wise (strcmp) order of full relative paths', async (t) => {
  const { dir, put } = tempHome();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const name of ['a.txt', 'a/b.txt', 'B.txt', 'a-z.txt', 'Z/z.txt', 'ä.txt', '_u.txt']) put(`etc/shared/g/${name}`, name);
  const { files } = await collectGroupFiles(path.join(dir, 'etc/shared/g'));
  // '-'=0x2d < '.'=0x2e < '/'=0x2f; uppercase < '_' < lowercase < multi-byte UTF-8
  assert.deepEqual(files.map((f) => f.name), ['B.txt', 'Z/z.txt', '_u.txt', 'a-z.txt', 'a.txt', 'a/b.txt', 'ä.txt']);
  for (const f of files) assert.equal(f.content.toString('utf8'), f.name);
});

test('merged-mg - a multigroup bundle: header, agent.conf markers, later group wins', async (t) => {
  const { dir, put } = tempHome();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  put('etc/shared/ar.conf', 'ar\n');
  put('etc/shared/a/agent.conf', '<agent_config>A</agent_config>'); // no trailing newline
  put('etc/shared/a/common.txt', 'from a\n');
  put('etc/shared/a/only-a.txt', 'only a\n');
  put('etc/shared/a/sub/x.txt', 'a sub\n');
  put('etc/shared/a/merged.mg', '#a\n');
  put('etc/shared/b/agent.conf', '<agent_config>B</agent_config>\n');
  put('etc/shared/b/common.txt', 'from b\n');
  put('etc/shared/b/sub/x.txt', 'b sub\n');
  put('etc/shared/b/bad.bin', Buffer.from([0]));

  const hash = createHash('sha256').update('a,missing,b').digest('hex').slice(0, 8);
  const res = await buildMultigroupMerged(dir, ['a', 'missing', 'b']);
  assert.equal(res.hash, hash);
  assert.equal(res.path, path.join(dir, 'var/multigroups', hash, 'merged.mg'));
  assert.equal(res.changed, true);
  assert.deepEqual(res.skipped, ['b/bad.bin']);

  const conf =
    '<!-- Source file: a/agent.conf -->\n<agent_config>A</agent_config>\n' +
    '<!-- Source file: b/agent.conf -->\n<agent_config>B</agent_config>\n';
  const expected =
    `#${hash}\n` +
    '!3 ar.conf\nar\n' +
    `!${Buffer.byteLength(conf)} agent.conf\n${conf}` +
    '!7 common.txt\nfrom b\n' +
    '!7 only-a.txt\nonly a\n' +
    '!6 sub/x.txt\nb sub\n';
  const written = fs.readFileSync(res.path);
  assert.equal(written.toString('utf8'), expected);
  assert.equal(res.md5, md5(written));
  assert.equal(await mergedChecksum(dir, ['a', 'missing', 'b']), res.md5);

  // only merged.mg is left in the multigroup folder
  assert.deepEqual(fs.readdirSync(path.dirname(res.path)), ['merged.mg']);
  assert.equal(fs.statSync(path.dirname(res.path)).mode & 0o777 & ~0o770, 0);

  const again = await buildMultigroupMerged(dir, ['a', 'missing', 'b']);
  assert.equal(again.changed, false);
  assert.equal(again.md5, res.md5);

  // order is priority: reversed CSV is another bundle where a's files win
  const rev = await buildMultigroupMerged(dir, ['b', 'a']);
  assert.notEqual(rev.hash, res.hash);
  const revText = fs.readFileSync(rev.path, 'utf8');
  assert.ok(revText.includes('!7 common.txt\nfrom a\n'));
  assert.ok(revText.indexOf('Source file: b/agent.conf') < revText.indexOf('Source file: a/agent.conf'));
});

test('merged-mg - mergedChecksum is null when the bundle was not built', async (t) => {
  const { dir, put } = tempHome();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  put('etc/shared/default/agent.conf', '<agent_config/>\n');
  assert.equal(await mergedChecksum(dir, ['default']), null);
  assert.equal(await mergedChecksum(dir, ['default', 'web']), null);
  assert.equal(await mergedChecksum(dir, []), null);
  const res = await buildGroupMerged(dir, 'default');
  assert.equal(await mergedChecksum(dir, ['default']), res.md5);
});

test('merged-mg - group names that are not a single path component are refused', async (t) => {
  const { dir } = tempHome();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(buildGroupMerged(dir, '../etc'), /invalid group name/);
  await assert.rejects(buildMultigroupMerged(dir, ['a', '..']), /invalid group name/);
});
