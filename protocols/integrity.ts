/**
 * Integrity sync, the pure part: manifest digests, classifying a worker's files
 * against the master's, cutting a sync to its size limits, and checking every path
 * a peer names. No I/O here.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { SYNCED_SET, itemAccepts, type SyncedItem } from './synced-set.js';

const RelPath = z.string().min(1).max(4096);
export const ManifestEntrySchema = z.strictObject({
  path: RelPath,
  md5: z.string().regex(/^[0-9a-f]{32}$/),
  size: z.number().int().nonnegative(),
});
export type ManifestEntry = z.infer<typeof ManifestEntrySchema>;

/** What a manifest holds per file; mtime stays local (a cache key, never compared across nodes). */
export interface FileDigest {
  readonly md5: string;
  readonly size: number;
}

export type ManifestView = ReadonlyMap<string, FileDigest>;

/** One hash over the whole manifest: equal digests mean identical trees. */
export function manifestDigest(manifest: ManifestView): string {
  const h = createHash('sha256');
  for (const p of [...manifest.keys()].sort()) {
    const e = manifest.get(p) as FileDigest;
    h.update(`${p}\0${e.md5}\0${e.size}\n`);
  }
  return h.digest('hex');
}

export function toEntries(manifest: ManifestView): ManifestEntry[] {
  return [...manifest].map(([p, e]) => ({ path: p, md5: e.md5, size: e.size }));
}

export function fromEntries(entries: readonly ManifestEntry[]): Map<string, FileDigest> {
  return new Map(entries.map((e) => [e.path, { md5: e.md5, size: e.size }]));
}

export interface Classification {
  /** On the master, not on the worker. */
  readonly missing: ManifestEntry[];
  /** On both, with different content. */
  readonly shared: ManifestEntry[];
  /** On the worker only: to delete there. */
  readonly extra: string[];
}

export function classify(master: ManifestView, worker: ManifestView): Classification {
  const missing: ManifestEntry[] = [];
  const shared: ManifestEntry[] = [];
  const extra: string[] = [];
  for (const [p, m] of master) {
    const w = worker.get(p);
    // Only what crosses the wire: manifests may carry local fields such as mtime.
    if (!w) missing.push({ path: p, md5: m.md5, size: m.size });
    else if (w.md5 !== m.md5 || w.size !== m.size) shared.push({ path: p, md5: m.md5, size: m.size });
  }
  for (const p of worker.keys()) if (!master.has(p)) extra.push(p);
  return { missing, shared, extra };
}

export interface SyncPlan {
  readonly create: ManifestEntry[];
  readonly update: ManifestEntry[];
  readonly delete: string[];
  /** Left for the next sync, which the worker starts at once. */
  readonly deferred: number;
  /** Bigger than the per-file limit: never sent, warned about at every check. */
  readonly tooLarge: string[];
  readonly bytes: number;
}

/**
 * Cuts a classification to the limits: files above `maxFileBytes` are refused; the
 * others go in order until `maxSyncBytes` is reached, but a sync always takes at
 * least one file, so a big file is sent alone rather than never. Deletions always go.
 */
export function planSync(c: Classification, maxFileBytes: number, maxSyncBytes: number): SyncPlan {
  const create: ManifestEntry[] = [];
  const update: ManifestEntry[] = [];
  const tooLarge: string[] = [];
  let bytes = 0;
  let deferred = 0;
  const take = (e: ManifestEntry, into: ManifestEntry[]): void => {
    if (e.size > maxFileBytes) tooLarge.push(e.path);
    else if (bytes > 0 && bytes + e.size > maxSyncBytes) deferred++;
    else {
      into.push(e);
      bytes += e.size;
    }
  };
  for (const e of c.missing) take(e, create);
  for (const e of c.shared) take(e, update);
  return { create, update, delete: [...c.extra], deferred, tooLarge, bytes };
}

export const planIsEmpty = (p: SyncPlan): boolean => p.create.length + p.update.length + p.delete.length === 0;

/** The synced item a relative path belongs to (the deepest matching folder). */
export function itemOf(rel: string, items: readonly SyncedItem[] = SYNCED_SET): SyncedItem | undefined {
  let best: SyncedItem | undefined;
  for (const item of items) {
    if (!rel.startsWith(`${item.dir}/`)) continue;
    const rest = rel.slice(item.dir.length + 1);
    if (!item.recursive && rest.includes('/')) continue;
    if (!best || item.dir.length > best.dir.length) best = item;
  }
  return best;
}

export type PathVerdict = { readonly ok: true; readonly item: SyncedItem } | { readonly ok: false; readonly reason: string };

/**
 * A path a peer names must be a clean relative path inside one synced item, with a
 * name that item accepts. (Symlinks on disk are checked where the files are written.)
 */
export function checkSyncPath(rel: string, items: readonly SyncedItem[] = SYNCED_SET): PathVerdict {
  if (rel.includes('\0')) return { ok: false, reason: 'contains a NUL byte' };
  if (rel.includes('\\')) return { ok: false, reason: 'contains a backslash' };
  if (path.posix.isAbsolute(rel)) return { ok: false, reason: 'is absolute' };
  if (rel.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    return { ok: false, reason: 'is not a normalised relative path (.., . or empty part)' };
  }
  const item = itemOf(rel, items);
  if (!item) return { ok: false, reason: 'is outside the synced folders' };
  if (!itemAccepts(item, path.posix.basename(rel))) return { ok: false, reason: `is not a file ${item.dir}/ syncs` };
  return { ok: true, item };
}
