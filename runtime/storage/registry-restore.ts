/**
 * Getting the master's registry ready at start. On first start it is built from what
 * a Wazuh home already holds (etc/client.keys, the group folders under etc/shared,
 * queue/agents-timestamp and the legacy queue/agent-groups files), so an operator can
 * migrate; the `default` group always exists. Every start rewrites client.keys from
 * the registry, which repairs a crash between a commit and the file write.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseClientKeys } from '../../protocols/agent-keys.js';
import { DEFAULT_GROUP, GROUP_NAME_RE, MAX_GROUPS_PER_AGENT, type AgentRecord, type RegistryChange } from '../../protocols/registry.js';
import type { Logger } from '../logger.js';
import { groupSets } from '../../protocols/registry.js';
import type { RegistryDb } from './registry-db.js';
import { createGroupDir, registryFiles, writeClientKeysFile } from './registry-files.js';

export async function prepareRegistry(home: string, db: RegistryDb, log: Logger): Promise<void> {
  if (db.isNew) await restoreFromHome(home, db, log);
  if (!db.groupExists(DEFAULT_GROUP)) {
    createGroupDir(home, DEFAULT_GROUP);
    db.commit([{ op: 'group-created', group: DEFAULT_GROUP }]);
  }
  await writeClientKeysFile(home, db.clientKeysText());
  // Before any worker connects: the first sync already carries every merged.mg.
  await registryFiles(home).buildMerged(groupSets(db));
}


async function restoreFromHome(home: string, db: RegistryDb, log: Logger): Promise<void> {
  const keysFile = path.join(home, 'etc', 'client.keys');
  const text = await readIfExists(keysFile);
  const groups = await groupFolders(home);
  if (text === null && groups.length === 0) return;
  if (!groups.includes(DEFAULT_GROUP)) {
    createGroupDir(home, DEFAULT_GROUP);
    groups.push(DEFAULT_GROUP);
    groups.sort();
  }
  const parsed = parseClientKeys(text ?? '');
  for (const e of parsed.errors) log.warning(`${keysFile}:${e.line}: ${e.message}; this line is not imported.`);
  const times = await registrationTimes(home);
  const known = new Set(groups);
  const agents: AgentRecord[] = [];
  for (const a of parsed.agents) {
    const own = (await legacyGroups(home, a.id)).filter((g) => known.has(g)).slice(0, MAX_GROUPS_PER_AGENT);
    agents.push({ id: a.id, name: a.name, ip: a.ip, key: a.key, registeredAt: times.get(a.id) ?? Date.now(), groups: own.length > 0 ? own : [DEFAULT_GROUP] });
  }
  const changes: RegistryChange[] = [
    ...groups.map((group): RegistryChange => ({ op: 'group-created', group })),
    ...agents.map((agent): RegistryChange => ({ op: 'agent-added', agent })),
  ];
  db.commit(changes);
  const removed = Math.max(0, ...parsed.removedIds);
  if (removed > 0) db.reserveIds(removed);
  log.info(`Registry created from the existing home: ${agents.length} agents from etc/client.keys, ${groups.length} groups from etc/shared.`);
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function groupFolders(home: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(path.join(home, 'etc', 'shared'), { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && GROUP_NAME_RE.test(e.name) && e.name !== '.' && e.name !== '..').map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** queue/agents-timestamp: `ID NAME IP YYYY-MM-DD HH:MM:SS` per agent. */
async function registrationTimes(home: string): Promise<Map<number, number>> {
  const text = await readIfExists(path.join(home, 'queue', 'agents-timestamp'));
  const times = new Map<number, number>();
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+) \S+ \S+ (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(line.trim());
    if (!m) continue;
    const at = Date.parse(`${m[2]}T${m[3]}Z`);
    if (Number.isFinite(at)) times.set(Number(m[1]), at);
  }
  return times;
}

/** Wazuh before 4.2 kept each agent's groups in queue/agent-groups/<id> as a CSV. */
async function legacyGroups(home: string, id: number): Promise<string[]> {
  const text = await readIfExists(path.join(home, 'queue', 'agent-groups', String(id).padStart(3, '0')));
  return text === null ? [] : [...new Set(text.trim().split(',').filter((g) => g !== ''))];
}
