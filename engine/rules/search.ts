/**
 * The stateful part of a rule (Search_LastSids / Search_LastGroups / Search_LastEvents):
 * walk a memory list newest first inside the timeframe, keep the events that pass the
 * same_ and different_ filters, and match when frequency-1 earlier ones qualify. An event
 * already consumed at this level or above stops the search, so counting restarts after
 * each firing.
 */
import type { ByteString, EngineEvent, StaticField } from '../types.js';
import { foldedAt } from '../match/os-regex.js';
import type { Rule } from './model.js';
import type { EventRecord, Timeline } from './state.js';

/** Per-walk scratch: the current event, its previous_output lines, the geoip resolver. */
export interface SearchRun {
  readonly current: EventRecord;
  readonly lastEvents: ByteString[];
  readonly geoip: ((ip: ByteString) => ByteString | undefined) | undefined;
  readonly now: number;
}

/** Static field behind each context bit (null: geoip pair and location, handled apart). */
const BIT_FIELDS: readonly (StaticField | null)[] = [
  'srcip', 'id', 'dstip', 'srcport', 'dstport', 'srcuser', 'dstuser', 'protocol', 'action', 'url', 'data',
  'extra_data', 'status', 'system_name', null, null, null,
];
const SRCIP_BIT = 1;
const ID_BIT = 2;
const SRCGEOIP_INDEX = 14;
const DSTGEOIP_INDEX = 15;

function contextValue(record: EventRecord, index: number, run: SearchRun): ByteString | undefined {
  const field = BIT_FIELDS[index];
  if (field) return record.event.fields[field];
  if (index === SRCGEOIP_INDEX) return record.geoip(run.geoip, 0);
  if (index === DSTGEOIP_INDEX) return record.geoip(run.geoip, 1);
  return record.location;
}

/** Dynamic field by lower-case name, first one wins (Wazuh's FindField); names fold in place. */
export function findDynamic(event: EngineEvent, lowerName: string): ByteString | undefined {
  for (const field of event.dynamic) {
    const name = field.name;
    if (name.length === lowerName.length && (name === lowerName || foldedAt(name, lowerName, 0))) return field.value;
  }
  return undefined;
}

function bothEqual(a: ByteString | undefined, b: ByteString | undefined): boolean {
  return a !== undefined && b !== undefined && a === b;
}

/** same_loop: every same_* field from dstip on must be present in both and equal. */
function sameFields(rule: Rule, past: EventRecord, run: SearchRun): boolean {
  for (let mask = rule.sameMask >>> 2, i = 2; mask !== 0; mask >>>= 1, i++) {
    if ((mask & 1) && !bothEqual(contextValue(past, i, run), contextValue(run.current, i, run))) return false;
  }
  return true;
}

/** different_loop: no different_* field may be present in both with the same value. */
function differentFields(rule: Rule, past: EventRecord, run: SearchRun): boolean {
  for (let mask = rule.differentMask, i = 0; mask !== 0; mask >>>= 1, i++) {
    if ((mask & 1) && bothEqual(contextValue(past, i, run), contextValue(run.current, i, run))) return false;
  }
  return true;
}

function sameDynamic(rule: Rule, past: EngineEvent, current: EngineEvent): boolean {
  if (current.dynamic.length === 0 || past.dynamic.length === 0) return false;
  return rule.sameDynamic.every((name) => bothEqual(findDynamic(current, name), findDynamic(past, name)));
}

function differentDynamic(rule: Rule, past: EngineEvent, current: EngineEvent): boolean {
  if (current.dynamic.length === 0 && past.dynamic.length === 0) return false;
  return !rule.differentDynamic.some((name) => bothEqual(findDynamic(current, name), findDynamic(past, name)));
}

/** The filters every search applies to one remembered event. */
function qualifies(rule: Rule, past: EventRecord, run: SearchRun): boolean {
  const current = run.current.event;
  const event = past.event;
  if ((rule.sameMask & ID_BIT) && !bothEqual(event.fields.id, current.fields.id)) return false;
  if ((rule.sameMask & SRCIP_BIT) && !bothEqual(event.fields.srcip, current.fields.srcip)) return false;
  if (rule.sameDynamic.length > 0 && !sameDynamic(rule, event, current)) return false;
  if (rule.differentDynamic.length > 0 && !differentDynamic(rule, event, current)) return false;
  return sameFields(rule, past, run) && differentFields(rule, past, run);
}

/** previous_output keeps the first writer of each slot (Wazuh fills only empty slots). */
function remember(run: SearchRun, slot: number, log: ByteString): void {
  if (slot <= 10 && slot >= run.lastEvents.length) run.lastEvents.push(log);
}

/**
 * Search_LastSids / Search_LastGroups. Every qualifying event (the last one included)
 * goes to previous_output; the current event and the newest counted one are consumed.
 */
export function searchList(rule: Rule, list: Timeline | undefined, run: SearchRun): boolean {
  if (!list) return false;
  const current = run.current;
  const timeframe = rule.timeframe * 1000;
  let count = 0;
  let firstCounted: EventRecord | undefined;
  for (let k = 0; ; k++) {
    const past = list.at(k);
    if (!past || !past.alive) return false;
    if (run.now - past.time > timeframe) return false;
    if (!rule.globalFrequency && past.event.agentId !== current.event.agentId) continue;
    if (!qualifies(rule, past, run)) continue;
    if (past.matched >= rule.level) return false;
    remember(run, count, past.event.fullLog);
    if (count < rule.frequency) {
      count++;
      firstCounted ??= past;
      continue;
    }
    current.matched = rule.level;
    if (firstCounted) firstCounted.matched = rule.level;
    return true;
  }
}

/**
 * Search_LastEvents (if_matched_regex without if_matched_sid/group): the global memory,
 * same category only; only the counted events go to previous_output.
 */
export function searchEvents(rule: Rule, list: Timeline, run: SearchRun): boolean {
  const current = run.current;
  const timeframe = rule.timeframe * 1000;
  let count = 0;
  let firstCounted: EventRecord | undefined;
  for (let k = 0; ; k++) {
    const past = list.at(k);
    if (!past || !past.alive) return false;
    if (run.now - past.time > timeframe) return false;
    if (!rule.globalFrequency && past.event.agentId !== current.event.agentId) continue;
    if (past.decoderType !== current.decoderType) continue;
    if (rule.ifMatchedRegex && !rule.ifMatchedRegex.test(past.event.log)) continue;
    if (!qualifies(rule, past, run)) continue;
    if (past.matched >= rule.level) return false;
    if (count < rule.frequency) {
      remember(run, count, past.event.fullLog);
      count++;
      firstCounted ??= past;
      continue;
    }
    current.matched = rule.level;
    if (firstCounted) firstCounted.matched = rule.level;
    return true;
  }
}
