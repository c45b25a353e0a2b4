/**
 * Placing drafts in the rule tree the way Wazuh's rules_list does: sibling order by
 * internal level (higher first, level 0 stored as 99×100 so it leads, ties in load
 * order), `if_sid` under the first node of each listed id in every sibling list the
 * search reaches, `if_group`/`if_level` under every matching node, otherwise under the
 * first category root. Overwrite replaces fields of the loaded rule in place.
 */
import type { DraftNode, RuleDraft } from './draft.js';
import { atoi } from './schedule.js';

export class RuleTreeBuilder {
  readonly roots: DraftNode[] = [];
  private readonly placed = new Map<number, RuleDraft>();
  /** Every draft that took a place, in load order (a duplicated root id is its own rule). */
  private readonly order: RuleDraft[] = [];
  private groupLists = 0;

  constructor(private readonly warn: (message: string) => void) {}

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
      insertSorted(this.roots, draft);
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
      removeEverywhere(this.roots, draft);
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
      if (!attach(this.roots, 0, level * 100, undefined, draft)) {
        this.warn(`${this.where(draft)}: no rule of level ${level} or above, the rule is skipped`);
        return false;
      }
      return true;
    }
    if (draft.ifGroup !== undefined) {
      if (!attach(this.roots, 0, 0, draft.ifGroup, draft)) {
        this.warn(`${this.where(draft)}: no rule in group '${draft.ifGroup}', the rule is skipped`);
        return false;
      }
      return true;
    }
    if (!attach(this.roots, 0, 0, undefined, draft)) {
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
        if (attach(this.roots, sid, 0, undefined, draft)) {
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
    copyOverwritable(target, source);
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
      forEachNode(this.roots, (node) => {
        if (wanted.test(node.rule.groupString)) node.rule.feedsGroupLists.push(list);
      });
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

/** _OS_AddRule: before the first sibling of strictly lower level, else at the end. */
function insertSorted(list: DraftNode[], rule: RuleDraft): void {
  let at = 0;
  while (at < list.length && !(rule.internalLevel > list[at]!.rule.internalLevel)) at++;
  list.splice(at, 0, { rule, children: [] });
}

/** Case-insensitive substring with `|` alternatives and a leading `^` (OS_WordMatch). */
export function wordMatch(pattern: string, text: string): boolean {
  if (pattern.length === 0) return false;
  const lowered = text.toLowerCase();
  return pattern.split('|').some((alternative) => {
    if (alternative.length === 0) return true;
    if (alternative.startsWith('^')) return lowered.startsWith(alternative.slice(1).toLowerCase());
    return lowered.length > 0 && lowered.includes(alternative.toLowerCase());
  });
}

/**
 * _AddtoRule over one sibling list: by sid (first match in this list, then stop here),
 * by group or level (every match, at any depth), or by category (roots only).
 */
function attach(nodes: DraftNode[], sid: number, level: number, group: string | undefined, rule: RuleDraft): boolean {
  let found = false;
  for (const node of nodes) {
    const other = node.rule;
    if (sid) {
      if (other.id === sid) {
        rule.category = other.category;
        insertSorted(node.children, rule);
        return true;
      }
    } else if (group !== undefined) {
      if (wordMatch(group, other.groupString) && other.id !== rule.id) {
        insertSorted(node.children, rule);
        found = true;
      }
    } else if (level) {
      if (other.internalLevel >= level && other.id !== rule.id) {
        insertSorted(node.children, rule);
        found = true;
      }
    } else if (rule.category !== other.category) {
      continue;
    } else {
      insertSorted(node.children, rule);
      return true;
    }
    if (node.children.length > 0 && attach(node.children, sid, level, group, rule)) found = true;
  }
  return found;
}

function forEachNode(nodes: readonly DraftNode[], visit: (node: DraftNode) => void): void {
  for (const node of nodes) {
    visit(node);
    forEachNode(node.children, visit);
  }
}

/** Takes a rule that failed half-way out of the places it already took. */
function removeEverywhere(nodes: DraftNode[], rule: RuleDraft): void {
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (nodes[i]!.rule === rule) nodes.splice(i, 1);
    else removeEverywhere(nodes[i]!.children, rule);
  }
}
