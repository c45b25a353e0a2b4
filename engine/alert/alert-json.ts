/**
 * The alert JSON object, as analysisd's Eventinfo_to_jsonstr and W_ParseJSON build it
 * (alerts.json, and wazuh-logtest's `output`): the same keys, in the same order, with
 * the same omissions. Every string is a ByteString, as the C's are bytes: the printed
 * line holds the event's bytes unchanged, invalid UTF-8 included.
 *
 * Not built: syscheck, previous_log, labels, rootcheck and SCA compliance (their inputs
 * are not in an EngineEvent), MITRE tactics and technique names (no MITRE database:
 * `rule.mitre` carries the ids only).
 */
import { agentIpFromLocation } from '../predecode.js';
import { STATIC_FIELDS, getDynamic, type ByteString, type EngineEvent, type FiredRule } from '../types.js';
import { JsonObject, parseJson, printJsonText, type JsonInput, type JsonValue } from '../../protocols/cjson.js';

export interface AlertInput {
  readonly event: EngineEvent;
  /** The rule the event ended on; absent, there is no `rule` object (logtest without a match). */
  readonly fired?: FiredRule;
  /** The manager's full hostname (`manager.name`, and `agent.name` of its own events). */
  readonly managerName: ByteString;
  /** Absent when the cluster is disabled or hidden: then there is no `cluster` object. */
  readonly cluster?: { readonly name: ByteString; readonly node: ByteString };
  readonly time: Date;
  /** `"<epoch seconds>.<counter>"`. */
  readonly alertId: string;
  /** Offset from UTC for `timestamp`; the process's local offset when absent. */
  readonly timeZoneOffsetMinutes?: number;
  /** wazuh-logtest's output: `rule.level` is added (last) even when 0. */
  readonly logtest: boolean;
}

/** Longest description ParseRuleComment builds; beyond it the description is left as written. */
const COMMENT_MAX = 1024;
/** Bytes of the rule's group string the JSON splitter reads (a 1,024-byte buffer). */
const GROUPS_MAX = 1023;
/** Bytes of a `(...)` location searched for '>' (a 1,024-byte buffer). */
const LOCATION_MAX = 1023;
/** A data value longer than this is never read as a JSON array (OS_MAXSTR). */
const MAX_ARRAY_VALUE = 65535;

const COMPLIANCE_PREFIXES: readonly (readonly [prefix: string, key: string])[] = [
  ['pci_dss_', 'pci_dss'],
  ['cis_', 'cis'],
  ['gdpr_', 'gdpr'],
  ['gpg13_', 'gpg13'],
  ['hipaa_', 'hipaa'],
  ['nist_800_53_', 'nist_800_53'],
  ['tsc_', 'tsc'],
];

export function alertObject(input: AlertInput): JsonObject {
  const { event, fired } = input;
  const root = new JsonObject();
  root.add('timestamp', alertTimestamp(input.time, input.timeZoneOffsetMinutes));
  const rule = fired ? new JsonObject() : undefined;
  if (rule) root.add('rule', rule);
  const agent = new JsonObject();
  root.add('agent', agent);
  root.add('manager', new JsonObject().add('name', input.managerName));
  root.add('id', input.alertId);
  if (input.cluster) root.add('cluster', new JsonObject().add('name', input.cluster.name).add('node', input.cluster.node));

  if (fired && rule) {
    ruleHead(rule, fired, event);
    const previous = fired.previousOutput;
    // Shown only when there are two earlier logs or more, the second not empty.
    if (previous && previous.length >= 2 && previous[1] !== '') root.add('previous_output', previous.join('\n'));
  }
  if (!fired?.rule.noFullLog) root.add('full_log', event.fullLog);
  agent.add('id', event.agentId);
  if (event.programName !== undefined || event.timestamp !== undefined) {
    const predecoder = new JsonObject();
    if (event.programName !== undefined) predecoder.add('program_name', event.programName);
    if (event.timestamp !== undefined) predecoder.add('timestamp', event.timestamp);
    root.add('predecoder', predecoder);
  }

  const data = new DataObject();
  for (const name of STATIC_FIELDS) {
    const value = event.fields[name];
    if (value !== undefined) data.putStatic(name, value);
  }
  const decoder = new JsonObject();
  if (event.decoder) {
    for (const field of event.dynamic) if (field.value !== '') data.add(data.root, field.name, field.value);
    if (event.decoder.accumulate) decoder.add('accumulate', 1);
    if (event.decoder.parent !== undefined) decoder.add('parent', event.decoder.parent);
    decoder.add('name', event.decoder.name);
    if (event.decoder.ftscomment !== undefined) decoder.add('ftscomment', event.decoder.ftscomment);
  }
  root.add('decoder', decoder);
  if (data.root.size > 0) root.add('data', data.root);

  agentAndLocation(root, agent, event, input.managerName);
  if (fired && rule) {
    groups(rule, fired.rule.groups);
    if (input.logtest && fired.rule.level === 0) rule.add('level', 0);
  }
  return root;
}

/** The alerts.json line: cJSON_PrintUnformatted's bytes, as a ByteString. */
export function alertLine(alert: JsonInput): ByteString {
  return printJsonText(alert);
}

/** `YYYY-MM-DDTHH:MM:SS.mmm+hhmm` in the given (or the local) offset. */
export function alertTimestamp(time: Date, offsetMinutes?: number): string {
  const offset = offsetMinutes ?? -time.getTimezoneOffset();
  const t = new Date(time.getTime() + offset * 60000);
  const two = (n: number): string => String(n).padStart(2, '0');
  const abs = Math.abs(offset);
  const zone = `${offset < 0 ? '-' : '+'}${two(Math.floor(abs / 60))}${two(abs % 60)}`;
  return `${String(t.getUTCFullYear()).padStart(4, '0')}-${two(t.getUTCMonth() + 1)}-${two(t.getUTCDate())}` +
    `T${two(t.getUTCHours())}:${two(t.getUTCMinutes())}:${two(t.getUTCSeconds())}` +
    `.${String(t.getUTCMilliseconds()).padStart(3, '0')}${zone}`;
}

/** rule: level, description, id, mitre, cve, info, frequency, firedtimes, mail. */
function ruleHead(rule: JsonObject, fired: FiredRule, event: EngineEvent): void {
  const r = fired.rule;
  if (r.level !== 0) rule.add('level', r.level);
  rule.add('description', ruleDescription(r.description, event));
  if (r.id !== 0) rule.add('id', String(r.id));
  if (r.mitre.length > 0) rule.add('mitre', new JsonObject().add('id', [...r.mitre]));
  if (r.cve !== undefined) rule.add('cve', r.cve);
  if (r.info !== undefined) rule.add('info', r.info);
  if (r.frequency !== undefined) rule.add('frequency', r.frequency);
  if (!r.noCounter) rule.add('firedtimes', fired.firedtimes);
  rule.add('mail', r.mail);
}

/**
 * ParseRuleComment: each `$(name)` becomes the event's static field, program_name,
 * hostname or dynamic field of that name, or nothing when unset. A `$(` without ')'
 * stays as written. If the result would reach 1,024 bytes the description is kept as written.
 */
export function ruleDescription(description: ByteString, event: EngineEvent): ByteString {
  const source = description.length > COMMENT_MAX ? description.slice(0, COMMENT_MAX) : description;
  let out = '';
  let pos = 0;
  for (;;) {
    const open = source.indexOf('$(', pos);
    if (open < 0) break;
    if (out.length + (open - pos) >= COMMENT_MAX) return description;
    out += source.slice(pos, open);
    const close = source.indexOf(')', open + 2);
    if (close < 0) {
      pos = open;
      break;
    }
    const value = descriptionField(source.slice(open + 2, close), event);
    if (value !== undefined) {
      if (out.length + value.length >= COMMENT_MAX) return description;
      out += value;
    }
    pos = close + 1;
  }
  if (out.length + (source.length - pos) >= COMMENT_MAX) return description;
  return out + source.slice(pos);
}

function descriptionField(name: string, event: EngineEvent): ByteString | undefined {
  if ((STATIC_FIELDS as readonly string[]).includes(name)) return event.fields[name as keyof EngineEvent['fields']];
  if (name === 'program_name') return event.programName;
  if (name === 'hostname') return event.hostname;
  return getDynamic(event, name);
}

/**
 * The data object. cJSON finds keys case-insensitively (ASCII), so a dynamic field whose
 * name matches an earlier key in any case is dropped, and `a.b` after `A.c` lands in `A`.
 */
class DataObject {
  readonly root = new JsonObject();
  private readonly index = new Map<JsonObject, Map<ByteString, ByteString>>();

  putStatic(name: ByteString, value: ByteString): void {
    this.remember(this.root, name);
    this.root.add(name, value);
  }

  /** W_JSON_AddField: dotted names nest, a `[...]` value that parses is an array, the first key wins. */
  add(obj: JsonObject, name: ByteString, value: ByteString): void {
    const dot = name.indexOf('.');
    if (dot >= 0) {
      const head = name.slice(0, dot);
      const existing = this.find(obj, head);
      if (existing === undefined) {
        const child = new JsonObject();
        this.remember(obj, head);
        obj.add(head, child);
        this.add(child, name.slice(dot + 1), value);
      } else {
        const child = obj.get(existing);
        if (child instanceof JsonObject) this.add(child, name.slice(dot + 1), value);
      }
      return;
    }
    if (this.find(obj, name) !== undefined) return;
    let item: JsonValue = value;
    if (value.charCodeAt(0) === 0x5b && value.charCodeAt(value.length - 1) === 0x5d && value.length <= MAX_ARRAY_VALUE) {
      // cJSON adds nothing when the parse fails, so a later field of that name may still come in.
      const parsed = parseJson(value);
      if (!parsed.ok) return;
      item = parsed.value;
    }
    this.remember(obj, name);
    obj.add(name, item);
  }

  private find(obj: JsonObject, key: ByteString): ByteString | undefined {
    return this.index.get(obj)?.get(asciiLower(key));
  }

  private remember(obj: JsonObject, key: ByteString): void {
    let keys = this.index.get(obj);
    if (!keys) this.index.set(obj, (keys = new Map()));
    const folded = asciiLower(key);
    if (!keys.has(folded)) keys.set(folded, key);
  }
}

function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

/**
 * W_ParseJSON's part for agent, predecoder hostname, location and agentless, in its order.
 * Events located `(...)` name their agent from the hostname and their IP from the location.
 */
function agentAndLocation(root: JsonObject, agent: JsonObject, event: EngineEvent, managerName: ByteString): void {
  const location = event.location;
  const parenthesised = location.charCodeAt(0) === 0x28;
  if (parenthesised) agent.add('name', event.hostname);
  else if (event.agentId === '000') agent.add('name', managerName);

  const host = bsdHeaderHostname(event.fullLog);
  if (host !== undefined) {
    let predecoder = root.get('predecoder');
    if (!(predecoder instanceof JsonObject)) {
      predecoder = new JsonObject();
      root.add('predecoder', predecoder);
    }
    predecoder.add('hostname', host);
  }

  const ip = agentIpFromLocation(location);
  if (ip !== undefined) agent.add('ip', ip);

  if (parenthesised) {
    const head = location.length > LOCATION_MAX ? location.slice(0, LOCATION_MAX) : location;
    const arrow = head.indexOf('>');
    if (arrow >= 0) root.add('location', head.slice(arrow + 1));
  } else {
    root.add('location', location);
  }

  if (parenthesised && event.agentId === '000') agentless(root, location);
}

/** `(script) user@host->where` on the manager: an agentless device replaces the agent. */
function agentless(root: JsonObject, location: ByteString): void {
  const userAt = location.indexOf(') ', 1);
  if (userAt < 0) return;
  const hostAt = location.indexOf('@', userAt + 2);
  if (hostAt < 0) return;
  const end = location.indexOf('->', hostAt + 1);
  if (end < 0) return;
  root.add('agentless', new JsonObject()
    .add('script', location.slice(1, userAt))
    .add('user', location.slice(userAt + 2, hostAt))
    .add('host', location.slice(hostAt + 1, end)));
  root.delete('agent');
}

/**
 * The hostname json_extended.c finds with the POSIX regex
 * `^[A-Z][a-z][a-z] [ 0123][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] ([^ ]+)`.
 */
export function bsdHeaderHostname(fullLog: ByteString): ByteString | undefined {
  const c = (i: number): number => fullLog.charCodeAt(i);
  const digit = (i: number): boolean => c(i) >= 0x30 && c(i) <= 0x39;
  const day = c(4);
  if (
    !(c(0) >= 0x41 && c(0) <= 0x5a) || !(c(1) >= 0x61 && c(1) <= 0x7a) || !(c(2) >= 0x61 && c(2) <= 0x7a) ||
    c(3) !== 0x20 || !(day === 0x20 || (day >= 0x30 && day <= 0x33)) || !digit(5) || c(6) !== 0x20 ||
    !digit(7) || !digit(8) || c(9) !== 0x3a || !digit(10) || !digit(11) || c(12) !== 0x3a ||
    !digit(13) || !digit(14) || c(15) !== 0x20
  ) return undefined;
  let end = 16;
  while (end < fullLog.length && c(end) !== 0x20) end++;
  return end > 16 ? fullLog.slice(16, end) : undefined;
}

/**
 * rule.groups and the compliance arrays (prefix removed), each array created at its
 * first member. The C reads the comma-joined group string through a 1,023-byte buffer.
 */
function groups(rule: JsonObject, names: readonly ByteString[]): void {
  const plain: JsonValue[] = [];
  rule.add('groups', plain);
  const compliance = new Map<string, JsonValue[]>();
  let budget = GROUPS_MAX;
  for (const full of names) {
    if (budget <= 0) break;
    const name = full.length > budget ? full.slice(0, budget) : full;
    budget -= full.length + 1;
    if (name === '') continue;
    const kind = COMPLIANCE_PREFIXES.find(([prefix]) => name.startsWith(prefix));
    if (!kind) {
      plain.push(name);
      continue;
    }
    let list = compliance.get(kind[1]);
    if (!list) {
      list = [];
      compliance.set(kind[1], list);
      rule.add(kind[1], list);
    }
    list.push(name.slice(kind[0].length));
  }
}
