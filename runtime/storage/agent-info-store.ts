/**
 * The agents' reported state on the master: the status columns of global.db's agent
 * table (its own connection to the registry's file; the two never write at the same
 * time, both run on the node's one thread), and a durable, numbered log of status
 * changes from which Redis is refilled after an outage.
 *
 * A batch of updates is one transaction. Agents the registry does not hold are
 * counted and skipped, never created (Wazuh's rule). Keepalive times are the master's
 * clock, as in Wazuh; a startup counts as a sign of life too.
 */
import Database from 'better-sqlite3';
import type { AgentInfoUpdate, AgentStatusEvent } from '../../protocols/agent-info.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS agent_status_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id INTEGER NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  node TEXT,
  version TEXT,
  at INTEGER NOT NULL
);
`;

type Status = AgentStatusEvent['status'];

interface CurrentRow { name: string; connection_status: string; node_name: string | null; version: string | null }
interface LogRow { seq: number; id: number; name: string; status: string; node: string | null; version: string | null; at: number }

export interface ApplyResult {
  readonly stored: number;
  readonly unknown: number;
  /** The status changes of this batch, in order, with their log numbers. */
  readonly events: AgentStatusEvent[];
}

export class AgentInfoStore {
  private readonly st;
  /** What the last write left per agent, so a batch reads nothing back (the registry removes agents: a write then finds no row). */
  private readonly known = new Map<number, CurrentRow>();

  private constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    this.st = {
      current: db.prepare<[number], CurrentRow>('SELECT name, connection_status, node_name, version FROM agent WHERE id = ?'),
      // Positional parameters: binding is a large part of a 100k-agent cycle.
      full: db.prepare<(string | number | null)[]>(`UPDATE agent SET connection_status = ?, node_name = ?, version = COALESCE(?, version),
        last_keepalive = CASE WHEN ? = 'disconnected' THEN last_keepalive ELSE ? END,
        disconnection_time = CASE WHEN ? = 'disconnected' THEN ? ELSE 0 END,
        os_name = ?, os_version = ?, os_platform = ?, os_uname = ?, os_arch = ?, config_sum = ?, merged_sum = ?, labels = ? WHERE id = ?`),
      keepalive: db.prepare<(string | number | null)[]>(`UPDATE agent SET connection_status = 'active', node_name = ?, version = COALESCE(?, version),
        last_keepalive = ?, disconnection_time = 0 WHERE id = ?`),
      status: db.prepare<(string | number | null)[]>(`UPDATE agent SET connection_status = ?, node_name = ?, version = COALESCE(?, version),
        last_keepalive = CASE WHEN ? = 'disconnected' THEN last_keepalive ELSE ? END,
        disconnection_time = CASE WHEN ? = 'disconnected' THEN ? ELSE 0 END WHERE id = ?`),
      log: db.prepare('INSERT INTO agent_status_log (id, name, status, node, version, at) VALUES (?, ?, ?, ?, ?, ?)'),
      stale: db.prepare<[number], { id: number; name: string; node_name: string | null; version: string | null }>(`SELECT id, name, node_name, version
        FROM agent WHERE connection_status IN ('active', 'pending') AND COALESCE(last_keepalive, date_add) < ?`),
      disconnect: db.prepare<[number, number]>(`UPDATE agent SET connection_status = 'disconnected', disconnection_time = ? WHERE id = ?`),
      since: db.prepare<[number, number], LogRow>('SELECT seq, id, name, status, node, version, at FROM agent_status_log WHERE seq > ? ORDER BY seq LIMIT ?'),
      lastSeq: db.prepare<[], number | null>('SELECT MAX(seq) FROM agent_status_log').pluck(),
      trim: db.prepare<[number]>('DELETE FROM agent_status_log WHERE seq <= ?'),
    };
  }

  /** Opens global.db (created by the registry) with synchronous=FULL: stored means durable. */
  static open(file: string): AgentInfoStore {
    const db = new Database(file, { timeout: 5000, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    return new AgentInfoStore(db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Stores a batch reported by `node`, in one transaction. */
  apply(updates: readonly AgentInfoUpdate[], node: string, now: number): ApplyResult {
    return this.db.transaction(() => {
      let stored = 0;
      let unknown = 0;
      const events: AgentStatusEvent[] = [];
      for (const u of updates) {
        const before = this.known.get(u.id) ?? this.st.current.get(u.id);
        if (!before || !this.write(u, node, now)) {
          this.known.delete(u.id);
          unknown += 1;
          continue;
        }
        stored += 1;
        const version = u.version ?? before.version;
        if (before.connection_status !== u.status || before.node_name !== node) events.push(this.record(u.id, before.name, u.status, node, version, now));
        this.known.set(u.id, { name: before.name, connection_status: u.status, node_name: node, version });
      }
      return { stored, unknown, events };
    }).immediate();
  }

  /** Agents silent for `thresholdMs` (active or pending) become disconnected (Wazuh's status_code 4). */
  sweep(now: number, thresholdMs: number): AgentStatusEvent[] {
    return this.db.transaction(() => this.st.stale.all(now - thresholdMs).map((a) => {
      this.st.disconnect.run(now, a.id);
      this.known.set(a.id, { name: a.name, connection_status: 'disconnected', node_name: a.node_name, version: a.version });
      return this.record(a.id, a.name, 'disconnected', a.node_name, a.version, now);
    })).immediate();
  }

  /** The logged status changes after `seq`, oldest first. */
  since(seq: number, limit: number): AgentStatusEvent[] {
    return this.st.since.all(seq, limit).map((r) => ({ ...r, status: r.status as Status }));
  }

  /** Keeps the newest `keep` log entries. */
  trimLog(keep: number): void {
    const last = this.st.lastSeq.get() ?? 0;
    if (last > keep) this.st.trim.run(last - keep);
  }

  /** False when the agent is gone from the registry. */
  private write(u: AgentInfoUpdate, node: string, now: number): boolean {
    const { id, status, version } = u;
    if (u.kind === 'full' && u.report) {
      const r = u.report;
      return this.st.full.run(status, node, version, status, now, status, now,
        r.os.name, r.os.version, r.os.platform, r.uname, r.os.arch, r.configSum, r.mergedSum, r.labels, id).changes > 0;
    }
    if (u.kind === 'keepalive' && status === 'active') return this.st.keepalive.run(node, version, now, id).changes > 0;
    return this.st.status.run(status, node, version, status, now, status, now, id).changes > 0;
  }

  private record(id: number, name: string, status: Status, node: string | null, version: string | null, at: number): AgentStatusEvent {
    const seq = Number(this.st.log.run(id, name, status, node, version, at).lastInsertRowid);
    return { seq, id, name, status, node, version, at };
  }
}
