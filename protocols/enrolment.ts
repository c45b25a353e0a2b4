/**
 * Enrolment (wazuh-authd, TCP 1515), the pure part: parsing the agent's one request
 * line with authd's checks in authd's order and exact error texts, the texts of the
 * checks that need registry state (done by the master), and the answer lines; and the
 * agent's half (building the request line, reading the answer), used by the simulator.
 * No I/O here.
 */
import { isValidAgentIp } from './agent-keys.js';
import { AGENT_NAME_RE, GROUP_NAME_RE, MAX_GROUPS_PER_AGENT, formatAgentId } from './registry.js';

/** authd refuses request lines longer than this (bytes up to the first '\n'): its buffer, 64 KiB + 4 KiB. */
export const ENROLMENT_MAX_LINE = 69_632;

/** The Wazuh version this server interoperates as; newer agents are refused by default. */
export const MANAGER_VERSION = 'v4.14.5';

/** Longest `G:` value authd accepts: 128 groups of up to 255 characters. */
const MAX_GROUPS_FIELD = 255 * 128;

export type UnterminatedField = 'version' | 'group' | 'IP' | 'key';

/** ENROLMENT_ERRORS.internal without the agent's name (ENROLMENT_INTERNAL_ERROR_ANSWER). */
const INTERNAL_ERROR = 'ERROR: Internal manager error adding agent';

/** Every error text an agent can receive, before `. Unable to add agent` is added. */
export const ENROLMENT_ERRORS = {
  invalidPassword: 'ERROR: Invalid password',
  invalidRequest: 'ERROR: Invalid request for new agent',
  /** Both a malformed name and a name equal to the manager's hostname. */
  invalidName: (name: string): string => `ERROR: Invalid agent name: ${name}`,
  unterminated: (field: UnterminatedField): string => `ERROR: Unterminated ${field} field`,
  invalidGroupName: (group: string): string => `ERROR: Invalid group name: ${group}`,
  maxGroups: `ERROR: Maximum multigroup reached: Limit is ${MAX_GROUPS_PER_AGENT}`,
  invalidIp: (ip: string): string => `ERROR: Invalid IP: ${ip}`,
  // The checks below need registry state: the master runs them, not the parser.
  versionTooHigh: 'ERROR: Agent version must be lower or equal to manager version',
  invalidGroup: (group: string): string => `ERROR: Invalid group: ${group}`,
  duplicateIp: (ip: string): string => `ERROR: Duplicate IP: ${ip}`,
  duplicateName: (name: string): string => `ERROR: Duplicate agent name: ${name}`,
  internal: (name: string): string => `${INTERNAL_ERROR}: ${name}`,
} as const;

/** Sent as is (no `. Unable to add agent`) when a worker cannot reach the master; Wazuh's spelling. */
export const CANNOT_REACH_MASTER = 'ERROR: Cannot comunicate with master';

export interface EnrolmentRequest {
  name: string;
  /** `V:` as sent, e.g. 'v4.14.5'. */
  version: string | null;
  /** `G:` split, duplicates dropped, order kept. */
  groups: string[] | null;
  /** 'src' (use the peer address) or an address as sent. */
  ip: string | null;
  /** `K:`: sha1 of the key the agent already holds. */
  keyHash: string | null;
}

export type EnrolmentParse = { ok: true; request: EnrolmentRequest } | { ok: false; error: string };

const PASS_PREFIX = 'OSSEC PASS: ';
const NAME_TAG = 'OSSEC A:';
/** The success answer up to the key line. */
const KEY_ANSWER_OPEN = "OSSEC K:'";
const KEY_HASH_RE = /^[0-9a-f]{40}$/;

type Quoted = { value: string; rest: string } | 'absent' | 'unterminated';

/** Reads `<tag>'<value>'` at the start of `text`; a value cannot contain a quote. */
function readQuoted(text: string, tag: string): Quoted {
  const open = `${tag}'`;
  if (!text.startsWith(open)) return 'absent';
  const close = text.indexOf("'", open.length);
  if (close < 0) return 'unterminated';
  return { value: text.slice(open.length, close), rest: text.slice(close + 1) };
}

function stripLineEnd(line: string): string {
  if (line.endsWith('\r\n')) return line.slice(0, -2);
  return line.endsWith('\n') ? line.slice(0, -1) : line;
}

/** Step 1. Returns the line after the password prefix, or null for a wrong/missing password. */
function stripPassword(line: string, password: string | null): string | null {
  if (password !== null) {
    const prefix = `${PASS_PREFIX}${password} `;
    return line.startsWith(prefix) ? line.slice(prefix.length) : null;
  }
  // No password configured: an agent that sends one anyway is still served (as authd does).
  if (!line.startsWith(PASS_PREFIX)) return line;
  const at = line.indexOf(` ${NAME_TAG}'`, PASS_PREFIX.length - 1);
  return at < 0 ? line : line.slice(at + 1);
}

/** `G:` syntax, checked while parsing: empty, too long, or stray commas. */
function groupsSyntaxOk(value: string): boolean {
  if (value === '' || value.length > MAX_GROUPS_FIELD) return false;
  return !value.startsWith(',') && !value.endsWith(',') && !value.includes(',,');
}

/** Per-group checks run after all fields are parsed; duplicates are dropped silently. */
function checkGroups(value: string): { ok: true; groups: string[] } | { ok: false; error: string } {
  const groups: string[] = [];
  for (const g of value.split(',')) {
    if (!GROUP_NAME_RE.test(g) || g === '.' || g === '..') return { ok: false, error: ENROLMENT_ERRORS.invalidGroupName(g) };
    if (!groups.includes(g)) groups.push(g);
  }
  if (groups.length > MAX_GROUPS_PER_AGENT) return { ok: false, error: ENROLMENT_ERRORS.maxGroups };
  return { ok: true, groups };
}

interface OptionalField {
  tag: string;
  field: UnterminatedField;
  /** An error text when the value is refused at parse time, else null. */
  check: (value: string) => string | null;
}

/** The optional fields, in the only order authd accepts them. */
const OPTIONAL_FIELDS: readonly OptionalField[] = [
  { tag: ' V:', field: 'version', check: () => null },
  { tag: ' G:', field: 'group', check: (v) => (groupsSyntaxOk(v) ? null : ENROLMENT_ERRORS.invalidGroupName(v)) },
  { tag: ' IP:', field: 'IP', check: (v) => (v === 'src' || isValidAgentIp(v) ? null : ENROLMENT_ERRORS.invalidIp(v)) },
  { tag: ' K:', field: 'key', check: (v) => (KEY_HASH_RE.test(v) ? null : ENROLMENT_ERRORS.invalidRequest) },
];

/** Steps 3-5 syntax: each optional field in turn, then nothing may be left over. */
function readOptionalFields(text: string): { ok: true; values: (string | null)[] } | { ok: false; error: string } {
  const values: (string | null)[] = [];
  let rest = text;
  for (const f of OPTIONAL_FIELDS) {
    const q = readQuoted(rest, f.tag);
    if (q === 'unterminated') return { ok: false, error: ENROLMENT_ERRORS.unterminated(f.field) };
    if (q === 'absent') {
      values.push(null);
      continue;
    }
    const error = f.check(q.value);
    if (error !== null) return { ok: false, error };
    values.push(q.value);
    rest = q.rest;
  }
  if (rest !== '') return { ok: false, error: ENROLMENT_ERRORS.invalidRequest };
  return { ok: true, values };
}

/**
 * Parses one request line with authd's stateless checks, in authd's order:
 * password, `OSSEC A:'<name>'`, name, then ` V:` ` G:` ` IP:` ` K:` in that order,
 * then the per-group checks. Version, group directories, duplicates and the
 * hostname clash need state and are left to the master.
 */
export function parseEnrolmentLine(line: string, password: string | null): EnrolmentParse {
  const afterPass = stripPassword(stripLineEnd(line), password);
  if (afterPass === null) return { ok: false, error: ENROLMENT_ERRORS.invalidPassword };
  const head = readQuoted(afterPass, NAME_TAG);
  if (typeof head === 'string') return { ok: false, error: ENROLMENT_ERRORS.invalidRequest };
  if (!AGENT_NAME_RE.test(head.value)) return { ok: false, error: ENROLMENT_ERRORS.invalidName(head.value) };
  const fields = readOptionalFields(head.rest);
  if (!fields.ok) return fields;
  const [version = null, groupValue = null, ip = null, keyHash = null] = fields.values;
  let groups: string[] | null = null;
  if (groupValue !== null) {
    const checked = checkGroups(groupValue);
    if (!checked.ok) return checked;
    groups = checked.groups;
  }
  return { ok: true, request: { name: head.value, version, groups, ip, keyHash } };
}

/** `[v]MAJOR.MINOR.PATCH` as authd reads it (sscanf-like: a trailing suffix is ignored). */
function parseVersion(v: string): [number, number, number] | null {
  const m = /^v?(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?!\d)/.exec(v);
  if (m === null) return null;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** True when the agent is newer than the manager; an unparsable version never refuses. */
export function agentVersionTooHigh(agentVersion: string, managerVersion: string): boolean {
  const agent = parseVersion(agentVersion);
  const manager = parseVersion(managerVersion);
  if (agent === null || manager === null) return false;
  for (let i = 0; i < 3; i++) {
    const a = agent[i] as number;
    const m = manager[i] as number;
    if (a !== m) return a > m;
  }
  return false;
}

/** The success answer; authd adds no newline. */
export function keyAnswer(id: number, name: string, ip: string, key: string): string {
  return `${KEY_ANSWER_OPEN}${formatAgentId(id)} ${name} ${ip} ${key}'`;
}

/** The failure answer for any ENROLMENT_ERRORS text. */
export function errorAnswer(error: string): string {
  return `${error}. Unable to add agent`;
}

/** The answer to a request line longer than ENROLMENT_MAX_LINE. */
export const ENROLMENT_INVALID_REQUEST_ANSWER = errorAnswer(ENROLMENT_ERRORS.invalidRequest);
/** The answer when handling a request failed inside the server. */
export const ENROLMENT_INTERNAL_ERROR_ANSWER = errorAnswer(INTERNAL_ERROR);

// ---------------------------------------------------------------------------------------------------------------
// The agent's side: the request line it sends and how it reads the answer (used by the simulator).

/** What an agent puts in its request line. */
export interface EnrolmentRequestParts {
  name: string;
  /** Default MANAGER_VERSION. */
  version?: string;
  password?: string;
  groups?: readonly string[];
}

/** The key an enrolment answer gives: the parts of the agent's client.keys line, as sent. */
export interface EnrolmentKey {
  id: string;
  name: string;
  ip: string;
  key: string;
}

/** `[OSSEC PASS: <pw> ]OSSEC A:'<name>' V:'<version>'[ G:'<g1,g2>']\n` (§3.2). */
export function enrolmentRequestLine(r: EnrolmentRequestParts): string {
  const pass = r.password !== undefined && r.password !== '' ? `${PASS_PREFIX}${r.password} ` : '';
  const groups = r.groups && r.groups.length > 0 ? ` G:'${r.groups.join(',')}'` : '';
  return `${pass}${NAME_TAG}'${r.name}' V:'${r.version ?? MANAGER_VERSION}'${groups}\n`;
}

/** True once `answer` (what arrived so far) holds a whole key answer: the agent need not wait for the close. */
export function keyAnswerComplete(answer: string): boolean {
  const at = answer.indexOf(KEY_ANSWER_OPEN);
  return at >= 0 && answer.indexOf("'", at + KEY_ANSWER_OPEN.length) >= 0;
}

/** Parses `OSSEC K:'id name ip key'` as the real agent does (§3.4); throws an Error with the server's text otherwise. */
export function parseEnrolmentAnswer(answer: string): EnrolmentKey {
  const at = answer.indexOf(KEY_ANSWER_OPEN);
  if (at >= 0) {
    const start = at + KEY_ANSWER_OPEN.length;
    const close = answer.indexOf("'", start);
    const fields = (close < 0 ? '' : answer.slice(start, close)).split(' ');
    const [id, name, ip, key] = fields;
    if (fields.length === 4 && id !== undefined && /^\d{1,8}$/.test(id) && name && ip && key && /^[A-Za-z0-9._-]{2,128}$/.test(key)) {
      return { id, name, ip, key };
    }
    throw new Error(`malformed enrolment answer: ${JSON.stringify(answer.trim())}`);
  }
  const text = answer.trim();
  throw new Error(text === '' ? 'the enrolment server closed the connection without an answer' : text);
}
