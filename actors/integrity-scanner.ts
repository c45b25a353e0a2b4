/**
 * IntegrityScanner: keeps the manifest of the synced set current by a full walk
 * every recalculate_integrity (master) or sync_integrity (worker). It never answers
 * with a manifest before its first full scan finished, so no worker is ever told to
 * delete files the master simply had not hashed yet.
 */
import type { ActorSpec, Reply } from '../runtime/actor-kit.js';
import type { Logger } from '../runtime/logger.js';
import type { Manifest, ScanResult } from '../runtime/storage/manifest.js';

export type IntegrityScannerMsg =
  | { readonly kind: 'rescan' }
  | { readonly kind: 'scanned'; readonly result: ScanResult; readonly ms: number }
  | { readonly kind: 'scan-failed'; readonly error: Error }
  | { readonly kind: 'get-manifest'; readonly reply: Reply<Manifest> };

interface State {
  readonly manifest: Manifest | null;
  readonly scanning: boolean;
  readonly scans: number;
  readonly lastScanMs: number | null;
  readonly lastError: string | null;
  /** Asked before the first scan finished: answered when it does. */
  readonly waiting: readonly Reply<Manifest>[];
}

export interface IntegrityScannerDeps {
  readonly periodSeconds: number;
  /** Master logs each run like Wazuh's "Local integrity" task; a worker only at debug level. */
  readonly verbose: boolean;
  readonly log: Logger;
  readonly scan: (previous: Manifest | null) => Promise<ScanResult>;
}

export function integrityScannerSpec(deps: IntegrityScannerDeps): ActorSpec<State, IntegrityScannerMsg> {
  const note = (m: string): void => (deps.verbose ? deps.log.info(m) : deps.log.debug(m));
  return {
    name: 'integrity-scanner',
    init: (ctx) => {
      ctx.self.tell({ kind: 'rescan' });
      ctx.every(deps.periodSeconds * 1000, { kind: 'rescan' });
      return { manifest: null, scanning: false, scans: 0, lastScanMs: null, lastError: null, waiting: [] };
    },
    receive: (s, msg, ctx) => {
      switch (msg.kind) {
        case 'rescan': {
          if (s.scanning) return s;
          note('Starting.');
          const started = performance.now();
          ctx.pipe(deps.scan(s.manifest), (result) => ({ kind: 'scanned', result, ms: performance.now() - started }), (error) => ({ kind: 'scan-failed', error }));
          return { ...s, scanning: true };
        }
        case 'scanned': {
          note(`Finished in ${(msg.ms / 1000).toFixed(3)}s. Calculated metadata of ${msg.result.manifest.size} files.`);
          for (const r of s.waiting) r.ok(msg.result.manifest);
          return { ...s, manifest: msg.result.manifest, scanning: false, scans: s.scans + 1, lastScanMs: msg.ms, lastError: null, waiting: [] };
        }
        case 'scan-failed':
          deps.log.error(`Error calculating local file integrity: ${msg.error.message}`);
          return { ...s, scanning: false, lastError: msg.error.message };
        case 'get-manifest':
          if (s.manifest) {
            msg.reply.ok(s.manifest);
            return s;
          }
          return { ...s, waiting: [...s.waiting, msg.reply] };
      }
    },
    summary: (s) => ({
      files: s.manifest?.size ?? null, scans: s.scans, scanning: s.scanning,
      lastScanMs: s.lastScanMs === null ? null : Math.round(s.lastScanMs * 10) / 10, lastError: s.lastError,
    }),
  };
}
