/**
 * The manifest of the synced set: relative path → md5, size, mtime. A file whose
 * size and mtime did not change keeps its previous hash and is not read again.
 * Hashing streams the file, so big files never block the event loop.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SYNCED_SET, itemAccepts, type SyncedItem } from './synced-set.js';

export interface FileEntry {
  readonly md5: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export type Manifest = ReadonlyMap<string, FileEntry>;

export interface ScanResult {
  readonly manifest: Manifest;
  readonly hashed: number;
  readonly reused: number;
}

const HASH_CONCURRENCY = 8;

export function md5File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('md5');
    createReadStream(file).on('error', reject).on('data', (c) => h.update(c)).on('end', () => resolve(h.digest('hex')));
  });
}

async function listItem(home: string, item: SyncedItem): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(path.join(home, rel), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (item.recursive) await walk(child);
      } else if (e.isFile() && itemAccepts(item, e.name)) {
        out.push(child);
      }
    }
  };
  await walk(item.dir);
  return out;
}

export async function scanSyncedSet(home: string, previous: Manifest | null, items: readonly SyncedItem[] = SYNCED_SET): Promise<ScanResult> {
  const files = (await Promise.all(items.map((i) => listItem(home, i)))).flat().sort();
  const manifest = new Map<string, FileEntry>();
  let hashed = 0;
  let reused = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const rel = files[next++] as string;
      const abs = path.join(home, rel);
      try {
        const st = await fs.stat(abs);
        const old = previous?.get(rel);
        if (old && old.size === st.size && old.mtimeMs === st.mtimeMs) {
          manifest.set(rel, old);
          reused++;
        } else {
          manifest.set(rel, { md5: await md5File(abs), size: st.size, mtimeMs: st.mtimeMs });
          hashed++;
        }
      } catch (err) {
        // Deleted between listing and hashing: the next scan sees the final state.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: HASH_CONCURRENCY }, worker));
  return { manifest: new Map([...manifest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), hashed, reused };
}
