/**
 * The import rules of the tree (README, "How it is built"): imports point one way,
 * scripts → node → actors → runtime's interfaces → protocols. Reads every source
 * file of the checkout as text; fails naming each import that breaks a rule.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

type Folder = 'protocols' | 'engine' | 'runtime' | 'actors' | 'node' | 'sim' | 'scripts' | 'bench' | 'test';
const FOLDERS: readonly Folder[] = ['protocols', 'engine', 'runtime', 'actors', 'node', 'sim', 'scripts', 'bench', 'test'];

/** Which folders each folder may import from (besides itself). */
const MAY_IMPORT: Readonly<Record<Folder, readonly Folder[]>> = {
  protocols: [],
  engine: ['protocols'],
  runtime: ['protocols', 'engine'],
  actors: ['protocols', 'engine', 'runtime'],
  node: ['protocols', 'engine', 'runtime', 'actors'],
  sim: ['protocols', 'runtime'],
  scripts: ['protocols', 'engine', 'runtime', 'actors', 'node', 'sim', 'test'],
  bench: ['protocols', 'engine', 'runtime', 'actors', 'node', 'sim', 'scripts', 'test'],
  test: FOLDERS,
};

/** Packages that do I/O or run actors: pure code and actors never load them (node:net's isIP is pure, so it is not listed). */
const IO_PACKAGES = new Set([
  'node:fs', 'node:fs/promises', 'node:tls', 'node:dgram', 'node:child_process', 'node:worker_threads',
  'better-sqlite3', 'ioredis', 'nact', 'chokidar',
]);

export interface ImportSite {
  readonly file: string;
  readonly line: number;
  readonly spec: string;
  readonly typeOnly: boolean;
}

const IMPORT_RE = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

export function importsOf(file: string, text: string): ImportSite[] {
  const sites: ImportSite[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[3] ?? m[4];
    if (spec === undefined) continue;
    const line = text.slice(0, m.index).split('\n').length;
    sites.push({ file, line, spec, typeOnly: m[2] !== undefined });
  }
  return sites;
}

const folderOf = (relFile: string): Folder | null => {
  const top = relFile.split('/')[0] as Folder;
  return FOLDERS.includes(top) ? top : null;
};

/** Every broken rule, as `file:line imports spec (why)`. */
export function violations(sites: readonly ImportSite[]): string[] {
  const out: string[] = [];
  for (const s of sites) {
    const from = folderOf(s.file);
    if (!from) continue;
    const where = `${s.file}:${s.line} imports ${s.spec}`;
    if (!s.spec.startsWith('.')) {
      if ((from === 'protocols' || from === 'engine' || from === 'actors') && IO_PACKAGES.has(s.spec)) out.push(`${where} (${from}/ does no I/O)`);
      continue;
    }
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(s.file), s.spec));
    const to = folderOf(target);
    if (!to || to === from) continue;
    if (!MAY_IMPORT[from].includes(to)) out.push(`${where} (${from}/ may not import ${to}/)`);
    else if (from === 'actors' && to === 'runtime' && !s.typeOnly) out.push(`${where} (actors/ import only types from runtime/)`);
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(repo, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(rel));
    else if (entry.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

test('layering - the rule check names each import that breaks a rule', () => {
  const bad = [
    ...importsOf('protocols/a.ts', "import { x } from '../runtime/storage/synced-set.js';"),
    ...importsOf('runtime/b.ts', "import type { Y } from '../actors/agent-registry.js';"),
    ...importsOf('runtime/c.ts', "const m = await import('../sim/simulated-agent.js');"),
    ...importsOf('actors/d.ts', "import { ActorSystem } from '../runtime/actor-kit.js';"),
    ...importsOf('actors/e.ts', "import fs from 'node:fs';"),
    ...importsOf('node/f.ts', "export { z } from '../scripts/lab.js';"),
  ];
  assert.deepEqual(violations(bad), [
    'protocols/a.ts:1 imports ../runtime/storage/synced-set.js (protocols/ may not import runtime/)',
    'runtime/b.ts:1 imports ../actors/agent-registry.js (runtime/ may not import actors/)',
    'runtime/c.ts:1 imports ../sim/simulated-agent.js (runtime/ may not import sim/)',
    'actors/d.ts:1 imports ../runtime/actor-kit.js (actors/ import only types from runtime/)',
    'actors/e.ts:1 imports node:fs (actors/ does no I/O)',
    'node/f.ts:1 imports ../scripts/lab.js (node/ may not import scripts/)',
  ]);
  const good = [
    ...importsOf('actors/a.ts', "import type { ActorSpec } from '../runtime/actor-kit.js';"),
    ...importsOf('node/b.ts', "import { x } from '../actors/a.js';\nimport { y } from '../runtime/logger.js';"),
    ...importsOf('runtime/storage/c.ts', "import { SYNCED } from '../../protocols/synced-set.js';"),
  ];
  assert.deepEqual(violations(good), []);
});

test('layering - every import in the tree points the allowed way', () => {
  const files = FOLDERS.filter((f) => fs.existsSync(path.join(repo, f))).flatMap((f) => sourceFiles(f));
  assert.ok(files.length > 100, `read ${files.length} source files`);
  const sites = files.flatMap((f) => importsOf(f, fs.readFileSync(path.join(repo, f), 'utf8')));
  assert.deepEqual(violations(sites), []);
});
