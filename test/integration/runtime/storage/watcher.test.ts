/**
 * The synced-set watcher on real folders: it becomes ready on a fresh home (it once
 * missed 'ready' events and hung the node's start), folds a burst of writes into one
 * change, and ignores temp files.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { watchSyncedSet } from '../../../../runtime/storage/watcher.js';
import { SYNCED_SET } from '../../../../protocols/synced-set.js';

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('watcher - ready on a fresh home, one change per burst, temp files ignored', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-watch-'));
  let changes = 0;
  const ready = watchSyncedSet(home, SYNCED_SET, () => { changes++; }, { debounceMs: 50, onError: (e) => assert.fail(e) });
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('watcher never became ready')), 10_000));
  const watcher = await Promise.race([ready, timeout]);
  try {
    for (const item of SYNCED_SET) assert.ok(fs.statSync(path.join(home, item.dir)).isDirectory(), `${item.dir} created`);
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(home, 'etc/rules', `r${i}.xml`), `<group name="r${i}"/>`);
    for (let i = 0; i < 100 && changes === 0; i++) await wait(20);
    await wait(300);
    assert.equal(changes, 1, 'a burst of writes is one change');
    fs.writeFileSync(path.join(home, 'etc/rules', '.r1.xml.0123456789abcdef.tmp'), 'partial');
    await wait(400);
    assert.equal(changes, 1, 'a temp file is no change');
  } finally {
    await watcher.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
});
