/**
 * compileRules: rule files (already parsed by the OS_XML reader, in Wazuh load order)
 * into a RuleSet. Load errors Wazuh treats as fatal throw RulesetLoadError; rules it
 * skips are dropped with a warning.
 */
import { RulesetLoadError, type CdbList, type RuleView, type XmlNode } from '../types.js';
import { asciiLower } from '../xml/os-xml.js';
import type { DraftNode, RuleDraft } from './draft.js';
import type { Rule, RuleNode, RuleSet } from './model.js';
import { parseRule, type ParseContext } from './parse-rule.js';
import { RuleTreeBuilder } from './tree.js';

export interface RuleFile {
  readonly file: string;
  readonly nodes: readonly XmlNode[];
}

export interface RuleCompileContext {
  /** Decoder id by name (`decoded_as`); undefined when no decoder has that name. */
  decoderId(name: string): number | undefined;
  /** Loaded CDB lists by the path declared in ossec.conf (e.g. 'etc/lists/audit-keys'). */
  readonly lists: ReadonlyMap<string, CdbList>;
  /** `<alerts><email_alert_level>` (default 12): sets the rule's mail flag. */
  readonly emailAlertLevel?: number;
  /** `<alerts><log_alert_level>` (default 3): sets the rule's log flag. */
  readonly logAlertLevel?: number;
  /** analysisd.default_timeframe (default 360 s) for rules without a timeframe. */
  readonly defaultTimeframe?: number;
}

export interface CompiledRules {
  readonly rules: RuleSet;
  readonly warnings: string[];
}

export function compileRules(files: readonly RuleFile[], context: RuleCompileContext): CompiledRules {
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
  };
  const tree = new RuleTreeBuilder(warn);
  for (const { file, nodes } of files) {
    const ctx: ParseContext = {
      file,
      decoderId: (name) => context.decoderId(name),
      lists: context.lists,
      emailAlertLevel: context.emailAlertLevel ?? 12,
      logAlertLevel: context.logAlertLevel ?? 3,
      defaultTimeframe: context.defaultTimeframe ?? 360,
      exists: (id) => tree.has(id),
      warn,
    };
    loadFile(ctx, nodes, tree);
  }
  return { rules: freeze(tree), warnings };
}

function loadFile(ctx: ParseContext, nodes: readonly XmlNode[], tree: RuleTreeBuilder): void {
  for (const group of nodes) checkGroupNode(ctx, group);
  for (const group of nodes) {
    const name = group.attributes[0]![1];
    if (group.children.length === 0) {
      throw new RulesetLoadError(ctx.file, group.line, group.name, `group '${name}' without any rule`);
    }
    for (const node of group.children) {
      if (asciiLower(node.name) !== 'rule') {
        throw new RulesetLoadError(ctx.file, node.line, node.name, `'${node.name}' is not a valid element`);
      }
      const draft = parseRule(ctx, name, node);
      if (draft) tree.add(draft);
    }
  }
}

/** Only `<group name="…">` roots, with that single attribute. */
function checkGroupNode(ctx: ParseContext, node: XmlNode): void {
  if (asciiLower(node.name) !== 'group') {
    throw new RulesetLoadError(ctx.file, node.line, node.name, 'invalid root element, only "group" is allowed');
  }
  const attrs = node.attributes;
  if (attrs.length !== 1 || asciiLower(attrs[0]![0]) !== 'name') {
    throw new RulesetLoadError(ctx.file, node.line, node.name, 'a group root takes only its name attribute');
  }
}

/** Drafts into immutable rules: final levels, dense indexes, tree copies, views. */
function freeze(tree: RuleTreeBuilder): RuleSet {
  const drafts = tree.rules();
  const index = new Map<RuleDraft, number>();
  drafts.forEach((draft, i) => index.set(draft, i));
  const rules = drafts.map((draft, i) => finalRule(draft, i, index));
  const byId = new Map<number, Rule>();
  for (const rule of rules) if (!byId.has(rule.id)) byId.set(rule.id, rule);
  const toNode = (node: DraftNode): RuleNode => withDecoderIndex(rules[index.get(node.rule)!]!, node.children.map(toNode));
  return {
    roots: tree.roots.map(toNode),
    byId,
    rules,
    groupListCount: tree.groupListCount,
    maxFrequency: rules.reduce((max, rule) => Math.max(max, rule.frequency), 0),
  };
}

/** Child lists at least this long get a decoded_as index. */
const INDEXED_WIDTH = 8;

function withDecoderIndex(rule: Rule, children: RuleNode[]): RuleNode {
  if (children.length < INDEXED_WIDTH || !children.some((child) => child.rule.decodedAs)) return { rule, children };
  const byDecoder = new Map<number, RuleNode[]>();
  for (const child of children) {
    const id = child.rule.decodedAs;
    if (id && !byDecoder.has(id)) byDecoder.set(id, children.filter((other) => !other.rule.decodedAs || other.rule.decodedAs === id));
  }
  return { rule, children, byDecoder, undecoded: children.filter((child) => !child.rule.decodedAs) };
}

/** _setlevels: 99×100 becomes 0, other ×100 levels are divided back. */
function finalLevel(internal: number): number {
  if (internal === 9900) return 0;
  return internal >= 100 ? Math.trunc(internal / 100) : internal;
}

function finalRule(draft: RuleDraft, i: number, index: ReadonlyMap<RuleDraft, number>): Rule {
  const level = finalLevel(draft.internalLevel);
  const searchList = draft.search === 'sid'
    ? (draft.sidTarget ? index.get(draft.sidTarget) ?? -1 : -1)
    : draft.searchList;
  const options = {
    mail: draft.mail, logAlert: draft.logAlert, noLog: draft.noLogOption, noAr: draft.noAr,
    noFullLog: draft.noFullLog, noCounter: draft.noCounter,
  };
  const view: RuleView = Object.freeze({
    id: draft.id,
    level,
    description: draft.description ?? '',
    groups: Object.freeze(splitGroups(draft.groupString)),
    ...(draft.search ? { frequency: draft.frequency + 2 } : {}),
    ...(draft.info !== null ? { info: draft.info } : {}),
    ...(draft.cve !== null ? { cve: draft.cve } : {}),
    mitre: Object.freeze([...draft.mitre]),
    noFullLog: draft.noFullLog,
    noCounter: draft.noCounter,
    mail: draft.mail,
    noLog: draft.noLogOption,
  });
  return Object.freeze({
    index: i,
    id: draft.id,
    file: draft.file,
    line: draft.line,
    level,
    description: draft.description ?? '',
    groupString: draft.groupString,
    category: draft.category,
    noAlert: draft.noAlert,
    decodedAs: draft.decodedAs,
    maxsize: draft.maxsize,
    frequency: draft.frequency,
    timeframe: draft.timeframe,
    ignoreTime: draft.ignoreTime,
    programName: draft.programName,
    idField: draft.idField,
    systemName: draft.systemName,
    protocol: draft.protocol,
    match: draft.match,
    regex: draft.regex,
    action: draft.action,
    url: draft.url,
    location: draft.location,
    fields: Object.freeze([...draft.fields]),
    srcip: draft.srcip,
    dstip: draft.dstip,
    srcport: draft.srcport,
    dstport: draft.dstport,
    compiledRule: draft.compiledRule,
    user: draft.user,
    srcgeoip: draft.srcgeoip,
    dstgeoip: draft.dstgeoip,
    time: draft.time,
    weekday: draft.weekday,
    data: draft.data,
    extraData: draft.extraData,
    hostname: draft.hostname,
    status: draft.status,
    checkDiff: draft.checkDiff,
    fts: draft.fts,
    lists: Object.freeze([...draft.lists]),
    context: draft.context,
    globalFrequency: draft.globalFrequency,
    sameMask: draft.sameMask,
    differentMask: draft.differentMask,
    sameDynamic: Object.freeze(draft.sameDynamic.map(asciiLower)),
    differentDynamic: Object.freeze(draft.differentDynamic.map(asciiLower)),
    ifMatchedRegex: draft.ifMatchedRegex,
    search: draft.search,
    searchList,
    feedsSidList: draft.feedsSidList,
    feedsGroupLists: Object.freeze([...draft.feedsGroupLists]),
    ignore: draft.ignore,
    checkIgnore: draft.checkIgnore,
    options: Object.freeze(options),
    mitrePairs: Object.freeze(draft.mitrePairs.map((pair) => Object.freeze([...pair] as const))),
    view,
  });
}

/** The group string split at its commas, as written (the serializer skips empty names). */
function splitGroups(groupString: string): string[] {
  return groupString.split(',');
}
