/**
 * The decrypted agent → manager payloads (reference §6, §7) and the few manager →
 * agent answers built from them (§6.3, §9.3). Pure: no I/O.
 *
 * Payloads arrive as Buffers from the secure layer. Text is read as latin1, so every
 * byte maps to one UTF-16 code unit and `Buffer.from(text, 'latin1')` gives the
 * original bytes back (event text may be UTF-8 or binary-ish; it is not re-decoded).
 */
import { agentVersionTooHigh } from './enrolment.js';
import { MERGED_NAME } from './merged-mg.js';

export type AgentMessage =
  /** `#!-agent startup[ <json>]`. version: null when no JSON was sent (the QA simulator). */
  | { kind: 'startup'; version: string | null; badJson: boolean }
  | { kind: 'shutdown' }
  | { kind: 'keepalive'; info: KeepaliveInfo }
  /** `#!-req <counter> <payload>`: an answer to a manager request. */
  | { kind: 'request-answer'; counter: string; body: string }
  /** Any other `#!-` text that is not a keepalive (no '\n' and no uname line). */
  | { kind: 'unknown-control'; text: string }
  /** `<q>:<location>:<text>`. */
  | { kind: 'event'; queue: string; location: string; text: string }
  | { kind: 'invalid'; reason: string };

export interface KeepaliveInfo {
  /** os_uname: the uname line up to its first ' - '. '' when the keepalive had no uname line. */
  uname: string;
  /** e.g. 'Wazuh v4.14.5'. */
  version: string | null;
  /** md5 of the agent's agent.conf (after ' / '). */
  configSum: string | null;
  /** token of the `<token> merged.mg` line; 'x' (no merged.mg on the agent) stays 'x'. */
  mergedSum: string | null;
  /** from `#"_agent_ip":<ip>`. */
  agentIp: string | null;
  /** the other label lines (starting with '#', '!' or '"'), verbatim, joined with '\n'; '' when none. */
  labels: string;
  os: OsFields;
}

export interface OsFields {
  name: string | null;
  platform: string | null;
  version: string | null;
  codename: string | null;
  major: string | null;
  minor: string | null;
  build: string | null;
  arch: string | null;
}

/** The manager's answer to a startup and to every keepalive (exact, trailing space). */
export const AGENT_ACK = '#!-agent ack ';
export const CONTROL_PREFIX = '#!-';
export const ERR_VERSION_TOO_HIGH = '#!-err {"message":"Agent version must be lower or equal to manager version"}';
export const ERR_VERSION_MISSING = '#!-err {"message":"Couldn\'t retrieve version"}';
/** Largest chunk of a shared file in one message (§9.3). */
export const MERGED_CHUNK_BYTES = 900;

const STARTUP = 'agent startup';
/** What an agent sends when it stops (§6.2), exact, trailing space. */
export const AGENT_SHUTDOWN = '#!-agent shutdown ';
const SHUTDOWN_RE = /^agent shutdown ?$/;
const REQUEST = 'req ';
const AGENT_IP_LABEL = '#"_agent_ip":';
const MERGED_LINE_RE = /^(\S+) merged\.mg$/;

/** The arch names the manager looks for in a Unix uname, in its order (§7.3). */
const UNIX_ARCHES = ['x86_64', 'i386', 'i686', 'sparc', 'amd64', 'i86pc', 'ia64', 'AIX', 'armv6', 'armv7', 'aarch64', 'arm64'] as const;

const nonEmpty = (s: string): string | null => (s === '' ? null : s);

/**
 * Classifies one decrypted payload:
 * - `#!-agent startup[ <json>]`, `#!-agent shutdown[ ]`, `#!-req <counter> <payload>`;
 * - any other `#!-` text with a '\n' is a keepalive; without '\n' it is `invalid` when it
 *   looks like one (has a ' - ' uname separator), `unknown-control` otherwise;
 * - everything else is an event `<q>:<location>:<text>`: q is the first byte (any
 *   character), location runs to the NEXT ':' and text is the rest. This is a simple
 *   split: a location with a ':' in it (e.g. `C:\logs\x.log`) is cut at that ':' and
 *   the remainder lands in `text`, but `location + ':' + text` is always the original,
 *   so `eventLine` forwards exactly what the agent sent, as the real manager does.
 *   Locations starting with 'keepalive' are still events (the caller drops them).
 */
export function classifyAgentMessage(payload: Buffer): AgentMessage {
  if (payload.length === 0) return { kind: 'invalid', reason: 'empty payload' };
  const text = payload.toString('latin1');
  if (text.startsWith(CONTROL_PREFIX)) return classifyControl(text.slice(CONTROL_PREFIX.length));
  if (text.length < 2 || text[1] !== ':') return { kind: 'invalid', reason: 'event without a queue' };
  const end = text.indexOf(':', 2);
  if (end < 0) return { kind: 'invalid', reason: 'event without a location' };
  return { kind: 'event', queue: text[0] as string, location: text.slice(2, end), text: text.slice(end + 1) };
}

function classifyControl(text: string): AgentMessage {
  if (text === '') return { kind: 'invalid', reason: 'empty control message' };
  if (text.startsWith(STARTUP) && (text.length === STARTUP.length || /\s/.test(text[STARTUP.length] as string))) {
    return parseStartup(text.slice(STARTUP.length).trim());
  }
  if (SHUTDOWN_RE.test(text)) return { kind: 'shutdown' };
  if (text.startsWith(REQUEST)) {
    const rest = text.slice(REQUEST.length);
    const space = rest.indexOf(' ');
    if (space <= 0) return { kind: 'invalid', reason: 'request answer without counter and payload' };
    return { kind: 'request-answer', counter: rest.slice(0, space), body: rest.slice(space + 1) };
  }
  const info = parseKeepalive(text);
  if (info !== null) return { kind: 'keepalive', info };
  if (text.includes(' - ')) return { kind: 'invalid', reason: 'keepalive without a newline' };
  return { kind: 'unknown-control', text };
}

/**
 * `rest` is what follows 'agent startup', trimmed. No JSON → version null (tolerated).
 * badJson: JSON present but unparsable, not an object, or without a string `version`
 * (all answered with "Couldn't retrieve version").
 */
function parseStartup(rest: string): AgentMessage {
  if (rest === '') return { kind: 'startup', version: null, badJson: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest);
  } catch {
    return { kind: 'startup', version: null, badJson: true };
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const version = (parsed as Record<string, unknown>)['version'];
    if (typeof version === 'string') return { kind: 'startup', version, badJson: false };
  }
  return { kind: 'startup', version: null, badJson: true };
}

/**
 * Parses a keepalive (the text after '#!-'). Cleaning rule first: everything after the
 * last '\n' is dropped; null when there is no '\n'. Then, line by line (empty lines
 * skipped):
 * - lines starting with '#', '!' or '"' are labels; `#"_agent_ip":<ip>` gives agentIp
 *   (the first one; all are removed from labels), the rest are kept verbatim;
 * - the first other line containing ' - ' is the uname line: os_uname before the first
 *   ' - '; after it, ' / ' separates version and configSum. Without ' / ' the version is
 *   the text from 'Wazuh' on (or all of it when there is no 'Wazuh');
 * - the first other line `<token> merged.mg` gives mergedSum;
 * - other lines are ignored.
 */
export function parseKeepalive(text: string): KeepaliveInfo | null {
  const last = text.lastIndexOf('\n');
  if (last < 0) return null;
  let uname: string | null = null;
  let version: string | null = null;
  let configSum: string | null = null;
  let mergedSum: string | null = null;
  let agentIp: string | null = null;
  const labels: string[] = [];
  for (const line of text.slice(0, last).split('\n')) {
    if (line === '') continue;
    const first = line[0];
    if (first === '#' || first === '!' || first === '"') {
      if (line.startsWith(AGENT_IP_LABEL)) agentIp ??= nonEmpty(line.slice(AGENT_IP_LABEL.length));
      else labels.push(line);
      continue;
    }
    const dash = line.indexOf(' - ');
    if (uname === null && dash >= 0) {
      uname = line.slice(0, dash);
      const after = line.slice(dash + 3);
      const slash = after.indexOf(' / ');
      if (slash >= 0) {
        version = nonEmpty(after.slice(0, slash));
        configSum = nonEmpty(after.slice(slash + 3).trim());
      } else {
        const wazuh = after.indexOf('Wazuh');
        version = nonEmpty((wazuh >= 0 ? after.slice(wazuh) : after).trim());
      }
      continue;
    }
    const merged = MERGED_LINE_RE.exec(line);
    if (mergedSum === null && merged !== null) mergedSum = merged[1] as string;
  }
  const os = uname === null ? parseUname('') : parseUname(uname);
  return { uname: uname ?? '', version, configSum, mergedSum, agentIp, labels: labels.join('\n'), os };
}

const emptyOs = (): OsFields => ({
  name: null, platform: null, version: null, codename: null, major: null, minor: null, build: null, arch: null,
});

/**
 * OS fields from os_uname (§7.2, §7.3). Numbers stay strings as sent ('04' stays '04').
 * - Windows (has '[Ver: '): name before ' [Ver: ', platform 'windows', version inside
 *   '[Ver: …]', major/minor/build its first three number groups, arch the first word after
 *   the last '|' following ']' (the Unix arch list when there is none).
 * - Unix: a trailing ` [<name>|<platform>: <version>[ (<codename>)]]`; major/minor the
 *   leading numbers of version (`15-SP7` gives minor 7); no build; arch the first of the
 *   arch list found anywhere in the uname.
 * - Anything else (`<sysname> <hostname> …`, `No system info available`): all null but arch.
 */
export function parseUname(uname: string): OsFields {
  const os = emptyOs();
  const win = uname.indexOf('[Ver: ');
  if (win >= 0) {
    os.name = nonEmpty(uname.slice(0, win).trim());
    os.platform = 'windows';
    const close = uname.indexOf(']', win);
    const inner = close >= 0 ? uname.slice(win + 6, close) : uname.slice(win + 6);
    os.version = nonEmpty(inner.trim());
    const nums = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(inner.trim());
    if (nums !== null) {
      os.major = nums[1] ?? null;
      os.minor = nums[2] ?? null;
      os.build = nums[3] ?? null;
    }
    const tail = close >= 0 ? uname.slice(close + 1) : '';
    const bar = tail.lastIndexOf('|');
    const word = bar >= 0 ? /^\s*(\S+)/.exec(tail.slice(bar + 1)) : null;
    os.arch = word !== null ? (word[1] as string) : unixArch(uname);
    return os;
  }
  os.arch = unixArch(uname);
  const bracket = /\[([^[\]]*)\]\s*$/.exec(uname);
  if (bracket === null) return os;
  let inner = bracket[1] as string;
  const colon = inner.indexOf(': ');
  if (colon >= 0) {
    let version = inner.slice(colon + 2);
    inner = inner.slice(0, colon);
    const paren = version.indexOf(' (');
    if (paren >= 0) {
      const codename = version.slice(paren + 2);
      os.codename = nonEmpty(codename.endsWith(')') ? codename.slice(0, -1) : codename);
      version = version.slice(0, paren);
    }
    os.version = nonEmpty(version);
    const major = /^(\d+)/.exec(version);
    os.major = major?.[1] ?? null;
    const minor = /^\d+\.(\d+)/.exec(version) ?? /^\d+-SP(\d+)/.exec(version);
    os.minor = minor?.[1] ?? null;
  }
  const bar = inner.indexOf('|');
  if (bar >= 0) {
    os.platform = nonEmpty(inner.slice(bar + 1));
    inner = inner.slice(0, bar);
  }
  os.name = nonEmpty(inner);
  return os;
}

function unixArch(uname: string): string | null {
  for (const arch of UNIX_ARCHES) if (uname.includes(arch)) return arch;
  return null;
}

/** 'Wazuh v4.14.5' → 'v4.14.5'; anything else unchanged. */
export function bareVersion(version: string): string {
  return version.startsWith('Wazuh ') ? version.slice(6).trim() : version;
}

/**
 * The answer to a startup (§6.1): an unusable JSON gets "Couldn't retrieve version", a
 * version newer than the manager's (unless allowed) the version error, everything else
 * (including no JSON at all, the simulator) the ACK. An unparsable version string is
 * never refused (agentVersionTooHigh's rule).
 */
export function startupAnswer(
  m: Extract<AgentMessage, { kind: 'startup' }>, managerVersion: string, allowHigherVersions = false,
): string {
  if (m.badJson) return ERR_VERSION_MISSING;
  if (m.version !== null && !allowHigherVersions && agentVersionTooHigh(bareVersion(m.version), bareVersion(managerVersion))) {
    return ERR_VERSION_TOO_HIGH;
  }
  return AGENT_ACK;
}

/**
 * The messages of one shared-file push (§9.3), each its own secure message:
 * `#!-up file <md5> <name>\n`, the content in order in chunks of at most 900 bytes
 * (none for an empty file; chunks are views of `content`), then `#!-close file `.
 */
export function mergedPush(md5: string, name: string, content: Buffer): Buffer[] {
  const out: Buffer[] = [Buffer.from(`#!-up file ${md5} ${name}\n`, 'latin1')];
  for (let at = 0; at < content.length; at += MERGED_CHUNK_BYTES) {
    out.push(content.subarray(at, Math.min(at + MERGED_CHUNK_BYTES, content.length)));
  }
  out.push(Buffer.from('#!-close file ', 'latin1'));
  return out;
}

/** Escapes ':' and '|' with a '|' prefix, as the manager does for the bracket part. */
function escapeSource(s: string): string {
  return s.replace(/[:|]/g, (c) => `|${c}`);
}

/**
 * The manager's internal form of an event (§6.4): `<q>:[<id>] (<name>) <ip>-><location>:<text>`,
 * with ':' and '|' in `[<id>] (<name>) <ip>` escaped by a '|' prefix; location and text as sent.
 */
export function eventLine(queue: string, agentId: string, agentName: string, registeredIp: string, location: string, text: string): string {
  return `${queue}:${escapeSource(`[${agentId}] (${agentName}) ${registeredIp}`)}->${location}:${text}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The agent's side: the texts an agent builds (used by the simulator), read back by the parsers above.

/** What a keepalive carries (§7.1). */
export interface KeepaliveParts {
  uname: string;
  version: string;
  /** md5 of the agent's agent.conf; null leaves out the ` / <md5>` part (no agent.conf). */
  agentConfSum: string | null;
  labels?: Record<string, string>;
  mergedSum: string;
  agentIp: string;
}

/** The keepalive text, §7.1, laid out as the real agent's notify.c writes it. */
export function keepaliveText(p: KeepaliveParts): string {
  let text = `${CONTROL_PREFIX}${p.uname} - Wazuh ${p.version}${p.agentConfSum === null ? '' : ` / ${p.agentConfSum}`}\n`;
  for (const [k, v] of Object.entries(p.labels ?? {})) text += `"${k}":${v}\n`;
  return `${text}${p.mergedSum} ${MERGED_NAME}\n${AGENT_IP_LABEL}${p.agentIp}\n`;
}

/** `#!-agent startup {"version":"<version>"}` (§6.1). */
export function startupText(version: string): string {
  return `${CONTROL_PREFIX}${STARTUP} ${JSON.stringify({ version })}`;
}

/** An event, `<queue>:<location>:<text>` (§6.4). */
export function eventText(queue: string, location: string, text: string): string {
  return `${queue}:${location}:${text}`;
}
