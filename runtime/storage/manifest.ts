/**
 * The manifest of the synced set: relative path → md5, size, mtime. Scans run in a
 * worker thread that keeps the stat cache, so a rescan with nothing changed costs a
 * stat per file and the node's event loop never waits on hashing.
 */
import { Worker } from 'node:worker_threads';
import { SYNCED_SET, type SyncedItem } from '../../protocols/synced-set.js';
import type { ScanEntry, ScanReply, ScanRequest, SeedRequest } from './scan-worker.js';

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

export class ManifestScanner {
  private worker: Worker | null = null;
  private last: Manifest | null = null;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve(r: ScanResult): void; reject(e: Error): void }>();

  constructor(private readonly home: string, private readonly items: readonly SyncedItem[] = SYNCED_SET) {}

  scan(): Promise<ScanResult> {
    const worker = this.ensureWorker();
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const req: ScanRequest = { kind: 'scan', id, home: this.home, items: this.items };
      worker.postMessage(req);
    });
  }

  /** Tells the stat cache what a sync wrote (path, md5, size, mtime) and removed. */
  seed(written: readonly ({ readonly path: string } & FileEntry)[], removed: readonly string[]): void {
    const entries: ScanEntry[] = written.map((w) => [w.path, w.md5, w.size, w.mtimeMs]);
    const req: SeedRequest = { kind: 'seed', written: entries, removed };
    this.ensureWorker().postMessage(req);
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./scan-worker.js', import.meta.url));
    w.unref();
    w.on('message', (reply: ScanReply) => this.settle(reply));
    // A dead thread fails what it was doing; the next scan starts a new one.
    w.on('error', (err) => this.failAll(err));
    w.on('exit', (code) => { if (this.worker === w) { this.worker = null; this.failAll(new Error(`scan thread exited (${code})`)); } });
    this.worker = w;
    return w;
  }

  private settle(reply: ScanReply): void {
    const p = this.waiting.get(reply.id);
    if (!p) return;
    this.waiting.delete(reply.id);
    if (!reply.ok) return p.reject(new Error(reply.error));
    if ('unchanged' in reply && this.last) return p.resolve({ manifest: this.last, hashed: 0, reused: reply.reused });
    if ('unchanged' in reply) return p.reject(new Error('scan thread reported no change before any manifest'));
    const manifest = new Map<string, FileEntry>();
    for (const [rel, md5, size, mtimeMs] of reply.entries) manifest.set(rel, { md5, size, mtimeMs });
    this.last = manifest;
    p.resolve({ manifest, hashed: reply.hashed, reused: reply.reused });
  }

  private failAll(err: Error): void {
    for (const p of this.waiting.values()) p.reject(err);
    this.waiting.clear();
  }
}
