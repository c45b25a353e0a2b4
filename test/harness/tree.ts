/**
 * Reads a node's synced tree for assertions: relative path → md5, and leftover
 * temp files.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { listSyncedFiles } from '../../runtime/storage/list-synced.js';

export function syncedTree(home: string): Map<string, string> {
  return new Map(listSyncedFiles(home).map((rel) => [rel, createHash('md5').update(fs.readFileSync(path.join(home, rel))).digest('hex')]));
}

/** Temp files a sync writes before renaming (`.<name>.<syncId>.tmp`). */
export function tempFiles(home: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/^\..+\.[0-9a-f]{16}\.tmp$/.test(e.name)) found.push(path.relative(home, p));
    }
  };
  for (const d of ['etc', 'var']) walk(path.join(home, d));
  return found;
}

export function sameTree(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

export function writeFile(home: string, rel: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(path.join(home, rel)), { recursive: true });
  fs.writeFileSync(path.join(home, rel), content);
}
