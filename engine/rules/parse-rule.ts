/**
 * One `<rule>` element into a RuleDraft, with Wazuh's load semantics: what the C loader
 * treats as fatal throws RulesetLoadError (file, line, element); what it skips returns
 * undefined after a warning; repeated elements concatenate as Wazuh's loadmemory does.
 */
import { RulesetLoadError, PatternError, type CdbList, type Matcher, type XmlNode } from '../types.js';
import { asciiLower, attribute } from '../xml/os-xml.js';
import { compileExpression, type ExpressionType } from '../match/expression.js';
import { LIST_LOOKUPS, type ListLookup } from '../lists/cdb.js';
import { COMPILED_RULES } from './compiled-rules.js';
import { RuleDraft } from './draft.js';
import { parseIpEntry, type IpEntry } from './ip.js';
import { contextBit, type ContextField, type FieldCondition, type IgnoreSpec, type ListKey } from './model.js';
import { atoi, parseDaySet, parseTimeWindow } from './schedule.js';

export interface ParseContext {
  readonly file: string;
  readonly decoderId: (name: string) => number | undefined;
  readonly lists: ReadonlyMap<string, CdbList>;
  readonly emailAlertLevel: number;
  readonly logAlertLevel: number;
  readonly defaultTimeframe: number;
  /** Whether a rule id is already in the tree (duplicates are skipped unless overwrite). */
  readonly exists: (id: number) => boolean;
  readonly warn: (message: string) => void;
}

/** Wazuh's limit on one accumulated element text (OS_SIZE_2048). */
const TEXT_LIMIT = 2048;
/** Config.decoder_order_size: the most `<field>`s a rule may test. */
const MAX_FIELDS = 256;

const isNumeric = (text: string): boolean => /^[0-9]*$/.test(text);
/** sscanf("%Nd") on a digit string: the first N digits, or undefined when there are none. */
const scanDigits = (text: string, width: number): number | undefined => (text.length === 0 ? undefined : Number(text.slice(0, width)));

const CATEGORIES = new Set(['firewall', 'ids', 'syslog', 'web-log', 'squid', 'windows', 'ossec']);
const STATIC_FIELD_NAMES = new Set([
  'srcip', 'dstip', 'srcgeoip', 'dstgeoip', 'srcport', 'dstport', 'user', 'srcuser', 'dstuser', 'url', 'id', 'data',
  'extra_data', 'status', 'protocol', 'system_name', 'action',
]);

type PatternKey =
  | 'regex' | 'match' | 'id' | 'srcport' | 'dstport' | 'status' | 'hostname' | 'data' | 'extra_data' | 'program_name'
  | 'user' | 'srcgeoip' | 'dstgeoip' | 'url' | 'location' | 'action' | 'protocol' | 'system_name';

/** The order Wazuh compiles the accumulated patterns in (it decides which error wins). */
const PATTERN_ORDER: readonly PatternKey[] = [
  'regex', 'match', 'id', 'srcport', 'dstport', 'status', 'hostname', 'data', 'extra_data', 'program_name', 'user',
  'srcgeoip', 'dstgeoip', 'url', 'location', 'action', 'protocol', 'system_name',
];

const DEFAULT_TYPES: Readonly<Record<PatternKey, ExpressionType>> = {
  regex: 'osregex', match: 'osmatch', id: 'osmatch', srcport: 'osmatch', dstport: 'osmatch', status: 'osmatch',
  hostname: 'osmatch', data: 'osmatch', extra_data: 'osmatch', program_name: 'osmatch', user: 'osmatch',
  srcgeoip: 'osmatch', dstgeoip: 'osmatch', url: 'osmatch', location: 'osmatch', action: 'string',
  protocol: 'osmatch', system_name: 'osmatch',
};

type ConditionSlot =
  | 'regex' | 'match' | 'idField' | 'srcport' | 'dstport' | 'status' | 'hostname' | 'data' | 'extraData' | 'programName'
  | 'user' | 'srcgeoip' | 'dstgeoip' | 'url' | 'location' | 'action' | 'protocol' | 'systemName';

const PATTERN_SLOT: Readonly<Record<PatternKey, ConditionSlot>> = {
  regex: 'regex', match: 'match', id: 'idField', srcport: 'srcport', dstport: 'dstport', status: 'status',
  hostname: 'hostname', data: 'data', extra_data: 'extraData', program_name: 'programName', user: 'user',
  srcgeoip: 'srcgeoip', dstgeoip: 'dstgeoip', url: 'url', location: 'location', action: 'action',
  protocol: 'protocol', system_name: 'systemName',
};

interface PendingPattern {
  text: string | null;
  negate: boolean;
  type: ExpressionType;
  node: XmlNode;
}

/** Everything gathered from a rule's elements before the post-loop checks. */
interface Pending {
  readonly patterns: Map<PatternKey, PendingPattern>;
  srcip: IpEntry[];
  srcipNegate: boolean;
  dstip: IpEntry[];
  dstipNegate: boolean;
  ifMatchedGroup?: { text: string | null; node: XmlNode };
  ifMatchedRegex?: { text: string | null; node: XmlNode };
  mitreDeprecated: boolean;
  mitreNewFormat: boolean;
  skip: boolean;
}

/** Parses one rule; undefined when Wazuh skips it (a warning says why). */
export function parseRule(ctx: ParseContext, groupName: string, node: XmlNode): RuleDraft | undefined {
  const head = readAttributes(ctx, node);
  if (ctx.exists(head.id)) {
    if (!head.overwrite) {
      ctx.warn(`${ctx.file}:${node.line}: rule ${head.id}: duplicated id, the rule is skipped`);
      return undefined;
    }
  } else if (head.overwrite) {
    ctx.warn(`${ctx.file}:${node.line}: rule ${head.id}: overwrite of a rule that does not exist, loaded as a new rule`);
    head.overwrite = false;
  }
  const draft = new RuleDraft(head.id, ctx.file, node.line, head.overwrite);
  applyHead(ctx, draft, head);
  draft.groupString = groupName;
  if (node.children.length === 0) {
    throw new RulesetLoadError(ctx.file, node.line, node.name, `rule ${head.id} has no option`);
  }
  const pending: Pending = {
    patterns: new Map(), srcip: [], srcipNegate: false, dstip: [], dstipNegate: false,
    mitreDeprecated: false, mitreNewFormat: false, skip: false,
  };
  for (const child of node.children) {
    readElement(ctx, draft, pending, child);
    if (pending.skip) return undefined;
  }
  return finishRule(ctx, draft, pending, node) ? draft : undefined;
}

interface Head {
  id: number;
  level: number;
  maxsize: number;
  timeframe: number;
  frequency: number;
  accuracy: number;
  noAlert: boolean;
  ignoreTime: number;
  overwrite: boolean;
}

function readAttributes(ctx: ParseContext, node: XmlNode): Head {
  const fail = (reason: string): never => {
    throw new RulesetLoadError(ctx.file, node.line, node.name, reason);
  };
  if (node.attributes.length === 0) fail('a rule needs an id and a level');
  const head: Head = {
    id: -1, level: -1, maxsize: 0, timeframe: ctx.defaultTimeframe, frequency: 0, accuracy: 1,
    noAlert: false, ignoreTime: 0, overwrite: false,
  };
  for (const [name, value] of node.attributes) {
    switch (asciiLower(name)) {
      case 'id':
        if (!isNumeric(value) || value.length > 6) fail(`invalid rule id '${value}' (an integer of at most 6 digits)`);
        head.id = scanDigits(value, 6) ?? head.id;
        break;
      case 'level':
        if (isNumeric(value)) {
          head.level = atoi(value);
          if (head.level > 16) fail(`invalid level ${head.level} (0 to 16)`);
        }
        break;
      case 'maxsize':
        if (!isNumeric(value)) fail(`invalid maxsize '${value}'`);
        head.maxsize = scanDigits(value, 4) ?? head.maxsize;
        break;
      case 'timeframe':
        if (!isNumeric(value)) fail(`invalid timeframe '${value}'`);
        head.timeframe = scanDigits(value, 5) ?? head.timeframe;
        break;
      case 'frequency': {
        if (!isNumeric(value)) fail(`invalid frequency '${value}'`);
        const frequency = atoi(value);
        if (frequency < 2 || frequency > 9999) fail(`invalid frequency ${frequency} (2 to 9999)`);
        head.frequency = frequency - 2;
        break;
      }
      case 'accuracy':
        if (!isNumeric(value)) fail(`invalid accuracy '${value}'`);
        head.accuracy = scanDigits(value, 4) ?? head.accuracy;
        break;
      case 'ignore':
        if (!isNumeric(value)) fail(`invalid ignore '${value}'`);
        head.ignoreTime = scanDigits(value, 6) ?? head.ignoreTime;
        break;
      case 'noalert':
        if (value === '0' || value === '1') head.noAlert = value === '1';
        else ctx.warn(`${ctx.file}:${node.line}: invalid value '${value}' for attribute 'noalert'`);
        break;
      case 'overwrite':
        if (value !== 'yes' && value !== 'no') fail(`invalid overwrite '${value}' (yes or no)`);
        head.overwrite = value === 'yes';
        break;
      default:
        fail(`invalid attribute '${name}'`);
    }
  }
  if (head.id === -1 || head.level === -1) fail('no rule id or level');
  return head;
}

function applyHead(ctx: ParseContext, draft: RuleDraft, head: Head): void {
  let level = head.level === 0 ? 99 : head.level;
  if (head.accuracy) level *= 100;
  draft.internalLevel = level;
  draft.maxsize = head.maxsize;
  draft.frequency = head.frequency;
  draft.timeframe = head.timeframe;
  draft.ignoreTime = head.ignoreTime;
  draft.noAlert = head.noAlert;
  draft.mail = ctx.emailAlertLevel <= head.level;
  draft.logAlert = ctx.logAlertLevel <= head.level;
}

/** Wazuh's loadmemory: concatenates, and drops the whole text past its size limit. */
function concat(ctx: ParseContext, node: XmlNode, previous: string | null | undefined, text: string): string | null {
  const tooLong = previous == null ? text.length >= TEXT_LIMIT : previous.length > TEXT_LIMIT || text.length > TEXT_LIMIT;
  if (tooLong) {
    ctx.warn(`${ctx.file}:${node.line}: <${node.name}>: text too long, dropped`);
    return null;
  }
  return (previous ?? '') + text;
}

function readNegate(ctx: ParseContext, draft: RuleDraft, node: XmlNode): boolean {
  const value = attribute(node, 'negate');
  if (value === undefined) return false;
  const lower = asciiLower(value);
  if (lower === 'yes' || lower === 'no') return lower === 'yes';
  ctx.warn(`${ctx.file}:${node.line}: rule ${draft.id}: invalid value '${value}' for attribute 'negate'`);
  return false;
}

function readType(ctx: ParseContext, draft: RuleDraft, node: XmlNode, fallback: ExpressionType): ExpressionType {
  const value = attribute(node, 'type');
  if (value === undefined) return fallback;
  const lower = asciiLower(value);
  if (lower === 'osregex' || lower === 'osmatch' || lower === 'pcre2') return lower;
  ctx.warn(`${ctx.file}:${node.line}: rule ${draft.id}: invalid value '${value}' for attribute 'type'`);
  return fallback;
}

/** Rules compile every pattern with flags 0: OS_Regex without OS_RETURN_SUBSTRING. */
function compile(ctx: ParseContext, draft: RuleDraft, node: XmlNode, type: ExpressionType, text: string): Matcher {
  try {
    return compileExpression(type, text, { captures: false });
  } catch (error) {
    if (error instanceof PatternError) {
      throw new RulesetLoadError(ctx.file, node.line, node.name, `rule ${draft.id}: ${error.message}`);
    }
    throw error;
  }
}

type ElementHandler = (ctx: ParseContext, draft: RuleDraft, pending: Pending, node: XmlNode) => void;

interface ElementSpec {
  /** The spelling Wazuh compares with strcmp; undefined when it uses strcasecmp. */
  readonly exact?: string;
  readonly handle: ElementHandler;
}

function readElement(ctx: ParseContext, draft: RuleDraft, pending: Pending, node: XmlNode): void {
  const spec = ELEMENTS.get(asciiLower(node.name));
  if (!spec || (spec.exact !== undefined && spec.exact !== node.name)) {
    throw new RulesetLoadError(ctx.file, node.line, node.name, `invalid option for rule ${draft.id}`);
  }
  spec.handle(ctx, draft, pending, node);
}

const pattern = (key: PatternKey): ElementHandler => (ctx, draft, pending, node) => {
  const previous = pending.patterns.get(key);
  pending.patterns.set(key, {
    text: concat(ctx, node, previous?.text, node.text),
    negate: readNegate(ctx, draft, node),
    type: readType(ctx, draft, node, DEFAULT_TYPES[key]),
    node,
  });
};

const same = (field: ContextField): ElementHandler => (_ctx, draft) => {
  draft.sameMask |= contextBit(field);
};

const different = (field: ContextField): ElementHandler => (_ctx, draft) => {
  draft.differentMask |= contextBit(field);
};

const deprecated: ElementHandler = (ctx, _draft, _pending, node) => {
  ctx.warn(`${ctx.file}:${node.line}: <${node.name}> is deprecated and has no effect`);
};

function readIp(ctx: ParseContext, draft: RuleDraft, pending: Pending, node: XmlNode, which: 'srcip' | 'dstip'): void {
  const entry = parseIpEntry(node.text);
  if (!entry) throw new RulesetLoadError(ctx.file, node.line, node.name, `rule ${draft.id}: invalid IP '${node.text}'`);
  pending[which].push(entry);
  if (which === 'srcip') pending.srcipNegate = readNegate(ctx, draft, node);
  else pending.dstipNegate = readNegate(ctx, draft, node);
}

function readField(ctx: ParseContext, draft: RuleDraft, node: XmlNode): void {
  const fail = (reason: string): never => {
    throw new RulesetLoadError(ctx.file, node.line, node.name, `rule ${draft.id}: ${reason}`);
  };
  if (draft.fields.length >= MAX_FIELDS) fail('too many <field> elements');
  const name = attribute(node, 'name');
  if (name === undefined) fail("no attribute 'name' for field");
  const fieldName = name as string;
  if (STATIC_FIELD_NAMES.has(asciiLower(fieldName))) fail(`field '${fieldName}' is static`);
  const type = readType(ctx, draft, node, 'osregex');
  const negate = readNegate(ctx, draft, node);
  const matcher = compile(ctx, draft, node, type, node.text);
  draft.fields.push({ name: asciiLower(fieldName), matcher, negate });
}

const LIST_STATIC_KEYS: ReadonlyMap<string, ListKey> = new Map<string, ListKey>([
  ['srcip', { kind: 'static', field: 'srcip' }], ['srcport', { kind: 'static', field: 'srcport' }],
  ['dstip', { kind: 'static', field: 'dstip' }], ['dstport', { kind: 'static', field: 'dstport' }],
  ['user', { kind: 'user' }], ['url', { kind: 'static', field: 'url' }], ['id', { kind: 'static', field: 'id' }],
  ['hostname', { kind: 'hostname' }], ['program_name', { kind: 'program_name' }],
  ['status', { kind: 'static', field: 'status' }], ['action', { kind: 'static', field: 'action' }],
  ['protocol', { kind: 'static', field: 'protocol' }], ['system_name', { kind: 'static', field: 'system_name' }],
  ['data', { kind: 'static', field: 'data' }], ['extra_data', { kind: 'static', field: 'extra_data' }],
]);

function readList(ctx: ParseContext, draft: RuleDraft, pending: Pending, node: XmlNode): void {
  const fail = (reason: string): never => {
    throw new RulesetLoadError(ctx.file, node.line, node.name, `rule ${draft.id}: ${reason}`);
  };
  if (node.attributes.length === 0) fail('a list needs a field attribute');
  let lookup: ListLookup = 'match_key';
  let key: ListKey | undefined;
  let checkValue: Matcher | undefined;
  for (const [name, value] of node.attributes) {
    const attr = asciiLower(name);
    if (attr === 'lookup') {
      const wanted = LIST_LOOKUPS.find((name) => name === asciiLower(value));
      if (!wanted) return fail(`list lookup '${value}' is not valid`);
      lookup = wanted;
    } else if (attr === 'field') {
      key = LIST_STATIC_KEYS.get(asciiLower(value)) ?? { kind: 'dynamic', name: asciiLower(value.trimStart().split(' ')[0]!) };
    } else if (attr === 'check_value') {
      checkValue = compile(ctx, draft, node, 'osmatch', value);
    } else {
      fail(`list attribute '${name}' is not valid`);
    }
  }
  if (!key) return fail('a list needs a field attribute');
  const list = findList(ctx.lists, node.text);
  if (!list) {
    ctx.warn(`${ctx.file}:${node.line}: list '${node.text}' is not loaded, rule ${draft.id} is skipped`);
    pending.skip = true;
    return;
  }
  draft.lists.push(checkValue ? { key, lookup, list, checkValue } : { key, lookup, list });
}

/** A rule names a list by its declared path, with or without ".cdb". */
function findList(lists: ReadonlyMap<string, CdbList>, name: string): CdbList | undefined {
  for (const [declared, list] of lists) {
    if (name === declared || name === `${declared}.cdb`) return list;
  }
  return undefined;
}

/** `<ignore>` / `<check_if_ignored>`: static flags accumulate; dynamic names come from the last element. */
function readIgnore(ctx: ParseContext, draft: RuleDraft, node: XmlNode, previous: IgnoreSpec | undefined): IgnoreSpec {
  const spec = {
    name: previous?.name ?? false, id: previous?.id ?? false, user: previous?.user ?? false,
    srcip: previous?.srcip ?? false, dstip: previous?.dstip ?? false, location: previous?.location ?? false,
    data: previous?.data ?? false, dynamic: [] as (string | null)[],
  };
  for (const piece of node.text.split(',')) {
    const word = piece.trimStart().split(' ')[0]!;
    if (word.length === 0) {
      throw new RulesetLoadError(ctx.file, node.line, node.name, `rule ${draft.id}: wrong option '${node.text}'`);
    }
    if (word === 'user' || word === 'srcip' || word === 'dstip' || word === 'id' || word === 'location'
      || word === 'data' || word === 'name') {
      spec[word] = true;
      spec.dynamic.push(null);
    } else {
      spec.dynamic.push(word);
    }
  }
  return spec;
}

function readOptions(ctx: ParseContext, draft: RuleDraft, node: XmlNode): void {
  switch (node.text) {
    case 'alert_by_email': draft.mail = true; break;
    case 'no_email_alert': draft.mail = false; break;
    case 'log_alert': draft.logAlert = true; draft.noLogOption = false; break;
    case 'no_log': draft.logAlert = false; draft.noLogOption = true; break;
    case 'no_ar': draft.noAr = true; break;
    case 'no_full_log': draft.noFullLog = true; break;
    case 'no_counter': draft.noCounter = true; break;
    default:
      throw new RulesetLoadError(ctx.file, node.line, node.name, `rule ${draft.id}: invalid option '${node.text}'`);
  }
}

function readInfo(ctx: ParseContext, draft: RuleDraft, node: XmlNode): void {
  for (const [name, value] of node.attributes) {
    if (asciiLower(name) !== 'type') {
      ctx.warn(`${ctx.file}:${node.line}: <info> has an invalid attribute '${name}'`);
      break;
    }
    if (!['text', 'link', 'cve', 'osvdb'].includes(value)) {
      ctx.warn(`${ctx.file}:${node.line}: <info> attribute 'type' has an invalid value '${value}'`);
    }
    break;
  }
  draft.info = concat(ctx, node, draft.info, node.text);
}

/** `<mitre>`: the old `<id>` list or new `<tacticID>`+`<techniqueID>` pairs, never both. */
function readMitre(ctx: ParseContext, draft: RuleDraft, pending: Pending, node: XmlNode): void {
  const where = `${ctx.file}:${node.line}: rule ${draft.id}`;
  if (node.children.length === 0) {
    ctx.warn(`${where}: empty MITRE information`);
    return;
  }
  let failure = false;
  let ids = 0;
  let tactics = 0;
  let techniques = 0;
  for (const item of node.children) {
    const name = asciiLower(item.name);
    if (name === 'id' || name === 'tacticid' || name === 'techniqueid') {
      if (item.text.length === 0) {
        ctx.warn(`${where}: empty MITRE <${item.name}>`);
        failure = true;
      } else if (name === 'id') ids++;
      else if (name === 'tacticid') tactics++;
      else techniques++;
    } else {
      ctx.warn(`${where}: invalid MITRE option '${item.name}'`);
      failure = true;
    }
  }
  if (!failure) failure = !acceptMitreBlock(ctx, draft, pending, where, ids, tactics, techniques);
  if (failure) return;
  let tactic: string | undefined;
  let technique: string | undefined;
  for (const item of node.children) {
    const name = asciiLower(item.name);
    if (name === 'id' && !draft.mitre.includes(item.text)) draft.mitre.push(item.text);
    else if (name === 'tacticid') tactic = item.text;
    else if (name === 'techniqueid') technique = item.text;
  }
  if (tactic !== undefined && technique !== undefined
    && !draft.mitrePairs.some(([a, b]) => a === tactic && b === technique)) {
    draft.mitrePairs.push([tactic, technique]);
  }
}

function acceptMitreBlock(
  ctx: ParseContext, draft: RuleDraft, pending: Pending, where: string, ids: number, tactics: number, techniques: number,
): boolean {
  if (ids > 0) {
    if (tactics > 0 || techniques > 0) {
      ctx.warn(`${where}: old and new MITRE formats in one block, the block is discarded`);
      return false;
    }
    if (pending.mitreNewFormat) {
      ctx.warn(`${where}: old and new MITRE formats combined, the old format is discarded`);
      draft.mitre = [];
      return false;
    }
    pending.mitreDeprecated = true;
    return true;
  }
  if (tactics > 0 && techniques > 0) {
    if (tactics > 1 || techniques > 1) {
      ctx.warn(`${where}: more than one MITRE tacticID or techniqueID in a block, the block is discarded`);
      return false;
    }
    pending.mitreNewFormat = true;
    if (pending.mitreDeprecated) {
      ctx.warn(`${where}: old and new MITRE formats combined, the old format is discarded`);
      draft.mitre = [];
      pending.mitreDeprecated = false;
    }
    return true;
  }
  if (techniques > 0) ctx.warn(`${where}: MITRE tacticID missing`);
  else if (tactics > 0) ctx.warn(`${where}: MITRE techniqueID missing`);
  return false;
}

const ELEMENTS: ReadonlyMap<string, ElementSpec> = new Map<string, ElementSpec>([
  ['regex', { handle: pattern('regex') }],
  ['match', { handle: pattern('match') }],
  ['decoded_as', {
    handle: (ctx, draft, _pending, node) => {
      const id = ctx.decoderId(node.text);
      if (!id) throw new RulesetLoadError(ctx.file, node.line, node.name, `invalid decoder name '${node.text}'`);
      draft.decodedAs = id;
    },
  }],
  ['cve', { handle: (ctx, draft, _pending, node) => { draft.cve = concat(ctx, node, draft.cve, node.text); } }],
  ['info', { handle: (ctx, draft, _pending, node) => readInfo(ctx, draft, node) }],
  ['time', {
    handle: (ctx, draft, _pending, node) => {
      const window = parseTimeWindow(node.text);
      if (!window) throw new RulesetLoadError(ctx.file, node.line, node.name, `invalid time '${node.text}'`);
      draft.time = window;
    },
  }],
  ['weekday', {
    handle: (ctx, draft, _pending, node) => {
      const days = parseDaySet(node.text);
      if (!days) throw new RulesetLoadError(ctx.file, node.line, node.name, `invalid weekday '${node.text}'`);
      draft.weekday = days;
    },
  }],
  ['group', { handle: (ctx, draft, _pending, node) => { draft.groupString = concat(ctx, node, draft.groupString, node.text) ?? ''; } }],
  ['description', {
    handle: (ctx, draft, _pending, node) => {
      draft.description = concat(ctx, node, draft.description, node.text.replace('\n', ' '));
    },
  }],
  ['srcip', { handle: (ctx, draft, pending, node) => readIp(ctx, draft, pending, node, 'srcip') }],
  ['dstip', { handle: (ctx, draft, pending, node) => readIp(ctx, draft, pending, node, 'dstip') }],
  ['user', { handle: pattern('user') }],
  ['srcgeoip', { handle: pattern('srcgeoip') }],
  ['dstgeoip', { handle: pattern('dstgeoip') }],
  ['id', { handle: pattern('id') }],
  ['srcport', { handle: pattern('srcport') }],
  ['dstport', { handle: pattern('dstport') }],
  ['status', { handle: pattern('status') }],
  ['hostname', { handle: pattern('hostname') }],
  ['data', { handle: pattern('data') }],
  ['extra_data', { handle: pattern('extra_data') }],
  ['program_name', { handle: pattern('program_name') }],
  ['action', { handle: pattern('action') }],
  ['system_name', { handle: pattern('system_name') }],
  ['protocol', { handle: pattern('protocol') }],
  ['location', { handle: pattern('location') }],
  ['field', { handle: (ctx, draft, _pending, node) => readField(ctx, draft, node) }],
  ['list', { handle: readList }],
  ['url', { handle: pattern('url') }],
  ['compiled_rule', {
    handle: (ctx, draft, _pending, node) => {
      const predicate = COMPILED_RULES.get(node.text);
      if (!predicate) throw new RulesetLoadError(ctx.file, node.line, node.name, `compiled rule not found: '${node.text}'`);
      draft.compiledRule = predicate;
    },
  }],
  ['category', {
    handle: (ctx, draft, _pending, node) => {
      if (!CATEGORIES.has(node.text)) throw new RulesetLoadError(ctx.file, node.line, node.name, `invalid category '${node.text}'`);
      draft.category = node.text;
    },
  }],
  ['if_sid', { handle: (ctx, draft, _pending, node) => { draft.ifSid = concat(ctx, node, draft.ifSid, node.text) ?? undefined; } }],
  ['if_level', {
    handle: (ctx, draft, pending, node) => {
      if (!isNumeric(node.text)) {
        ctx.warn(`${ctx.file}:${node.line}: rule ${draft.id}: invalid if_level '${node.text}', the rule is skipped`);
        pending.skip = true;
        return;
      }
      draft.ifLevel = concat(ctx, node, draft.ifLevel, node.text) ?? undefined;
    },
  }],
  ['if_group', { handle: (ctx, draft, _pending, node) => { draft.ifGroup = concat(ctx, node, draft.ifGroup, node.text) ?? undefined; } }],
  ['if_matched_regex', {
    handle: (ctx, draft, pending, node) => {
      draft.context = true;
      pending.ifMatchedRegex = { text: concat(ctx, node, pending.ifMatchedRegex?.text, node.text), node };
    },
  }],
  ['if_matched_group', {
    handle: (ctx, draft, pending, node) => {
      draft.context = true;
      pending.ifMatchedGroup = { text: concat(ctx, node, pending.ifMatchedGroup?.text, node.text), node };
    },
  }],
  ['if_matched_sid', {
    handle: (ctx, draft, pending, node) => {
      draft.context = true;
      if (!isNumeric(node.text)) {
        ctx.warn(`${ctx.file}:${node.line}: rule ${draft.id}: invalid if_matched_sid '${node.text}', the rule is skipped`);
        pending.skip = true;
        return;
      }
      draft.ifMatchedSid = atoi(node.text);
    },
  }],
  ['same_source_ip', { handle: same('srcip') }],
  ['same_srcip', { handle: same('srcip') }],
  ['same_dstip', { handle: same('dstip') }],
  ['same_src_port', { handle: same('srcport') }],
  ['same_srcport', { handle: same('srcport') }],
  ['same_dst_port', { handle: same('dstport') }],
  ['same_dstport', { handle: same('dstport') }],
  ['same_protocol', { handle: same('protocol') }],
  ['same_action', { handle: same('action') }],
  ['same_id', { exact: 'same_id', handle: same('id') }],
  ['same_url', { exact: 'same_url', handle: same('url') }],
  ['same_data', { exact: 'same_data', handle: same('data') }],
  ['same_extra_data', { exact: 'same_extra_data', handle: same('extra_data') }],
  ['same_status', { exact: 'same_status', handle: same('status') }],
  ['same_system_name', { exact: 'same_system_name', handle: same('system_name') }],
  ['same_srcgeoip', { exact: 'same_srcgeoip', handle: same('srcgeoip') }],
  ['same_dstgeoip', { exact: 'same_dstgeoip', handle: same('dstgeoip') }],
  ['same_location', { handle: same('location') }],
  ['same_agent', { handle: deprecated }],
  ['same_srcuser', { handle: same('srcuser') }],
  ['same_user', { handle: same('user') }],
  ['check_diff', { handle: (_ctx, draft) => { draft.context = true; draft.checkDiff = true; } }],
  ['different_srcip', { exact: 'different_srcip', handle: different('srcip') }],
  ['not_same_source_ip', { exact: 'not_same_source_ip', handle: different('srcip') }],
  ['different_dstip', { handle: different('dstip') }],
  ['different_src_port', { handle: different('srcport') }],
  ['different_srcport', { handle: different('srcport') }],
  ['different_dst_port', { handle: different('dstport') }],
  ['different_dstport', { handle: different('dstport') }],
  ['different_protocol', { exact: 'different_protocol', handle: different('protocol') }],
  ['different_action', { exact: 'different_action', handle: different('action') }],
  ['different_id', { exact: 'different_id', handle: different('id') }],
  ['not_same_id', { exact: 'not_same_id', handle: different('id') }],
  ['different_url', { exact: 'different_url', handle: different('url') }],
  ['different_data', { exact: 'different_data', handle: different('data') }],
  ['different_extra_data', { exact: 'different_extra_data', handle: different('extra_data') }],
  ['different_status', { exact: 'different_status', handle: different('status') }],
  ['different_system_name', { exact: 'different_system_name', handle: different('system_name') }],
  ['different_srcgeoip', { exact: 'different_srcgeoip', handle: different('srcgeoip') }],
  ['different_dstgeoip', { exact: 'different_dstgeoip', handle: different('dstgeoip') }],
  ['if_fts', { handle: (_ctx, draft) => { draft.fts = true; } }],
  ['different_srcuser', { handle: different('srcuser') }],
  ['different_user', { handle: different('user') }],
  ['not_same_user', { handle: different('user') }],
  ['not_same_agent', { handle: deprecated }],
  ['different_location', { handle: different('location') }],
  ['global_frequency', { handle: (_ctx, draft) => { draft.globalFrequency = true; } }],
  ['same_field', { handle: (_ctx, draft, _pending, node) => { draft.sameDynamic.push(node.text); } }],
  ['not_same_field', { handle: (_ctx, draft, _pending, node) => { draft.differentDynamic.push(node.text); } }],
  ['different_field', { handle: (_ctx, draft, _pending, node) => { draft.differentDynamic.push(node.text); } }],
  ['options', { handle: (ctx, draft, _pending, node) => readOptions(ctx, draft, node) }],
  ['ignore', { handle: (ctx, draft, _pending, node) => { draft.ignore = readIgnore(ctx, draft, node, draft.ignore); } }],
  ['check_if_ignored', {
    handle: (ctx, draft, _pending, node) => { draft.checkIgnore = readIgnore(ctx, draft, node, draft.checkIgnore); },
  }],
  ['mitre', { handle: readMitre }],
]);

/** The checks Wazuh runs after the element loop, then the pattern compilation. */
function finishRule(ctx: ParseContext, draft: RuleDraft, pending: Pending, node: XmlNode): boolean {
  const fail = (reason: string): never => {
    throw new RulesetLoadError(ctx.file, node.line, node.name, `rule ${draft.id}: ${reason}`);
  };
  if (draft.ifSid !== undefined && !/^[0-9, ]+$/.test(draft.ifSid)) {
    ctx.warn(`${ctx.file}:${node.line}: rule ${draft.id}: invalid if_sid '${draft.ifSid}', the rule is skipped`);
    return false;
  }
  if (draft.description === null) fail('no description');
  const contextOptions = draft.checkDiff || draft.globalFrequency;
  const contextFields = draft.sameMask || draft.differentMask || draft.sameDynamic.length || draft.differentDynamic.length;
  if ((contextOptions || contextFields || draft.frequency) && !draft.context) {
    fail('frequency or context options without an if_matched_* element');
  }
  if (pending.ifMatchedGroup?.text && !draft.overwrite && draft.ifSid === undefined && draft.ifGroup === undefined) {
    draft.ifGroup = pending.ifMatchedGroup.text;
  }
  if (draft.ifMatchedSid && draft.ifSid === undefined && draft.ifGroup === undefined && !draft.overwrite) {
    draft.ifSid = String(draft.ifMatchedSid);
  }
  compilePatterns(ctx, draft, pending);
  if (pending.srcip.length) draft.srcip = { entries: pending.srcip, negate: pending.srcipNegate };
  if (pending.dstip.length) draft.dstip = { entries: pending.dstip, negate: pending.dstipNegate };
  return true;
}

function compilePatterns(ctx: ParseContext, draft: RuleDraft, pending: Pending): void {
  for (const key of PATTERN_ORDER) {
    if (key === 'protocol') compileMatchedElements(ctx, draft, pending);
    const spec = pending.patterns.get(key);
    if (!spec?.text) continue;
    const condition: FieldCondition = { matcher: compile(ctx, draft, spec.node, spec.type, spec.text), negate: spec.negate };
    draft[PATTERN_SLOT[key]] = condition;
  }
}

function compileMatchedElements(ctx: ParseContext, draft: RuleDraft, pending: Pending): void {
  const group = pending.ifMatchedGroup;
  if (group?.text) draft.ifMatchedGroup = compile(ctx, draft, group.node, 'osmatch', group.text);
  const regex = pending.ifMatchedRegex;
  if (regex?.text) draft.ifMatchedRegex = compile(ctx, draft, regex.node, 'osregex', regex.text);
}
