/**
 * IntegrityScanner: keeps the manifest of the synced set current, from watch events
 * and a periodic full walk (recalculate_integrity on the master, sync_integrity on a
 * worker) that repairs whatever a watch missed. Each new content bumps the revision
 * and is announced. It never answers before its first full scan finished, so no
 * worker is ever told to delete files the master simply had not hashed yet. On a
 * worker it also takes in what a sync wrote, so the next check needs no re-read.
 */
import type { ActorSpec, Reply } from '../runtime/actor-kit.js';
import type { Logger } from '../runtime/logger.js';
import type { Manifest, FileEntry, ScanResult } from '../runtime/storage/manifest.js';
import { manifestDigest } from '../protocols/integrity.js';

export interface ManifestSnapshot {
  readonly manifest: Manifest;
  readonly digest: string;
  readonly revision: number;
}

export type ScanReason = 'startup' | 'periodic' | 'watch' | 'request';

export type IntegrityScannerMsg =
  | { readonly kind: 'rescan'; readonly reason: ScanReason }
  | { readonly kind: 'scanned'; readonly result: ScanResult; readonly ms: number; readonly reason: ScanReason; readonly generation: number }
  | { readonly kind: 'scan-failed'; readonly error: Error }
  | { readonly kind: 'get-manifest'; readonly reply: Reply<ManifestSnapshot> }
  /** A sync is writing the tree: scans wait, as they would see it half-way and rehash what the sync reports anyway. */
  | { readonly kind: 'hold' }
  | { readonly kind: 'release' }
  | { readonly kind: 'applied'; readonly written: readonly ({ readonly path: string } & FileEntry)[]; readonly removed: readonly string[] };

interface State {
  readonly snapshot: ManifestSnapshot | null;
  readonly scanning: ScanReason | null;
  /** A rescan asked for while one runs: it runs right after. */
  readonly queued: ScanReason | null;
  readonly scans: number;
  readonly lastScanMs: number | null;
  readonly lastError: string | null;
  readonly waiting: readonly Reply<ManifestSnapshot>[];
  readonly held: boolean;
  /** Bumped by every applied sync: a scan that started before it saw the tree half-way. */
  readonly generation: number;
}

export interface IntegrityScannerDeps {
  readonly periodSeconds: number;
  /** The master logs its periodic walks like Wazuh's "Local integrity" task; a worker at debug level. */
  readonly verbose: boolean;
  readonly log: Logger;
  readonly scan: () => Promise<ScanResult>;
  /** Told about every new manifest content (the master announces it to workers). */
  readonly onChanged?: (snapshot: ManifestSnapshot) => void;
  /** Told when a sync starts and stops writing the tree (the folder watch pauses meanwhile). */
  readonly onHold?: (held: boolean) => void;
  /** Hands what a sync wrote to the scan's stat cache, so the next scan does not read it again. */
  readonly seed?: (written: readonly ({ readonly path: string } & FileEntry)[], removed: readonly string[]) => void;
}

export function integrityScannerSpec(deps: IntegrityScannerDeps): ActorSpec<State, IntegrityScannerMsg> {
  const note = (reason: ScanReason, m: string): void => (deps.verbose && reason === 'periodic' ? deps.log.info(m) : deps.log.debug(m));

  const publish = (s: State, manifest: Manifest): State => {
    const digest = manifestDigest(manifest);
    if (s.snapshot && digest === s.snapshot.digest) {
      return { ...s, snapshot: { ...s.snapshot, manifest } };
    }
    const snapshot = { manifest, digest, revision: (s.snapshot?.revision ?? 0) + 1 };
    deps.onChanged?.(snapshot);
    return { ...s, snapshot };
  };

  return {
    name: 'integrity-scanner',
    init: (ctx) => {
      ctx.self.tell({ kind: 'rescan', reason: 'startup' });
      ctx.every(deps.periodSeconds * 1000, { kind: 'rescan', reason: 'periodic' });
      return { snapshot: null, scanning: null, queued: null, scans: 0, lastScanMs: null, lastError: null, waiting: [], held: false, generation: 0 };
    },
    receive: (s, msg, ctx) => {
      switch (msg.kind) {
        case 'rescan': {
          if (s.scanning || (s.held && s.snapshot)) return { ...s, queued: msg.reason };
          note(msg.reason, 'Starting.');
          const started = performance.now();
          const { reason } = msg;
          const { generation } = s;
          ctx.pipe(deps.scan(), (result) => ({ kind: 'scanned', result, ms: performance.now() - started, reason, generation }), (error) => ({ kind: 'scan-failed', error }));
          return { ...s, scanning: reason };
        }
        case 'scanned': {
          if (msg.generation !== s.generation && s.snapshot) {
            // Stale: scan again (cheap, the stat cache knows what the sync wrote).
            ctx.self.tell({ kind: 'rescan', reason: s.queued ?? msg.reason });
            return { ...s, scanning: null, queued: null };
          }
          note(msg.reason, `Finished in ${(msg.ms / 1000).toFixed(3)}s. Calculated metadata of ${msg.result.manifest.size} files.`);
          const next = publish(s, msg.result.manifest);
          const snapshot = next.snapshot as ManifestSnapshot;
          for (const r of s.waiting) r.ok(snapshot);
          if (s.queued) ctx.self.tell({ kind: 'rescan', reason: s.queued });
          return { ...next, scanning: null, queued: null, scans: s.scans + 1, lastScanMs: msg.ms, lastError: null, waiting: [] };
        }
        case 'scan-failed':
          deps.log.error(`Error calculating local file integrity: ${msg.error.message}`);
          if (s.queued) ctx.self.tell({ kind: 'rescan', reason: s.queued });
          return { ...s, scanning: null, queued: null, lastError: msg.error.message };
        case 'get-manifest':
          if (s.snapshot) {
            msg.reply.ok(s.snapshot);
            return s;
          }
          return { ...s, waiting: [...s.waiting, msg.reply] };
        case 'hold':
          deps.onHold?.(true);
          return { ...s, held: true };
        case 'release':
          deps.onHold?.(false);
          if (s.queued && !s.scanning) ctx.self.tell({ kind: 'rescan', reason: s.queued });
          return { ...s, held: false, queued: s.scanning ? s.queued : null };
        case 'applied': {
          deps.seed?.(msg.written, msg.removed);
          deps.onHold?.(false);
          if (s.queued && !s.scanning) ctx.self.tell({ kind: 'rescan', reason: s.queued });
          const released = { ...s, held: false, queued: s.scanning ? s.queued : null, generation: s.generation + 1 };
          if (!s.snapshot) return released;
          const manifest = new Map(s.snapshot.manifest);
          for (const w of msg.written) manifest.set(w.path, { md5: w.md5, size: w.size, mtimeMs: w.mtimeMs });
          for (const p of msg.removed) manifest.delete(p);
          return publish(released, manifest);
        }
      }
    },
    summary: (s) => ({
      files: s.snapshot?.manifest.size ?? null, revision: s.snapshot?.revision ?? 0, scans: s.scans, scanning: s.scanning !== null,
      lastScanMs: s.lastScanMs === null ? null : Math.round(s.lastScanMs * 10) / 10, lastError: s.lastError,
    }),
  };
}
