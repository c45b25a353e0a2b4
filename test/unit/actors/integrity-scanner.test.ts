/**
 * IntegrityScanner under the real actor kit, with a scan function the test controls.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { ActorSystem } from '../../../runtime/actor-kit.js';
import { createLogger, MemorySink } from '../../../runtime/logger.js';
import { integrityScannerSpec, type ManifestSnapshot } from '../../../actors/integrity-scanner.js';
import type { Manifest, ScanResult } from '../../../runtime/storage/manifest.js';

const entry = (md5: string): { md5: string; size: number; mtimeMs: number } => ({ md5, size: 1, mtimeMs: 1 });

/** A scan the test finishes by hand; `finish` waits until the actor has started the scan. */
function controlledScan(): { scan: () => Promise<ScanResult>; finish(m: Manifest): Promise<void>; calls: () => number } {
  const waiting: ((r: ScanResult) => void)[] = [];
  let calls = 0;
  return {
    scan: () => { calls++; return new Promise((resolve) => waiting.push(resolve)); },
    finish: async (manifest) => {
      for (let i = 0; waiting.length === 0; i++) {
        if (i > 500) throw new Error('the actor never started a scan');
        await new Promise((r) => setTimeout(r, 5));
      }
      waiting.shift()?.({ manifest, hashed: manifest.size, reused: 0 });
    },
    calls: () => calls,
  };
}

test('integrity scanner - no manifest is served before the first full scan finished', async (t) => {
  const sys = new ActorSystem({ name: 'scan1', onGiveUp: () => assert.fail('gave up') });
  t.after(() => sys.stop());
  const ctl = controlledScan();
  const changes: ManifestSnapshot[] = [];
  const ref = sys.spawn(integrityScannerSpec({
    periodSeconds: 3600, verbose: true, log: createLogger(new MemorySink(), 'Master'), scan: ctl.scan, onChanged: (s) => changes.push(s),
  }));
  const answer: { snapshot?: ManifestSnapshot } = {};
  const asked = ref.ask<ManifestSnapshot>((reply) => ({ kind: 'get-manifest', reply }), 5000).then((s) => { answer.snapshot = s; });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(answer.snapshot, undefined, 'answered before any scan finished');
  await ctl.finish(new Map([['etc/client.keys', entry('a'.repeat(32))]]));
  await asked;
  const snapshot = answer.snapshot as ManifestSnapshot | undefined;
  assert.equal(snapshot?.manifest.size, 1);
  assert.equal(snapshot?.revision, 1);
  assert.equal(changes.length, 1);
});

test('integrity scanner - a new content bumps the revision and is announced; the same content is not', async (t) => {
  const sys = new ActorSystem({ name: 'scan2', onGiveUp: () => assert.fail('gave up') });
  t.after(() => sys.stop());
  const ctl = controlledScan();
  const changes: number[] = [];
  const ref = sys.spawn(integrityScannerSpec({
    periodSeconds: 3600, verbose: false, log: createLogger(new MemorySink(), 'Master'), scan: ctl.scan, onChanged: (s) => changes.push(s.revision),
  }));
  const get = (): Promise<ManifestSnapshot> => ref.ask<ManifestSnapshot>((reply) => ({ kind: 'get-manifest', reply }), 5000);
  const a = new Map([['etc/rules/a.xml', entry('a'.repeat(32))]]);
  await ctl.finish(a);
  await get();
  // Asked while a scan runs, a rescan is queued and runs once, right after.
  ref.tell({ kind: 'rescan', reason: 'watch' });
  ref.tell({ kind: 'rescan', reason: 'watch' });
  ref.tell({ kind: 'rescan', reason: 'watch' });
  await ctl.finish(new Map(a));
  await ctl.finish(new Map([['etc/rules/a.xml', entry('b'.repeat(32))]]));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(ctl.calls(), 3);
  assert.deepEqual(changes, [1, 2]);
  assert.equal((await get()).revision, 2);
  // What a sync wrote is taken in without a scan.
  ref.tell({ kind: 'applied', written: [{ path: 'etc/rules/new.xml', md5: 'c'.repeat(32), size: 3, mtimeMs: 5 }], removed: ['etc/rules/a.xml'] });
  const after = await get();
  assert.deepEqual([...after.manifest.keys()], ['etc/rules/new.xml']);
  assert.equal(after.revision, 3);
});
