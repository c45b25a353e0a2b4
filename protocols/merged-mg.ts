/**
 * The merged.mg format (reference §9.2), the pure part: the manager builds the bundle
 * of a group's shared files, the agent splits it back into files. No I/O here (the
 * folders and files it is built from are runtime/storage/merged-mg.ts's business).
 *
 * The format is `#<header>\n` followed by one `!<size> <name>\n<content>` entry per
 * file, with no separator after a file's content.
 */
import { createHash } from 'node:crypto';

export interface SharedFile { name: string; content: Buffer }

export const MERGED_NAME = 'merged.mg';
export const AR_CONF_NAME = 'ar.conf';
export const AGENT_CONF_NAME = 'agent.conf';

/** `#<header>\n` then `!<size> <name>\n<content>` per file, in the order given. */
export function renderMerged(header: string, files: readonly SharedFile[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`#${header}\n`, 'utf8')];
  for (const file of files) {
    parts.push(Buffer.from(`!${file.content.length} ${file.name}\n`, 'utf8'), file.content);
  }
  return Buffer.concat(parts);
}

/** First 8 hex characters of sha256 of the multigroup CSV (e.g. 'a,b'). */
export function multigroupHash(csv: string): string {
  return createHash('sha256').update(csv, 'utf8').digest('hex').slice(0, 8);
}

/** The files of a merged.mg as the agent-side reader sees them (§9.2): `!<size> <name>\n<content>`, `#` lines skipped. */
export function unmerge(merged: Buffer): SharedFile[] {
  const files: SharedFile[] = [];
  let pos = 0;
  while (pos < merged.length) {
    const nl = merged.indexOf(0x0a, pos);
    const end = nl < 0 ? merged.length : nl;
    if (merged[pos] === 0x21 /* ! */) {
      const m = /^!(\d+) (.+)$/.exec(merged.toString('latin1', pos, end));
      if (m && nl >= 0) {
        const size = Number(m[1]);
        const start = nl + 1;
        files.push({ name: m[2] ?? '', content: merged.subarray(start, Math.min(start + size, merged.length)) });
        pos = start + size;
        continue;
      }
    }
    pos = end + 1;
  }
  return files;
}

/** md5 of the agent.conf inside a merged.mg, null when it has none. */
export function agentConfSumOf(merged: Buffer): string | null {
  const conf = unmerge(merged).find((f) => f.name === AGENT_CONF_NAME);
  return conf ? createHash('md5').update(conf.content).digest('hex') : null;
}
