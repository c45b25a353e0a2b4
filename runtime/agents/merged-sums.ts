/**
 * The md5 of the merged.mg an agent with given groups receives, as it is on this
 * node's disk (a worker holds the master's copy through integrity sync). Re-read only
 * when the file's size or mtime changed: keepalives ask for it constantly.
 */
import fs from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { multigroupHash } from '../../protocols/merged-mg.js';

interface Known { readonly mtimeMs: number; readonly size: number; readonly md5: string }

export class MergedSums {
  private readonly known = new Map<string, Known>();

  constructor(private readonly home: string) {}

  /** The file and its md5, or null when there is none (yet). */
  async of(groups: readonly string[]): Promise<{ path: string; md5: string } | null> {
    const file = this.fileOf(groups);
    if (!file) return null;
    let stat;
    try {
      stat = await fs.stat(file);
    } catch {
      return null;
    }
    const seen = this.known.get(file);
    if (seen && seen.mtimeMs === stat.mtimeMs && seen.size === stat.size) return { path: file, md5: seen.md5 };
    const md5 = createHash('md5').update(await fs.readFile(file)).digest('hex');
    this.known.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, md5 });
    return { path: file, md5 };
  }

  private fileOf(groups: readonly string[]): string | null {
    const only = groups[0];
    if (only === undefined) return null;
    return groups.length === 1
      ? path.join(this.home, 'etc', 'shared', only, 'merged.mg')
      : path.join(this.home, 'var', 'multigroups', multigroupHash(groups.join(',')), 'merged.mg');
  }
}
