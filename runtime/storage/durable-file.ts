/**
 * The one way a whole file is replaced: the new content goes to a temp file beside
 * the target, is fsynced, renamed over the target, and the folder is fsynced, so
 * after a crash the target holds either the old content or the new, never a mix,
 * and a completed write survives a power cut. On any failure the temp file is
 * removed and the target is left as it was.
 *
 * The temp name (`.<name>.<12 hex>.tmp`) is hidden, ends in `.tmp` so the synced
 * set never carries it, and deliberately does not look like a sync's own temp
 * files (16 hex), so the sync applier's sweep of stale temps never takes one a
 * writer is still using.
 *
 * Not for the sync applier's batch (many temps flushed at once, then renamed):
 * that flow is its own.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface DurableWriteOptions {
  /** The file's mode, applied exactly (the umask does not narrow it). */
  readonly mode: number;
  /** Create the target's folder (and its parents) first when missing. Default false. */
  readonly createDir?: boolean;
}

const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Replaces `file` with `content` (strings as UTF-8), atomically and durably; see the module comment. */
export async function writeFileDurably(file: string, content: string | Uint8Array, opts: DurableWriteOptions): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    if (opts.createDir) await fs.mkdir(dir, { recursive: true });
    const handle = await fs.open(temp, 'wx', opts.mode);
    try {
      await handle.chmod(opts.mode); // open() applied the umask
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
    renamed = true;
    await syncDir(dir);
  } catch (err) {
    if (!renamed) await fs.rm(temp, { force: true }).catch(() => undefined);
    throw new Error(`Cannot write ${file}: ${errText(err)}`, { cause: err });
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await fs.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
