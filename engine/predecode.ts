/**
 * Pre-decoding, as analysisd's OS_CleanMSG does it: split the queue message
 * `Q:LOCATION:MESSAGE`, sniff the header of MESSAGE (timestamp, hostname, program name)
 * by looking at bytes at fixed positions, and work out the agent from the location.
 *
 * All offsets are byte offsets into ByteStrings. Where the C writes a NUL into its copy
 * of the message (ending the hostname, the program name or the log), the matching slice
 * ends there; where the C reads past a string's end, we stop at the end.
 */
import type { ByteString, EngineEvent } from './types.js';

/** The queue message could not be split into queue, location and message. */
export class PredecodeError extends Error {
  constructor() {
    super('(1106): String not correctly formatted.');
    this.name = 'PredecodeError';
  }
}

export interface PredecodeContext {
  /** The manager's short hostname (analysisd cuts it at the first '.'): the hostname of its own events without a header hostname. */
  readonly managerHostname: string;
}

const SPACE = 0x20;
const COLON = 0x3a;
const PIPE = 0x7c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_PAREN = 0x28;
const DASH = 0x2d;
const DOT = 0x2e;
const COMMA = 0x2c;
const SLASH = 0x2f;
const DIGIT_1 = 0x31;
const PLUS = 0x2b;
const UPPER_T = 0x54;

/** analysisd copies an unescaped location into a buffer of this many bytes (one kept for the NUL). */
const LOCATION_BUFFER = 8192 + 256 + 3;

/** Bytes a hostname or program name may hold: A-Z a-z 0-9 ( ) - . / @ _ (Wazuh's hostname_map). */
const NAME_CHAR = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) NAME_CHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) NAME_CHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) NAME_CHAR[c] = 1;
for (const ch of '()-./@_') NAME_CHAR[ch.charCodeAt(0)] = 1;

// Out-of-range charCodeAt gives NaN, which every test below rejects, as the C's NUL would be.
function isNameChar(c: number): boolean {
  return NAME_CHAR[c] === 1;
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isLower(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}
function isAlnum(c: number): boolean {
  return isDigit(c) || isLower(c) || (c >= 0x41 && c <= 0x5a);
}

/** What the header sniffing found in one message. */
interface Header {
  logStart: number;
  logEnd: number;
  timestamp: ByteString | undefined;
  hostname: ByteString | undefined;
  programName: ByteString | undefined;
}

export function predecode(message: ByteString, context: PredecodeContext): EngineEvent {
  // The C works on a NUL-terminated string: nothing after a NUL exists for it.
  const nul = message.indexOf('\0');
  const msg = nul < 0 ? message : message.slice(0, nul);
  if (msg.length < 2) throw new PredecodeError();

  const split = unescapedColon(msg, 2);
  if (split < 0) throw new PredecodeError();
  const rawLocation = msg.slice(2, split);
  const location = rawLocation.indexOf('|') < 0 && rawLocation.length < LOCATION_BUFFER ? rawLocation : unescapeLocation(rawLocation);
  const fullLog = msg.slice(split + 1);
  const header = sniffHeader(fullLog);
  const log = header.logStart === 0 && header.logEnd === fullLog.length ? fullLog : fullLog.slice(header.logStart, header.logEnd);

  let agentId = '000';
  let agentName: ByteString | undefined;
  let agentIp: ByteString | undefined;
  let hostname: ByteString;
  let ruleLocation = location;
  if (location.charCodeAt(0) === OPEN_BRACKET) {
    const agent = agentLocation(location);
    ({ agentId, agentName, agentIp, hostname } = agent);
    ruleLocation = agent.location;
  } else {
    hostname = header.hostname ?? context.managerHostname;
  }
  // One object shape for every event (optional members present, maybe undefined).
  return {
    queue: msg[0] as string,
    location: ruleLocation,
    fullLog,
    log,
    agentId,
    agentName,
    agentIp,
    hostname,
    programName: header.programName,
    timestamp: header.timestamp,
    fields: {},
    dynamic: [],
  };
}

/** Index of the first ':' not escaped by '|' (a '|' escapes whatever byte follows it), or -1. */
function unescapedColon(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === COLON) return i;
    if (c === PIPE) i++;
  }
  return -1;
}

/** `||` is '|', `|x` is x, a final lone '|' stays; at most LOCATION_BUFFER - 1 bytes. */
function unescapeLocation(raw: ByteString): ByteString {
  const limit = LOCATION_BUFFER - 1;
  let out = '';
  let i = 0;
  while (i < raw.length && out.length < limit) {
    const bar = raw.indexOf('|', i);
    const end = bar < 0 ? raw.length : bar;
    out += raw.slice(i, Math.min(end, i + limit - out.length));
    if (bar < 0 || out.length >= limit) break;
    if (raw.charCodeAt(bar + 1) === PIPE || bar + 1 === raw.length) out += '|';
    i = raw.charCodeAt(bar + 1) === PIPE ? bar + 2 : bar + 1;
  }
  return out;
}

/** Agent id, name, IP, hostname and the location the rules see, from `[id] (name) ip->where`. */
interface AgentParts {
  location: ByteString;
  agentId: string;
  agentName: ByteString | undefined;
  agentIp: ByteString | undefined;
  hostname: ByteString;
}

function agentLocation(location: ByteString): AgentParts {
  const close = location.indexOf(']');
  if (close < 0) throw new PredecodeError();
  const agentId = location.slice(1, close);
  // The C skips ']' and the byte after it (the space) without looking at it.
  const rest = location.length - close > 1 ? location.slice(close + 2) : '';
  if (rest.charCodeAt(0) !== OPEN_PAREN) return { location: rest, agentId, agentName: undefined, agentIp: undefined, hostname: '' };
  const end = rest.indexOf(')', 1);
  const name = end < 0 ? '' : rest.slice(1, end);
  return { location: rest, agentId, agentName: name, agentIp: agentIpFromLocation(rest), hostname: name };
}

/**
 * The IP in a `(name) ip->where` location, as the alert's agent.ip: the text from two
 * bytes after the first ')' up to the next '-'; undefined for 'any' or another shape.
 */
export function agentIpFromLocation(location: ByteString): ByteString | undefined {
  if (location.charCodeAt(0) !== OPEN_PAREN) return undefined;
  const close = location.indexOf(')');
  if (close < 0 || close + 2 > location.length) return undefined;
  const dash = location.indexOf('-', close + 2);
  const ip = location.slice(close + 2, dash < 0 ? location.length : dash);
  return ip === 'any' ? undefined : ip;
}

function sniffHeader(body: ByteString): Header {
  const header: Header = { logStart: 0, logEnd: body.length, timestamp: undefined, hostname: undefined, programName: undefined };
  // The C's loglen counts the terminating NUL; each format demands a minimum.
  const loglen = body.length + 1;
  // A UTF-8 'ä' in byte 1-2 (`Mär`) is repaired to 'a' for the format checks only:
  // the offsets found are then applied to the unrepaired copy, one byte short.
  const view = loglen >= 3 && body.charCodeAt(1) === 0xc3 && body.charCodeAt(2) === 0xa4 ? 'Ma' + body.slice(3) : body;
  const syslogLength = syslogHeaderLength(view, loglen);
  if (syslogLength > 0) {
    header.timestamp = body.slice(0, syslogLength - 1);
    syslogTail(body, syslogLength, header);
  } else if (isXferlog(view, loglen)) {
    header.logStart = 25;
    header.timestamp = body.slice(0, 24);
  } else if (isSnort(view, loglen)) {
    header.logStart = 23;
    header.timestamp = body.slice(0, 21);
  } else if (isSuricata(view, loglen)) {
    header.logStart = 28;
    header.timestamp = body.slice(0, 26);
  } else if (isApache(view, loglen)) {
    header.logStart = 27;
    header.timestamp = body.slice(1, 25);
  } else if (isOsxAsl(view, loglen)) {
    osxAsl(body, header);
  } else if (isSquid(view, loglen)) {
    let p = 14;
    while (body.charCodeAt(p) === SPACE) p++;
    header.logStart = p;
    header.timestamp = body.slice(0, p - 1);
  }
  return header;
}

/**
 * Length of a syslog-style timestamp header with its separator, or -1: BSD `Feb  9 11:44:56 `,
 * proftpd `2015-04-16 21:51:02,805 `, ISO 8601 (`...55-04:00 `, `.288+00:00 `,
 * `.214994-07:00 `, other fractions), year-first `2015 Dec 29 10:00:01 `, macOS ULS
 * `2021-04-21 10:16:09.404756-0700 `.
 */
function syslogHeaderLength(v: string, loglen: number): number {
  const c = (i: number): number => v.charCodeAt(i);
  if (loglen > 17 && c(3) === SPACE && c(6) === SPACE && c(9) === COLON && c(12) === COLON && c(15) === SPACE) return 16;
  const dashes = c(4) === DASH && c(7) === DASH && c(13) === COLON && c(16) === COLON;
  if (loglen > 24 && dashes && c(10) === SPACE && c(19) === COMMA) return 24;
  if (loglen > 33 && dashes && c(10) === UPPER_T) {
    if (c(22) === COLON && c(25) === SPACE) return 26;
    if (c(19) === DOT) {
      if (c(26) === COLON) return 30;
      if (c(29) === COLON) return 33;
      return 32;
    }
  }
  if (
    loglen > 21 && isDigit(c(0)) && c(4) === SPACE && c(8) === SPACE && c(11) === SPACE &&
    c(14) === COLON && c(17) === COLON && c(20) === SPACE
  ) return 21;
  if (
    loglen > 33 && isDigit(c(0)) && dashes && c(10) === SPACE && c(19) === DOT &&
    (c(26) === DASH || c(26) === PLUS) && c(31) === SPACE
  ) return 32;
  return -1;
}

/** Hostname, program name and `[ID n facility.level]` after a syslog-style timestamp. */
function syslogTail(body: ByteString, headerLength: number, header: Header): void {
  const c = (i: number): number => body.charCodeAt(i);
  let p = headerLength;
  if (c(p) === SPACE) p++;
  const hostStart = p;
  header.logStart = hostStart;
  while (isNameChar(c(p))) p++;

  let next: number;
  if (c(p) === COLON && c(p + 1) === SPACE) {
    // Solaris style: no hostname, the name is the program's.
    header.programName = body.slice(hostStart, p);
    next = p + 2;
  } else if (c(p) !== SPACE) {
    return;
  } else {
    header.hostname = body.slice(hostStart, p);
    header.logStart = p + 1;
    next = programName(body, p + 1, header);
  }
  if (next < 0) return;
  header.logStart = next;
  if (c(next) === OPEN_BRACKET && c(next + 1) === 0x49 && c(next + 2) === 0x44 && c(next + 3) === SPACE) {
    const close = body.indexOf(']', next + 4);
    if (close >= 0) header.logStart = Math.min(close + 2, body.length);
  }
}

/**
 * Reads `name: `, `name:`, `name[pid]: `, `name[pid]:`, `name[pid] ` or AIX
 * `facility|x:severity name: ` from `start`; returns where the log goes on, or -1 (no program name).
 */
function programName(body: ByteString, start: number, header: Header): number {
  const c = (i: number): number => body.charCodeAt(i);
  let p = start;
  while (isNameChar(c(p))) p++;
  if (c(p) === COLON) {
    header.programName = body.slice(start, p);
    return c(p + 1) === SPACE ? p + 2 : p + 1;
  }
  if (c(p) === OPEN_BRACKET && isDigit(c(p + 1))) {
    const bracket = p;
    p += 2;
    while (isDigit(c(p))) p++;
    if (c(p) !== CLOSE_BRACKET || (c(p + 1) !== COLON && c(p + 1) !== SPACE)) return -1;
    header.programName = body.slice(start, bracket);
    if (c(p + 1) === SPACE) return p + 2;
    return c(p + 2) === SPACE ? p + 3 : p + 2;
  }
  if (c(p) === PIPE && isLower(c(p + 1))) return aixProgramName(body, p + 2, header);
  return -1;
}

function aixProgramName(body: ByteString, from: number, header: Header): number {
  const c = (i: number): number => body.charCodeAt(i);
  let p = from;
  while (isAlnum(c(p))) p++;
  if (c(p) !== COLON) return -1;
  p++;
  while (isAlnum(c(p))) p++;
  if (c(p) !== SPACE) return -1;
  const start = ++p;
  while (isNameChar(c(p))) p++;
  if (c(p) === COLON && c(p + 1) === SPACE) {
    header.programName = body.slice(start, p);
    return p + 2;
  }
  if (c(p) === OPEN_BRACKET && isDigit(c(p + 1))) {
    // The C ends the name at '[' for good: when no `]: ` follows, the log is cut there too.
    const bracket = p;
    header.programName = body.slice(start, bracket);
    p += 2;
    while (isDigit(c(p))) p++;
    if (c(p) === CLOSE_BRACKET && c(p + 1) === COLON && c(p + 2) === SPACE) return p + 3;
    header.logEnd = bracket;
    return -1;
  }
  // No terminator: the C's program name runs on to the end of the message.
  header.programName = body.slice(start);
  return p;
}

function isXferlog(v: string, loglen: number): boolean {
  const c = (i: number): number => v.charCodeAt(i);
  return loglen > 28 && c(3) === SPACE && c(7) === SPACE && c(10) === SPACE && c(13) === COLON &&
    c(16) === COLON && c(19) === SPACE && c(24) === SPACE && c(26) === SPACE;
}

function isSnort(v: string, loglen: number): boolean {
  const c = (i: number): number => v.charCodeAt(i);
  return loglen > 24 && c(2) === SLASH && c(5) === DASH && c(8) === COLON && c(11) === COLON &&
    c(14) === DOT && c(21) === SPACE;
}

function isSuricata(v: string, loglen: number): boolean {
  const c = (i: number): number => v.charCodeAt(i);
  return loglen > 28 && c(2) === SLASH && c(5) === SLASH && c(10) === DASH && c(13) === COLON &&
    c(16) === COLON && c(19) === DOT && c(26) === SPACE;
}

function isApache(v: string, loglen: number): boolean {
  const c = (i: number): number => v.charCodeAt(i);
  return loglen > 27 && c(0) === OPEN_BRACKET && c(4) === SPACE && c(8) === SPACE && c(11) === SPACE &&
    c(14) === COLON && c(17) === COLON && c(20) === SPACE && c(25) === CLOSE_BRACKET;
}

function isOsxAsl(v: string, loglen: number): boolean {
  const c = (i: number): number => v.charCodeAt(i);
  return loglen > 26 && c(0) === OPEN_BRACKET && c(1) === UPPER_T && c(5) === SPACE && c(10) === DOT &&
    c(13) === DOT && c(16) === SPACE && c(19) === COLON;
}

function isSquid(v: string, loglen: number): boolean {
  const c = (i: number): number => v.charCodeAt(i);
  return loglen > 32 && c(0) === DIGIT_1 && isDigit(c(1)) && isDigit(c(2)) && isDigit(c(3)) && c(10) === DOT &&
    isDigit(c(13)) && c(14) === SPACE && (c(21) === SPACE || c(22) === SPACE);
}

/**
 * `[Time 2006.12.28 15:53:55 UTC] [Facility auth] [Sender sshd] ... [Message m] ... [Host h]`:
 * Sender is the program name, Message the log, Host the hostname (and the end of the scan).
 * No timestamp is reported. The C ends each value at its ']' with a NUL, which also ends
 * the log when there is no Message entry.
 */
function osxAsl(body: ByteString, header: Header): void {
  header.logStart = 25;
  let firstCut = body.length;
  let messageEnd = -1;
  let p = body.indexOf('[', 25);
  while (p >= 0) {
    p++;
    if (header.programName === undefined && body.startsWith('Sender ', p)) {
      const close = body.indexOf(']', p + 7);
      if (close < 0) break;
      header.programName = body.slice(p + 7, close);
      firstCut = Math.min(firstCut, close);
      p = close + 1;
    } else if (messageEnd < 0 && body.startsWith('Message ', p)) {
      header.logStart = p + 8;
      const close = body.indexOf(']', p + 8);
      messageEnd = close < 0 ? body.length : close;
      if (close < 0) break;
      firstCut = Math.min(firstCut, close);
      p = close + 1;
    } else if (body.startsWith('Host ', p)) {
      const close = body.indexOf(']', p + 5);
      if (close >= 0) {
        header.hostname = body.slice(p + 5, close);
        firstCut = Math.min(firstCut, close);
      }
      break;
    }
    p = body.indexOf('[', p);
  }
  header.logEnd = messageEnd >= 0 ? messageEnd : firstCut;
}
