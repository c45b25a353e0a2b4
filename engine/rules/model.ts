/**
 * The compiled form of a ruleset: rules with their precompiled conditions, the tree the
 * walk follows, and the bookkeeping that links stateful rules to the event lists they
 * search. Built by compile.ts, read by match.ts.
 */
import type { ByteString, CdbList, EngineEvent, Matcher, RuleView, StaticField } from '../types.js';
import type { ListLookup } from '../lists/cdb.js';
import type { CompiledPredicate } from './compiled-rules.js';
import type { IpEntry } from './ip.js';
import type { DaySet, TimeWindow } from './schedule.js';

/** A pattern on one event value: the rule passes when `matcher.test(value) !== negate`. */
export interface FieldCondition {
  readonly matcher: Matcher;
  readonly negate: boolean;
}

/** `<field name="…">` on a dynamic field; `name` is lower-cased (lookups ignore case). */
export interface DynamicCondition extends FieldCondition {
  readonly name: string;
}

export interface IpCondition {
  readonly entries: readonly IpEntry[];
  readonly negate: boolean;
}

/** Where a `<list field="…">` takes its key from. */
export type ListKey =
  | { readonly kind: 'static'; readonly field: StaticField }
  | { readonly kind: 'user' }
  | { readonly kind: 'hostname' }
  | { readonly kind: 'program_name' }
  | { readonly kind: 'dynamic'; readonly name: string };

export interface ListCondition {
  readonly key: ListKey;
  readonly lookup: ListLookup;
  readonly list: CdbList;
  readonly checkValue?: Matcher;
}

/**
 * Fields that `same_*` / `different_*` compare, in Wazuh's bit order (bit i = index i):
 * `user` is dstuser, and the geoip pair only has values when a geoip resolver is given.
 */
export const CONTEXT_FIELDS = [
  'srcip', 'id', 'dstip', 'srcport', 'dstport', 'srcuser', 'user', 'protocol', 'action', 'url',
  'data', 'extra_data', 'status', 'system_name', 'srcgeoip', 'dstgeoip', 'location',
] as const;
export type ContextField = (typeof CONTEXT_FIELDS)[number];
export const contextBit = (field: ContextField): number => 1 << CONTEXT_FIELDS.indexOf(field);

/** What `<ignore>` / `<check_if_ignored>` key on: static flags plus dynamic names (null = a static slot). */
export interface IgnoreSpec {
  readonly name: boolean;
  readonly id: boolean;
  readonly user: boolean;
  readonly srcip: boolean;
  readonly dstip: boolean;
  readonly location: boolean;
  readonly data: boolean;
  readonly dynamic: readonly (string | null)[];
}

export type SearchKind = 'sid' | 'group' | 'events';

/** Alert options the serializer and the event path need beyond RuleView. */
export interface RuleOptions {
  /** DO_MAILALERT: level at or above email_alert_level, or alert_by_email, minus no_email_alert. */
  readonly mail: boolean;
  /** DO_LOGALERT: level at or above log_alert_level, or log_alert, minus no_log (analysisd writes on it). */
  readonly logAlert: boolean;
  /** `<options>no_log</options>` cleared the log flag. */
  readonly noLog: boolean;
  readonly noAr: boolean;
  readonly noFullLog: boolean;
  readonly noCounter: boolean;
}

/** One loaded rule (after any overwrite). Conditions are absent when the rule has none. */
export interface Rule {
  /** Dense index into the per-rule arrays of a RuleState. */
  readonly index: number;
  readonly id: number;
  readonly file: string;
  readonly line: number;
  /** Final level (0–16; Wazuh's accuracy="0" quirks can leave other values). */
  readonly level: number;
  readonly description: string;
  /** The raw group string (attribute + `<group>` elements, concatenated as written). */
  readonly groupString: string;
  readonly category: string;
  readonly noAlert: boolean;
  readonly decodedAs: number;
  readonly maxsize: number;
  /** Stored as Wazuh does: the frequency attribute minus 2, or 0. */
  readonly frequency: number;
  readonly timeframe: number;
  readonly ignoreTime: number;

  readonly programName?: FieldCondition;
  readonly idField?: FieldCondition;
  readonly systemName?: FieldCondition;
  readonly protocol?: FieldCondition;
  readonly match?: FieldCondition;
  readonly regex?: FieldCondition;
  readonly action?: FieldCondition;
  readonly url?: FieldCondition;
  readonly location?: FieldCondition;
  readonly fields: readonly DynamicCondition[];
  readonly srcip?: IpCondition;
  readonly dstip?: IpCondition;
  readonly srcport?: FieldCondition;
  readonly dstport?: FieldCondition;
  readonly compiledRule?: CompiledPredicate;
  readonly user?: FieldCondition;
  readonly srcgeoip?: FieldCondition;
  readonly dstgeoip?: FieldCondition;
  readonly time?: TimeWindow;
  readonly weekday?: DaySet;
  readonly data?: FieldCondition;
  readonly extraData?: FieldCondition;
  readonly hostname?: FieldCondition;
  readonly status?: FieldCondition;
  readonly checkDiff: boolean;
  readonly fts: boolean;
  readonly lists: readonly ListCondition[];

  /** Wazuh's `context` flag: a stateful search runs when it is set and the rule has one. */
  readonly context: boolean;
  readonly globalFrequency: boolean;
  readonly sameMask: number;
  readonly differentMask: number;
  readonly sameDynamic: readonly string[];
  readonly differentDynamic: readonly string[];
  readonly ifMatchedRegex?: Matcher;
  /** Which memory the stateful search reads (fixed at first load; overwrite keeps it). */
  readonly search?: SearchKind;
  /** For 'sid': the index of the rule whose list is read (-1: no such rule); for 'group': the list id. */
  readonly searchList: number;
  /** Events ending on this rule are remembered for if_matched_sid rules that point at it. */
  readonly feedsSidList: boolean;
  /** Group lists (ids, repeats kept as Wazuh does) that events ending on this rule join. */
  readonly feedsGroupLists: readonly number[];
  readonly ignore?: IgnoreSpec;
  readonly checkIgnore?: IgnoreSpec;

  readonly options: RuleOptions;
  /** New-format MITRE pairs (`tacticID`, `techniqueID`); RuleView.mitre holds the `<id>` list. */
  readonly mitrePairs: readonly (readonly [string, string])[];
  readonly view: RuleView;
}

export interface RuleNode {
  readonly rule: Rule;
  readonly children: readonly RuleNode[];
  /**
   * For wide child lists: the children an event of a given decoder id can match (those
   * with that decoded_as or none), in order. Children absent from it would fail on their
   * first check, so a walk without debug output skips them.
   */
  readonly byDecoder?: ReadonlyMap<number, readonly RuleNode[]>;
  /** The children without decoded_as (for decoder ids no child names). */
  readonly undecoded?: readonly RuleNode[];
}

export interface RuleSet {
  /** Category roots (rules with id below 10) in sibling order. */
  readonly roots: readonly RuleNode[];
  readonly byId: ReadonlyMap<number, Rule>;
  /** Rules by index (the index a RuleState uses). */
  readonly rules: readonly Rule[];
  readonly groupListCount: number;
  /** The largest stored frequency: Wazuh's event memory pruning reads it. */
  readonly maxFrequency: number;
}

/** Values of an event the walk reads more than once, resolved lazily. */
export interface EventContext {
  readonly event: EngineEvent;
  readonly decoderType: string;
  readonly location: ByteString;
}
