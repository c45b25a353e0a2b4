/**
 * The master's side of a sync: streams the planned files to one worker as
 * deflate-raw chunks, paced by the socket so memory stays flat whatever the size.
 */
import { createHash } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { SYNC_CHUNK_BYTES, type ClusterBody, type ClusterType } from '../../protocols/cluster-messages.js';
import type { ManifestEntry } from '../../protocols/integrity.js';

const deflateRaw = promisify(zlib.deflateRaw);
/**
 * Files up to this size are read and compressed synchronously: microseconds each,
 * where the async path costs a thread-pool round trip per call, which dominates a
 * sync of thousands of small files. The loop yields to the event loop every few ms.
 */
const SMALL_FILE_BYTES = 64 * 1024;
const SYNC_SLICE_MS = 8;

/** The part of a link the sender needs. */
export interface PacedSender {
  sendPaced<T extends ClusterType>(type: T, body: ClusterBody<T>): Promise<void>;
}

export interface SendProgress {
  readonly files: number;
  readonly totalFiles: number;
  readonly bytes: number;
  readonly totalBytes: number;
}

export interface SendResult {
  readonly files: number;
  readonly bytes: number;
  readonly gone: string[];
}

export interface SendOptions {
  readonly compressLevel: number;
  readonly onProgress?: (p: SendProgress) => void;
  /** Stops between chunks when it returns true (link lost, node stopping). */
  readonly cancelled?: () => boolean;
}

export async function sendFiles(link: PacedSender, syncId: string, home: string, files: readonly ManifestEntry[], opts: SendOptions): Promise<SendResult> {
  const totalBytes = files.reduce((n, f) => n + f.size, 0);
  let bytes = 0;
  let sent = 0;
  const gone: string[] = [];
  let lastYield = performance.now();
  for (const file of files) {
    if (opts.cancelled?.()) throw new Error('sync cancelled');
    const n = file.size <= SMALL_FILE_BYTES
      ? (await sendSmall(link, syncId, home, file.path, opts.compressLevel)) ?? (await sendOne(link, syncId, home, file.path, opts))
      : await sendOne(link, syncId, home, file.path, opts);
    if (performance.now() - lastYield > SYNC_SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    if (n === null) gone.push(file.path);
    else bytes += n;
    sent++;
    opts.onProgress?.({ files: sent, totalFiles: files.length, bytes, totalBytes });
  }
  return { files: sent, bytes, gone };
}

/** Sends a small file as one chunk; undefined when it is not small after all (it grew). */
async function sendSmall(link: PacedSender, syncId: string, home: string, rel: string, level: number): Promise<number | null | undefined> {
  let raw: Buffer;
  try {
    raw = fsSync.readFileSync(path.join(home, rel));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await link.sendPaced('sync-data', { syncId, path: rel, offset: 0, rawSize: 0, data: new Uint8Array(0), last: true, gone: true });
    return null;
  }
  if (raw.length > SMALL_FILE_BYTES) return undefined;
  const md5 = createHash('md5').update(raw).digest('hex');
  const data = zlib.deflateRawSync(raw, { level });
  await link.sendPaced('sync-data', { syncId, path: rel, offset: 0, rawSize: raw.length, data, last: true, md5 });
  return raw.length;
}

/** Returns the bytes sent, or null when the file vanished since the plan was made. */
async function sendOne(link: PacedSender, syncId: string, home: string, rel: string, opts: SendOptions): Promise<number | null> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(path.join(home, rel), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await link.sendPaced('sync-data', { syncId, path: rel, offset: 0, rawSize: 0, data: new Uint8Array(0), last: true, gone: true });
    return null;
  }
  try {
    const hash = createHash('md5');
    const buf = Buffer.allocUnsafe(SYNC_CHUNK_BYTES);
    let offset = 0;
    for (;;) {
      if (opts.cancelled?.()) throw new Error('sync cancelled');
      const { bytesRead } = await fh.read(buf, 0, SYNC_CHUNK_BYTES, offset);
      const raw = buf.subarray(0, bytesRead);
      hash.update(raw);
      // A short read is the end: the file is sent as it is now, and its md5 says so.
      const last = bytesRead < SYNC_CHUNK_BYTES;
      const data = await deflateRaw(raw, { level: opts.compressLevel });
      await link.sendPaced('sync-data', {
        syncId, path: rel, offset, rawSize: bytesRead, data, last, ...(last ? { md5: hash.digest('hex') } : {}),
      });
      offset += bytesRead;
      if (last) return offset;
    }
  } finally {
    await fh.close();
  }
}
