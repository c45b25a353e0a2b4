/**
 * Builds the shared-configuration bundle (merged.mg) that the manager pushes to its
 * agents: one per group in `etc/shared/<group>/`, and one per multigroup CSV in
 * `var/multigroups/<hash8>/`. The format is `#<header>\n` followed by one
 * `!<size> <name>\n<content>` entry per file, `ar.conf` first, then the group's files
 * in byte-wise (strcmp) order, with no separator after a file's content.
 *
 * A file is only rewritten (temp file + rename) when its bytes change, so a watcher
 * on the folder settles: a rebuild that changes nothing writes nothing.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AGENT_CONF_NAME, AR_CONF_NAME, MERGED_NAME, multigroupHash, renderMerged, type SharedFile } from '../../protocols/merged-mg.js';
import { writeFileDurably } from './durable-file.js';

export interface CollectedFiles {
  /** Regular text files, relative names with '/', sorted byte-wise. */
  files: SharedFile[];
  /** Relative names of files refused because they contain a NUL byte ("Invalid shared file"). */
  skipped: string[];
}

export interface MergedResult {
  path: string;
  /** md5 hex of the whole merged.mg content. */
  md5: string;
  /** The file on disk was (re)written by this build. */
  changed: boolean;
  /** Binary files left out, as `<group>/<relative name>` (or `ar.conf`). */
  skipped: string[];
}

export interface MultigroupResult extends MergedResult {
  /** First 8 hex chars of sha256 of the CSV: the folder name and the merged.mg header. */
  hash: string;
}

const DIR_MODE = 0o770;
const FILE_MODE = 0o660;

const errCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

const md5Hex = (buf: Buffer): string => createHash('md5').update(buf).digest('hex');

/** strcmp order: compares the UTF-8 bytes of the names, not their locale collation. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

const isSkippedName = (name: string): boolean => name.startsWith('.');

/** A group name used as a path component (and a CSV item): no separators, no dot-only names. */
function checkGroupName(group: string): void {
  if (group === '' || group === '.' || group === '..' || /[/\\,\0]/.test(group)) {
    throw new Error(`invalid group name '${group}'`);
  }
}

export const groupDirOf = (home: string, group: string): string => path.join(home, 'etc', 'shared', group);
export const groupMergedPath = (home: string, group: string): string => path.join(groupDirOf(home, group), MERGED_NAME);
export const multigroupMergedPath = (home: string, hash: string): string =>
  path.join(home, 'var', 'multigroups', hash, MERGED_NAME);

/**
 * Every regular file under a group folder, recursing into subfolders. Names starting
 * with '.' (at any level) and files named `merged.mg*` are ignored; files containing
 * a NUL byte are returned in `skipped` instead. Throws if the folder does not exist.
 */
export async function collectGroupFiles(groupDir: string): Promise<CollectedFiles> {
  const files: SharedFile[] = [];
  const skipped: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(rel === '' ? groupDir : path.join(groupDir, rel), { withFileTypes: true });
    for (const entry of entries) {
      if (isSkippedName(entry.name)) continue;
      const name = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        await walk(name);
      } else if (entry.isFile()) {
        if (entry.name.startsWith(MERGED_NAME)) continue;
        let content: Buffer;
        try {
          content = await fs.readFile(path.join(groupDir, name));
        } catch (err) {
          if (errCode(err) === 'ENOENT') continue; // removed while scanning
          throw err;
        }
        if (content.includes(0)) skipped.push(name);
        else files.push({ name, content });
      }
    }
  };
  await walk('');
  files.sort((a, b) => byteOrder(a.name, b.name));
  skipped.sort(byteOrder);
  return { files, skipped };
}

async function readIfPresent(file: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
    throw err;
  }
}

/** `etc/shared/ar.conf` as the first entry, if present and not binary. */
async function readArConf(home: string, skipped: string[]): Promise<SharedFile[]> {
  const content = await readIfPresent(path.join(home, 'etc', 'shared', AR_CONF_NAME));
  if (content === null) return [];
  if (content.includes(0)) {
    skipped.push(AR_CONF_NAME);
    return [];
  }
  return [{ name: AR_CONF_NAME, content }];
}

/** Writes `content` to `target` durably (temp file, fsync, rename), unless the file already holds exactly it. */
async function writeIfChanged(target: string, content: Buffer): Promise<boolean> {
  const current = await readIfPresent(target);
  if (current !== null && current.equals(content)) return false;
  await writeFileDurably(target, content, { mode: FILE_MODE });
  return true;
}

/**
 * Builds `etc/shared/<group>/merged.mg` (ar.conf first, then the group's files) and
 * writes it only when its content differs from the file on disk.
 */
export async function buildGroupMerged(home: string, group: string): Promise<MergedResult> {
  checkGroupName(group);
  const skipped: string[] = [];
  const ar = await readArConf(home, skipped);
  const collected = await collectGroupFiles(groupDirOf(home, group));
  skipped.push(...collected.skipped.map((name) => `${group}/${name}`));
  const content = renderMerged(group, [...ar, ...collected.files]);
  const target = groupMergedPath(home, group);
  const changed = await writeIfChanged(target, content);
  return { path: target, md5: md5Hex(content), changed, skipped };
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw err;
  }
}

/**
 * Builds `var/multigroups/<hash8>/merged.mg` for the CSV `groups.join(',')`: the
 * groups' agent.conf files appended in order, each after a `<!-- Source file: ... -->`
 * line; every other file taken from the last group (in CSV order) that has it. Only
 * merged.mg is written; the combined files live in memory. Missing groups are skipped.
 */
export async function buildMultigroupMerged(home: string, groups: readonly string[]): Promise<MultigroupResult> {
  for (const group of groups) checkGroupName(group);
  const hash = multigroupHash(groups.join(','));
  const skipped: string[] = [];
  const ar = await readArConf(home, skipped);

  const byName = new Map<string, Buffer>();
  const confParts: Buffer[] = [];
  let hasConf = false;
  for (const group of groups) {
    const dir = groupDirOf(home, group);
    if (!(await isDirectory(dir))) continue;
    const collected = await collectGroupFiles(dir);
    skipped.push(...collected.skipped.map((name) => `${group}/${name}`));
    for (const file of collected.files) {
      if (file.name !== AGENT_CONF_NAME) {
        byName.set(file.name, file.content);
        continue;
      }
      const last = confParts[confParts.length - 1];
      if (last !== undefined && last.length > 0 && last[last.length - 1] !== 0x0a) confParts.push(Buffer.from('\n'));
      confParts.push(Buffer.from(`<!-- Source file: ${group}/${AGENT_CONF_NAME} -->\n`, 'utf8'), file.content);
      hasConf = true;
    }
  }
  if (hasConf) byName.set(AGENT_CONF_NAME, Buffer.concat(confParts));

  const files = [...byName.entries()]
    .sort(([a], [b]) => byteOrder(a, b))
    .map(([name, content]) => ({ name, content }));
  const content = renderMerged(hash, [...ar, ...files]);
  const target = multigroupMergedPath(home, hash);
  await fs.mkdir(path.dirname(target), { recursive: true, mode: DIR_MODE });
  const changed = await writeIfChanged(target, content);
  return { hash, path: target, md5: md5Hex(content), changed, skipped };
}

/**
 * md5 hex of the merged.mg an agent with these groups receives (the group's own for
 * one group, the multigroup's for several); null if that file does not exist.
 */
export async function mergedChecksum(home: string, groups: readonly string[]): Promise<string | null> {
  if (groups.length === 0) return null;
  for (const group of groups) checkGroupName(group);
  const target = groups.length === 1
    ? groupMergedPath(home, groups[0] as string)
    : multigroupMergedPath(home, multigroupHash(groups.join(',')));
  const content = await readIfPresent(target);
  return content === null ? null : md5Hex(content);
}
