/**
 * The files the master's registry keeps in step with itself: etc/client.keys (atomic,
 * fsynced: agents use it and workers receive it), the group folders under etc/shared,
 * and the merged.mg of each group and multigroup.
 */
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import path from 'node:path';
import { buildGroupMerged, buildMultigroupMerged } from './merged-mg.js';
import { writeFileDurably } from './durable-file.js';

const CLIENT_KEYS_MODE = 0o640;

/** The files the registry keeps in step with itself. */
export interface RegistryFiles {
  /** `etc/shared/<group>/` with a default agent.conf; kept if it exists. Synchronous: it precedes the commit. */
  createGroupDir(group: string): void;
  removeGroupDir(group: string): Promise<void>;
  /** Atomic and durable (temp file, fsync, rename). */
  writeClientKeys(text: string): Promise<void>;
  /** Builds merged.mg for each group set (one group: etc/shared; several: var/multigroups); md5 per CSV. */
  buildMerged(sets: readonly (readonly string[])[]): Promise<ReadonlyMap<string, string>>;
}

/** What Wazuh's installer puts in a new group's agent.conf. */
export const DEFAULT_AGENT_CONF = '<agent_config>\n\n  <!-- Shared agent configuration here -->\n\n</agent_config>\n';

export function registryFiles(home: string): RegistryFiles {
  return {
    createGroupDir: (group) => createGroupDir(home, group),
    removeGroupDir: (group) => fs.rm(path.join(home, 'etc', 'shared', group), { recursive: true, force: true }),
    writeClientKeys: (text) => writeClientKeysFile(home, text),
    buildMerged: async (sets) => {
      const sums = new Map<string, string>();
      for (const groups of sets) {
        const csv = groups.join(',');
        const only = groups[0];
        if (groups.length === 1 && only !== undefined) {
          if (!fsSync.existsSync(path.join(home, 'etc', 'shared', only))) continue;
          sums.set(csv, (await buildGroupMerged(home, only)).md5);
        } else if (groups.length > 1) {
          sums.set(csv, (await buildMultigroupMerged(home, groups)).md5);
        }
      }
      return sums;
    },
  };
}

export function createGroupDir(home: string, group: string): void {
  const dir = path.join(home, 'etc', 'shared', group);
  fsSync.mkdirSync(dir, { recursive: true, mode: 0o770 });
  const conf = path.join(dir, 'agent.conf');
  if (!fsSync.existsSync(conf)) fsSync.writeFileSync(conf, DEFAULT_AGENT_CONF, { mode: 0o660 });
}

/** etc/client.keys, replaced whole: agents read it and workers receive it. */
export function writeClientKeysFile(home: string, text: string): Promise<void> {
  return writeFileDurably(path.join(home, 'etc', 'client.keys'), text, { mode: CLIENT_KEYS_MODE, createDir: true });
}
