/**
 * A rule while the ruleset loads: mutable, because Wazuh places it in the tree, may
 * overwrite it in place with a later `overwrite="yes"` rule, and links it to the event
 * lists of stateful rules. compile.ts freezes drafts into Rule objects at the end.
 */
import type { Matcher } from '../types.js';
import type { CompiledPredicate } from './compiled-rules.js';
import type {
  DynamicCondition, FieldCondition, IgnoreSpec, IpCondition, ListCondition, SearchKind,
} from './model.js';
import type { DaySet, TimeWindow } from './schedule.js';

export class RuleDraft {
  /** Level as Wazuh keeps it while loading: ×100 unless accuracy="0", and 0 stored as 99. */
  internalLevel = 0;
  maxsize = 0;
  frequency = 0;
  timeframe = 360;
  ignoreTime = 0;
  noAlert = false;
  groupString = '';
  category = 'syslog';
  decodedAs = 0;

  programName?: FieldCondition;
  idField?: FieldCondition;
  systemName?: FieldCondition;
  protocol?: FieldCondition;
  match?: FieldCondition;
  regex?: FieldCondition;
  action?: FieldCondition;
  url?: FieldCondition;
  location?: FieldCondition;
  fields: DynamicCondition[] = [];
  srcip?: IpCondition;
  dstip?: IpCondition;
  srcport?: FieldCondition;
  dstport?: FieldCondition;
  compiledRule?: CompiledPredicate;
  user?: FieldCondition;
  srcgeoip?: FieldCondition;
  dstgeoip?: FieldCondition;
  time?: TimeWindow;
  weekday?: DaySet;
  data?: FieldCondition;
  extraData?: FieldCondition;
  hostname?: FieldCondition;
  status?: FieldCondition;
  checkDiff = false;
  fts = false;
  lists: ListCondition[] = [];

  ifSid?: string;
  ifLevel?: string;
  ifGroup?: string;
  ifMatchedSid = 0;
  ifMatchedGroup?: Matcher;
  ifMatchedRegex?: Matcher;
  context = false;
  globalFrequency = false;
  sameMask = 0;
  differentMask = 0;
  sameDynamic: string[] = [];
  differentDynamic: string[] = [];
  ignore?: IgnoreSpec;
  checkIgnore?: IgnoreSpec;

  search?: SearchKind;
  /** For 'sid' searches: the rule whose remembered events are read. */
  sidTarget?: RuleDraft;
  /** For 'group' searches: the group list id. */
  searchList = -1;
  feedsSidList = false;
  feedsGroupLists: number[] = [];

  description: string | null = null;
  info: string | null = null;
  cve: string | null = null;
  mitre: string[] = [];
  mitrePairs: [string, string][] = [];

  mail = false;
  logAlert = false;
  noLogOption = false;
  noAr = false;
  noFullLog = false;
  noCounter = false;

  constructor(
    readonly id: number,
    public file: string,
    public line: number,
    readonly overwrite: boolean,
  ) {}
}

/** A place of a draft in the tree: one rule may sit under several parents. */
export interface DraftNode {
  readonly rule: RuleDraft;
  readonly children: DraftNode[];
}
