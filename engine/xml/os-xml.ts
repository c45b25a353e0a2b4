/**
 * Wazuh's OS_XML dialect, the one analysisd reads decoders, rules and ossec.conf with.
 * It is not XML:
 *  - any number of root elements; text outside elements (a BOM, stray words, a lone `>`)
 *    is skipped silently;
 *  - entities are never decoded and a bare `&` is an ordinary byte;
 *  - `<!` opens a comment anywhere (even inside a tag name or content) and the comment
 *    ends at the first `!>` or `-->`, so `--` inside it is fine;
 *  - an odd run of backslashes before `<` makes that `<` content, and the backslashes
 *    stay in the text (`\<` reaches OS_Regex as its `<` token); an even run escapes nothing;
 *  - content is kept verbatim (no trimming); an element with children keeps only the text
 *    after its last child;
 *  - attribute values are quoted with `'` or `"`, may not contain `>`, and no space may
 *    stand between a name and its `=`;
 *  - a declaration `<?xml ...?>` is refused: OS_XML reads it as an element `?xml` whose
 *    attributes end badly, so Wazuh itself rejects the file;
 *  - `<var name="X">v</var>` defines `$X` for the element contents and attribute values
 *    that come after it in document order (see applyVariables); var elements never appear
 *    in the returned tree. Element and attribute names keep their case.
 *
 * The parser works on code units, so a ByteString input keeps byte offsets and bytes.
 */
import { RulesetLoadError, type XmlNode } from '../types.js';

/**
 * A document OS_XML refuses. `line` points at the cause (the opening tag of an element
 * left open, the closing tag that does not match...); `wazuhMessage` and `wazuhLine` are
 * what Wazuh itself reports ("XMLERR: ..." and its own line count, which for an element
 * left open is the last line of the file).
 */
export class OsXmlError extends RulesetLoadError {
  constructor(
    file: string,
    line: number,
    element: string,
    reason: string,
    readonly wazuhMessage: string,
    readonly wazuhLine: number,
  ) {
    super(file, line, element, reason);
    this.name = 'OsXmlError';
  }
}

export interface OsXmlOptions {
  /** Substitute `$VAR`s (rule and decoder files: yes; ossec.conf, which Wazuh reads without them: no). */
  readonly variables?: boolean;
}

/** Parses one OS_XML document into its root elements. Throws OsXmlError. */
export function parseOsXml(text: string, file: string, options: OsXmlOptions = {}): XmlNode[] {
  const parser = new Parser(text, file);
  const roots = parser.document();
  if (parser.varCount === 0) return roots;
  if (options.variables !== false) applyVariables(parser, file);
  for (const element of parser.order) dropVars(element.children);
  return dropVars(roots);
}

/** The value of an attribute, names compared case-insensitively; the last one wins, as the loaders' loops do. */
export function attribute(node: XmlNode, name: string): string | undefined {
  const wanted = asciiLower(name);
  let found: string | undefined;
  for (const [key, value] of node.attributes) if (asciiLower(key) === wanted) found = value;
  return found;
}

/** The children with this name (case-insensitive), in document order. */
export function childrenNamed(node: XmlNode, name: string): XmlNode[] {
  const wanted = asciiLower(name);
  return node.children.filter((child) => asciiLower(child.name) === wanted);
}

/** ASCII-only lower case, as strcasecmp folds (a latin1 ByteString must not fold é). */
export function asciiLower(text: string): string {
  return /[A-Z]/.test(text) ? text.replace(/[A-Z]+/g, (run) => run.toLowerCase()) : text;
}

// --- limits of the C buffers -------------------------------------------------------

/** A name, a content run, a closing name, an attribute name or value must stay below this. */
const MAX_TOKEN = 20480;
/** The parser recurses once per level; the element at this depth (roots are 0) is refused. */
const MAX_DEPTH = 1024;
/** A variable name reaching this length is refused. */
const MAX_VAR_NAME = 256;
/** Wazuh's error buffer keeps this many characters of a message. */
const MAX_MESSAGE = 126;

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const BANG = 0x21;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;

/** Runs the parser steps over in one native scan (sticky: they match where they are put). */
const SPACES = /[\t\n\v\f\r ]*/y;
const OPENING_NAME_RUN = /[^<>\t\n\v\f\r ]*/y;
const CLOSING_NAME_RUN = /[^<>]*/y;
const ATTRIBUTE_NAME_RUN = /[^=>/\t\n\v\f\r ]*/y;

/** The offset where a run of `pattern` starting at `from` ends. */
function skip(pattern: RegExp, text: string, from: number): number {
  pattern.lastIndex = from;
  pattern.test(text);
  return pattern.lastIndex;
}

/** C isspace in the C locale. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function isVarName(name: string): boolean {
  return name.length === 3 && (name.charCodeAt(0) | 0x20) === 0x76 && (name.charCodeAt(1) | 0x20) === 0x61 &&
    (name.charCodeAt(2) | 0x20) === 0x72;
}

/** C strings end at the first NUL: a NUL byte in the file cuts the token it lands in. */
function cstr(text: string): string {
  const nul = text.indexOf('\0');
  return nul < 0 ? text : text.slice(0, nul);
}

/** An XmlNode while it is built (the parser fills it in place). */
interface RawElement {
  readonly name: string;
  readonly attributes: [string, string][];
  text: string;
  readonly children: RawElement[];
  /** Line of the `<` that opens it. */
  readonly line: number;
}

/** Removes var elements from a list in place (they exist only for applyVariables). */
function dropVars(elements: RawElement[]): RawElement[] {
  let kept = 0;
  for (const element of elements) if (!isVarName(element.name)) elements[kept++] = element;
  elements.length = kept;
  return elements;
}

/**
 * Where a marker next occurs at or after a position, for positions that only grow: a
 * comment-heavy file must not rescan to its end for every comment.
 */
class NextOccurrence {
  /** `at` is the first occurrence at or after `from` (-1: none). */
  private from = Infinity;
  private at = -1;

  constructor(private readonly text: string, private readonly marker: string) {}

  next(from: number): number {
    if (!(this.from <= from && (this.at === -1 || this.at >= from))) {
      this.at = this.text.indexOf(this.marker, from);
      this.from = from;
    }
    return this.at;
  }
}

class Parser {
  /** Every element in document order (the order Wazuh applies variables in)... */
  readonly order: RawElement[] = [];
  /** ...its depth (roots are 0)... */
  readonly depths: number[] = [];
  /** ...and the line Wazuh records for it (after the byte ending its name). */
  readonly wazuhLines: number[] = [];
  varCount = 0;
  private pos = 0;
  private readonly newlines: number[] = [];
  /** Newlines before the last offset forwardLine was asked about. */
  private passedNewlines = 0;
  /** A NUL byte ends C strings: only then do tokens need cutting. */
  private readonly hasNul: boolean;
  private readonly bangEnd: NextOccurrence;
  private readonly dashesEnd: NextOccurrence;

  constructor(private readonly text: string, private readonly file: string) {
    this.bangEnd = new NextOccurrence(text, '!>');
    this.dashesEnd = new NextOccurrence(text, '-->');
    this.hasNul = text.includes('\0');
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) this.newlines.push(at);
  }

  document(): RawElement[] {
    const { text } = this;
    const roots: RawElement[] = [];
    let region = 0;
    let carry = false;
    for (;;) {
      const lt = text.indexOf('<', this.pos);
      if (lt < 0) return roots;
      const escaped = this.escapedAt(lt, region, carry);
      if (this.commentAt(lt, '')) {
        carry = escaped;
      } else if (escaped) {
        this.pos = lt + 1;
        carry = false;
      } else if (text.charCodeAt(lt + 1) === SLASH) {
        this.failNotOpened(lt);
      } else {
        this.pos = lt;
        roots.push(this.element(0));
        carry = false;
      }
      region = this.pos;
    }
  }

  /**
   * Whether the `<` at `at` is escaped: Wazuh flips a flag on every backslash it reads and
   * clears it on any other byte but `<`, so an odd run of backslashes right before the `<`
   * escapes it. A comment does not clear the flag: `carry` is its state where `region` began.
   */
  private escapedAt(at: number, region: number, carry: boolean): boolean {
    const { text } = this;
    let first = at;
    while (first > region && text.charCodeAt(first - 1) === BACKSLASH) first--;
    const odd = ((at - first) & 1) === 1;
    return first === region ? odd !== carry : odd;
  }

  /** Line of the character at `at` (1-based). */
  private lineAt(at: number): number {
    const { newlines } = this;
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((newlines[mid] as number) < at) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  }

  /** lineAt for offsets that only grow (the parse itself), in amortized constant time. */
  private forwardLine(at: number): number {
    const { newlines } = this;
    let passed = this.passedNewlines;
    while (passed < newlines.length && (newlines[passed] as number) < at) passed++;
    this.passedNewlines = passed;
    return passed + 1;
  }

  private cstr(token: string): string {
    return this.hasNul ? cstr(token) : token;
  }

  /** Wazuh's line once the characters before `at` are read. */
  private linesRead(at: number): number {
    return this.lineAt(Math.min(at, this.text.length));
  }

  /**
   * Skips a comment when one opens at `at` (`<!`) and returns true; fails when it never
   * ends. The comment ends at the first `!>` or `-->` after the `<!`.
   */
  private commentAt(at: number, element: string): boolean {
    const { text } = this;
    if (text.charCodeAt(at + 1) !== BANG) return false;
    const bang = this.bangEnd.next(at + 2);
    const dashes = this.dashesEnd.next(at + 2);
    if (bang < 0 && dashes < 0) {
      this.fail(this.lineAt(at), element || '!--', 'comment never closed (no "-->" or "!>")',
        'XMLERR: Comment not closed.', this.linesRead(text.length));
    }
    const bangEnd = bang < 0 ? Infinity : bang + 2;
    const dashesEnd = dashes < 0 ? Infinity : dashes + 3;
    this.pos = Math.min(bangEnd, dashesEnd);
    return true;
  }

  /** One element; `pos` is on its `<`. Returns with `pos` after it. */
  private element(depth: number): RawElement {
    const { text } = this;
    const start = this.pos;
    if (depth >= MAX_DEPTH) {
      const name = /^<([^\s>]*)/.exec(text.slice(start, start + 256))?.[1] ?? '';
      this.fail(this.lineAt(start), name, `elements nested deeper than ${MAX_DEPTH} levels`,
        'XMLERR: Max recursion level reached', this.linesRead(start + 1));
    }
    this.pos++;
    let name = this.tagName(true, '', start);
    let selfClosed = false;
    const terminator = text.charCodeAt(this.pos);
    this.pos++;
    if (name.endsWith('/')) {
      name = name.slice(0, -1);
      selfClosed = true;
    }
    const line = this.forwardLine(start);
    const raw: RawElement = { name: this.cstr(name), attributes: [], text: '', children: [], line };
    this.order.push(raw);
    this.depths.push(depth);
    this.wazuhLines.push(this.forwardLine(this.pos));
    if (isVarName(raw.name)) this.varCount++;
    if (isSpace(terminator) && this.attributes(raw) === 'closed') selfClosed = true;
    if (!selfClosed) this.content(raw, depth);
    return raw;
  }

  /**
   * A tag name from `pos` up to `>` (or a space, for an opening tag), comments cut out.
   * Leaves `pos` on the byte that ended it. Errors name the line of `openedAt`, or `openedOn`.
   */
  private tagName(stopAtSpace: boolean, element: string, openedAt: number, openedOn = 0): string {
    const { text } = this;
    const run = stopAtSpace ? OPENING_NAME_RUN : CLOSING_NAME_RUN;
    let name = '';
    let from = this.pos;
    for (;;) {
      this.pos = skip(run, text, this.pos);
      const length = name.length + this.pos - from;
      if (length > MAX_TOKEN || (length === MAX_TOKEN && this.pos < text.length)) {
        const partial = (name + text.slice(from, this.pos)).slice(0, 64);
        this.failOverflow(element || partial, openedOn || this.lineAt(openedAt), from + MAX_TOKEN - name.length);
      }
      if (this.pos >= text.length) this.failOpen(element || name + text.slice(from), openedOn || this.lineAt(openedAt));
      if (text.charCodeAt(this.pos) !== LT) return name + text.slice(from, this.pos);
      if (text.charCodeAt(this.pos + 1) === BANG) {
        name += text.slice(from, this.pos);
        this.commentAt(this.pos, element || name);
        from = this.pos;
      } else {
        this.pos++;
      }
    }
  }

  /** The attributes after an element name; tells whether the tag closed itself with `/`. */
  private attributes(raw: RawElement): 'open' | 'closed' {
    const { text } = this;
    for (;;) {
      const nameStart = skip(SPACES, text, this.pos);
      const nameEnd = skip(ATTRIBUTE_NAME_RUN, text, nameStart);
      if (nameEnd - nameStart > MAX_TOKEN || (nameEnd - nameStart === MAX_TOKEN && nameEnd < text.length)) {
        this.pos = nameStart + MAX_TOKEN + 1;
        this.failAttributeOverflow(raw, text.slice(nameStart, nameStart + 20));
      }
      if (nameEnd >= text.length) this.failAttributeEnd(raw);
      const c = text.charCodeAt(nameEnd);
      this.pos = nameEnd + 1;
      const name = text.slice(nameStart, nameEnd);
      if (c !== EQUALS) {
        if (name !== '') {
          this.failHere(raw, `attribute '${name}' has no value`, `XMLERR: Attribute '${name}' has no value.`);
        }
        return c === SLASH ? 'closed' : 'open';
      }
      for (const pair of raw.attributes) {
        if (pair[0] === this.cstr(name)) {
          this.failHere(raw, `attribute '${name}' given twice`, `XMLERR: Attribute '${name}' already defined.`);
        }
      }
      const value = this.attributeValue(raw, name, this.openingQuote(raw, name));
      raw.attributes.push([this.cstr(name), this.cstr(value)]);
      const after = this.pos < text.length ? text.charCodeAt(this.pos) : -1;
      this.pos++;
      if (isSpace(after)) continue;
      if (after === GT) return 'open';
      if (after === SLASH) return 'closed';
      this.failHere(raw, `attribute '${name}'='${value}' is not followed by a space, '>' or '/'`,
        `XMLERR: Bad attribute closing for '${name}'='${value}'.`);
    }
  }

  /** A value up to its closing quote, which may not come after a `>`. Leaves `pos` after the quote. */
  private attributeValue(raw: RawElement, name: string, quote: number): string {
    const { text } = this;
    const start = this.pos;
    const close = text.indexOf(quote === DQUOTE ? '"' : "'", start);
    const gt = text.indexOf('>', start);
    const stop = Math.min(close < 0 ? text.length : close, gt < 0 ? text.length : gt);
    // Wazuh refuses the byte read once the value already holds MAX_TOKEN bytes.
    if (stop - start >= MAX_TOKEN && start + MAX_TOKEN < text.length) {
      this.pos = start + MAX_TOKEN + 1;
      this.failAttributeOverflow(raw, name);
    }
    if (stop >= text.length) this.failAttributeEnd(raw);
    this.pos = stop + 1;
    if (stop === gt) {
      this.failHere(raw, `value of attribute '${name}' holds '>' or lacks its closing quote`,
        `XMLERR: Attribute '${name}' not closed.`);
    }
    return text.slice(start, stop);
  }

  /** After `=`: optional spaces, then `"` or `'`. Returns the quote. */
  private openingQuote(raw: RawElement, name: string): number {
    const { text } = this;
    let c = this.pos < text.length ? text.charCodeAt(this.pos) : -1;
    this.pos++;
    if (isSpace(c)) {
      do {
        c = this.pos < text.length ? text.charCodeAt(this.pos) : -1;
        this.pos++;
      } while (isSpace(c));
    }
    if (c !== DQUOTE && c !== SQUOTE) {
      this.failHere(raw, `attribute '${name}' is not followed by a quoted value`,
        `XMLERR: Attribute '${name}' not followed by a " or '.`);
    }
    return c;
  }

  /**
   * Content and children up to the closing tag; `pos` is after the opening tag. The text
   * kept is the source run after the last child, minus comments: it is sliced once at the end.
   */
  private content(raw: RawElement, depth: number): void {
    const { text } = this;
    let cut = '';
    let from = this.pos;
    let region = this.pos;
    let carry = false;
    for (;;) {
      const lt = text.indexOf('<', this.pos);
      const runEnd = lt < 0 ? text.length : lt;
      // Wazuh refuses the byte read once the run already holds MAX_TOKEN bytes.
      const room = MAX_TOKEN - cut.length;
      if (runEnd - from > room || (lt >= 0 && runEnd - from === room)) {
        this.failOverflow(raw.name, raw.line, from + room);
      }
      if (lt < 0) this.failOpen(raw.name, raw.line);
      const escaped = this.escapedAt(lt, region, carry);
      if (text.charCodeAt(lt + 1) === BANG) {
        cut += text.slice(from, lt);
        this.commentAt(lt, raw.name);
        from = this.pos;
        carry = escaped;
      } else if (escaped) {
        this.pos = lt + 1;
        carry = false;
      } else if (text.charCodeAt(lt + 1) === SLASH) {
        raw.text = this.cstr(cut + text.slice(from, lt));
        this.pos = lt;
        this.closingTag(raw);
        return;
      } else {
        this.pos = lt;
        raw.children.push(this.element(depth + 1));
        cut = '';
        from = this.pos;
        carry = false;
      }
      region = this.pos;
    }
  }

  /** `pos` is on the `<` of `</name>`. */
  private closingTag(raw: RawElement): void {
    const start = this.pos;
    this.pos += 2;
    const name = this.tagName(false, raw.name, start, raw.line);
    this.pos++;
    if (this.cstr(name) !== raw.name) {
      this.fail(this.lineAt(start), raw.name,
        `closing tag </${name}> does not match <${raw.name}> opened on line ${raw.line}`,
        `XMLERR: Element '${raw.name}' not closed.`, this.linesRead(this.pos));
    }
  }

  private failNotOpened(at: number): never {
    const { text } = this;
    const close = text.indexOf('>', at);
    const name = text.slice(at + 2, close < 0 ? text.length : close);
    this.fail(this.lineAt(at), name, `closing tag </${name}> without an opening tag`,
      'XMLERR: Element not opened.', this.linesRead(at + 2));
  }

  private failOpen(name: string, line: number): never {
    this.fail(line, name, `<${name}> is never closed (end of file)`,
      'XMLERR: End of file and some elements were not closed.', this.linesRead(this.text.length));
  }

  /** `at` is the byte Wazuh was reading when its buffer was full. */
  private failOverflow(name: string, line: number, at: number): never {
    this.fail(line, name, `a name or text run of ${MAX_TOKEN} bytes or more`,
      'XMLERR: String overflow.', this.linesRead(at + 1));
  }

  private failAttributeEnd(raw: RawElement): never {
    this.fail(raw.line, raw.name, 'end of file inside the attributes of the tag',
      'XMLERR: End of file while reading an attribute.', this.linesRead(this.text.length));
  }

  private failAttributeOverflow(raw: RawElement, name: string): never {
    this.failHere(raw, `attribute '${name.slice(0, 20)}' of ${MAX_TOKEN} bytes or more`,
      `XMLERR: Overflow attempt at attribute '${name.slice(0, 20)}'.`);
  }

  /** An error at the character just read. */
  private failHere(raw: RawElement, reason: string, wazuhMessage: string): never {
    const line = this.linesRead(this.pos);
    this.fail(line, raw.name, reason, wazuhMessage, line);
  }

  private fail(line: number, element: string, reason: string, wazuhMessage: string, wazuhLine: number): never {
    throw new OsXmlError(this.file, line, element, reason, wazuhMessage.slice(0, MAX_MESSAGE), wazuhLine);
  }
}

// --- variables -----------------------------------------------------------------------

interface Variable {
  readonly name: string;
  readonly value: string;
}

/**
 * OS_ApplyVariables, in one pass over the elements in document order: a var element
 * defines its variable for everything after it (an element's text and attribute values
 * count as being at its opening tag, so a var inside an element does not reach that
 * element's own text). Values are taken raw, never substituted themselves.
 *  - the name is the first attribute after the var's tag in document order (its own, else
 *    one of its children's, else a later sibling's...), which must be called `name`;
 *  - the first definition of a name wins; names compare case-insensitively;
 *  - `$NAME` ends at `$ . | ,` or a space (or the end); every other byte, `)` included,
 *    belongs to the name;
 *  - texts of 2 bytes or less, and texts before the first definition, are left alone;
 *  - an unknown `$NAME` is an error, except a lone `$` and `$(...)` (rule descriptions'
 *    field references), which stay as written.
 */
function applyVariables(parser: Parser, file: string): void {
  const { order, wazuhLines } = parser;
  const variables: Variable[] = [];
  for (let index = 0; index < order.length; index++) {
    const raw = order[index] as RawElement;
    if (isVarName(raw.name)) {
      variables.push(defineVariable(parser, index, file));
      continue;
    }
    if (variables.length === 0) continue;
    const at: Place = { raw, wazuhLine: wazuhLines[index] as number, file };
    raw.text = substitute(raw.text, variables, at);
    for (const pair of raw.attributes) pair[1] = substitute(pair[1], variables, at);
  }
}

/** Where a substitution happens, for its errors. */
interface Place {
  readonly raw: RawElement;
  readonly wazuhLine: number;
  readonly file: string;
}

function defineVariable(parser: Parser, index: number, file: string): Variable {
  const { order, depths, wazuhLines } = parser;
  const raw = order[index] as RawElement;
  const depth = depths[index] as number;
  for (let at = index; at < order.length; at++) {
    if ((depths[at] as number) < depth) break;
    const candidate = order[at] as RawElement;
    const first = candidate.attributes[0];
    if (first === undefined) continue;
    if (asciiLower(first[0]) !== 'name') {
      throw new OsXmlError(file, candidate.line, raw.name, `a variable takes only a "name" attribute, not '${first[0]}'`,
        'XMLERR: Only "name" is allowed as an attribute for a variable.', wazuhLines[at] as number);
    }
    if (first[1].length >= MAX_VAR_NAME) {
      throw new OsXmlError(file, candidate.line, raw.name, `variable name of ${MAX_VAR_NAME} bytes or more`,
        'XMLERR: Invalid variable name size.', wazuhLines[at] as number);
    }
    return { name: asciiLower(first[1]), value: raw.text };
  }
  throw new OsXmlError(file, raw.line, raw.name, 'variable without a name attribute',
    'XMLERR: No value set for variable.', wazuhLines[index] as number);
}

/** Bytes that end a `$NAME`. */
function endsVariable(c: number): boolean {
  return c === 0x24 || c === 0x2e || c === 0x7c || c === 0x2c || c === 0x20;
}

function substitute(text: string, variables: readonly Variable[], { raw, wazuhLine, file }: Place): string {
  if (text.length <= 2 || text.indexOf('$') < 0) return text;
  let out = '';
  let copied = 0;
  let at = text.indexOf('$');
  while (at >= 0) {
    let end = at + 1;
    while (end < text.length && !endsVariable(text.charCodeAt(end))) {
      if (end - at - 1 >= MAX_VAR_NAME - 1) {
        throw new OsXmlError(file, raw.line, raw.name, `variable reference longer than ${MAX_VAR_NAME - 1} bytes`,
          `XMLERR: Invalid variable name size: '${MAX_VAR_NAME - 1}'.`, wazuhLine);
      }
      end++;
    }
    const name = text.slice(at + 1, end);
    const wanted = asciiLower(name);
    const known = variables.find((variable) => variable.name === wanted);
    if (known !== undefined) {
      out += text.slice(copied, at) + known.value;
      copied = end;
    } else if (name !== '' && !name.startsWith('(')) {
      throw new OsXmlError(file, raw.line, raw.name, `unknown variable '$${name}'`,
        `XMLERR: Unknown variable: '${name}'.`.slice(0, MAX_MESSAGE), wazuhLine);
    }
    at = text.indexOf('$', end);
  }
  return out + text.slice(copied);
}
