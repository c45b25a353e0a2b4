/**
 * The agent registry in SQLite (Wazuh's global.db `agent`, `group` and `belongs`
 * tables, plus our own change log).
 *
 * The master is authoritative: `commit` numbers each change with the next revision,
 * appends it to the `changes` log and applies it, all in one transaction. A worker
 * keeps a replica: it `replay`s the master's log in order, or swaps in a full
 * snapshot with `replaceAll` when it fell too far behind. Both apply a change through
 * the same code, so the two databases hold identical content at equal revisions
 * (compare `checksum()`).
 *
 * Everything is synchronous (better-sqlite3); one RegistryDb owns its file.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  RegistryChangeSchema, formatAgentId,
  type AgentRecord, type RegistryChange, type RevisedChange,
} from '../../protocols/registry.js';
import { formatClientKeyLine } from '../../protocols/agent-keys.js';
import { isAgentStatus, type AgentStatus } from '../../protocols/agent-status.js';

export interface AgentRow extends AgentRecord {
  readonly status: AgentStatus;
  /** Node the agent reports to. */
  readonly node: string | null;
  readonly version: string | null;
  /** ms epoch. */
  readonly lastKeepalive: number | null;
  /** ms epoch, when it became disconnected. */
  readonly disconnectedAt: number | null;
}

/** A replica was handed a change that does not directly follow its revision. */
export class RegistryGapError extends Error {
  constructor(readonly have: number, readonly got: number) {
    super(`change ${got} does not follow revision ${have}`);
    this.name = 'RegistryGapError';
  }
}

type Role = 'master' | 'replica';
type StatusFields = Partial<Pick<AgentRow, 'status' | 'node' | 'version' | 'lastKeepalive' | 'disconnectedAt'>>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS agent (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  ip TEXT NOT NULL,
  internal_key TEXT NOT NULL,
  date_add INTEGER NOT NULL,            -- ms epoch (Wazuh stores seconds)
  "group" TEXT,                         -- CSV in priority order, NULL when none
  group_hash TEXT,                      -- first 8 hex of sha256("group"), NULL when none
  connection_status TEXT NOT NULL DEFAULT 'never_connected',
  node_name TEXT,
  version TEXT,
  last_keepalive INTEGER,               -- ms epoch
  disconnection_time INTEGER,           -- ms epoch
  os_name TEXT,
  os_version TEXT,
  os_platform TEXT,
  os_uname TEXT,
  os_arch TEXT,
  config_sum TEXT,
  merged_sum TEXT,
  labels TEXT
);
CREATE INDEX IF NOT EXISTS agent_ip ON agent(ip);
CREATE TABLE IF NOT EXISTS "group" (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS belongs (
  id_agent INTEGER NOT NULL REFERENCES agent(id) ON DELETE CASCADE,
  id_group INTEGER NOT NULL REFERENCES "group"(id) ON DELETE CASCADE,
  priority INTEGER NOT NULL,
  PRIMARY KEY (id_agent, id_group)
);
CREATE INDEX IF NOT EXISTS belongs_group ON belongs(id_group);
CREATE TABLE IF NOT EXISTS changes (
  rev INTEGER PRIMARY KEY,
  change TEXT NOT NULL                  -- JSON RegistryChange
);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT OR IGNORE INTO meta(key, value) VALUES ('revision', '0'), ('next_id', '1');
`;

/** The agent columns every AgentRow read selects. */
const AGENT_COLUMNS = `a.id, a.name, a.ip, a.internal_key, a.date_add, a."group" AS csv, a.connection_status,
  a.node_name, a.version, a.last_keepalive, a.disconnection_time`;

interface AgentDbRow {
  id: number;
  name: string;
  ip: string;
  internal_key: string;
  date_add: number;
  csv: string | null;
  connection_status: string;
  node_name: string | null;
  version: string | null;
  last_keepalive: number | null;
  disconnection_time: number | null;
}

/** The agent-reported columns kept across a replaceAll for an agent whose id and key are unchanged. */
interface InfoDbRow {
  id: number;
  internal_key: string;
  connection_status: string;
  node_name: string | null;
  version: string | null;
  last_keepalive: number | null;
  disconnection_time: number | null;
  os_name: string | null;
  os_version: string | null;
  os_platform: string | null;
  os_uname: string | null;
  os_arch: string | null;
  config_sum: string | null;
  merged_sum: string | null;
  labels: string | null;
}

function splitCsv(csv: string | null): string[] {
  return csv === null || csv === '' ? [] : csv.split(',');
}

function groupHash(csv: string): string {
  return createHash('sha256').update(csv).digest('hex').slice(0, 8);
}

function toRow(r: AgentDbRow): AgentRow {
  return {
    id: r.id,
    name: r.name,
    ip: r.ip,
    key: r.internal_key,
    registeredAt: r.date_add,
    groups: splitCsv(r.csv),
    status: isAgentStatus(r.connection_status) ? r.connection_status : 'never_connected',
    node: r.node_name,
    version: r.version,
    lastKeepalive: r.last_keepalive,
    disconnectedAt: r.disconnection_time,
  };
}

function toRecord(r: AgentDbRow): AgentRecord {
  return { id: r.id, name: r.name, ip: r.ip, key: r.internal_key, registeredAt: r.date_add, groups: splitCsv(r.csv) };
}

function prepareAll(db: Database.Database) {
  return {
    getMeta: db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck(),
    setMeta: db.prepare<[string, string]>('UPDATE meta SET value = ? WHERE key = ?'),

    agentExists: db.prepare<[number], number>('SELECT 1 FROM agent WHERE id = ?').pluck(),
    nameExists: db.prepare<[string], number>('SELECT 1 FROM agent WHERE name = ?').pluck(),
    insertAgent: db.prepare<[number, string, string, string, number, string | null, string | null]>(
      'INSERT INTO agent (id, name, ip, internal_key, date_add, "group", group_hash) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    deleteAgent: db.prepare<[number]>('DELETE FROM agent WHERE id = ?'),
    setAgentGroups: db.prepare<[string | null, string | null, number]>('UPDATE agent SET "group" = ?, group_hash = ? WHERE id = ?'),
    deleteBelongs: db.prepare<[number]>('DELETE FROM belongs WHERE id_agent = ?'),
    insertBelongs: db.prepare<[number, number, number]>('INSERT INTO belongs (id_agent, id_group, priority) VALUES (?, ?, ?)'),

    groupId: db.prepare<[string], number>('SELECT id FROM "group" WHERE name = ?').pluck(),
    insertGroup: db.prepare<[string]>('INSERT INTO "group" (name) VALUES (?)'),
    deleteGroup: db.prepare<[number]>('DELETE FROM "group" WHERE id = ?'),
    groupMemberCount: db.prepare<[number], number>('SELECT COUNT(*) FROM belongs WHERE id_group = ?').pluck(),

    appendLog: db.prepare<[number, string]>('INSERT INTO changes (rev, change) VALUES (?, ?)'),
    minLogRev: db.prepare<[], number | null>('SELECT MIN(rev) FROM changes').pluck(),
    logAfter: db.prepare<[number, number], { rev: number; change: string }>(
      'SELECT rev, change FROM changes WHERE rev > ? ORDER BY rev LIMIT ?'),
    compactLog: db.prepare<[number]>('DELETE FROM changes WHERE rev <= (SELECT MAX(rev) FROM changes) - ?'),

    agentById: db.prepare<[number], AgentDbRow>(`SELECT ${AGENT_COLUMNS} FROM agent a WHERE a.id = ?`),
    agentByName: db.prepare<[string], AgentDbRow>(`SELECT ${AGENT_COLUMNS} FROM agent a WHERE a.name = ?`),
    agentsByIp: db.prepare<[string], AgentDbRow>(`SELECT ${AGENT_COLUMNS} FROM agent a WHERE a.ip = ? ORDER BY a.id`),
    allAgents: db.prepare<[], AgentDbRow>(`SELECT ${AGENT_COLUMNS} FROM agent a ORDER BY a.id`),
    members: db.prepare<[string], AgentDbRow>(`SELECT ${AGENT_COLUMNS} FROM agent a
      JOIN belongs b ON b.id_agent = a.id JOIN "group" g ON g.id = b.id_group WHERE g.name = ? ORDER BY a.id`),
    groupNames: db.prepare<[], string>('SELECT name FROM "group" ORDER BY name').pluck(),
    groupCounts: db.prepare<[], { name: string; agents: number }>(`SELECT g.name AS name, COUNT(b.id_agent) AS agents
      FROM "group" g LEFT JOIN belongs b ON b.id_group = g.id GROUP BY g.id ORDER BY g.name`),
    rowCount: db.prepare<[], number>('SELECT (SELECT COUNT(*) FROM agent) + (SELECT COUNT(*) FROM "group")').pluck(),
    unassigned: db.prepare<[], number>(
      'SELECT COUNT(*) FROM agent a WHERE NOT EXISTS (SELECT 1 FROM belongs b WHERE b.id_agent = a.id)').pluck(),
    checksumAgents: db.prepare<[], [number, string, string, string, string | null]>(
      'SELECT id, name, ip, internal_key, "group" FROM agent ORDER BY id').raw(),
    keysRows: db.prepare<[], [number, string, string, string]>('SELECT id, name, ip, internal_key FROM agent ORDER BY id').raw(),

    infoRows: db.prepare<[], InfoDbRow>(`SELECT id, internal_key, connection_status, node_name, version, last_keepalive,
      disconnection_time, os_name, os_version, os_platform, os_uname, os_arch, config_sum, merged_sum, labels FROM agent`),
    restoreInfo: db.prepare<[InfoDbRow]>(`UPDATE agent SET connection_status = @connection_status, node_name = @node_name,
      version = @version, last_keepalive = @last_keepalive, disconnection_time = @disconnection_time, os_name = @os_name,
      os_version = @os_version, os_platform = @os_platform, os_uname = @os_uname, os_arch = @os_arch,
      config_sum = @config_sum, merged_sum = @merged_sum, labels = @labels WHERE id = @id`),
    deleteAllAgents: db.prepare<[]>('DELETE FROM agent'),
    deleteAllGroups: db.prepare<[]>('DELETE FROM "group"'),

    setStatus: db.prepare<[Record<string, number | string | null>]>(`UPDATE agent SET
      connection_status = CASE WHEN @s_status THEN @status ELSE connection_status END,
      node_name = CASE WHEN @s_node THEN @node ELSE node_name END,
      version = CASE WHEN @s_version THEN @version ELSE version END,
      last_keepalive = CASE WHEN @s_keepalive THEN @keepalive ELSE last_keepalive END,
      disconnection_time = CASE WHEN @s_disconnected THEN @disconnected ELSE disconnection_time END
      WHERE id = @id`),
  };
}

type Statements = ReturnType<typeof prepareAll>;

export class RegistryDb {
  private readonly st: Statements;
  private cachedChecksum: string | null = null;

  private constructor(
    private readonly db: Database.Database,
    private readonly role: Role,
    readonly isNew: boolean,
  ) {
    this.st = prepareAll(db);
  }

  /** Opens (creating folders, file and schema). master: synchronous=FULL (durable before ack); replica: NORMAL. Always WAL, foreign_keys=ON, busy_timeout 5000. */
  static open(file: string, role: 'master' | 'replica'): RegistryDb {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const db = new Database(file, { timeout: 5000 });
    try {
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${role === 'master' ? 'FULL' : 'NORMAL'}`);
      db.pragma('foreign_keys = ON');
      const isNew = db.transaction(() => {
        const had = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
        db.exec(SCHEMA);
        return !had;
      }).immediate();
      return new RegistryDb(db, role, isNew);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Runs `fn` in one transaction: everything committed inside it becomes durable together,
   * and a throw rolls all of it back. Nested calls (and commit/replay inside) become
   * savepoints, so an inner failure undoes only the inner part when the caller catches it.
   * `fn` must be synchronous.
   */
  batch<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } finally {
      // A checksum computed inside the batch may describe changes that were rolled back.
      this.cachedChecksum = null;
    }
  }

  /** Last applied revision, 0 for a new db. */
  get revision(): number {
    return this.metaNumber('revision');
  }

  /** Master: gives the changes the next revisions, appends them to the log and applies them — one transaction; all or nothing. */
  commit(changes: readonly RegistryChange[]): RevisedChange[] {
    this.requireRole('master', 'commit');
    const parsed = changes.map((c, i) => {
      const r = RegistryChangeSchema.safeParse(c);
      if (!r.success) throw new Error(`change ${i + 1} of ${changes.length} is invalid: ${r.error.issues.map((x) => x.message).join('; ')}`);
      return r.data;
    });
    if (parsed.length === 0) return [];
    const out = this.db.transaction(() => {
      let rev = this.revision;
      const revised: RevisedChange[] = [];
      for (const change of parsed) {
        rev += 1;
        this.apply(change, rev);
        this.st.appendLog.run(rev, JSON.stringify(change));
        revised.push({ rev, change });
      }
      return revised;
    }).immediate();
    this.cachedChecksum = null;
    return out;
  }

  /**
   * Replica: applies changes in order in one transaction; returns how many were applied.
   * Changes with rev <= revision are skipped. On a gap (rev != revision+1) the changes
   * before it in this call stay applied (committed) and RegistryGapError is thrown; a
   * change that violates the registry's rules rolls back the whole call and throws.
   */
  replay(changes: readonly RevisedChange[]): number {
    this.requireRole('replica', 'replay');
    if (changes.length === 0) return 0;
    const { applied, gap } = this.db.transaction(() => {
      let have = this.revision;
      let n = 0;
      for (const { rev, change } of changes) {
        if (rev <= have) continue;
        if (rev !== have + 1) return { applied: n, gap: new RegistryGapError(have, rev) };
        this.apply(change, rev);
        have = rev;
        n += 1;
      }
      return { applied: n, gap: null };
    }).immediate();
    if (applied > 0) this.cachedChecksum = null;
    if (gap !== null) throw gap;
    return applied;
  }

  /**
   * Replica: replaces all agents and groups with a snapshot taken at `revision` (one transaction).
   * Agents whose id and key are unchanged keep their agent-reported columns (status, node,
   * version, keepalive, disconnection time, and the os/config/labels columns).
   */
  replaceAll(revision: number, groups: readonly string[], agents: readonly AgentRecord[]): void {
    this.requireRole('replica', 'replaceAll');
    if (!Number.isInteger(revision) || revision < 0) throw new Error(`invalid revision ${revision}`);
    this.db.transaction(() => {
      const kept = new Map<number, InfoDbRow>();
      for (const row of this.st.infoRows.all()) kept.set(row.id, row);
      this.st.deleteAllAgents.run();
      this.st.deleteAllGroups.run();
      for (const g of groups) this.createGroup(g);
      for (const agent of agents) {
        this.addAgent(agent);
        const info = kept.get(agent.id);
        if (info !== undefined && info.internal_key === agent.key) this.st.restoreInfo.run(info);
      }
      this.st.setMeta.run(String(revision), 'revision');
    }).immediate();
    this.cachedChecksum = null;
  }

  /** Master: the logged changes after `rev`, at most `limit`; null when the log no longer reaches back to rev+1 or rev > revision; [] when rev == revision. */
  changesSince(rev: number, limit: number): RevisedChange[] | null {
    return this.db.transaction(() => {
      const current = this.revision;
      if (rev > current || rev < 0) return null;
      if (rev === current) return [];
      const min = this.st.minLogRev.get() ?? null;
      if (min === null || min > rev + 1) return null;
      if (limit <= 0) return [];
      return this.st.logAfter.all(rev, Math.floor(limit)).map((r) => ({ rev: r.rev, change: JSON.parse(r.change) as RegistryChange }));
    }).deferred();
  }

  /** Consistent read of everything at the current revision. */
  snapshot(): { revision: number; groups: string[]; agents: AgentRecord[] } {
    return this.db.transaction(() => ({
      revision: this.revision,
      groups: this.st.groupNames.all(),
      agents: this.st.allAgents.all().map(toRecord),
    })).deferred();
  }

  agentById(id: number): AgentRow | undefined {
    const r = this.st.agentById.get(id);
    return r === undefined ? undefined : toRow(r);
  }

  agentByName(name: string): AgentRow | undefined {
    const r = this.st.agentByName.get(name);
    return r === undefined ? undefined : toRow(r);
  }

  agentsByIp(ip: string): AgentRow[] {
    return this.st.agentsByIp.all(ip).map(toRow);
  }

  /** Ordered by id. */
  agents(): AgentRow[] {
    return this.st.allAgents.all().map(toRow);
  }

  /** Ordered by name, with member counts. */
  groups(): { name: string; agents: number }[] {
    return this.st.groupCounts.all().map((g) => ({ name: g.name, agents: g.agents }));
  }

  groupExists(group: string): boolean {
    return this.st.groupId.get(group) !== undefined;
  }

  /** Ordered by id. */
  members(group: string): AgentRow[] {
    return this.st.members.all(group).map(toRow);
  }

  /** Agents with no group. */
  /** Agents plus groups: what a full snapshot carries. */
  rowCount(): number {
    return this.st.rowCount.get() ?? 0;
  }

  unassignedCount(): number {
    return this.st.unassigned.get() ?? 0;
  }

  /** Highest id ever assigned + 1 (removed agents' ids are never reused); at least 1. */
  nextAgentId(): number {
    return Math.max(1, this.metaNumber('next_id'));
  }

  /** Master: marks ids up to `upTo` as used so nextAgentId skips them. Not logged; does not change the revision. */
  reserveIds(upTo: number): void {
    if (!Number.isInteger(upTo)) throw new Error(`invalid id ${upTo}`);
    this.db.transaction(() => this.bumpNextId(upTo + 1)).immediate();
  }

  /** sha1 hex over the registry's content (agents by id, then groups by name). Cached until the next change. */
  checksum(): string {
    if (this.cachedChecksum !== null) return this.cachedChecksum;
    const sum = this.db.transaction(() => {
      const h = createHash('sha1');
      for (const [id, name, ip, key, csv] of this.st.checksumAgents.iterate()) h.update(`${id} ${name} ${ip} ${key} ${csv ?? ''}\n`);
      for (const g of this.st.groupNames.iterate()) h.update(`#${g}\n`);
      return h.digest('hex');
    }).deferred();
    this.cachedChecksum = sum;
    return sum;
  }

  /** The client.keys text: "ID NAME IP KEY\n" ordered by id, ID zero-padded to 3 digits. */
  clientKeysText(): string {
    const parts: string[] = [];
    for (const [id, name, ip, key] of this.st.keysRows.iterate()) parts.push(formatClientKeyLine({ id, name, ip, key }));
    return parts.join('');
  }

  /** Master: drops the oldest log entries so that at most `keep` remain. */
  compactLog(keep: number): void {
    this.st.compactLog.run(Math.max(0, Math.floor(keep)));
  }

  /** Status columns (filled by agent-info): set for one agent; unknown id → false. Undefined fields are left as they are. */
  setStatus(id: number, fields: StatusFields): boolean {
    if (fields.status !== undefined && !isAgentStatus(fields.status)) throw new Error(`invalid agent status '${String(fields.status)}'`);
    const flag = (v: unknown): number => (v === undefined ? 0 : 1);
    const r = this.st.setStatus.run({
      id,
      s_status: flag(fields.status), status: fields.status ?? null,
      s_node: flag(fields.node), node: fields.node ?? null,
      s_version: flag(fields.version), version: fields.version ?? null,
      s_keepalive: flag(fields.lastKeepalive), keepalive: fields.lastKeepalive ?? null,
      s_disconnected: flag(fields.disconnectedAt), disconnected: fields.disconnectedAt ?? null,
    });
    return r.changes > 0;
  }

  // ---- private helpers

  private requireRole(role: Role, what: string): void {
    if (this.role !== role) throw new Error(`${what} is only allowed on the ${role} registry (this one is the ${this.role})`);
  }

  private metaNumber(key: string): number {
    const v = this.st.getMeta.get(key);
    return v === undefined ? 0 : Number(v);
  }

  private bumpNextId(candidate: number): void {
    if (candidate > this.metaNumber('next_id')) this.st.setMeta.run(String(candidate), 'next_id');
  }

  /** Applies one change inside the caller's transaction; throws (rolling it back) on a violation. */
  private apply(change: RegistryChange, rev: number): void {
    switch (change.op) {
      case 'agent-added':
        this.addAgent(change.agent);
        break;
      case 'agent-removed':
        this.requireAgent(change.id);
        this.st.deleteAgent.run(change.id);
        break;
      case 'groups-set':
        this.requireAgent(change.id);
        this.setGroups(change.id, change.groups);
        break;
      case 'group-created':
        this.createGroup(change.group);
        break;
      case 'group-deleted': {
        const gid = this.st.groupId.get(change.group);
        if (gid === undefined) throw new Error(`group '${change.group}' does not exist`);
        const n = this.st.groupMemberCount.get(gid) ?? 0;
        if (n > 0) throw new Error(`group '${change.group}' still has ${n} agent${n === 1 ? '' : 's'}`);
        this.st.deleteGroup.run(gid);
        break;
      }
      default: {
        const never: never = change;
        throw new Error(`unknown registry change ${JSON.stringify(never)}`);
      }
    }
    this.st.setMeta.run(String(rev), 'revision');
  }

  private requireAgent(id: number): void {
    if (this.st.agentExists.get(id) === undefined) throw new Error(`agent ${formatAgentId(id)} does not exist`);
  }

  private createGroup(group: string): void {
    if (this.st.groupId.get(group) !== undefined) throw new Error(`group '${group}' already exists`);
    this.st.insertGroup.run(group);
  }

  /** Group ids in the given order; every group must exist and appear once. */
  private resolveGroups(id: number, groups: readonly string[]): number[] {
    const seen = new Set<string>();
    return groups.map((g) => {
      if (seen.has(g)) throw new Error(`agent ${formatAgentId(id)} lists group '${g}' twice`);
      seen.add(g);
      const gid = this.st.groupId.get(g);
      if (gid === undefined) throw new Error(`group '${g}' does not exist`);
      return gid;
    });
  }

  private addAgent(agent: AgentRecord): void {
    if (this.st.agentExists.get(agent.id) !== undefined) throw new Error(`agent ${formatAgentId(agent.id)} already exists`);
    if (this.st.nameExists.get(agent.name) !== undefined) throw new Error(`agent name '${agent.name}' already exists`);
    const gids = this.resolveGroups(agent.id, agent.groups);
    const csv = agent.groups.length === 0 ? null : agent.groups.join(',');
    this.st.insertAgent.run(agent.id, agent.name, agent.ip, agent.key, agent.registeredAt, csv, csv === null ? null : groupHash(csv));
    gids.forEach((gid, i) => this.st.insertBelongs.run(agent.id, gid, i));
    this.bumpNextId(agent.id + 1);
  }

  /** Replaces the agent's groups (belongs rows, CSV and hash), keeping their order as priority. */
  private setGroups(id: number, groups: readonly string[]): void {
    const gids = this.resolveGroups(id, groups);
    this.st.deleteBelongs.run(id);
    gids.forEach((gid, i) => this.st.insertBelongs.run(id, gid, i));
    const csv = groups.length === 0 ? null : groups.join(',');
    this.st.setAgentGroups.run(csv, csv === null ? null : groupHash(csv), id);
  }
}
