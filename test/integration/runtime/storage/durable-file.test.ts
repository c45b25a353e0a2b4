/**
 * The durable file writer on a real folder: content and exact mode, replacement,
 * and failures that leave the target as it was with no temp file behind.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileDurably } from '../../../../runtime/storage/durable-file.js';

function folder(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-durable-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const modeOf = (file: string): number => fs.statSync(file).mode & 0o777;
const tempsIn = (dir: string): string[] => fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));

test('durable file - writes the content with exactly the mode asked, whatever the umask', async (t) => {
  const dir = folder(t);
  const previous = process.umask(0o077);
  t.after(() => process.umask(previous));
  await writeFileDurably(path.join(dir, 'cert.pem'), 'certificate\n', { mode: 0o644 });
  await writeFileDurably(path.join(dir, 'key.pem'), Buffer.from('secret\n'), { mode: 0o600 });
  await writeFileDurably(path.join(dir, 'merged.mg'), 'shared\n', { mode: 0o660 });
  assert.equal(fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'), 'certificate\n');
  assert.equal(fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), 'secret\n');
  assert.equal(modeOf(path.join(dir, 'cert.pem')), 0o644);
  assert.equal(modeOf(path.join(dir, 'key.pem')), 0o600);
  assert.equal(modeOf(path.join(dir, 'merged.mg')), 0o660);
  assert.deepEqual(tempsIn(dir), []);
});

test('durable file - replaces an existing file whole, taking the new mode', async (t) => {
  const dir = folder(t);
  const file = path.join(dir, 'client.keys');
  fs.writeFileSync(file, 'old content that is longer than the new one\n', { mode: 0o644 });
  await writeFileDurably(file, 'new\n', { mode: 0o640 });
  assert.equal(fs.readFileSync(file, 'utf8'), 'new\n');
  assert.equal(modeOf(file), 0o640);
  assert.deepEqual(tempsIn(dir), []);
});

test('durable file - a write that fails leaves the old file intact and no temp file', async (t) => {
  const dir = folder(t);
  const file = path.join(dir, 'client.keys');
  fs.writeFileSync(file, 'old\n', { mode: 0o640 });
  // Not a string or bytes: the temp file is open when writing it fails.
  const bad = 42 as unknown as string;
  await assert.rejects(writeFileDurably(file, bad, { mode: 0o600 }), (err: Error) => err.message.startsWith(`Cannot write ${file}: `));
  assert.equal(fs.readFileSync(file, 'utf8'), 'old\n');
  assert.equal(modeOf(file), 0o640);
  assert.deepEqual(tempsIn(dir), []);
});

test('durable file - a rename that fails leaves the target as it was and no temp file', async (t) => {
  const dir = folder(t);
  // A non-empty folder where the file should go: the rename cannot replace it.
  const target = path.join(dir, 'merged.mg');
  fs.mkdirSync(target);
  fs.writeFileSync(path.join(target, 'inside'), 'kept\n');
  await assert.rejects(writeFileDurably(target, 'new\n', { mode: 0o660 }), /Cannot write/);
  assert.ok(fs.statSync(target).isDirectory());
  assert.equal(fs.readFileSync(path.join(target, 'inside'), 'utf8'), 'kept\n');
  assert.deepEqual(tempsIn(dir), []);
});

test('durable file - a missing folder is an error unless createDir asks for it', async (t) => {
  const dir = folder(t);
  const file = path.join(dir, 'etc', 'client.keys');
  await assert.rejects(writeFileDurably(file, 'x\n', { mode: 0o640 }), /Cannot write .*ENOENT/);
  assert.equal(fs.existsSync(path.join(dir, 'etc')), false);
  await writeFileDurably(file, 'x\n', { mode: 0o640, createDir: true });
  assert.equal(fs.readFileSync(file, 'utf8'), 'x\n');
  assert.deepEqual(tempsIn(path.join(dir, 'etc')), []);
});
