/**
 * Where the upstream Wazuh data lives (`../shared/data/` beside the checkout). A fresh
 * clone has none: tests that need it skip with the reason this module prints.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root: the nearest folder above this file holding package.json. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('no package.json above test/harness');
    dir = up;
  }
  return dir;
}

/** The path of an upstream data item, or undefined when this machine does not have it. */
export function upstreamData(...parts: string[]): string | undefined {
  const file = path.resolve(repoRoot(), '..', 'shared', 'data', ...parts);
  return fs.existsSync(file) ? file : undefined;
}

/** The text a test prints when it skips for want of upstream data. */
export function missingData(...parts: string[]): string {
  return `upstream data ../shared/data/${parts.join('/')} is absent (a fresh clone has none); skipped`;
}
