/**
 * The manifest scanner on real files: what it includes, and its stat cache (a file
 * whose size and mtime did not change is not read again).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManifestScanner } from '../../../../runtime/storage/manifest.js';

function home(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-manifest-'));
  const put = (rel: string, content: string): void => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  };
  put('etc/client.keys', '001 a any k\n');
  put('etc/ossec.conf', '<ossec_config/>\n');
  put('etc/internal_options.conf', 'x\n');
  put('etc/shared/default/agent.conf', '<agent_config/>\n');
  put('etc/shared/default/ar.conf', 'local\n');
  put('etc/shared/default/notes.swp', 'editor\n');
  put('etc/shared/web/sub/deep.txt', 'deep\n');
  put('var/multigroups/abc12345/merged.mg', '#web\n');
  put('var/multigroups/abc12345/other.txt', 'not synced\n');
  put('etc/rules/local_rules.xml', '<group/>\n');
  put('queue/db/global.db', 'not synced\n');
  return dir;
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

test('manifest - holds exactly the synced set, with md5 and size', async () => {
  const dir = home();
  const scanner = new ManifestScanner(dir);
  try {
    const { manifest, hashed, reused } = await scanner.scan();
    assert.deepEqual([...manifest.keys()], [
      'etc/client.keys', 'etc/rules/local_rules.xml', 'etc/shared/default/agent.conf', 'etc/shared/web/sub/deep.txt',
      'var/multigroups/abc12345/merged.mg',
    ]);
    assert.equal(manifest.get('etc/client.keys')?.md5, md5('001 a any k\n'));
    assert.equal(manifest.get('etc/client.keys')?.size, 12);
    assert.equal(hashed, 5);
    assert.equal(reused, 0);
  } finally {
    await scanner.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('manifest - the stat cache: unchanged files are not re-read; changed size or mtime are', async () => {
  const dir = home();
  const scanner = new ManifestScanner(dir);
  try {
    const first = await scanner.scan();
    const again = await scanner.scan();
    assert.equal(again.hashed, 0);
    assert.equal(again.reused, 5);
    assert.equal(again.manifest, first.manifest, 'an unchanged scan hands back the same manifest');
    fs.writeFileSync(path.join(dir, 'etc/rules/local_rules.xml'), '<group name="changed"/>\n');
    const future = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(dir, 'etc/client.keys'), future, future);
    fs.rmSync(path.join(dir, 'etc/shared/web'), { recursive: true });
    const third = await scanner.scan();
    assert.equal(third.hashed, 2);
    assert.equal(third.reused, 2);
    assert.equal(third.manifest.get('etc/rules/local_rules.xml')?.md5, md5('<group name="changed"/>\n'));
    assert.equal(third.manifest.get('etc/client.keys')?.md5, md5('001 a any k\n'), 'touched, same content, same hash');
    assert.equal(third.manifest.has('etc/shared/web/sub/deep.txt'), false);
  } finally {
    await scanner.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('manifest - missing folders are an empty set, not an error', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-manifest-'));
  const scanner = new ManifestScanner(dir);
  try {
    assert.equal((await scanner.scan()).manifest.size, 0);
  } finally {
    await scanner.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('manifest - files a sync reported (seeded) are listed by the next scan without being read', async () => {
  const dir = home();
  const scanner = new ManifestScanner(dir);
  try {
    await scanner.scan();
    const rel = 'etc/shared/web/synced.conf';
    fs.writeFileSync(path.join(dir, rel), 'from the master\n');
    const st = fs.statSync(path.join(dir, rel));
    scanner.seed([{ path: rel, md5: md5('from the master\n'), size: st.size, mtimeMs: st.mtimeMs }], []);
    const after = await scanner.scan();
    assert.equal(after.manifest.get(rel)?.md5, md5('from the master\n'));
    assert.equal(after.manifest.size, 6);
    assert.equal(after.hashed, 0, 'the seeded file was read again');
  } finally {
    await scanner.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
