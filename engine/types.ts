/**
 * The analysis engine's shared vocabulary. The engine is pure: it takes file texts and
 * events and returns decoded events and alert objects; no module under engine/ does I/O.
 *
 * Text inside the engine is a ByteString: one UTF-16 code unit per byte of the UTF-8
 * input (a latin1 view), so every offset is a byte offset as in Wazuh's C engine and
 * OS_Regex/PCRE2 see bytes, not characters. Convert at the edges with toBytes/fromBytes.
 */
import type { ByteString } from '../protocols/cjson.js';

export type { ByteString };

export function toBytes(text: string | Uint8Array): ByteString {
  return (typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text)).toString('latin1');
}

export function fromBytes(bytes: ByteString): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** One successful pattern execution, as Wazuh's C matchers report it. */
export interface MatchResult {
  /**
   * Index in the subject of the C end pointer (the "last matched byte" as the C engine
   * reports it, quirks included); the next decoding stage starts at end + 1.
   */
  readonly end: number;
  /** Captured groups in order (`<order>` maps onto them); unset middle groups are ''. */
  readonly captures: readonly ByteString[];
}

/** A compiled pattern of any dialect (OS_Match, OS_Regex, PCRE2, plain string). */
export interface Matcher {
  readonly source: string;
  test(subject: ByteString): boolean;
  /**
   * Matches the text from `from` on (default 0) as a new subject, as Wazuh's C passes
   * `log + offset`: anchors and look-behind see only that text; `end` stays an index of
   * `subject`. Null when there is no match.
   */
  exec(subject: ByteString, from?: number): MatchResult | null;
}

/** A pattern refused at load time; the loader adds file, line and element. */
export class PatternError extends Error {
  constructor(readonly pattern: string, readonly reason: string) {
    super(`invalid pattern '${pattern}': ${reason}`);
    this.name = 'PatternError';
  }
}

/** A ruleset file refused at load time: names the file, the line and the element. */
export class RulesetLoadError extends Error {
  constructor(readonly file: string, readonly line: number, readonly element: string, readonly reason: string) {
    super(`${file}:${line}: <${element}>: ${reason}`);
    this.name = 'RulesetLoadError';
  }
}

/** One element of an OS_XML document: entities are never decoded, `$VAR`s are substituted. */
export interface XmlNode {
  /** Element name as written (callers compare it case-insensitively). */
  readonly name: string;
  /** Attributes in document order, names as written. */
  readonly attributes: readonly (readonly [string, string])[];
  /** Text content (for a leaf); '' for a self-closing element. */
  readonly text: string;
  readonly children: readonly XmlNode[];
  /** 1-based line of the opening tag. */
  readonly line: number;
}

/** Wazuh's static event fields, in the order alerts print them. */
export const STATIC_FIELDS = [
  'protocol', 'action', 'srcip', 'srcport', 'srcuser', 'dstip', 'dstport', 'dstuser',
  'id', 'status', 'url', 'data', 'extra_data', 'system_name',
] as const;
export type StaticField = (typeof STATIC_FIELDS)[number];

/** The decoder that decoded an event, as rules and the alert JSON see it. */
export interface DecoderInfo {
  /** Reported name: the parent's name unless the child has use_own_name. */
  readonly name: string;
  /** Set only when the selected decoder has a <parent>. */
  readonly parent?: string;
  /** Decoder id used by `decoded_as` (a child without use_own_name shares its parent's). */
  readonly id: number;
  /** Category rules must match: syslog, firewall, ids, web-log, squid, windows, host-information, ossec. */
  readonly type: string;
  /** The `<fts>` field list, when the decoder has one. */
  readonly fts?: readonly string[];
  readonly ftscomment?: string;
  readonly accumulate?: boolean;
}

/**
 * One event as it moves through pre-decoding, decoding and rules. Fields are ByteStrings.
 * Pre-decoding fills the header part; the decoder fills `decoder`, `fields`, `dynamic`.
 */
export interface EngineEvent {
  /** Queue character of `Q:location:message` ('1' localfile, '2' syslog...). */
  readonly queue: string;
  /** The location, unescaped. */
  readonly location: ByteString;
  /** The message untouched (after the location). */
  readonly fullLog: ByteString;
  /** The message after the pre-decoded header. */
  log: ByteString;
  /** '000' for the manager's own events. */
  readonly agentId: string;
  readonly agentName?: ByteString;
  readonly agentIp?: ByteString;
  hostname: ByteString;
  programName?: ByteString;
  /** Raw header timestamp text. */
  timestamp?: ByteString;
  decoder?: DecoderInfo;
  readonly fields: Partial<Record<StaticField, ByteString>>;
  /** Dynamic fields in decode order; name lookup is case-insensitive (see getDynamic). */
  readonly dynamic: { name: string; value: ByteString }[];
}

/** A dynamic field's value (case-insensitive name, first one wins), as Wazuh's FindField. */
export function getDynamic(event: EngineEvent, name: string): ByteString | undefined {
  const wanted = name.toLowerCase();
  for (const field of event.dynamic) if (field.name.toLowerCase() === wanted) return field.value;
  return undefined;
}

/** The rule an event ended on, as the alert serializer needs it. */
export interface RuleView {
  readonly id: number;
  readonly level: number;
  /** The description as written; `$(field)` is substituted when the alert is built. */
  readonly description: string;
  /** Group names in order of first appearance, compliance groups included (the serializer splits them). */
  readonly groups: readonly string[];
  /** Set for stateful rules: the configured frequency. */
  readonly frequency?: number;
  readonly info?: string;
  readonly cve?: string;
  readonly mitre: readonly string[];
  readonly noFullLog: boolean;
  readonly noCounter: boolean;
  readonly mail: boolean;
  readonly noLog: boolean;
}

/** The outcome of the rule walk for one event. */
export interface FiredRule {
  readonly rule: RuleView;
  readonly firedtimes: number;
  /** Earlier logs a frequency rule matched (newest first, at most 10). */
  readonly previousOutput?: readonly ByteString[];
  /** True when the rule matched inside its `ignore` window: reported, but no alert. */
  readonly suppressed: boolean;
}

/** A CDB list as loaded from its text file (first value wins on duplicate keys). */
export type CdbList = ReadonlyMap<ByteString, ByteString>;
