/**
 * Agent keys, the pure part: issuing a key, deriving the cipher keys a client.keys
 * line implies (Wazuh's §2.2 rules), the `K:` hash of re-enrolment, and reading and
 * writing etc/client.keys. No I/O here beyond node:crypto.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { AGENT_NAME_RE, formatAgentId } from './registry.js';

function md5hex(s: string): string {
  return createHash('md5').update(s, 'latin1').digest('hex');
}

/** A fresh agent key: any 64-hex random value is as good as authd's md5 mix. */
export function newAgentKey(): string {
  return randomBytes(32).toString('hex');
}

/**
 * The 47-character key string both ends derive: md5hex(KEY) + first 15 chars of
 * md5hex(md5hex(NAME) + md5hex(ID)). `id` is the id as written, e.g. "001".
 */
export function deriveEncryptionKey(id: string, name: string, key: string): string {
  return md5hex(key) + md5hex(md5hex(name) + md5hex(id)).slice(0, 15);
}

/** AES-256 uses only the first 32 bytes, i.e. md5hex(KEY): name and id do not matter. */
export function aesKey(id: string, name: string, key: string): Buffer {
  return Buffer.from(deriveEncryptionKey(id, name, key).slice(0, 32), 'latin1');
}

/** What a re-enrolling agent sends as `K:`: sha1 hex of ID + NAME + KEY, no separators. */
export function enrolmentKeyHash(id: string, name: string, key: string): string {
  return createHash('sha1').update(id + name + key, 'latin1').digest('hex');
}

export interface ClientKeyLine {
  id: number;
  name: string;
  ip: string;
  key: string;
}

/** One etc/client.keys line, `ID NAME IP KEY\n`, the id zero-padded to 3 digits. */
export function formatClientKeyLine(l: ClientKeyLine): string {
  return `${formatAgentId(l.id)} ${l.name} ${l.ip} ${l.key}\n`;
}

/** etc/client.keys: one `ID NAME IP KEY` line per agent, in the given order. */
export function renderClientKeys(lines: readonly ClientKeyLine[]): string {
  return lines.map(formatClientKeyLine).join('');
}

const IPV4_BITS = 32;
const IPV6_BITS = 128;

/** `any`, a plain IPv4/IPv6 address, or a CIDR with a prefix that fits its family. */
export function isValidAgentIp(ip: string): boolean {
  if (ip === 'any') return true;
  // Zone ids (fe80::1%eth0) are legal for node:net but mean nothing in client.keys.
  if (ip.includes('%')) return false;
  const slash = ip.indexOf('/');
  if (slash < 0) return isIP(ip) !== 0;
  const prefix = ip.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix)) return false;
  const family = isIP(ip.slice(0, slash));
  if (family === 0) return false;
  return Number(prefix) <= (family === 4 ? IPV4_BITS : IPV6_BITS);
}

/** What the agent itself accepts as a key (keys are normally 64 hex; keep what the file says). */
const KEY_RE = /^[A-Za-z0-9._-]{1,128}$/;
const ID_RE = /^\d{1,8}$/;

export interface ClientKeysError {
  line: number;
  message: string;
}

export interface ParsedClientKeys {
  agents: ClientKeyLine[];
  /** Ids of `ID !NAME …` lines: still count when choosing the next id. */
  removedIds: number[];
  errors: ClientKeysError[];
}

type LineResult = { kind: 'agent'; agent: ClientKeyLine } | { kind: 'removed'; id: number } | { kind: 'error'; message: string };

/** One non-comment line on its own: field count, id, removed marker, then name, ip and key. */
function parseKeyLine(text: string): LineResult {
  const fields = text.split(' ');
  if (fields.length !== 4) return { kind: 'error', message: `expected 4 fields 'ID NAME IP KEY', found ${fields.length}` };
  const [idText, name, ip, key] = fields as [string, string, string, string];
  if (!ID_RE.test(idText)) return { kind: 'error', message: `invalid agent id '${idText}'` };
  const id = Number(idText);
  if (id === 0) return { kind: 'error', message: `invalid agent id '${idText}': 000 is the manager itself` };
  if (name.startsWith('!') || name.startsWith('#')) return { kind: 'removed', id };
  if (!AGENT_NAME_RE.test(name)) return { kind: 'error', message: `invalid agent name '${name}'` };
  if (!isValidAgentIp(ip)) return { kind: 'error', message: `invalid agent ip '${ip}'` };
  // The key itself is a secret: never echo it into a log line.
  if (!KEY_RE.test(key)) return { kind: 'error', message: `invalid agent key for agent '${idText}'` };
  return { kind: 'agent', agent: { id, name, ip, key } };
}

/** Wazuh skips empty lines and lines starting with '#' or a space. */
function isIgnored(text: string): boolean {
  return text === '' || text.startsWith('#') || text.startsWith(' ');
}

/**
 * Reads etc/client.keys with Wazuh's rules. A line with any error (including a
 * duplicate id or name of an earlier agent) is reported and left out of `agents`.
 */
export function parseClientKeys(text: string): ParsedClientKeys {
  const out: ParsedClientKeys = { agents: [], removedIds: [], errors: [] };
  const ids = new Set<number>();
  const names = new Set<string>();
  text.split('\n').forEach((raw, index) => {
    // A file edited on Windows still reads: a trailing CR is not part of the key.
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (isIgnored(line)) return;
    const r = parseKeyLine(line);
    const lineNo = index + 1;
    if (r.kind === 'error') out.errors.push({ line: lineNo, message: r.message });
    else if (r.kind === 'removed') out.removedIds.push(r.id);
    else if (ids.has(r.agent.id)) out.errors.push({ line: lineNo, message: `duplicate agent id '${formatAgentId(r.agent.id)}'` });
    else if (names.has(r.agent.name)) out.errors.push({ line: lineNo, message: `duplicate agent name '${r.agent.name}'` });
    else {
      ids.add(r.agent.id);
      names.add(r.agent.name);
      out.agents.push(r.agent);
    }
  });
  return out;
}
