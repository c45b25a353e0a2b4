/**
 * The worker's side of a sync: checks the whole plan before touching the disk,
 * writes each incoming file to a temp file beside its target, and only once every
 * file arrived intact flushes them in one batch and renames them into place. A
 * failed or aborted sync leaves the tree as it was.
 */
import { spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import fsSync from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { SYNC_CHUNK_BYTES, type ClusterBody } from '../../protocols/cluster-messages.js';
import { checkSyncPath } from '../../protocols/integrity.js';
import { SYNCED_SET, isExcluded, itemAccepts, type SyncedItem } from '../../protocols/synced-set.js';

const inflateRaw = promisify(zlib.inflateRaw);

type Plan = ClusterBody<'integrity-plan'>;
type Chunk = ClusterBody<'sync-data'>;

/** Temp files open at once: the sender streams one file at a time, so this only bounds odd senders. */
const MAX_OPEN_FILES = 4;
/** Parallel file-system calls in the batched phases (checks, flush, renames). */
const IO_CONCURRENCY = 64;
const DIR_MODE = 0o770;
/** Created private: the item's mode is applied only once the content is complete. */
const TEMP_MODE = 0o600;
const TEMP_PATTERN = /^\.(.+)\.[0-9a-f]{16}\.tmp$/;
/**
 * Files that arrive whole in one chunk up to this size are written with synchronous
 * calls: a few microseconds each instead of a thread-pool round trip per call, which
 * is what thousands of small files cost. Work yields to the event loop every few ms.
 */
const SMALL_FILE_BYTES = 64 * 1024;
const SYNC_SLICE_MS = 8;

export interface WrittenFile { path: string; md5: string; size: number; mtimeMs: number }

export interface ApplyResult {
  created: number;
  updated: number;
  deleted: number;
  written: WrittenFile[];
  removed: string[];
  removedDirs: string[];
  skipped: string[];
  rulesetChanged: string[];
  receivedBytes: number;
}

export class SyncRefusedError extends Error {
  constructor(readonly path: string, readonly reason: string) {
    super(`refused path '${path}': ${reason}`);
    this.name = 'SyncRefusedError';
  }
}

export interface SyncApplierOptions {
  items?: readonly SyncedItem[];
  maxFileBytes: number;
}

export const tempNameFor = (rel: string, syncId: string): string =>
  path.posix.join(path.posix.dirname(rel), `.${path.posix.basename(rel)}.${syncId}.tmp`);

type Kind = 'create' | 'update' | 'delete';

interface Target {
  readonly rel: string;
  readonly item: SyncedItem;
  readonly kind: Kind;
}

/** One create/update file on its way in. */
interface Incoming {
  readonly rel: string;
  readonly item: SyncedItem;
  readonly kind: 'create' | 'update';
  readonly abs: string;
  readonly temp: string;
  /** Raw bytes announced by accepted chunks (sequencing, checked on arrival). */
  announced: number;
  /** The last chunk was accepted: nothing more may come for this file. */
  ended: boolean;
  /** Raw bytes written to the temp file. */
  written: number;
  readonly hash: Hash;
  tempExists: boolean;
  /** The item's permissions are already on the temp file. */
  modeSet: boolean;
  /** The temp file's mtime once complete: a rename keeps it. */
  mtimeMs: number;
  outcome: 'pending' | 'complete' | 'skipped';
  md5: string;
}

const errMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const errCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

/** Runs fn over items with at most `limit` in flight; stops taking new items after the first failure. */
async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const lane = async (): Promise<void> => {
    while (errors.length === 0 && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (errors.length > 0) throw errors[0];
}

async function unlinkIfPresent(file: string): Promise<boolean> {
  try {
    await fs.unlink(file);
    return true;
  } catch (err) {
    if (errCode(err) === 'ENOENT') return false;
    throw err;
  }
}

async function fsyncPath(p: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await fs.open(p, 'r');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return;
    throw err;
  }
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/** Up to this many files, an fsync each costs less than starting `sync -f`. */
const FSYNC_EACH_UP_TO = 32;

/** Flushes the file system holding `dir` (syncfs); false when that could not be done. */
function syncFilesystem(dir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('sync', ['-f', dir], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

function inflateChunkSync(body: Chunk): Buffer {
  if (body.data.byteLength === 0 && body.rawSize === 0) return Buffer.alloc(0);
  try {
    return zlib.inflateRawSync(body.data, { maxOutputLength: SYNC_CHUNK_BYTES });
  } catch (err) {
    if (errCode(err) === 'ERR_BUFFER_TOO_LARGE') throw new Error(`chunk at offset ${body.offset} inflates beyond ${SYNC_CHUNK_BYTES} bytes`);
    throw new Error(`chunk at offset ${body.offset} is not valid deflate data: ${errMessage(err)}`);
  }
}

/** Inflates one chunk, never beyond SYNC_CHUNK_BYTES whatever the data claims. */
async function inflateChunk(body: Chunk): Promise<Buffer> {
  if (body.data.byteLength === 0 && body.rawSize === 0) return Buffer.alloc(0);
  try {
    return await inflateRaw(body.data, { maxOutputLength: SYNC_CHUNK_BYTES });
  } catch (err) {
    if (errCode(err) === 'ERR_BUFFER_TOO_LARGE') throw new Error(`chunk at offset ${body.offset} inflates beyond ${SYNC_CHUNK_BYTES} bytes`);
    throw new Error(`chunk at offset ${body.offset} is not valid deflate data: ${errMessage(err)}`);
  }
}

// ---- validation (begin) ----

function planTargets(plan: Plan, items: readonly SyncedItem[], maxFileBytes: number): Target[] {
  const seen = new Set<string>();
  const targets: Target[] = [];
  const add = (rel: string, kind: Kind, size?: number): void => {
    const verdict = checkSyncPath(rel, items);
    if (!verdict.ok) throw new SyncRefusedError(rel, verdict.reason);
    if (seen.has(rel)) throw new SyncRefusedError(rel, 'is listed more than once in the plan');
    if (size !== undefined && size > maxFileBytes) throw new SyncRefusedError(rel, `is ${size} bytes, above the ${maxFileBytes}-byte limit`);
    seen.add(rel);
    targets.push({ rel, item: verdict.item, kind });
  };
  for (const e of plan.create) add(e.path, 'create', e.size);
  for (const e of plan.update) add(e.path, 'update', e.size);
  for (const rel of plan.delete) add(rel, 'delete');
  return targets;
}

type DiskKind = 'missing' | 'dir' | 'symlink' | 'other' | 'blocked';

async function diskKind(abs: string): Promise<DiskKind> {
  try {
    const st = await fs.lstat(abs);
    if (st.isSymbolicLink()) return 'symlink';
    return st.isDirectory() ? 'dir' : 'other';
  } catch (err) {
    if (errCode(err) === 'ENOENT') return 'missing';
    if (errCode(err) === 'ENOTDIR') return 'blocked';
    throw err;
  }
}

/** Why a target may not be written or deleted on this disk, or null when it may. */
async function diskProblem(home: string, t: Target, kinds: Map<string, Promise<DiskKind>>): Promise<string | null> {
  const parts = t.rel.slice(t.item.dir.length + 1).split('/');
  let rel = t.item.dir;
  for (const part of parts.slice(0, -1)) {
    rel = `${rel}/${part}`;
    let kind = kinds.get(rel);
    if (!kind) kinds.set(rel, (kind = diskKind(path.join(home, rel))));
    const k = await kind;
    if (k === 'missing') return null; // nothing below exists yet: the folders will be created
    if (k === 'symlink') return `its parent '${rel}' is a symbolic link`;
    if (k !== 'dir') return `its parent '${rel}' is not a folder`;
  }
  const k = await diskKind(path.join(home, t.rel));
  if (k === 'dir') return 'is a folder on this node';
  if (k === 'blocked') return 'has a parent that is not a folder';
  return null;
}

async function checkOnDisk(home: string, targets: readonly Target[]): Promise<void> {
  const kinds = new Map<string, Promise<DiskKind>>();
  const problems = new Array<string | null>(targets.length).fill(null);
  const indexed = targets.map((t, i) => ({ t, i }));
  await eachLimit(indexed, IO_CONCURRENCY, async ({ t, i }) => {
    problems[i] = await diskProblem(home, t, kinds);
  });
  // Report the first refused path in plan order, whatever finished first.
  const first = problems.findIndex((p) => p !== null);
  if (first >= 0) throw new SyncRefusedError((targets[first] as Target).rel, problems[first] as string);
}

// ---- the applier ----

export class SyncApplier {
  private readonly files = new Map<string, Incoming>();
  private readonly deletes: Target[];
  /** Open temp files, least recently used first. */
  private readonly handles = new Map<Incoming, FileHandle>();
  /** Folders this sync created: removed again (when empty) if the sync fails. */
  private readonly createdDirs = new Set<string>();
  private readonly knownDirs = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private accepting = true;
  private finishing: Promise<ApplyResult> | null = null;
  private queued = 0;
  private received = 0;
  private lastYield = performance.now();

  private constructor(private readonly home: string, private readonly plan: Plan, private readonly opts: SyncApplierOptions, targets: readonly Target[]) {
    this.deletes = targets.filter((t) => t.kind === 'delete');
    for (const t of targets) {
      if (t.kind === 'delete') continue;
      this.files.set(t.rel, {
        rel: t.rel, item: t.item, kind: t.kind, abs: path.join(home, t.rel), temp: path.join(home, tempNameFor(t.rel, plan.syncId)),
        announced: 0, ended: false, written: 0, hash: createHash('md5'), tempExists: false, modeSet: false, mtimeMs: 0, outcome: 'pending', md5: '',
      });
    }
  }

  /** Checks the whole plan against the rules and the disk; throws SyncRefusedError having written nothing. */
  static async begin(home: string, plan: Plan, opts: SyncApplierOptions): Promise<SyncApplier> {
    const root = path.resolve(home);
    const targets = planTargets(plan, opts.items ?? SYNCED_SET, opts.maxFileBytes);
    await checkOnDisk(root, targets);
    return new SyncApplier(root, plan, opts, targets);
  }

  get queuedBytes(): number {
    return this.queued;
  }

  get receivedBytes(): number {
    return this.received;
  }

  /** Resolves once the work queued so far is done, for callers that watch the queue drain. Never rejects. */
  idle(): Promise<void> {
    return this.settle();
  }

  /** Queues one chunk. Chunks after finish(), abort() or a bad chunk are dropped. */
  chunk(body: Chunk): void {
    if (!this.accepting) return;
    const problem = this.admit(body);
    if (problem) {
      // Reported in arrival order: a chunk queued before this one may prove bad first.
      this.accepting = false;
      this.chain = this.chain.then(() => this.fail(body.path, problem));
      return;
    }
    const size = body.data.byteLength;
    this.queued += size;
    this.chain = this.chain
      .then(() => this.apply(body))
      .catch((err: unknown) => this.fail(body.path, errMessage(err)))
      .finally(() => { this.queued -= size; });
  }

  finish(): Promise<ApplyResult> {
    this.finishing ??= this.runFinish();
    return this.finishing;
  }

  async abort(reason: string): Promise<void> {
    this.accepting = false;
    this.failure ??= new Error(`sync ${this.plan.syncId} aborted: ${reason}`);
    // A finish in progress sees the failure before renaming anything and cleans up itself.
    if (this.finishing) {
      await this.finishing.catch(() => undefined);
      return;
    }
    await this.settle();
    await this.cleanup();
  }

  /** Sequencing checks, on arrival: cheap, and a bad chunk is never queued. */
  private admit(body: Chunk): string | null {
    if (body.syncId !== this.plan.syncId) return `chunk belongs to sync ${body.syncId}, not ${this.plan.syncId}`;
    const f = this.files.get(body.path);
    if (!f) return 'chunk for a path the plan does not create or update';
    if (f.ended) return `chunk at offset ${body.offset} after the file's last chunk`;
    if (body.offset !== f.announced) return `chunk at offset ${body.offset}, expected ${f.announced} (out of order)`;
    if (body.gone) {
      if (!body.last) return 'gone on a chunk that is not the last';
    } else {
      if (body.rawSize > SYNC_CHUNK_BYTES) return `chunk of ${body.rawSize} bytes, above ${SYNC_CHUNK_BYTES}`;
      if (f.announced + body.rawSize > this.opts.maxFileBytes) return `file exceeds the ${this.opts.maxFileBytes}-byte limit`;
      if (body.last && !body.md5) return 'last chunk without an md5';
      f.announced += body.rawSize;
    }
    f.ended = body.last;
    return null;
  }

  private async apply(body: Chunk): Promise<void> {
    if (this.failure) return;
    const f = this.files.get(body.path) as Incoming;
    if (body.gone) return this.dropGone(f);
    if (body.offset === 0 && body.last && body.rawSize <= SMALL_FILE_BYTES) return this.writeWhole(f, body);
    const raw = await inflateChunk(body);
    if (raw.length !== body.rawSize) throw new Error(`chunk at offset ${body.offset} inflates to ${raw.length} bytes, declared ${body.rawSize}`);
    const fh = await this.handleFor(f);
    if (raw.length > 0) await writeAll(fh, raw, f.written);
    f.hash.update(raw);
    f.written += raw.length;
    this.received += raw.length;
    if (body.last) await this.complete(f, body.md5 as string);
  }

  /** A small file in one chunk: inflate, write, set its mode and close, without leaving this call. */
  private async writeWhole(f: Incoming, body: Chunk): Promise<void> {
    const raw = inflateChunkSync(body);
    if (raw.length !== body.rawSize) throw new Error(`chunk at offset 0 inflates to ${raw.length} bytes, declared ${body.rawSize}`);
    this.ensureDirSync(path.dirname(f.abs));
    const fd = this.createTempSync(f);
    try {
      for (let done = 0; done < raw.length;) done += fsSync.writeSync(fd, raw, done, raw.length - done, done);
      fsSync.fchmodSync(fd, f.item.permissions);
      f.modeSet = true;
      f.mtimeMs = fsSync.fstatSync(fd).mtimeMs;
    } finally {
      fsSync.closeSync(fd);
    }
    f.hash.update(raw);
    f.written = raw.length;
    this.received += raw.length;
    const got = f.hash.digest('hex');
    if (got !== body.md5) throw new Error(`md5 mismatch: received content hashes to ${got}, sender says ${body.md5 ?? '?'}`);
    f.md5 = got;
    f.outcome = 'complete';
    await this.breathe();
  }

  /** Gives the event loop a turn once synchronous work has held it for a slice. */
  private async breathe(): Promise<void> {
    if (performance.now() - this.lastYield < SYNC_SLICE_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.lastYield = performance.now();
  }

  private createTempSync(f: Incoming): number {
    try {
      // O_EXCL: never write through whatever (even a symlink) sits at the temp name.
      const fd = fsSync.openSync(f.temp, 'wx', TEMP_MODE);
      f.tempExists = true;
      return fd;
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    fsSync.unlinkSync(f.temp);
    const fd = fsSync.openSync(f.temp, 'wx', TEMP_MODE);
    f.tempExists = true;
    return fd;
  }

  private ensureDirSync(dir: string): void {
    if (this.knownDirs.has(dir)) return;
    const first = fsSync.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    if (first) for (let d = dir; d.length >= first.length; d = path.dirname(d)) this.createdDirs.add(d);
    this.knownDirs.add(dir);
  }

  private async complete(f: Incoming, md5: string): Promise<void> {
    const got = f.hash.digest('hex');
    if (got !== md5) throw new Error(`md5 mismatch: received content hashes to ${got}, sender says ${md5}`);
    const fh = this.handles.get(f);
    if (fh) f.mtimeMs = (await fh.stat()).mtimeMs;
    await this.closeHandle(f);
    f.md5 = got;
    f.outcome = 'complete';
  }

  private async dropGone(f: Incoming): Promise<void> {
    await this.closeHandle(f);
    if (f.tempExists) await unlinkIfPresent(f.temp);
    f.tempExists = false;
    f.outcome = 'skipped';
  }

  private async handleFor(f: Incoming): Promise<FileHandle> {
    const open = this.handles.get(f);
    if (open) {
      this.handles.delete(f);
      this.handles.set(f, open);
      return open;
    }
    const oldest = this.handles.size >= MAX_OPEN_FILES ? this.handles.keys().next().value : undefined;
    if (oldest) await this.closeHandle(oldest);
    const fh = f.tempExists ? await fs.open(f.temp, 'r+') : await this.createTemp(f);
    this.handles.set(f, fh);
    return fh;
  }

  private async createTemp(f: Incoming): Promise<FileHandle> {
    await this.ensureDir(path.dirname(f.abs));
    try {
      // O_EXCL: never write through whatever (even a symlink) sits at the temp name.
      const fh = await fs.open(f.temp, 'wx', TEMP_MODE);
      f.tempExists = true;
      return fh;
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    await fs.unlink(f.temp);
    const fh = await fs.open(f.temp, 'wx', TEMP_MODE);
    f.tempExists = true;
    return fh;
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    const first = await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
    if (first) for (let d = dir; d.length >= first.length; d = path.dirname(d)) this.createdDirs.add(d);
    this.knownDirs.add(dir);
  }

  private async closeHandle(f: Incoming): Promise<void> {
    const fh = this.handles.get(f);
    if (!fh) return;
    this.handles.delete(f);
    await fh.close();
  }

  private fail(rel: string, problem: string): void {
    this.failure ??= new Error(`sync ${this.plan.syncId}: '${rel}': ${problem}`);
    this.accepting = false;
    // Frees descriptors and disk at once; finish()/abort() repeat it harmlessly.
    this.chain = this.chain.then(() => this.cleanup()).catch(() => undefined);
  }

  /** Waits until the chain stops growing. */
  private async settle(): Promise<void> {
    for (let tail = this.chain; ; tail = this.chain) {
      await tail;
      if (tail === this.chain) return;
    }
  }

  /** Closes and removes every temp file of this sync and the folders it created (if empty). */
  private async cleanup(): Promise<void> {
    for (const f of [...this.handles.keys()]) await this.closeHandle(f).catch(() => undefined);
    await eachLimit([...this.files.values()], IO_CONCURRENCY, async (f) => {
      if (!f.tempExists) return;
      await unlinkIfPresent(f.temp).catch(() => undefined);
      f.tempExists = false;
    });
    await this.removeCreatedDirsIfEmpty();
  }

  private async removeCreatedDirsIfEmpty(): Promise<void> {
    const deepestFirst = [...this.createdDirs].sort((a, b) => b.length - a.length);
    for (const dir of deepestFirst) {
      try {
        await fs.rmdir(dir);
        this.createdDirs.delete(dir);
        this.knownDirs.delete(dir);
      } catch {
        // not empty (kept by design) or already gone
      }
    }
  }

  private async runFinish(): Promise<ApplyResult> {
    this.accepting = false;
    await this.settle();
    try {
      if (this.failure) throw this.failure;
      this.checkComplete();
      return await this.commit();
    } catch (err) {
      this.failure ??= err instanceof Error ? err : new Error(String(err));
      await this.cleanup();
      throw this.failure;
    }
  }

  private checkComplete(): void {
    const incomplete = [...this.files.values()].filter((f) => f.outcome === 'pending').map((f) => f.rel);
    if (incomplete.length === 0) return;
    const shown = incomplete.slice(0, 10).map((p) => `'${p}'`).join(', ');
    const more = incomplete.length > 10 ? ` and ${incomplete.length - 10} more` : '';
    throw new Error(`sync ${this.plan.syncId}: ${incomplete.length} file(s) incomplete at the end of the sync: ${shown}${more}`);
  }

  private async commit(): Promise<ApplyResult> {
    const done = [...this.files.values()].filter((f) => f.outcome === 'complete');
    await this.step('chmod', done.filter((f) => !f.modeSet), (f) => fs.chmod(f.temp, f.item.permissions));
    await this.flushAll(done);
    // Last chance for abort(): past this point files change.
    if (this.failure) throw this.failure;
    const written: WrittenFile[] = [];
    for (const f of done) {
      try {
        fsSync.renameSync(f.temp, f.abs);
      } catch (err) {
        throw new Error(`sync ${this.plan.syncId}: '${f.rel}': rename failed: ${errMessage(err)}`);
      }
      f.tempExists = false;
      written.push({ path: f.rel, md5: f.md5, size: f.written, mtimeMs: f.mtimeMs });
      await this.breathe();
    }
    const removed: string[] = [];
    await this.step('delete', this.deletes, async (t) => {
      if (await unlinkIfPresent(path.join(this.home, t.rel))) removed.push(t.rel);
    });
    const removedDirs = await this.removeEmptiedDirs();
    if (done.length < this.files.size) await this.removeCreatedDirsIfEmpty();
    await this.syncDirs(written.map((w) => w.path), removed, removedDirs);
    return this.resultOf(done, written, removed, removedDirs);
  }

  /** One batched phase; an error names the phase and the path. */
  private async step<T extends { readonly rel: string }>(what: string, items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
    await eachLimit(items, IO_CONCURRENCY, async (item) => {
      try {
        await fn(item);
      } catch (err) {
        throw new Error(`sync ${this.plan.syncId}: '${item.rel}': ${what} failed: ${errMessage(err)}`);
      }
    });
  }

  /**
   * One batched flush of every temp file before any rename. For many files syncfs(2)
   * (through `sync -f`) flushes them all in a single call; for a few (client.keys after
   * an enrolment), or where it is unavailable, each file is fsynced, in parallel.
   */
  private async flushAll(done: readonly Incoming[]): Promise<void> {
    if (done.length === 0) return;
    if (done.length > FSYNC_EACH_UP_TO && (await syncFilesystem(this.home))) return;
    await this.step('flush', done, (f) => fsyncPath(f.temp));
  }

  /** Folders of items with removeSubdirsIfEmpty left empty (or holding only excluded names) by deletions. */
  private async removeEmptiedDirs(): Promise<string[]> {
    const candidates = new Set<string>();
    for (const t of this.deletes) {
      if (!t.item.removeSubdirsIfEmpty) continue;
      for (let dir = path.posix.dirname(t.rel); dir.startsWith(`${t.item.dir}/`); dir = path.posix.dirname(dir)) candidates.add(dir);
    }
    // Deepest first, so a parent sees its emptied child already gone: this is the walk up.
    const ordered = [...candidates].sort((a, b) => b.split('/').length - a.split('/').length);
    const removed: string[] = [];
    for (const dir of ordered) {
      try {
        if (await this.removeIfEmptyish(dir)) removed.push(dir);
      } catch (err) {
        throw new Error(`sync ${this.plan.syncId}: '${dir}': removing the emptied folder failed: ${errMessage(err)}`);
      }
    }
    return removed;
  }

  private async removeIfEmptyish(rel: string): Promise<boolean> {
    const abs = path.join(this.home, rel);
    let entries;
    try {
      entries = await fs.readdir(abs, { withFileTypes: true });
    } catch (err) {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return false;
      throw err;
    }
    if (!entries.every((e) => isExcluded(e.name) && !e.isDirectory())) return false;
    for (const e of entries) await unlinkIfPresent(path.join(abs, e.name));
    await fs.rmdir(abs);
    return true;
  }

  /** One fsync per touched folder makes the renames, deletions and new folders durable. */
  private async syncDirs(written: readonly string[], removed: readonly string[], removedDirs: readonly string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const rel of [...written, ...removed, ...removedDirs]) dirs.add(path.dirname(path.join(this.home, rel)));
    for (const d of this.createdDirs) dirs.add(path.dirname(d));
    for (const d of removedDirs) dirs.delete(path.join(this.home, d));
    await eachLimit([...dirs], IO_CONCURRENCY, async (dir) => {
      try {
        await fsyncPath(dir);
      } catch (err) {
        throw new Error(`sync ${this.plan.syncId}: flushing folder '${path.relative(this.home, dir)}' failed: ${errMessage(err)}`);
      }
    });
  }

  private resultOf(done: readonly Incoming[], written: WrittenFile[], removed: string[], removedDirs: string[]): ApplyResult {
    written.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    removed.sort();
    const ruleset = new Set([...this.files.values()].filter((f) => f.item.ruleset).map((f) => f.rel));
    for (const t of this.deletes) if (t.item.ruleset) ruleset.add(t.rel);
    const changed = [...written.map((w) => w.path), ...removed];
    return {
      created: done.filter((f) => f.kind === 'create').length,
      updated: done.filter((f) => f.kind === 'update').length,
      deleted: removed.length,
      written,
      removed,
      removedDirs,
      skipped: [...this.files.values()].filter((f) => f.outcome === 'skipped').map((f) => f.rel),
      rulesetChanged: changed.filter((p) => ruleset.has(p)),
      receivedBytes: this.received,
    };
  }
}

// ---- stale temp files ----

/** Deletes temp files a killed process left in the synced folders; returns their relative paths. */
export async function removeStaleTempFiles(home: string, items: readonly SyncedItem[] = SYNCED_SET): Promise<string[]> {
  const removed = new Set<string>();
  for (const item of items) {
    for (const rel of await staleTempsIn(home, item)) {
      if (!removed.has(rel) && (await unlinkIfPresent(path.join(home, rel)))) removed.add(rel);
    }
  }
  return [...removed].sort();
}

async function staleTempsIn(home: string, item: SyncedItem): Promise<string[]> {
  const found: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(path.join(home, rel), { withFileTypes: true });
    } catch (err) {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return;
      throw err;
    }
    for (const e of entries) {
      if (e.isDirectory()) {
        if (item.recursive) await walk(`${rel}/${e.name}`);
        continue;
      }
      // Only names this item syncs: a look-alike of some other local file is not ours.
      const original = TEMP_PATTERN.exec(e.name)?.[1];
      if (e.isFile() && original !== undefined && itemAccepts(item, original)) found.push(`${rel}/${e.name}`);
    }
  };
  await walk(item.dir);
  return found;
}
