/**
 * matchRules: the rule walk of Wazuh's analysisd for one decoded event. Roots whose
 * category is the decoder's type are tried in order; inside a rule the checks run in
 * Wazuh's order; the first child that matches (recursively) wins; a noalert rule with no
 * matching child lets the walk go on with its siblings. The outcome then goes through
 * the level-0, `ignore` and check_if_ignored gates and, when it alerts, into the event
 * memory that stateful rules search.
 */
import type { ByteString, DecoderInfo, EngineEvent, FiredRule } from '../types.js';
import { lookupList } from '../lists/cdb.js';
import { firstTimeSeen, ignoreKey } from './fts.js';
import { ipListMatches } from './ip.js';
import type { FieldCondition, ListCondition, Rule, RuleNode, RuleSet } from './model.js';
import { inTimeWindow, onDay } from './schedule.js';
import { findDynamic, searchEvents, searchList, type SearchRun } from './search.js';
import { EventRecord, type RuleState } from './state.js';

export interface MatchOptions {
  /** Processing time in ms (timeframes, ignore windows, `<time>`/`<weekday>` in local time). */
  readonly now: number;
  /** Filled with logtest's rules_debug lines, in Wazuh's order. */
  readonly debug?: string[];
  /**
   * What follows an `ignore` window hit: 'logtest' (default) reports the rule with
   * suppressed = true; 'analysisd' falls back to the parent rule, as the event path does.
   * 'analysisd' also records `<ignore>` keys (logtest never does).
   */
  readonly mode?: 'logtest' | 'analysisd';
  /** Country lookup for srcgeoip/dstgeoip; without it those fields are absent (no GeoIP database). */
  readonly geoip?: (ip: ByteString) => ByteString | undefined;
  /** When the walk must stop: a pathological custom pattern may not stall the node. */
  readonly budget?: MatchBudget;
}

/** A deadline on the caller's clock (the engine has none of its own). */
export interface MatchBudget {
  readonly deadline: number;
  readonly clock: () => number;
}

/** The walk passed its budget's deadline; `ruleId` is the rule it was about to try. */
export class MatchBudgetExceeded extends Error {
  constructor(readonly ruleId: number) {
    super(`the match budget ran out before rule ${ruleId}`);
    this.name = 'MatchBudgetExceeded';
  }
}

/** The clock is read once per this many rules tried: cheap, and fine-grained enough. */
const BUDGET_STRIDE = 16;

export interface RuleMatch extends FiredRule {
  /** The compiled rule (options such as logAlert and noAr live there). */
  readonly compiled: Rule;
  /** check_diff: the output stored before this one (the alert's previous_log). */
  readonly previousLog?: ByteString;
}

/** Wazuh formats "Trying rule" into a 1056-byte buffer. */
const DEBUG_LINE_LIMIT = 1055;
const DIFF_SIZE_LIMIT = 65536;

class Walk implements SearchRun {
  readonly lastEvents: ByteString[] = [];
  readonly decoderId: number;
  prevRule: Rule | undefined;
  firedtimes = -1;
  previousLog: ByteString | undefined;
  private clock: Date | undefined;
  private tried = 0;
  /** Dynamic fields looked up so far (null: absent): sibling rules often test the same field. */
  private fieldMemo: Map<string, ByteString | null> | undefined;

  constructor(
    readonly set: RuleSet,
    readonly state: RuleState,
    readonly current: EventRecord,
    readonly decoder: DecoderInfo | undefined,
    readonly now: number,
    readonly geoip: ((ip: ByteString) => ByteString | undefined) | undefined,
    readonly debug: string[] | undefined,
    private readonly budget: MatchBudget | undefined,
  ) {
    this.decoderId = decoder?.id ?? 0;
  }

  /** Throws MatchBudgetExceeded once the budget's deadline has passed. */
  spend(rule: Rule): void {
    if (this.budget && ++this.tried % BUDGET_STRIDE === 0 && this.budget.clock() > this.budget.deadline) {
      throw new MatchBudgetExceeded(rule.id);
    }
  }

  get event(): EngineEvent {
    return this.current.event;
  }

  /** "HH:MM" of the processing time, local clock. */
  hourMinute(): string {
    const date = (this.clock ??= new Date(this.now));
    return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
  }

  weekday(): number {
    return (this.clock ??= new Date(this.now)).getDay();
  }

  /** The event's dynamic field by lower-case name; a long field list is searched once per name. */
  dynamic(lowerName: string): ByteString | undefined {
    const event = this.current.event;
    if (event.dynamic.length < MEMO_FROM_FIELDS) return findDynamic(event, lowerName);
    const memo = (this.fieldMemo ??= new Map());
    let value = memo.get(lowerName);
    if (value === undefined) {
      value = findDynamic(event, lowerName) ?? null;
      memo.set(lowerName, value);
    }
    return value ?? undefined;
  }
}

/** Below this many dynamic fields a scan costs less than a memo. */
const MEMO_FROM_FIELDS = 8;

export function matchRules(set: RuleSet, event: EngineEvent, state: RuleState, options: MatchOptions): RuleMatch | null {
  state.bind(set);
  const decoder = event.decoder;
  const type = decoder?.type ?? 'syslog';
  const current = new EventRecord(event, options.now, type);
  const walk = new Walk(set, state, current, decoder, options.now, options.geoip, options.debug, options.budget);
  for (const root of set.roots) {
    if (root.rule.category !== type) continue;
    const hit = tryNode(root, walk);
    if (hit) return settle(hit, walk, options.mode ?? 'logtest');
  }
  return null;
}

/** OS_CheckIfRuleMatch for one node and, on a match, its children. */
function tryNode(node: RuleNode, walk: Walk): Rule | null {
  const rule = node.rule;
  walk.spend(rule);
  walk.debug?.push(`Trying rule: ${rule.id} - ${rule.description}`.slice(0, DEBUG_LINE_LIMIT));
  if (!conditionsHold(rule, walk)) return null;
  if (rule.context && !rule.checkDiff && rule.search && !searchHolds(rule, walk)) {
    if (walk.lastEvents.length > 0) walk.lastEvents.length = 0;
    return null;
  }
  walk.debug?.push(`*Rule ${rule.id} matched`);
  if (node.children.length > 0) {
    walk.debug?.push('*Trying child rules');
    for (const child of candidates(node, walk)) {
      const hit = tryNode(child, walk);
      if (hit) {
        walk.prevRule ??= rule;
        return hit;
      }
    }
  }
  if (rule.noAlert) return null;
  const fired = walk.state.firedtimes[rule.index]! + 1;
  walk.state.firedtimes[rule.index] = fired;
  walk.firedtimes = fired;
  return rule;
}

/** The children worth trying: all of them when the debug trace must list them. */
function candidates(node: RuleNode, walk: Walk): readonly RuleNode[] {
  if (walk.debug || !node.byDecoder) return node.children;
  return node.byDecoder.get(walk.decoderId) ?? node.undecoded!;
}

function holds(condition: FieldCondition, value: ByteString | undefined): boolean {
  return value !== undefined && condition.matcher.test(value) !== condition.negate;
}

/** Every stateless check, in the order Wazuh runs them. */
function conditionsHold(rule: Rule, walk: Walk): boolean {
  const event = walk.event;
  const fields = event.fields;
  if (rule.decodedAs && rule.decodedAs !== walk.decoderId) return false;
  if (rule.programName && !holds(rule.programName, event.programName)) return false;
  if (rule.idField && !holds(rule.idField, fields.id)) return false;
  if (rule.systemName && !holds(rule.systemName, fields.system_name)) return false;
  if (rule.protocol && !holds(rule.protocol, fields.protocol)) return false;
  if (rule.match && !holds(rule.match, event.log)) return false;
  if (rule.regex && !holds(rule.regex, event.log)) return false;
  if (rule.action && !holds(rule.action, fields.action)) return false;
  if (rule.url && !holds(rule.url, fields.url)) return false;
  if (rule.location && !holds(rule.location, walk.current.location)) return false;
  for (const field of rule.fields) {
    if (!holds(field, walk.dynamic(field.name))) return false;
  }
  if (!packetHolds(rule, event)) return false;
  return extraHolds(rule, walk) && ftsHolds(rule, walk) && listsHold(rule.lists, walk);
}

function packetHolds(rule: Rule, event: EngineEvent): boolean {
  const { srcip, dstip } = event.fields;
  if (rule.srcip && (srcip === undefined || ipListMatches(rule.srcip.entries, srcip) === rule.srcip.negate)) return false;
  if (rule.dstip && (dstip === undefined || ipListMatches(rule.dstip.entries, dstip) === rule.dstip.negate)) return false;
  if (rule.srcport && !holds(rule.srcport, event.fields.srcport)) return false;
  return !rule.dstport || holds(rule.dstport, event.fields.dstport);
}

function extraHolds(rule: Rule, walk: Walk): boolean {
  const event = walk.event;
  const fields = event.fields;
  if (rule.compiledRule && !rule.compiledRule(event)) return false;
  if (rule.user && !holds(rule.user, fields.dstuser ?? fields.srcuser)) return false;
  if (rule.srcgeoip && !holds(rule.srcgeoip, walk.current.geoip(walk.geoip, 0))) return false;
  if (rule.dstgeoip && !holds(rule.dstgeoip, walk.current.geoip(walk.geoip, 1))) return false;
  if (rule.maxsize && event.log.length < rule.maxsize) return false;
  if (rule.time && !inTimeWindow(rule.time, walk.hourMinute())) return false;
  if (rule.weekday && !onDay(rule.weekday, walk.weekday())) return false;
  if (rule.data && !holds(rule.data, fields.data)) return false;
  if (rule.extraData && !holds(rule.extraData, fields.extra_data)) return false;
  if (rule.hostname && !holds(rule.hostname, event.hostname)) return false;
  if (rule.status && !holds(rule.status, fields.status)) return false;
  return !rule.checkDiff || outputChanged(rule, walk);
}

/**
 * check_diff: the log must differ from the one stored for (agent or host, rule). The
 * first sighting only stores; an empty stored output is forgotten, as Wazuh's empty
 * "last" file is.
 */
function outputChanged(rule: Rule, walk: Walk): boolean {
  const log = walk.event.log;
  if (log.length >= DIFF_SIZE_LIMIT) return false;
  const key = `${diffHost(walk.event.hostname)}\u0000${rule.id}`;
  const previous = walk.state.diffs.get(key);
  if (previous === undefined) {
    walk.state.diffs.set(key, log);
    return false;
  }
  if (previous === '') {
    walk.state.diffs.delete(key);
    return false;
  }
  if (previous === log) return false;
  walk.state.diffs.set(key, log);
  walk.lastEvents.length = 0;
  walk.lastEvents.push('Previous output:', previous);
  walk.previousLog = previous;
  return true;
}

/** An agent's hostname "(name) ip->file" keys its diffs by name. */
function diffHost(hostname: ByteString): ByteString {
  if (!hostname.startsWith('(')) return hostname;
  const close = hostname.indexOf(')');
  return close < 0 ? hostname.slice(1) : hostname.slice(1, close);
}

function ftsHolds(rule: Rule, walk: Walk): boolean {
  if (!rule.fts) return true;
  const decoder = walk.decoder;
  if (!decoder?.fts || decoder.fts.length === 0) return false;
  return firstTimeSeen(walk.state, walk.event, decoder, walk.current.location);
}

function listKey(condition: ListCondition, walk: Walk): ByteString | undefined {
  const event = walk.event;
  const key = condition.key;
  switch (key.kind) {
    case 'static': return event.fields[key.field];
    case 'user': return event.fields.srcuser ?? event.fields.dstuser;
    case 'hostname': return event.hostname;
    case 'program_name': return event.programName;
    case 'dynamic': return walk.dynamic(key.name);
  }
}

function listsHold(lists: readonly ListCondition[], walk: Walk): boolean {
  for (const condition of lists) {
    const value = listKey(condition, walk);
    if (value === undefined || !lookupList(condition.list, condition.lookup, value, condition.checkValue)) return false;
  }
  return true;
}

function searchHolds(rule: Rule, walk: Walk): boolean {
  const state = walk.state;
  switch (rule.search) {
    case 'sid': return searchList(rule, rule.searchList < 0 ? undefined : state.sidLists[rule.searchList], walk);
    case 'group': return searchList(rule, state.groupLists[rule.searchList], walk);
    case 'events': return searchEvents(rule, state.events, walk);
    default: return true;
  }
}

/** What happens after the walk found a rule: level 0, ignore windows, check_if_ignored, memory. */
function settle(found: Rule, walk: Walk, mode: 'logtest' | 'analysisd'): RuleMatch {
  let rule = found;
  if (rule.level === 0) return outcome(rule, walk, false);
  if (rule.ignoreTime) {
    const state = walk.state;
    const since = state.timeIgnored[rule.index];
    if (since === undefined) {
      state.timeIgnored[rule.index] = walk.now;
    } else if (walk.now - since < rule.ignoreTime * 1000) {
      if (mode === 'logtest' || !walk.prevRule) return outcome(rule, walk, true);
      rule = walk.prevRule;
      walk.lastEvents.length = 0;
    } else if (mode === 'logtest') {
      state.timeIgnored[rule.index] = undefined;
    } else {
      state.timeIgnored[rule.index] = walk.now;
    }
  }
  const location = walk.current.location;
  if (rule.checkIgnore && walk.state.ignoredKeys.has(ignoreKey(walk.event, walk.decoder, location, rule.checkIgnore, rule.ignore))) {
    return outcome(rule, walk, true);
  }
  if (mode === 'analysisd' && rule.ignore) {
    walk.state.ignoredKeys.add(ignoreKey(walk.event, walk.decoder, location, rule.ignore, rule.ignore));
  }
  remember(rule, walk);
  return outcome(rule, walk, false);
}

/** The event joins the memory: its rule's sid list, else its group lists, then the global list. */
function remember(rule: Rule, walk: Walk): void {
  const state = walk.state;
  const record = walk.current;
  if (rule.feedsSidList) state.sidList(rule.index).push(record);
  else for (const list of rule.feedsGroupLists) state.groupList(list).push(record);
  state.remember(record, walk.set.maxFrequency);
}

function outcome(rule: Rule, walk: Walk, suppressed: boolean): RuleMatch {
  const result: { -readonly [K in keyof RuleMatch]: RuleMatch[K] } = { rule: rule.view, compiled: rule, firedtimes: walk.firedtimes, suppressed };
  if (walk.lastEvents.length > 0) result.previousOutput = walk.lastEvents;
  if (walk.previousLog !== undefined) result.previousLog = walk.previousLog;
  return result;
}
