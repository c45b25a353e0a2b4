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

  private constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    this.st = {
      current: db.prepare<[number], CurrentRow>('SELECT name, connection_status, node_name, version FROM agent WHERE id = ?'),
      full: db.prepare(`UPDATE agent SET connection_status = @status, node_name = @node, version = COALESCE(@version, version),
        last_keepalive = CASE WHEN @status = 'disconnected' THEN last_keepalive ELSE @now END,
        disconnection_time = CASE WHEN @status = 'disconnected' THEN @now ELSE 0 END,
        os_name = @os_name, os_version = @os_version, os_platform = @os_platform, os_uname = @os_uname, os_arch = @os_arch,
        config_sum = @config_sum, merged_sum = @merged_sum, labels = @labels WHERE id = @id`),
      keepalive: db.prepare(`UPDATE agent SET connection_status = 'active', node_name = @node, version = COALESCE(@version, version),
        last_keepalive = @now, disconnection_time = 0 WHERE id = @id`),
      status: db.prepare(`UPDATE agent SET connection_status = @status, node_name = @node, version = COALESCE(@version, version),
        last_keepalive = CASE WHEN @status = 'disconnected' THEN last_keepalive ELSE @now END,
        disconnection_time = CASE WHEN @status = 'disconnected' THEN @now ELSE 0 END WHERE id = @id`),
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
        const before = this.st.current.get(u.id);
        if (!before) {
          unknown += 1;
          continue;
        }
        this.write(u, node, now);
        stored += 1;
        if (before.connection_status !== u.status || before.node_name !== node) {
          events.push(this.record(u.id, before.name, u.status, node, u.version ?? before.version, now));
        }
      }
      return { stored, unknown, events };
    }).immediate();
  }

  /** Agents silent for `thresholdMs` (active or pending) become disconnected (Wazuh's status_code 4). */
  sweep(now: number, thresholdMs: number): AgentStatusEvent[] {
    return this.db.transaction(() => this.st.stale.all(now - thresholdMs).map((a) => {
      this.st.disconnect.run(now, a.id);
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

  private write(u: AgentInfoUpdate, node: string, now: number): void {
    const base = { id: u.id, node, now, version: u.version, status: u.status };
    if (u.kind === 'full' && u.report) {
      const r = u.report;
      this.st.full.run({
        ...base, os_name: r.os.name, os_version: r.os.version, os_platform: r.os.platform, os_uname: r.uname, os_arch: r.os.arch,
        config_sum: r.configSum, merged_sum: r.mergedSum, labels: r.labels,
      });
    } else if (u.kind === 'keepalive' && u.status === 'active') {
      this.st.keepalive.run({ id: u.id, node, now, version: u.version });
    } else {
      this.st.status.run(base);
    }
  }

  private record(id: number, name: string, status: Status, node: string | null, version: string | null, at: number): AgentStatusEvent {
    const seq = Number(this.st.log.run(id, name, status, node, version, at).lastInsertRowid);
    return { seq, id, name, status, node, version, at };
  }
}
