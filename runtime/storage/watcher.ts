/**
 * Watches the synced folders and calls `onChange` shortly after files change, so an
 * edit on the master is announced within milliseconds. Watches can miss events; the
 * scanner's periodic full walk repairs that.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { isExcluded, type SyncedItem } from '../../protocols/synced-set.js';

export interface SyncedSetWatcher {
  /** Ignores everything until resume(): a worker's own sync writes thousands of files it reports itself. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export interface WatchOptions {
  /** Quiet time before reporting, so a burst of writes is one change. */
  readonly debounceMs: number;
  readonly onError: (err: Error) => void;
}

/** `onChange` gets the paths (relative to home, '/'-separated) that changed during the quiet time. */
export async function watchSyncedSet(home: string, items: readonly SyncedItem[], onChange: (paths: readonly string[]) => void, opts: WatchOptions): Promise<SyncedSetWatcher> {
  let timer: NodeJS.Timeout | undefined;
  let pending = new Set<string>();
  const report = (): void => {
    const paths = [...pending];
    pending = new Set();
    onChange(paths);
  };
  const changed = (p: string): void => {
    pending.add(path.relative(home, p).split(path.sep).join('/'));
    clearTimeout(timer);
    timer = setTimeout(report, opts.debounceMs);
  };
  const watchers: FSWatcher[] = [];
  const ready: Promise<void>[] = [];
  let paused = false;
  for (const item of items) {
    const dir = path.join(home, item.dir);
    await fs.mkdir(dir, { recursive: true });
    // Temp and editor files (excluded names) are not even stat'ed: a sync writes thousands.
    // Folders created while paused stay unwatched; the periodic full walk covers them.
    const ignored = (p: string): boolean => paused || isExcluded(path.basename(p));
    const w = watch(dir, { ignoreInitial: true, ignored, ...(item.recursive ? {} : { depth: 0 }) });
    // Listen at once: 'ready' can fire while later folders are still being created.
    ready.push(new Promise<void>((resolve) => w.once('ready', () => resolve())));
    for (const ev of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) w.on(ev, changed);
    w.on('error', (err) => opts.onError(err instanceof Error ? err : new Error(String(err))));
    watchers.push(w);
  }
  await Promise.all(ready);
  return {
    pause: () => { paused = true; },
    resume: () => { paused = false; },
    async close() {
      clearTimeout(timer);
      await Promise.all(watchers.map((w) => w.close()));
    },
  };
}
