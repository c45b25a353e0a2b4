/**
 * The files the master replicates to every worker, in one place (Wazuh's
 * cluster.json `files` table, plus etc/sca/ for custom SCA policies).
 */
export interface SyncedItem {
  /** Folder relative to the node's home. */
  readonly dir: string;
  /** `all`, or the only file names synced in this folder (and its subfolders if recursive). */
  readonly files: 'all' | readonly string[];
  readonly recursive: boolean;
  readonly permissions: number;
  /** Remove a subfolder left empty by a deletion (only etc/shared and var/multigroups). */
  readonly removeSubdirsIfEmpty: boolean;
  /** A change here means the ruleset changed and event processing should reload. */
  readonly ruleset: boolean;
}

export const SYNCED_SET: readonly SyncedItem[] = [
  { dir: 'etc', files: ['client.keys'], recursive: false, permissions: 0o640, removeSubdirsIfEmpty: false, ruleset: false },
  { dir: 'etc/shared', files: 'all', recursive: true, permissions: 0o660, removeSubdirsIfEmpty: true, ruleset: false },
  { dir: 'var/multigroups', files: ['merged.mg'], recursive: true, permissions: 0o660, removeSubdirsIfEmpty: true, ruleset: false },
  { dir: 'etc/rules', files: 'all', recursive: true, permissions: 0o660, removeSubdirsIfEmpty: false, ruleset: true },
  { dir: 'etc/decoders', files: 'all', recursive: true, permissions: 0o660, removeSubdirsIfEmpty: false, ruleset: true },
  { dir: 'etc/lists', files: 'all', recursive: true, permissions: 0o660, removeSubdirsIfEmpty: false, ruleset: true },
  { dir: 'etc/sca', files: 'all', recursive: true, permissions: 0o660, removeSubdirsIfEmpty: false, ruleset: true },
];

const EXCLUDED_NAMES = new Set(['ar.conf', 'ossec.conf']);
const EXCLUDED_SUFFIXES = ['~', '.tmp', '.lock', '.swp'];

/** Local files that are neither hashed nor deleted on workers. */
export function isExcluded(name: string): boolean {
  return EXCLUDED_NAMES.has(name) || EXCLUDED_SUFFIXES.some((s) => name.endsWith(s));
}

export function itemAccepts(item: SyncedItem, name: string): boolean {
  return !isExcluded(name) && (item.files === 'all' || item.files.includes(name));
}
