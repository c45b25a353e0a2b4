/**
 * Lists the files of the synced set on disk (relative paths, sorted), with the
 * item rules applied. Synchronous: it runs in the scan thread, and in tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SYNCED_SET, itemAccepts, type SyncedItem } from '../../protocols/synced-set.js';

export function listSyncedFiles(home: string, items: readonly SyncedItem[] = SYNCED_SET): string[] {
  const out: string[] = [];
  for (const item of items) {
    const walk = (rel: string): void => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(path.join(home, rel), { withFileTypes: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        const child = `${rel}/${e.name}`;
        if (e.isDirectory()) {
          if (item.recursive) walk(child);
        } else if (e.isFile() && itemAccepts(item, e.name)) {
          out.push(child);
        }
      }
    };
    walk(item.dir);
  }
  return out.sort();
}
