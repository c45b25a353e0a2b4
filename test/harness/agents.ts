/**
 * What an agent does at enrolment, for tests and benchmarks: one TLS connection to a
 * node's enrolment port, one request line, one answer.
 */
import tls from 'node:tls';
import Database from 'better-sqlite3';
import path from 'node:path';
import fs from 'node:fs/promises';

/** One client context for every connection, as an agent process has: building one costs more than a handshake. */
let clientContext: tls.SecureContext | undefined;

/** Sends `line` (a '\n' is added) and resolves with everything the server answered before closing. */
export function enrol(port: number, line: string, host = '127.0.0.1', timeoutMs = 20_000): Promise<string> {
  clientContext ??= tls.createSecureContext();
  const secureContext = clientContext;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, secureContext }, () => socket.write(`${line}\n`));
    let answer = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)); }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => { answer += d; });
    socket.on('error', (err) => { clearTimeout(timer); reject(err); });
    socket.on('close', () => { clearTimeout(timer); resolve(answer); });
  });
}

export interface IssuedKey {
  readonly id: string;
  readonly name: string;
  readonly ip: string;
  readonly key: string;
}

/** Parses `OSSEC K:'id name ip key'` as the real agent does; throws on anything else. */
export function issuedKey(answer: string): IssuedKey {
  const m = /^OSSEC K:'(\d+) (\S+) (\S+) ([0-9a-f]{64})'\n?$/.exec(answer);
  if (!m) throw new Error(`not a key answer: ${JSON.stringify(answer)}`);
  return { id: m[1] ?? '', name: m[2] ?? '', ip: m[3] ?? '', key: m[4] ?? '' };
}

/** client.keys of a node, as `ID NAME IP KEY` lines. */
export async function clientKeys(home: string): Promise<string[]> {
  const text = await fs.readFile(path.join(home, 'etc', 'client.keys'), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '');
}

export interface ReplicaRows {
  readonly revision: number;
  readonly agents: ReadonlyMap<number, { name: string; key: string; groups: string }>;
  /** Group rows (agent id, group name) whose agent row is missing: must always be empty. */
  readonly orphans: number;
}

/** Reads a node's global.db (read-only, alongside the running node; WAL allows it). */
export function readRegistry(home: string): ReplicaRows {
  const db = new Database(path.join(home, 'queue', 'db', 'global.db'), { readonly: true, fileMustExist: true });
  try {
    const revision = Number((db.prepare("SELECT value FROM meta WHERE key = 'revision'").get() as { value: string } | undefined)?.value ?? 0);
    const rows = db.prepare('SELECT id, name, internal_key AS key, COALESCE("group", \'\') AS groups FROM agent').all() as { id: number; name: string; key: string; groups: string }[];
    const orphans = (db.prepare('SELECT COUNT(*) AS n FROM belongs WHERE id_agent NOT IN (SELECT id FROM agent)').get() as { n: number }).n;
    return { revision, agents: new Map(rows.map((r) => [r.id, { name: r.name, key: r.key, groups: r.groups }])), orphans };
  } finally {
    db.close();
  }
}
