/**
 * Decoder XML → DecoderSet, with the load-time rules of Wazuh's analysisd (ReadDecodeXML,
 * OS_AddOSDecoder, SetDecodeXML): which elements exist, which mistakes stop the load and
 * which only warn, how same-named siblings become regex chains and how ids are shared.
 */
import { PatternError, RulesetLoadError, type ByteString, type DecoderInfo, type StaticField, type XmlNode } from '../types.js';
import { compileExpression, type Expression, type ExpressionType } from '../match/expression.js';
import { asciiLower } from '../xml/os-xml.js';
import {
  Decoder, type DecoderSet, type DecoderType, type JsonOptions, type LoadWarning, type PluginDecoder,
  type RegexOffset, type TopDecoder,
} from './model.js';
import { PLUGIN_DECODERS } from './plugins/index.js';

/** analysisd.decoder_order_size: most fields an `<order>` may name (and dynamic fields per event). */
export const MAX_ORDER_FIELDS = 256;
/** _loadmemory's buffer: a concatenated pattern (or parent, comment) stays below 1,024 bytes. */
const MAX_PATTERN_BYTES = 1023;

/** Names analysisd registers for its built-in decoders: they take part in the id numbering. */
const INTERNAL_DECODERS = [
  'rootcheck', 'syscheck_integrity_changed', 'syscheck_new_entry', 'syscheck_deleted',
  'syscheck_registry_key_modified', 'syscheck_registry_key_added', 'syscheck_registry_key_deleted',
  'syscheck_registry_value_modified', 'syscheck_registry_value_added', 'syscheck_registry_value_deleted',
  'hostinfo_new', 'hostinfo_modified', 'syscollector', 'ciscat', 'windows_eventchannel', 'sca',
];

const ORDER_STATIC: Readonly<Record<string, StaticField>> = {
  dstuser: 'dstuser', srcuser: 'srcuser', user: 'dstuser', srcip: 'srcip', dstip: 'dstip',
  srcport: 'srcport', dstport: 'dstport', protocol: 'protocol', action: 'action', id: 'id', url: 'url',
  data: 'data', extra_data: 'extra_data', status: 'status', system_name: 'system_name',
};

/** `<fts>` words naming a built-in slot of the FTS key; user and extra_data are aliases. */
const FTS_STATIC: Readonly<Record<string, string>> = {
  dstuser: 'dstuser', user: 'dstuser', srcuser: 'srcuser', srcip: 'srcip', dstip: 'dstip', id: 'id',
  location: 'location', data: 'data', extra_data: 'data', system_name: 'system_name', name: 'name',
};
/** The order the C FTS key lays the built-in slots out in; the decoder name is always part of it. */
const FTS_KEY_ORDER = ['name', 'id', 'dstuser', 'srcuser', 'srcip', 'dstip', 'data', 'system_name', 'location'];

const TYPES: ReadonlySet<string> = new Set<DecoderType>([
  'firewall', 'ids', 'web-log', 'syslog', 'squid', 'windows', 'host-information', 'ossec',
]);

/**
 * Compiles decoder files given in Wazuh's load order (basenames sorted with strcmp).
 * Throws RulesetLoadError where analysisd refuses to start; returns the rest as warnings.
 */
export function compileDecoders(files: readonly { file: string; nodes: readonly XmlNode[] }[]): DecoderSet {
  const loader = new Loader();
  for (const { file, nodes } of files) loader.loadFile(file, nodes);
  return loader.finish();
}

/** The id `decoded_as` compares with; undefined for a name analysisd never registered. */
export function decoderId(set: DecoderSet, name: string): number | undefined {
  return set.ids.get(name);
}

/** A top-level decoder while files load: children still arrive. */
interface LoadingTop extends TopDecoder {
  readonly children: Decoder[];
}

class Loader {
  private readonly withProgramName: LoadingTop[] = [];
  private readonly withoutProgramName: LoadingTop[] = [];
  private readonly names = new Set<string>(INTERNAL_DECODERS);
  private readonly warnings: LoadWarning[] = [];
  private count = 0;

  loadFile(file: string, nodes: readonly XmlNode[]): void {
    if (nodes.length === 0 && basename(file) !== 'local_decoder.xml') {
      throw new RulesetLoadError(file, 1, 'decoder', 'the file holds no decoder');
    }
    for (const node of nodes) {
      if (asciiLower(node.name) !== 'decoder') {
        throw new RulesetLoadError(file, node.line, node.name, 'only <decoder> elements may be at the top level');
      }
      const decoder = new DecoderReader(file, node, this.warnings).read();
      this.names.add(decoder.name);
      this.add(decoder);
      this.count++;
    }
  }

  finish(): DecoderSet {
    const ids = new Map<string, number>();
    [...this.names].sort(byteOrder).forEach((name, index) => ids.set(name, index + 1));
    for (const top of [...this.withoutProgramName, ...this.withProgramName]) assignIds(top, ids);
    return {
      withProgramName: this.withProgramName,
      withoutProgramName: this.withoutProgramName,
      ids,
      count: this.count,
      warnings: this.warnings,
    };
  }

  /** A child joins every top-level decoder of its parent's name, in both lists. */
  private add(decoder: Decoder): void {
    if (decoder.parent === undefined) {
      const list = decoder.programName ? this.withProgramName : this.withoutProgramName;
      list.push({ decoder, children: [] });
      return;
    }
    let attached = false;
    for (const top of [...this.withProgramName, ...this.withoutProgramName]) {
      if (top.decoder.name !== decoder.parent) continue;
      attachChild(top.children, decoder);
      attached = true;
    }
    if (!attached) fail(decoder, 'parent', `parent decoder '${decoder.parent}' is not a top-level decoder loaded before it`);
  }
}

/** Appends a child; a same-named earlier child becomes the head of a regex chain. */
function attachChild(children: Decoder[], child: Decoder): void {
  let hasPredecessor = false;
  for (const earlier of children) {
    if (earlier.name !== child.name) continue;
    if ((earlier.prematch || earlier.regex) && child.regexOffset !== 'none') hasPredecessor = true;
    if (child.prematch) fail(child, 'prematch', 'a decoder repeating a sibling name may not have a prematch');
    if (child.fts) fail(child, 'fts', 'a decoder repeating a sibling name may not have fts');
    if (!((earlier.regex || earlier.plugin) && (child.regex || child.plugin))) {
      fail(child, 'decoder', 'same-named siblings must each have a regex or a plugin_decoder');
    }
    earlier.getNext = true;
  }
  if (!hasPredecessor && child.regexOffset === 'after_regex') {
    fail(child, 'regex', "offset 'after_regex' needs an earlier same-named sibling with a prematch or regex");
  }
  children.push(child);
}

/** A child without use_own_name reports its parent's name and id. */
function assignIds(top: TopDecoder, ids: ReadonlyMap<string, number>): void {
  const topId = ids.get(top.decoder.name) ?? 0;
  top.decoder.info = infoOf(top.decoder, top.decoder.name, topId);
  for (const child of top.children) {
    const own = child.useOwnName;
    child.info = infoOf(child, own ? child.name : top.decoder.name, own ? ids.get(child.name) ?? 0 : topId);
  }
}

function infoOf(decoder: Decoder, name: string, id: number): DecoderInfo {
  return {
    name,
    id,
    type: decoder.type,
    ...(decoder.parent !== undefined ? { parent: decoder.parent } : {}),
    ...(decoder.fts ? { fts: decoder.fts } : {}),
    ...(decoder.ftscomment !== undefined ? { ftscomment: decoder.ftscomment } : {}),
    ...(decoder.accumulate ? { accumulate: true } : {}),
  };
}

/** The text of one element kind, concatenated over repeats, with the line of its first use. */
interface Piece {
  text: string;
  line: number;
}

/** Reads one `<decoder>` element the way ReadDecodeXML does. */
class DecoderReader {
  private readonly name: ByteString;
  private parent: Piece | undefined;
  private regex: Piece | undefined;
  private prematch: Piece | undefined;
  private programName: Piece | undefined;
  private ftscomment: Piece | undefined;
  private regexType: ExpressionType = 'osregex';
  private prematchType: ExpressionType = 'osregex';
  private programNameType: ExpressionType = 'osmatch';
  private regexOffset: RegexOffset = 'none';
  private prematchOffset: RegexOffset = 'none';
  private plugin: PluginDecoder | undefined;
  private pluginOffset: RegexOffset = 'none';
  private useOwnName = false;
  private nullAs: JsonOptions['nullAs'] = 'string';
  private arrayAs: JsonOptions['arrayAs'] = 'array';
  private type: DecoderType = 'syslog';
  private order: { static: (StaticField | undefined)[]; dynamic: (string | undefined)[]; line: number } | undefined;
  private ftsStatic = new Set<string>();
  private ftsDynamic: boolean[] = [];
  private ftsDynamicFlag = false;
  private accumulate = false;

  constructor(private readonly file: string, private readonly node: XmlNode, private readonly warnings: LoadWarning[]) {
    this.name = readName(file, node);
  }

  read(): Decoder {
    for (const element of this.node.children) this.readElement(element);
    return this.build();
  }

  private readElement(el: XmlNode): void {
    const tag = asciiLower(el.name);
    switch (tag) {
      case 'parent': this.parent = this.concat(this.parent, el); return;
      case 'regex': return this.readRegex(el);
      case 'prematch': return this.readPrematch(el);
      case 'program_name': return this.readProgramName(el);
      case 'ftscomment': this.ftscomment = this.concat(this.ftscomment, el); return;
      case 'use_own_name': if (el.text === 'true') this.useOwnName = true; return;
      case 'plugin_decoder': return this.readPlugin(el);
      case 'json_null_field': return this.readNullField(el);
      case 'json_array_structure': return this.readArrayStructure(el);
      case 'order': return this.readOrder(el);
      case 'accumulate': this.accumulate = true; return;
      case 'fts': return this.readFts(el);
    }
    // <type> is the one element name compared case-sensitively.
    if (el.name === 'type') return this.readType(el);
    this.error(el, `invalid element '${el.name}' for decoder '${this.name}'`);
  }

  private readRegex(el: XmlNode): void {
    let offset = this.readOffset(el);
    if (offset === 'invalid') {
      this.warn(el, "invalid 'offset', the default (whole log) is used");
      offset = 'none';
    }
    if (this.regex && offset !== 'none') this.error(el, 'only the first <regex> may have an offset');
    if (offset !== 'none') this.regexOffset = offset;
    this.regexType = this.readPatternType(el, ['osregex', 'pcre2'], 'osregex');
    this.regex = this.concat(this.regex, el);
  }

  private readPrematch(el: XmlNode): void {
    let offset = this.readOffset(el);
    if (offset === 'invalid') {
      this.warn(el, "invalid 'offset', the default (whole log) is used");
      offset = 'none';
    }
    if (this.prematch && offset !== 'none') this.error(el, 'only the first <prematch> may have an offset');
    if (offset !== 'none') this.prematchOffset = offset;
    this.prematchType = this.readPatternType(el, ['osregex', 'pcre2'], 'osregex');
    this.prematch = this.concat(this.prematch, el);
  }

  private readProgramName(el: XmlNode): void {
    this.programNameType = this.readPatternType(el, ['osmatch', 'osregex', 'pcre2'], 'osmatch');
    this.programName = this.concat(this.programName, el);
  }

  private readPlugin(el: XmlNode): void {
    const plugin = PLUGIN_DECODERS.get(el.text);
    this.plugin = plugin ?? this.plugin;
    if (!this.plugin) this.error(el, `unknown plugin decoder '${el.text}'`);
    const offset = this.readOffset(el);
    if (offset === 'invalid') this.error(el, "invalid 'offset'");
    this.pluginOffset = offset;
  }

  private readNullField(el: XmlNode): void {
    const value = asciiLower(el.text);
    if (value === 'discard') this.nullAs = 'discard';
    else if (value === 'string') this.nullAs = 'string';
    else {
      this.warn(el, value === 'empty' ? "value 'empty' is deprecated: 'string' is used" : `invalid value '${el.text}': 'string' is used`);
      this.nullAs = 'string';
    }
  }

  private readArrayStructure(el: XmlNode): void {
    const value = asciiLower(el.text);
    if (value === 'csv' || value === 'array') this.arrayAs = value;
    else {
      this.warn(el, `invalid value '${el.text}': 'array' is used`);
      this.arrayAs = 'array';
    }
  }

  private readType(el: XmlNode): void {
    if (!TYPES.has(el.text)) this.error(el, `invalid decoder type '${el.text}'`);
    this.type = el.text as DecoderType;
  }

  private readOrder(el: XmlNode): void {
    if (countOf(el.text, ',') >= MAX_ORDER_FIELDS) this.error(el, 'order has too many fields');
    const order = { static: [] as (StaticField | undefined)[], dynamic: [] as (string | undefined)[], line: el.line };
    for (const piece of el.text.split(',')) {
      const word = firstWord(piece);
      if (word === '') this.error(el, `wrong field '${piece}' in the order`);
      const field = Object.hasOwn(ORDER_STATIC, word) ? ORDER_STATIC[word] : undefined;
      order.static.push(field);
      order.dynamic.push(field ? undefined : word);
    }
    this.order = order;
  }

  /**
   * Built-in words set slots; another word must name a dynamic field of the leading run of
   * dynamic fields in an earlier `<order>` (the C stops searching at the first static one),
   * and is ignored when no `<order>` came before.
   */
  private readFts(el: XmlNode): void {
    this.ftsDynamic = [];
    for (const piece of splitLimited(el.text, ',', MAX_ORDER_FIELDS)) {
      const word = firstWord(piece);
      if (word === '') this.error(el, `wrong field '${piece}' in the fts`);
      const slot = Object.hasOwn(FTS_STATIC, word) ? FTS_STATIC[word] : undefined;
      if (slot) {
        this.ftsStatic.add(slot);
        continue;
      }
      if (!this.order) continue;
      const index = leadingDynamicIndex(this.order.dynamic, word);
      if (index < 0) this.error(el, `wrong field '${piece}' in the fts`);
      this.ftsDynamicFlag = true;
      this.ftsDynamic[index] = true;
    }
  }

  private build(): Decoder {
    const node = this.node;
    if (!this.prematch && !this.parent && !this.programName) {
      this.error(node, 'a decoder needs a prematch, a parent or a program_name');
    }
    const hasFts = this.ftsStatic.size > 0 || this.ftsDynamicFlag;
    if (!this.regex && (hasFts || this.order)) this.error(node, 'order and fts need a regex');
    if (this.regex && !this.order) this.error(node, 'a regex needs an order');
    this.checkOffsets();
    if (this.plugin && (this.regex || this.order)) this.error(node, 'a plugin_decoder cannot be combined with regex or order');

    const prematch = this.compile(this.prematch, 'prematch', this.prematchType);
    const programName = this.compile(this.programName, 'program_name', this.programNameType);
    const regex = this.compile(this.regex, 'regex', this.regexType);
    if (this.regex && this.regexType === 'osregex' && !hasOsRegexGroup(this.regex.text)) {
      this.error(node, `the regex '${this.regex.text}' captures nothing`, 'regex', this.regex.line);
    }
    return new Decoder(
      this.name, this.file, node.line, this.parent?.text, programName, prematch,
      this.prematchOffset === 'after_parent', regex, this.regexOffset,
      this.order?.static ?? [], this.order?.dynamic ?? [], this.plugin, this.pluginOffset, this.useOwnName,
      { nullAs: this.nullAs, arrayAs: this.arrayAs }, this.type, hasFts ? this.ftsNames() : undefined,
      this.ftscomment?.text, this.accumulate,
    );
  }

  private checkOffsets(): void {
    const node = this.node;
    const hasParent = this.parent !== undefined;
    if (this.regexOffset === 'after_parent' && !hasParent) this.error(node, "regex offset 'after_parent' needs a parent");
    if (this.regexOffset === 'after_prematch') {
      // On a top-level decoder the parent's prematch is its own: after_parent means the same.
      if (!hasParent) this.regexOffset = 'after_parent';
      else if (!this.prematch) this.error(node, "regex offset 'after_prematch' needs a prematch");
    }
    if (this.regexOffset === 'after_regex' && !hasParent) this.error(node, "regex offset 'after_regex' needs a parent");
    if (this.prematchOffset !== 'none') {
      if (this.prematchOffset !== 'after_parent') this.error(node, "a prematch offset can only be 'after_parent'");
      if (!hasParent) this.error(node, "prematch offset 'after_parent' needs a parent");
    }
    if (this.pluginOffset === 'after_parent' && !hasParent) this.error(node, "plugin offset 'after_parent' needs a parent");
    if (this.pluginOffset === 'after_prematch' && !this.prematch) this.error(node, "plugin offset 'after_prematch' needs a prematch");
  }

  private compile(piece: Piece | undefined, element: string, type: ExpressionType): Expression | undefined {
    if (!piece) return undefined;
    try {
      // No OS_CASE_SENSITIVE (PCRE2 gets no options at all); only <regex> keeps sub-strings.
      return compileExpression(type, piece.text, { caseSensitive: false, captures: element === 'regex' });
    } catch (err) {
      if (err instanceof PatternError) this.error(this.node, err.message, element, piece.line);
      throw err;
    }
  }

  /** The FTS key's parts: the name (always), the chosen slots in key order, then the dynamic fields by order position. */
  private ftsNames(): string[] {
    const names = FTS_KEY_ORDER.filter((slot) => slot === 'name' || this.ftsStatic.has(slot));
    this.ftsDynamic.forEach((chosen, index) => {
      const name = this.order?.dynamic[index];
      if (chosen && name !== undefined) names.push(name);
    });
    return names;
  }

  private readOffset(el: XmlNode): RegexOffset | 'invalid' {
    const value = exactAttribute(el, 'offset');
    if (value === undefined) return 'none';
    const lower = asciiLower(value);
    return lower === 'after_parent' || lower === 'after_prematch' || lower === 'after_regex' ? lower : 'invalid';
  }

  /** The `type` attribute: one of `allowed`, else the default with a warning. */
  private readPatternType(el: XmlNode, allowed: readonly ExpressionType[], fallback: ExpressionType): ExpressionType {
    const value = exactAttribute(el, 'type');
    if (value === undefined) return fallback;
    const lower = asciiLower(value) as ExpressionType;
    if (allowed.includes(lower)) return lower;
    this.warn(el, `invalid type '${value}' for <${el.name}>: '${fallback}' is used`);
    return fallback;
  }

  private concat(piece: Piece | undefined, el: XmlNode): Piece {
    const text = piece ? piece.text + el.text : el.text;
    if (text.length > MAX_PATTERN_BYTES) this.error(el, `content over ${MAX_PATTERN_BYTES} bytes`);
    return { text, line: piece?.line ?? el.line };
  }

  private warn(el: XmlNode, message: string): void {
    this.warnings.push({ file: this.file, line: el.line, element: el.name, message: `decoder '${this.name}': ${message}` });
  }

  private error(el: XmlNode, reason: string, element = el.name, line = el.line): never {
    throw new RulesetLoadError(this.file, line, element, `decoder '${this.name}': ${reason}`);
  }
}

/** `name` must come first; an optional second attribute may only be `status`. */
function readName(file: string, node: XmlNode): ByteString {
  const [first, second] = node.attributes;
  if (!first || asciiLower(first[0]) !== 'name') {
    throw new RulesetLoadError(file, node.line, node.name, "a decoder needs 'name' as its first attribute");
  }
  if ((second && asciiLower(second[0]) !== 'status') || node.attributes.length > 2) {
    throw new RulesetLoadError(file, node.line, node.name, `decoder '${first[1]}': only the attributes name and status are allowed`);
  }
  return first[1];
}

function fail(decoder: Decoder, element: string, reason: string): never {
  throw new RulesetLoadError(decoder.file, decoder.line, element, `decoder '${decoder.name}': ${reason}`);
}

/** The C reads attributes by exact name (w_get_attr_val_by_name uses strcmp). */
function exactAttribute(el: XmlNode, name: string): string | undefined {
  for (const [key, value] of el.attributes) if (key === name) return value;
  return undefined;
}

/** An order/fts word: leading spaces skipped, cut at the next space (tabs are kept). */
function firstWord(piece: string): string {
  let start = 0;
  while (piece.charCodeAt(start) === 0x20) start++;
  const end = piece.indexOf(' ', start);
  return end < 0 ? piece.slice(start) : piece.slice(start, end);
}

function leadingDynamicIndex(dynamic: readonly (string | undefined)[], word: string): number {
  const wanted = asciiLower(word);
  for (let i = 0; i < dynamic.length; i++) {
    const name = dynamic[i];
    if (name === undefined) return -1;
    if (asciiLower(name) === wanted) return i;
  }
  return -1;
}

/** OS_StrBreak: at most `limit` pieces, the last one keeps the rest. */
function splitLimited(text: string, separator: string, limit: number): string[] {
  const pieces = text.split(separator);
  if (pieces.length <= limit) return pieces;
  return [...pieces.slice(0, limit - 1), pieces.slice(limit - 1).join(separator)];
}

function countOf(text: string, char: string): number {
  let n = 0;
  for (let i = text.indexOf(char); i >= 0; i = text.indexOf(char, i + 1)) n++;
  return n;
}

/** OS_Regex keeps sub-strings only for a pattern with an unescaped `(`. */
function hasOsRegexGroup(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x28) return true;
  }
  return false;
}

function basename(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
