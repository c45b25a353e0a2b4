/**
 * Watches the synced folders and calls `onChange` shortly after files change, so an
 * edit on the master is announced within milliseconds. Watches can miss events; the
 * scanner's periodic full walk repairs that.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { isExcluded, type SyncedItem } from './synced-set.js';

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

export async function watchSyncedSet(home: string, items: readonly SyncedItem[], onChange: () => void, opts: WatchOptions): Promise<SyncedSetWatcher> {
  let timer: NodeJS.Timeout | undefined;
  const changed = (): void => {
    clearTimeout(timer);
    timer = setTimeout(onChange, opts.debounceMs);
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
