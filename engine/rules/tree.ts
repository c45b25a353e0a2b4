/**
 * Placing drafts in the rule tree the way Wazuh's rules_list does: sibling order by
 * internal level (higher first, level 0 stored as 99×100 so it leads, ties in load
 * order), `if_sid` under the first node of each listed id in every sibling list the
 * search reaches, `if_group`/`if_level` under every matching node, otherwise under the
 * first category root. Overwrite replaces fields of the loaded rule in place.
 */
import type { DraftNode, RuleDraft } from './draft.js';
import { asciiLower } from '../xml/os-xml.js';
import { atoi } from './schedule.js';

export class RuleTreeBuilder {
  readonly roots: DraftNode[] = [];
  private readonly placed = new Map<number, RuleDraft>();
  /** Every draft that took a place, in load order (a duplicated root id is its own rule). */
  private readonly order: RuleDraft[] = [];
  private groupLists = 0;
  /** Every node, and the nodes of each rule id: indexes that spare most full-tree walks. */
  private readonly nodesById = new Map<number, DraftNode[]>();
  /** The places of each draft, and where each node sits (its sibling list and parent). */
  private readonly nodesOf = new Map<RuleDraft, DraftNode[]>();
  private readonly placeOf = new Map<DraftNode, { readonly list: DraftNode[]; readonly parent?: DraftNode }>();
  /** Placed drafts by group string: if_group and if_matched_group test each distinct string once. */
  private readonly byGroup = new Map<string, { readonly lower: string; readonly drafts: Set<RuleDraft> }>();

  constructor(private readonly warn: (message: string) => void) {}

  /** _OS_AddRule: before the first sibling of strictly lower level, else at the end. */
  private insertSorted(list: DraftNode[], rule: RuleDraft, parent?: DraftNode): void {
    let at = 0;
    while (at < list.length && !(rule.internalLevel > list[at]!.rule.internalLevel)) at++;
    const node: DraftNode = { rule, children: [] };
    list.splice(at, 0, node);
    this.placeOf.set(node, parent ? { list, parent } : { list });
    append(this.nodesById, rule.id, node);
    if (!this.nodesOf.has(rule)) this.indexGroup(rule);
    append(this.nodesOf, rule, node);
  }

  private indexGroup(rule: RuleDraft): void {
    let entry = this.byGroup.get(rule.groupString);
    if (!entry) this.byGroup.set(rule.groupString, entry = { lower: asciiLower(rule.groupString), drafts: new Set() });
    entry.drafts.add(rule);
  }

  private unindexGroup(rule: RuleDraft): void {
    this.byGroup.get(rule.groupString)?.drafts.delete(rule);
  }

  /** Placed drafts whose group string passes `test` (given the string and its lower case). */
  private draftsInGroups(test: (group: string, lower: string) => boolean): RuleDraft[] {
    const found: RuleDraft[] = [];
    for (const [group, entry] of this.byGroup) if (entry.drafts.size > 0 && test(group, entry.lower)) found.push(...entry.drafts);
    return found;
  }

  has(id: number): boolean {
    return this.placed.has(id);
  }

  get groupListCount(): number {
    return this.groupLists;
  }

  /** Every placed rule, in load order. */
  rules(): readonly RuleDraft[] {
    return this.order;
  }

  /** Adds a draft the way the loader does after parsing it; false when it is dropped. */
  add(draft: RuleDraft): boolean {
    if (draft.id < 10) {
      this.insertSorted(this.roots, draft);
      if (!this.placed.has(draft.id)) this.placed.set(draft.id, draft);
      this.order.push(draft);
      if (!draft.overwrite) this.linkSearch(draft);
      return true;
    }
    if (draft.overwrite) {
      const target = this.placed.get(draft.id);
      if (target) {
        this.overwrite(target, draft);
        return true;
      }
    }
    if (!this.addChild(draft)) {
      this.remove(draft);
      return false;
    }
    this.placed.set(draft.id, draft);
    this.order.push(draft);
    if (!draft.overwrite) this.linkSearch(draft);
    return true;
  }

  private where(draft: RuleDraft): string {
    return `${draft.file}:${draft.line}: rule ${draft.id}`;
  }

  /** OS_AddChild. */
  private addChild(draft: RuleDraft): boolean {
    if (draft.ifSid !== undefined) return this.addUnderSids(draft, draft.ifSid);
    if (draft.ifLevel !== undefined) {
      const level = atoi(draft.ifLevel);
      if (level === 0) {
        this.warn(`${this.where(draft)}: invalid if_level '${draft.ifLevel}', the rule is skipped`);
        return false;
      }
      const parents = [...this.nodesOf.keys()].filter((other) => other.internalLevel >= level * 100);
      if (!this.attachUnder(draft, parents)) {
        this.warn(`${this.where(draft)}: no rule of level ${level} or above, the rule is skipped`);
        return false;
      }
      return true;
    }
    if (draft.ifGroup !== undefined) {
      const inGroup = groupTest(draft.ifGroup);
      if (!this.attachUnder(draft, this.draftsInGroups((_group, lower) => inGroup(lower)))) {
        this.warn(`${this.where(draft)}: no rule in group '${draft.ifGroup}', the rule is skipped`);
        return false;
      }
      return true;
    }
    if (!this.attachToCategory(draft)) {
      this.warn(`${this.where(draft)}: no root for category '${draft.category}', the rule is skipped`);
      return false;
    }
    return true;
  }

  /**
   * Reads the if_sid text as Wazuh does, character by character: separators reset, each
   * number starts a lookup, and the end of the text after a separator looks up id 0,
   * which falls through to the category root.
   */
  private addUnderSids(draft: RuleDraft, text: string): boolean {
    let inNumber = false;
    let added = false;
    for (let i = 0; i <= text.length; i++) {
      const c = i < text.length ? text[i]! : '';
      if (c === ',' || c === ' ') {
        inNumber = false;
        continue;
      }
      if (c === '' || (c >= '0' && c <= '9')) {
        if (inNumber) continue;
        inNumber = true;
        const sid = atoi(text, i);
        if (sid ? this.attachToSid(draft, sid) : this.attachToCategory(draft)) {
          added = true;
        } else if (draft.ifMatchedSid !== 0) {
          this.warn(`${this.where(draft)}: if_matched_sid ${sid} not found, the rule is skipped`);
          return false;
        } else {
          this.warn(`${this.where(draft)}: if_sid ${sid} not found, ignored`);
        }
        continue;
      }
      this.warn(`${this.where(draft)}: invalid character in if_sid`);
      return added;
    }
    if (!added) this.warn(`${this.where(draft)}: no if_sid parent exists, the rule is skipped`);
    return added;
  }

  /** OS_AddRuleInfo: replace what Wazuh replaces, keep the tree position and the if_* links. */
  private overwrite(target: RuleDraft, source: RuleDraft): void {
    const where = this.where(source);
    if (source.ifSid !== undefined && !source.ifMatchedSid && target.ifSid !== source.ifSid) {
      this.warn(`${where}: overwrite cannot change if_sid`);
    }
    if (source.ifGroup !== undefined && !source.ifMatchedGroup) {
      this.warn(`${where}: overwrite cannot change if_group`);
    }
    if (source.ifLevel !== undefined && target.ifLevel !== source.ifLevel) {
      this.warn(`${where}: overwrite cannot change if_level`);
    }
    if (source.ifMatchedGroup && target.ifMatchedGroup?.source !== source.ifMatchedGroup.source) {
      this.warn(`${where}: overwrite cannot change if_matched_group`);
    }
    if (source.ifMatchedSid && target.ifMatchedSid !== source.ifMatchedSid) {
      this.warn(`${where}: overwrite cannot change if_matched_sid`);
    }
    this.unindexGroup(target);
    copyOverwritable(target, source);
    this.indexGroup(target);
  }

  /**
   * _AddtoRule by sid. Wazuh walks the tree and, in each sibling list it reaches, attaches
   * under the first node of that id and leaves the rest of the list. With one node of that
   * id (the usual case) the walk ends there; otherwise it is replayed.
   */
  private attachToSid(rule: RuleDraft, sid: number): boolean {
    const candidates = this.nodesById.get(sid);
    if (!candidates) return false;
    const reached = candidates.filter((node) => this.reachedBySidWalk(node, sid));
    for (const node of reached) {
      rule.category = node.rule.category;
      this.insertSorted(node.children, rule, node);
    }
    return reached.length > 0;
  }

  /**
   * Would Wazuh's walk for `sid` reach this node? Not when a node of that id comes earlier
   * in the node's sibling list or in any ancestor's, nor when an ancestor has that id.
   */
  private reachedBySidWalk(node: DraftNode, sid: number): boolean {
    for (let current = node; ;) {
      const place = this.placeOf.get(current)!;
      for (const sibling of place.list) {
        if (sibling === current) break;
        if (sibling.rule.id === sid) return false;
      }
      if (!place.parent) return true;
      if (place.parent.rule.id === sid) return false;
      current = place.parent;
    }
  }

  /** _AddtoRule by group or level: under every node of every qualifying rule, at any depth. */
  private attachUnder(rule: RuleDraft, parents: readonly RuleDraft[]): boolean {
    const targets: DraftNode[] = [];
    for (const other of parents) if (other.id !== rule.id) targets.push(...this.nodesOf.get(other)!);
    for (const node of targets) this.insertSorted(node.children, rule, node);
    return targets.length > 0;
  }

  /** _AddtoRule with nothing to follow: the first root of the rule's category. */
  private attachToCategory(rule: RuleDraft): boolean {
    const root = this.roots.find((node) => node.rule.category === rule.category);
    if (!root) return false;
    this.insertSorted(root.children, rule, root);
    return true;
  }

  /** Takes a rule that failed half-way out of the places it already took. */
  private remove(rule: RuleDraft): void {
    const drop = (list: DraftNode[]): void => {
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i]!.rule === rule) list.splice(i, 1);
        else drop(list[i]!.children);
      }
    };
    drop(this.roots);
    this.unindexGroup(rule);
    for (const node of this.nodesOf.get(rule) ?? []) this.placeOf.delete(node);
    this.nodesOf.delete(rule);
    this.nodesById.delete(rule.id);
  }

  /** Links a stateful rule to the list it searches (Search_LastSids / Groups / Events). */
  private linkSearch(draft: RuleDraft): void {
    if (draft.ifMatchedSid) {
      draft.search = 'sid';
      const target = this.placed.get(draft.ifMatchedSid);
      if (target) {
        target.feedsSidList = true;
        draft.sidTarget = target;
      }
    } else if (draft.ifMatchedGroup) {
      draft.search = 'group';
      const list = this.groupLists++;
      draft.searchList = list;
      const wanted = draft.ifMatchedGroup;
      for (const other of this.draftsInGroups((group) => wanted.test(group))) {
        for (let i = this.nodesOf.get(other)!.length; i > 0; i--) other.feedsGroupLists.push(list);
      }
    } else if (draft.context) {
      if (draft.checkDiff) draft.context = false;
      else draft.search = 'events';
    }
  }
}

/** Every field Wazuh's OS_AddRuleInfo copies from the overwriting rule. */
function copyOverwritable(target: RuleDraft, source: RuleDraft): void {
  target.internalLevel = source.internalLevel;
  target.maxsize = source.maxsize;
  target.frequency = source.frequency;
  target.timeframe = source.timeframe;
  target.context = source.context;
  target.ignoreTime = source.ignoreTime;
  target.ignore = source.ignore;
  target.checkIgnore = source.checkIgnore;
  target.mail = source.mail;
  target.logAlert = source.logAlert;
  target.noLogOption = source.noLogOption;
  target.noAr = source.noAr;
  target.noFullLog = source.noFullLog;
  target.noCounter = source.noCounter;
  target.noAlert = source.noAlert;
  target.fts = source.fts;
  target.checkDiff = source.checkDiff;
  target.globalFrequency = source.globalFrequency;
  target.sameMask = source.sameMask;
  target.differentMask = source.differentMask;
  target.category = source.category;
  target.decodedAs = source.decodedAs;
  target.groupString = source.groupString;
  target.match = source.match;
  target.regex = source.regex;
  target.time = source.time;
  target.weekday = source.weekday;
  target.srcip = source.srcip;
  target.dstip = source.dstip;
  target.srcgeoip = source.srcgeoip;
  target.dstgeoip = source.dstgeoip;
  target.srcport = source.srcport;
  target.dstport = source.dstport;
  target.user = source.user;
  target.url = source.url;
  target.idField = source.idField;
  target.status = source.status;
  target.hostname = source.hostname;
  target.programName = source.programName;
  target.data = source.data;
  target.extraData = source.extraData;
  target.location = source.location;
  target.systemName = source.systemName;
  target.protocol = source.protocol;
  target.fields = source.fields;
  target.action = source.action;
  target.description = source.description;
  target.info = source.info;
  target.cve = source.cve;
  target.lists = source.lists;
  target.ifMatchedRegex = source.ifMatchedRegex;
  target.compiledRule = source.compiledRule;
  target.file = source.file;
  target.line = source.line;
  target.sameDynamic = source.sameDynamic;
  target.differentDynamic = source.differentDynamic;
  target.mitre = source.mitre;
  target.mitrePairs = source.mitrePairs;
}

function append<K>(map: Map<K, DraftNode[]>, key: K, node: DraftNode): void {
  const list = map.get(key);
  if (list) list.push(node);
  else map.set(key, [node]);
}

/**
 * OS_WordMatch as a test on a lower-cased group string: substring, `|` alternatives, a
 * leading `^` anchors at the start, an empty alternative matches all, an empty pattern
 * nothing.
 */
export function groupTest(pattern: string): (lowered: string) => boolean {
  const alternatives = pattern.length === 0 ? [] : asciiLower(pattern).split('|');
  return (lowered) => alternatives.some((alternative) => {
    if (alternative.length === 0) return true;
    if (alternative.startsWith('^')) return lowered.startsWith(alternative.slice(1));
    return lowered.includes(alternative);
  });
}
