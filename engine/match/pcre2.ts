/**
 * PCRE2 patterns (`type="pcre2"`) as Wazuh runs them: compiled with options 0 (8-bit code
 * units, no UTF, case-sensitive, LF newline) and matched on the byte string. We translate
 * each pattern once, at load time, into a JS RegExp run on the ByteString (one code unit
 * per byte), and refuse anything outside the audited subset where JS would read the
 * pattern differently. The translation never uses the RegExp i, m, s, u or y flags:
 * case folding, `^`/`$`/`.` and `\s` are spelled out so they mean exactly what PCRE2's
 * default byte tables say (ASCII-only folding, LF-only newline, `\s` = HT LF VT FF CR SP).
 * Option settings (`(?i)`, `(?-m)`, `(?s:...)`) may stand anywhere, with PCRE2's scope, as
 * Wazuh's concatenated elements need: each item keeps the options in effect where it was read.
 */
import { PatternError, type ByteString, type Matcher, type MatchResult } from '../types.js';

/**
 * The option letters we emulate (i, m, s, U), as in effect at one point of the pattern:
 * PCRE2 applies them at compile time, so each node records those it depends on.
 */
interface Options {
  readonly caseless: boolean;
  readonly multiline: boolean;
  readonly dotall: boolean;
  readonly ungreedy: boolean;
}

const DEFAULT_OPTIONS: Options = { caseless: false, multiline: false, dotall: false, ungreedy: false };

/** A set of byte values, one bit each. */
type ByteSet = Uint8Array;

type Node =
  /** Bytes matched in sequence (one byte, or the UTF-8 bytes of one `\N{U+hhhh}`). */
  | { readonly kind: 'literal'; readonly bytes: readonly number[]; readonly caseless: boolean; readonly at: number }
  /** One byte out of a set, already written as JS (folded when the class was read under `i`), and its bytes. */
  | { readonly kind: 'set'; readonly js: string; readonly bytes: ByteSet; readonly at: number }
  | { readonly kind: 'any'; readonly dotall: boolean; readonly at: number }
  | { readonly kind: 'bol' | 'eol'; readonly multiline: boolean; readonly at: number }
  | { readonly kind: 'wordBoundary' | 'notWordBoundary'; readonly at: number }
  | { readonly kind: 'group'; readonly capture: number; readonly body: Alternation; readonly at: number }
  | { readonly kind: 'look'; readonly behind: boolean; readonly negate: boolean; readonly body: Alternation; readonly at: number }
  /** `greedy` already takes the `U` option in effect at the quantifier into account. */
  | { readonly kind: 'repeat'; readonly body: Node; readonly min: number; readonly max: number; readonly greedy: boolean; readonly at: number };

/** Branches of `a|b|c`, each a sequence. */
type Alternation = readonly (readonly Node[])[];

/** The translation of one pattern, as compilePcre2 uses it (exported for tests and tooling). */
export interface Pcre2Translation {
  /** JS RegExp source (run with flag `g` only). */
  readonly regexp: string;
  /** For PCRE2 group k (1-based), the JS group index at position k - 1. */
  readonly groupMap: readonly number[];
  /**
   * JS groups that swallow the newline a final `$` may stand before; their length is
   * taken off the match end (a consuming `(\n?)$` instead of a lookahead keeps the
   * pattern inside what V8's linear-time engine accepts).
   */
  readonly trailGroups: readonly number[];
  /**
   * Runs of bytes every match must contain at or after its start (one byte set per
   * position), longest first; empty when the pattern has none.
   */
  readonly required: readonly (readonly ByteSet[])[];
  /** `(*UTF)`: the subject must be valid UTF-8, as pcre2_match checks it. */
  readonly utf: boolean;
}

const MAX_REPEAT = 65535;
/** PCRE2's default `\s`: HT, LF, VT, FF, CR, space. */
const SPACE_BYTES = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20];

/** Compiles a Wazuh PCRE2 pattern; throws PatternError naming any construct outside the audited set. */
export function compilePcre2(pattern: string): Matcher {
  return new Pcre2Matcher(pattern, translatePcre2(pattern));
}

/** Parses, checks and translates a pattern (throws PatternError). */
export function translatePcre2(pattern: string): Pcre2Translation {
  const { parser, tree, emitter, regexp } = translateTree(pattern);
  checkBacktracking(pattern, measureTree(pattern, tree, emitter.lookaround));
  return {
    regexp,
    groupMap: emitter.groupMap,
    trailGroups: emitter.trailGroups,
    required: requiredRuns(tree),
    utf: parser.utf,
  };
}

/**
 * How a pattern's failing matches can blow up in V8 (see "Runaway backtracking" below),
 * measured without refusing it for that: for tests and tooling. Throws PatternError for
 * anything else translatePcre2 refuses, and for repeats nested too deeply to measure.
 */
export function measureBacktracking(pattern: string): BacktrackMeasures {
  const { tree, emitter } = translateTree(pattern);
  return measureTree(pattern, tree, emitter.lookaround);
}

function translateTree(pattern: string): { parser: Parser; tree: Alternation; emitter: Emitter; regexp: string } {
  const parser = new Parser(pattern);
  const tree = parser.parse();
  checkAlternation(pattern, tree, false);
  const emitter = new Emitter(parser.groupCount);
  const regexp = emitter.top(tree);
  try {
    new RegExp(regexp, 'g');
  } catch (err) {
    throw new PatternError(pattern, `translation is not a valid JS RegExp (${(err as Error).message})`);
  }
  return { parser, tree, emitter, regexp };
}

class Pcre2Matcher implements Matcher {
  private readonly re: RegExp;
  private readonly groupMap: readonly number[];
  private readonly trailGroups: readonly number[];
  private readonly utf: boolean;
  /** Cheap necessary condition checked before the RegExp (V8 has no required-byte prefilter). */
  private readonly admits: (subject: ByteString, from: number) => boolean;

  constructor(readonly source: string, translation: Pcre2Translation) {
    this.re = new RegExp(translation.regexp, 'g');
    this.groupMap = translation.groupMap;
    this.trailGroups = translation.trailGroups;
    this.utf = translation.utf;
    this.admits = prefilter(translation.required);
  }

  test(subject: ByteString): boolean {
    if (!this.admits(subject, 0)) return false;
    if (this.utf && !isValidUtf8(subject)) return false;
    this.re.lastIndex = 0;
    return this.re.test(subject);
  }

  /** Wazuh passes the text from `from` on as a new subject: `^`, `\b` and look-behind see only it. */
  exec(subject: ByteString, from = 0): MatchResult | null {
    if (!(from >= 0 && from <= subject.length)) return null;
    if (from > 0) {
      const tail = this.exec(subject.slice(from), 0);
      return tail && { end: tail.end + from, captures: tail.captures };
    }
    if (!this.admits(subject, from)) return null;
    if (this.utf && (!isValidUtf8(subject) || isContinuation(subject.charCodeAt(from)))) return null;
    this.re.lastIndex = from;
    const m = this.re.exec(subject);
    if (m === null) return null;
    let end = m.index + m[0].length - 1;
    for (const g of this.trailGroups) {
      const trail = m[g];
      if (trail !== undefined) end -= trail.length;
    }
    return { end, captures: this.captures(m) };
  }

  /** pcre2_match's rc: groups up to the highest one set; unset ones before it read as ''. */
  private captures(m: RegExpExecArray): ByteString[] {
    const map = this.groupMap;
    let last = map.length;
    while (last > 0 && m[map[last - 1]!] === undefined) last--;
    const out = new Array<ByteString>(last);
    for (let k = 0; k < last; k++) out[k] = m[map[k]!] ?? '';
    return out;
  }
}

// ---------------------------------------------------------------------------------------
// Parsing

class Parser {
  private pos = 0;
  groupCount = 0;
  /** `(*UTF)`: the pattern and the subject are UTF-8 characters, not bytes. */
  utf = false;
  /** The options in effect at `pos`; a group puts back those it opened with when it closes. */
  private options: Options = DEFAULT_OPTIONS;

  constructor(private readonly src: string) {}

  parse(): Alternation {
    if (this.src.startsWith('(*UTF)')) {
      this.utf = true;
      this.pos = 6;
    }
    const tree = this.alternation();
    if (this.pos < this.src.length) this.refuse('unmatched closing parenthesis', this.pos);
    return tree;
  }

  refuse(what: string, at: number): never {
    throw new PatternError(this.src, `${what} at offset ${at}`);
  }

  /**
   * The option setting read from the current position (just after `(?`): letters to set,
   * then `-` and letters to unset, or `^` (unset i, m and s) then letters to set. It ends
   * with `)`, lasting to the end of the enclosing group (later branches included), or with
   * `:`, holding only inside the group it opens.
   */
  private optionSetting(open: number): { options: Options; scoped: boolean } {
    let next = this.options;
    let on = true;
    let hyphenAllowed = true;
    if (this.src[this.pos] === '^') {
      next = { ...next, caseless: false, multiline: false, dotall: false };
      hyphenAllowed = false;
      this.pos++;
    }
    for (;;) {
      const at = this.pos;
      const c = this.src[this.pos++];
      if (c === undefined) this.refuse('missing closing parenthesis for the group', open);
      if (c === ')' || c === ':') return { options: next, scoped: c === ':' };
      if (c === '-') {
        if (!hyphenAllowed) this.refuse('misplaced hyphen in option setting', at);
        hyphenAllowed = false;
        on = false;
        continue;
      }
      next = this.optionLetter(next, c, on, at);
    }
  }

  /** The options after setting (or unsetting) one letter written at offset `at`. */
  private optionLetter(options: Options, letter: string, on: boolean, at: number): Options {
    switch (letter) {
      case 'i':
        // Under UTF, PCRE2 folds k and s with the Kelvin sign and the long s as well.
        if (on && this.utf) this.refuse('(?i) under (*UTF) (Unicode case folding)', at);
        return { ...options, caseless: on };
      case 'm': return { ...options, multiline: on };
      case 's': return { ...options, dotall: on };
      case 'U': return { ...options, ungreedy: on };
      case 'x': return this.refuse('extended mode (?x) is not supported', at);
      default:
        if (/[A-Za-z]/.test(letter)) this.refuse(`option letter '${letter}' is not supported`, at);
        return this.refuse(`unrecognized character '${letter}' in option setting`, at);
    }
  }

  private alternation(): Alternation {
    const branches: Node[][] = [this.sequence()];
    while (this.src[this.pos] === '|') {
      this.pos++;
      branches.push(this.sequence());
    }
    return branches;
  }

  private sequence(): Node[] {
    const items: Node[] = [];
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === '|' || c === ')') break;
      const at = this.pos;
      if (this.quantifierAhead()) this.refuse('quantifier does not follow a repeatable item', at);
      const atom = this.atom();
      if (atom !== undefined) items.push(this.quantified(atom));
    }
    return items;
  }

  /** True when a quantifier starts at the current position. */
  private quantifierAhead(): boolean {
    const c = this.src[this.pos];
    return c === '*' || c === '+' || c === '?' || (c === '{' && this.braceQuantifier() !== undefined);
  }

  /** `{n}`, `{n,}` or `{n,m}` at the current position (PCRE2 10.3x: anything else is a literal `{`). */
  private braceQuantifier(): { min: number; max: number; length: number } | undefined {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos, this.pos + 16));
    if (m === null) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    return { min, max, length: m[0].length };
  }

  private quantified(atom: Node): Node {
    if (!this.quantifierAhead()) return atom;
    const at = this.pos;
    if (atom.kind === 'bol' || atom.kind === 'eol' || atom.kind === 'wordBoundary' || atom.kind === 'notWordBoundary' || atom.kind === 'look') {
      this.refuse('quantifier after an assertion', at);
    }
    let min: number;
    let max: number;
    const c = this.src[this.pos]!;
    if (c === '{') {
      const brace = this.braceQuantifier()!;
      if (brace.min > MAX_REPEAT || brace.max !== Infinity && brace.max > MAX_REPEAT) this.refuse('number too big in {} quantifier', at);
      if (brace.max < brace.min) this.refuse('numbers out of order in {} quantifier', at);
      ({ min, max } = brace);
      this.pos += brace.length;
    } else {
      min = c === '+' ? 1 : 0;
      max = c === '?' ? 1 : Infinity;
      this.pos++;
    }
    let lazy = false;
    if (this.src[this.pos] === '+') this.refuse('possessive quantifier', this.pos);
    if (this.src[this.pos] === '?') {
      lazy = true;
      this.pos++;
    }
    if (this.quantifierAhead()) this.refuse('nested quantifier', this.pos);
    return { kind: 'repeat', body: atom, min, max, greedy: lazy === this.options.ungreedy, at };
  }

  /** The next item, or undefined for an option setting (it only changes the options). */
  private atom(): Node | undefined {
    const at = this.pos;
    const c = this.src[this.pos++]!;
    switch (c) {
      case '(': return this.group(at);
      case '[': return this.charClass(at);
      case '.':
        if (this.utf) this.refuse("'.' under (*UTF) (it matches a whole UTF-8 character)", at);
        return { kind: 'any', dotall: this.options.dotall, at };
      case '^': return { kind: 'bol', multiline: this.options.multiline, at };
      case '$': return { kind: 'eol', multiline: this.options.multiline, at };
      case '\\': return this.escape(at);
      case '{':
        // A literal before PCRE2 10.43, a {0,m} quantifier from 10.43 on.
        if (/^,\d+\}/.test(this.src.slice(this.pos, this.pos + 8))) this.refuse('{,m} (its meaning depends on the PCRE2 version)', at);
        return this.literalNode([0x7b], at);
      default: return this.literalNode([this.literalByte(c, at)], at);
    }
  }

  private literalByte(c: string, at: number): number {
    const code = c.charCodeAt(0);
    if (code >= 0x80) this.refuse(`non-ASCII literal (code ${code})`, at);
    return code;
  }

  private literalNode(bytes: number[], at: number): Node {
    return { kind: 'literal', bytes, caseless: this.options.caseless, at };
  }

  /** A group, or undefined for an unscoped option setting such as `(?i)`. */
  private group(at: number): Node | undefined {
    const src = this.src;
    if (src[this.pos] === '*') this.refuse('backtracking control verb (*...)', at);
    if (src[this.pos] !== '?') {
      const capture = ++this.groupCount;
      return { kind: 'group', capture, body: this.groupBody(at), at };
    }
    const rest = src.slice(this.pos + 1, this.pos + 4);
    const take = (n: number): void => { this.pos += 1 + n; };
    if (isOptionSetting(rest)) {
      take(0);
      const { options, scoped } = this.optionSetting(at);
      if (!scoped) {
        this.options = options;
        return undefined;
      }
      return { kind: 'group', capture: 0, body: this.groupBody(at, options), at };
    }
    if (rest.startsWith(':')) { take(1); return { kind: 'group', capture: 0, body: this.groupBody(at), at }; }
    if (rest.startsWith('=')) { take(1); return { kind: 'look', behind: false, negate: false, body: this.groupBody(at), at }; }
    if (rest.startsWith('!')) { take(1); return { kind: 'look', behind: false, negate: true, body: this.groupBody(at), at }; }
    if (rest.startsWith('<=')) { take(2); return { kind: 'look', behind: true, negate: false, body: this.groupBody(at), at }; }
    if (rest.startsWith('<!')) { take(2); return { kind: 'look', behind: true, negate: true, body: this.groupBody(at), at }; }
    return this.refuse(describeGroup(rest), at);
  }

  /** The body up to its `)`, read with `inner` options when given; the options before it come back after. */
  private groupBody(open: number, inner?: Options): Alternation {
    const outer = this.options;
    if (inner !== undefined) this.options = inner;
    const body = this.alternation();
    if (this.src[this.pos] !== ')') this.refuse('missing closing parenthesis for the group', open);
    this.pos++;
    this.options = outer;
    return body;
  }

  private escape(at: number): Node {
    if (this.pos >= this.src.length) this.refuse('\\ at end of pattern', at);
    const c = this.src[this.pos++]!;
    const utf = this.utf;
    switch (c) {
      case 'd': return { kind: 'set', js: '\\d', bytes: CLASS_ESCAPES.d!(), at };
      case 'w': return { kind: 'set', js: '\\w', bytes: CLASS_ESCAPES.w!(), at };
      case 's': return { kind: 'set', js: setToJs(bytesToSet(SPACE_BYTES), false), bytes: CLASS_ESCAPES.s!(), at };
      case 'D': case 'W': case 'S':
        if (utf) this.refuse(`\\${c} under (*UTF) (it matches a whole UTF-8 character)`, at);
        return {
          kind: 'set', js: c === 'S' ? setToJs(bytesToSet(SPACE_BYTES), true) : `\\${c}`, bytes: CLASS_ESCAPES[c]!(), at,
        };
      case 'b': return { kind: 'wordBoundary', at };
      case 'B': return { kind: 'notWordBoundary', at };
      case 'N': return this.namedCodePoint(at);
      default: {
        const byte = this.escapedByte(c, at, false);
        return this.literalNode([byte], at);
      }
    }
  }

  /** `\N{U+hhhh}`: only valid under (*UTF); becomes the character's UTF-8 bytes. */
  private namedCodePoint(at: number): Node {
    const m = /^\{U\+([0-9A-Fa-f]{1,6})\}/.exec(this.src.slice(this.pos, this.pos + 11));
    if (m === null) this.refuse('\\N (only \\N{U+hhhh} is supported)', at);
    if (!this.utf) this.refuse('\\N{U+hhhh} without (*UTF)', at);
    const cp = parseInt(m[1]!, 16);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.refuse('\\N{U+hhhh} is not a Unicode scalar value', at);
    this.pos += m[0].length;
    return this.literalNode([...Buffer.from(String.fromCodePoint(cp), 'utf8')], at);
  }

  /**
   * The byte an escape stands for (outside or inside a class), refusing the escapes
   * outside the audited set. `c` is the character after the backslash (already consumed).
   */
  private escapedByte(c: string, at: number, inClass: boolean): number {
    switch (c) {
      case 'n': return 0x0a;
      case 't': return 0x09;
      case 'r': return 0x0d;
      case 'f': return 0x0c;
      case 'a': return 0x07;
      case '0': return this.octal();
      case 'x': return this.hex(at);
      default: break;
    }
    if (/[1-9]/.test(c)) this.refuse(inClass ? `octal escape \\${c}` : `backreference \\${c}`, at);
    const reason = REFUSED_ESCAPES[c];
    if (reason !== undefined) this.refuse(`${reason} \\${c}`, at);
    if (/[A-Za-z]/.test(c)) this.refuse(`unrecognized escape \\${c}`, at);
    return this.literalByte(c, at);
  }

  /** `\0` then up to two more octal digits. */
  private octal(): number {
    const m = /^[0-7]{0,2}/.exec(this.src.slice(this.pos, this.pos + 2))![0];
    this.pos += m.length;
    return m === '' ? 0 : parseInt(m, 8);
  }

  /** `\xhh` with 0 to 2 hex digits (`\x` alone is NUL); `\x{...}` is refused. */
  private hex(at: number): number {
    if (this.src[this.pos] === '{') this.refuse('\\x{...}', at);
    const m = /^[0-9A-Fa-f]{0,2}/.exec(this.src.slice(this.pos, this.pos + 2))![0];
    this.pos += m.length;
    const byte = m === '' ? 0 : parseInt(m, 16);
    if (byte >= 0x80 && this.utf) this.refuse('\\xhh above 0x7f under (*UTF) (a code point, not a byte)', at);
    return byte;
  }

  private charClass(at: number): Node {
    const set = new Uint8Array(256);
    let negate = false;
    if (this.src[this.pos] === '^') {
      negate = true;
      this.pos++;
    }
    let first = true;
    for (;;) {
      if (this.pos >= this.src.length) this.refuse('missing terminating ] for character class', at);
      const c = this.src[this.pos]!;
      if (c === ']' && !first) break;
      first = false;
      const memberAt = this.pos;
      const member = this.classMember();
      if (member.kind === 'bytes') {
        addAll(set, member.set);
        if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== ']' && this.pos + 1 < this.src.length) {
          this.refuse('invalid range in character class (a class escape cannot bound a range)', memberAt);
        }
        continue;
      }
      if (this.src[this.pos] === '-' && this.pos + 1 < this.src.length && this.src[this.pos + 1] !== ']') {
        this.pos++;
        const endAt = this.pos;
        const end = this.classMember();
        if (end.kind === 'bytes') this.refuse('invalid range in character class (a class escape cannot bound a range)', endAt);
        if (end.byte < member.byte) this.refuse('range out of order in character class', memberAt);
        for (let b = member.byte; b <= end.byte; b++) set[b] = 1;
        continue;
      }
      set[member.byte] = 1;
    }
    this.pos++;
    if (this.utf && negate) this.refuse('negated class under (*UTF) (it matches a whole UTF-8 character)', at);
    if (this.options.caseless) foldCase(set);
    return { kind: 'set', js: setToJs(set, negate), bytes: negate ? complement(set) : set, at };
  }

  /** One class member: a single byte, or the set of a class escape (`\d`, `\s`...). */
  private classMember(): { kind: 'byte'; byte: number } | { kind: 'bytes'; set: ByteSet } {
    const at = this.pos;
    const c = this.src[this.pos++]!;
    if (c === '[' && /[:.=]/.test(this.src[this.pos] ?? '')) this.refuse('POSIX class syntax [:...:]', at);
    if (c !== '\\') return { kind: 'byte', byte: this.literalByte(c, at) };
    if (this.pos >= this.src.length) this.refuse('\\ at end of pattern', at);
    const e = this.src[this.pos++]!;
    const named = CLASS_ESCAPES[e];
    if (named !== undefined) {
      if (this.utf && e !== e.toLowerCase()) this.refuse(`\\${e} under (*UTF) (it matches a whole UTF-8 character)`, at);
      return { kind: 'bytes', set: named() };
    }
    if (e === 'b') return { kind: 'byte', byte: 0x08 };
    if (e === 'N') this.refuse('\\N in a character class', at);
    return { kind: 'byte', byte: this.escapedByte(e, at, true) };
  }
}

/** Escapes PCRE2 knows but we refuse, with the reason shown. */
const REFUSED_ESCAPES: Readonly<Record<string, string>> = {
  A: 'anchor', Z: 'anchor', z: 'anchor', G: 'anchor', K: 'match-start reset',
  Q: 'quoting', E: 'quoting', h: 'horizontal-space class', H: 'horizontal-space class',
  v: 'vertical-space class', V: 'vertical-space class', R: 'newline sequence', X: 'extended grapheme',
  p: 'Unicode property', P: 'Unicode property', c: 'control escape', C: 'single code unit',
  e: 'escape character', g: 'backreference or subroutine', k: 'named backreference',
  o: 'octal escape', u: 'unsupported escape', U: 'unsupported escape', l: 'unsupported escape',
  L: 'unsupported escape',
};

/**
 * Whether `(?` followed by `after` opens an option setting: letters (P, C and R start other
 * groups), `^`, `-` not followed by a digit (that is a relative reference), or `)` at once.
 */
function isOptionSetting(after: string): boolean {
  const c = after[0] ?? '';
  if (c === '-') return !/[0-9]/.test(after[1] ?? '');
  return c === '^' || c === ')' || (/[A-Za-z]/.test(c) && !'PCR'.includes(c));
}

function describeGroup(after: string): string {
  const c = after[0] ?? '';
  if (c === '>') return 'atomic group (?>';
  if (c === '|') return 'branch reset group (?|';
  if (c === '#') return 'comment group (?#';
  if (c === '(') return 'conditional group (?(';
  if (c === '<' || c === 'P' || c === "'") return 'named group or named reference';
  if (c === 'R' || c === '&' || /[0-9+-]/.test(c)) return 'recursion or subroutine call';
  if (c === 'C') return 'callout (?C';
  return `unknown group syntax (?${after}`;
}

const CLASS_ESCAPES: Readonly<Record<string, () => ByteSet>> = {
  d: () => rangeSet([[0x30, 0x39]]),
  D: () => complement(rangeSet([[0x30, 0x39]])),
  w: () => rangeSet([[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a], [0x5f, 0x5f]]),
  W: () => complement(rangeSet([[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a], [0x5f, 0x5f]])),
  s: () => bytesToSet(SPACE_BYTES),
  S: () => complement(bytesToSet(SPACE_BYTES)),
};

// ---------------------------------------------------------------------------------------
// Byte sets

function rangeSet(ranges: readonly (readonly [number, number])[]): ByteSet {
  const set = new Uint8Array(256);
  for (const [lo, hi] of ranges) for (let b = lo; b <= hi; b++) set[b] = 1;
  return set;
}

function bytesToSet(bytes: readonly number[]): ByteSet {
  const set = new Uint8Array(256);
  for (const b of bytes) set[b] = 1;
  return set;
}

function complement(set: ByteSet): ByteSet {
  return set.map((b) => 1 - b);
}

function addAll(into: ByteSet, from: ByteSet): void {
  for (let b = 0; b < 256; b++) if (from[b] === 1) into[b] = 1;
}

/** PCRE2's default tables fold ASCII letters only. */
function foldCase(set: ByteSet): void {
  for (let b = 0x41; b <= 0x5a; b++) {
    if (set[b] === 1 || set[b + 0x20] === 1) set[b] = set[b + 0x20] = 1;
  }
}

function isAsciiLetter(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/** A JS class for the set; a negated class also takes every code unit above 0xff, as PCRE2's does. */
function setToJs(set: ByteSet, negate: boolean): string {
  let out = negate ? '[^' : '[';
  for (let b = 0; b < 256; b++) {
    if (set[b] !== 1) continue;
    let hi = b;
    while (hi < 255 && set[hi + 1] === 1) hi++;
    out += classChar(b);
    if (hi > b) out += (hi > b + 1 ? '-' : '') + classChar(hi);
    b = hi;
  }
  return out + ']';
}

function classChar(b: number): string {
  if (b >= 0x30 && b <= 0x39 || b >= 0x41 && b <= 0x5a || b >= 0x61 && b <= 0x7a) return String.fromCharCode(b);
  return '\\x' + b.toString(16).padStart(2, '0');
}

function literalChar(b: number, caseless: boolean): string {
  if (caseless && isAsciiLetter(b)) {
    const lower = b | 0x20;
    return `[${String.fromCharCode(lower - 0x20)}${String.fromCharCode(lower)}]`;
  }
  return classChar(b);
}

// ---------------------------------------------------------------------------------------
// Checks that keep JS and PCRE2 semantics equal

function nullable(node: Node): boolean {
  switch (node.kind) {
    case 'literal': case 'set': case 'any': return false;
    case 'group': return node.body.some((branch) => branch.every(nullable));
    case 'repeat': return node.min === 0 || nullable(node.body);
    default: return true;
  }
}

function hasCapture(node: Node): boolean {
  switch (node.kind) {
    case 'group': return node.capture > 0 || node.body.some((b) => b.some(hasCapture));
    case 'look': return node.body.some((b) => b.some(hasCapture));
    case 'repeat': return hasCapture(node.body);
    default: return false;
  }
}

/** True when some capture inside may be left unset by a successful match of the node. */
function captureMaySkip(node: Node): boolean {
  switch (node.kind) {
    case 'group':
    case 'look':
      if (node.kind === 'look' && node.negate && hasCapture(node)) return true;
      if (node.body.length > 1 && node.body.some((b) => b.some(hasCapture))) return true;
      return node.body.some((b) => b.some(captureMaySkip));
    case 'repeat':
      return (node.min === 0 && hasCapture(node.body)) || captureMaySkip(node.body);
    default:
      return false;
  }
}

/** Length in bytes when fixed, else undefined. */
function fixedLength(node: Node): number | undefined {
  switch (node.kind) {
    case 'literal': return node.bytes.length;
    case 'set': case 'any': return 1;
    case 'group': {
      const lengths = node.body.map(branchLength);
      return lengths.every((l) => l !== undefined && l === lengths[0]) ? lengths[0] : undefined;
    }
    case 'repeat': {
      const one = fixedLength(node.body);
      return one !== undefined && node.min === node.max ? one * node.min : undefined;
    }
    default: return 0;
  }
}

function branchLength(branch: readonly Node[]): number | undefined {
  let total = 0;
  for (const node of branch) {
    const l = fixedLength(node);
    if (l === undefined) return undefined;
    total += l;
  }
  return total;
}

function checkAlternation(pattern: string, tree: Alternation, inLookbehind: boolean): void {
  for (const branch of tree) for (const node of branch) checkNode(pattern, node, inLookbehind);
}

function checkNode(pattern: string, node: Node, inLookbehind: boolean): void {
  const refuse = (what: string): never => {
    throw new PatternError(pattern, `${what} at offset ${node.at}`);
  };
  switch (node.kind) {
    case 'group':
      if (inLookbehind && node.capture > 0) refuse('capturing group inside a lookbehind');
      checkAlternation(pattern, node.body, inLookbehind);
      return;
    case 'look':
      if (node.behind) {
        for (const branch of node.body) {
          if (branchLength(branch) === undefined) refuse('lookbehind assertion is not fixed length');
        }
      }
      checkAlternation(pattern, node.body, inLookbehind || node.behind);
      return;
    case 'repeat':
      // JS clears a repeated group's captures at each iteration and drops an iteration
      // that matched empty; PCRE2 keeps both. Equal results need every iteration to set
      // every capture it holds.
      if (node.max > 1 && hasCapture(node.body)) {
        if (nullable(node.body)) refuse('repeated group that can match empty holds a capture');
        if (captureMaySkip(node.body)) refuse('repeated group holds a capture that an iteration may skip');
      }
      checkNode(pattern, node.body, inLookbehind);
      return;
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------
// Runaway backtracking
//
// PCRE2 ends a runaway match at its match limit (no match); V8 never does. A failing
// backtracking match tries every way its repeats can share out the text, so a pattern is
// refused at load time when that number can blow up: k repeats that can match the same
// text one after the other cost about n^k on n bytes (a "run" of k), and a repeated group
// whose iterations can split the same text in several ways costs 2^n ("nested"). V8 hands
// a RegExp that backtracks too much to its linear-time engine when that engine can run
// it (no lookaround, counts up to 16): those patterns get a looser limit on runs.

/** What the backtracking check measures on a pattern. */
export interface BacktrackMeasures {
  /**
   * The longest run of repeats (`*`, `+`, `?`, `{n,m}`, and alternations whose branches can
   * start alike) that can match the same text in a row, no item between them that the
   * previous one cannot match forcing where it stops.
   */
  readonly run: number;
  /** Whether the count stopped early, past the limits (the run is then at least `run`). */
  readonly runCut: boolean;
  /** Offset of the repeat that ends that run (-1 when there is none). */
  readonly runAt: number;
  /** Offset of a repeat whose iterations can split the same text in several ways, or -1. */
  readonly nestedAt: number;
  /** Whether the translation holds a lookaround (`(?m)^` and a `$` before the end make one too). */
  readonly lookaround: boolean;
  /** The largest product of counts along nested repeats (`a{2,3}` counts 3, `a+` 2, `a*` 1). */
  readonly replication: number;
  /** Whether V8 can hand the translation to its linear-time engine: no lookaround, replication up to 16. */
  readonly linearFallback: boolean;
  /**
   * Whether a failing match is tried from few start positions: every top-level branch
   * starts with `^` (not multiline), or with a literal of at least MIN_START_LITERAL bytes.
   * The literal is a heuristic for real logs, where it occurs a few times: a crafted subject
   * repeating it pays at every occurrence (the stock `(?mUs)ACTION :(.*)(?:^[A-Z\s]+:)`,
   * accepted through it, takes 5 s on `ACTION :` x 512 + LF x 4096).
   */
  readonly anchored: boolean;
  /** The run, plus one for trying it from every start position when not anchored. */
  readonly degree: number;
}

/**
 * The limits (exported for tests). The stock ruleset reaches a run of 7 with the fallback
 * and a degree of 2 without it (test/unit/engine/match/pcre2.test.ts prints the figures).
 */
export const BACKTRACK_LIMITS = {
  /**
   * The longest run accepted when V8 can fall back to its linear-time engine. Runs of 16
   * bounded repeats (`a?`, where V8 counts too few backtracks to fall back soon) stay in
   * tens of ms on the fuzz subjects; 24 reach a third of a second.
   */
  maxRun: 16,
  /**
   * The highest degree accepted when it cannot: quadratic, the cost an unanchored `.+!`
   * already has in V8 (seconds on 64 KB). The stock reaches it, so there is no margin; but
   * cubic is seconds on 1.5 KB (`(?=.*.*admin)(\w+)`: 4 s on the fuzz subjects).
   */
  maxDegreeWithoutFallback: 2,
  /** V8's linear-time engine unrolls counted repeats, up to this product of counts. */
  maxLinearReplication: 16,
} as const;

const MAX_RUN = BACKTRACK_LIMITS.maxRun;
const MAX_DEGREE_WITHOUT_FALLBACK = BACKTRACK_LIMITS.maxDegreeWithoutFallback;
const MAX_LINEAR_REPLICATION = BACKTRACK_LIMITS.maxLinearReplication;
/** Literal bytes at a branch start that make its start positions few. */
const MIN_START_LITERAL = 4;
/** Walk steps after which a pattern is refused as too deeply nested to check. */
const MAX_WALK_STEPS = 200_000;

function checkBacktracking(pattern: string, m: BacktrackMeasures): void {
  const refuse = (what: string, at: number): never => {
    throw new PatternError(pattern, `${what} at offset ${at}`);
  };
  if (m.nestedAt >= 0) {
    refuse('nested repeats: a repeated group whose iterations can match the same text in more than one way: matching could take exponential time', m.nestedAt);
  }
  const repeats = `${m.runCut ? 'at least ' : ''}${m.run} repeats that can match the same text in a row`;
  if (m.linearFallback && m.run > MAX_RUN) {
    refuse(`ambiguous repeats: ${repeats} (limit ${MAX_RUN}): matching could take too long`, m.runAt);
  }
  if (!m.linearFallback && m.degree > MAX_DEGREE_WITHOUT_FALLBACK) {
    const limit = MAX_DEGREE_WITHOUT_FALLBACK - (m.anchored ? 0 : 1);
    const why = m.lookaround
      ? 'lookaround (written, or translating (?m)^ or a $ before the end), which V8\'s linear-time engine cannot run'
      : `repeat counts reaching ${m.replication}, above the ${MAX_LINEAR_REPLICATION} V8's linear-time engine can run`;
    refuse(`ambiguous repeats: ${repeats} (limit ${limit} in ${m.anchored ? 'an anchored' : 'an unanchored'} pattern with ${why}): `
      + 'matching could take too long', m.runAt);
  }
}

function measureTree(pattern: string, tree: Alternation, lookaround: boolean): BacktrackMeasures {
  const walker = new RunWalker(pattern, Math.max(MAX_RUN, MAX_DEGREE_WITHOUT_FALLBACK) + 1);
  walker.alternation(tree, NO_THREADS);
  const anchored = tree.every((branch) => leadingLiteral(branch).bytes >= MIN_START_LITERAL);
  let replicated = 1;
  for (const branch of tree) for (const node of branch) replicated = Math.max(replicated, replication(node));
  return {
    run: walker.peak,
    runCut: walker.cut,
    runAt: walker.peakAt,
    nestedAt: walker.nestedAt,
    lookaround,
    replication: replicated,
    linearFallback: !lookaround && replicated <= MAX_LINEAR_REPLICATION,
    anchored,
    degree: walker.peak + (anchored ? 0 : 1),
  };
}

/**
 * An open run: `count` repeats in a row whose last one may still stop anywhere, matching
 * bytes of `set` (a next repeat overlapping `set` extends the run).
 */
interface Thread {
  readonly count: number;
  readonly set: ByteSet;
}

/** Open runs by set (the longest kept). */
type Threads = ReadonlyMap<string, Thread>;

const NO_THREADS: Threads = new Map();
const ALL_BYTES: ByteSet = complement(new Uint8Array(256));

/**
 * Walks the pattern tree keeping the open runs at each point: an item the last repeat of
 * a run cannot match ends that run (the repeat must stop right before it), a repeat
 * overlapping it extends it, an optional item leaves it open.
 */
class RunWalker {
  peak = 0;
  /** Whether unrolling stopped early: the peak is then a lower bound. */
  cut = false;
  peakAt = -1;
  nestedAt = -1;
  private steps = 0;
  /** Enclosing repeats that iterate: a lookaround inside runs again at each iteration. */
  private loops = 0;
  /** The longest run each repeat has ended. */
  private readonly ends = new Map<Node, number>();

  /** `cap`: a run longer than this stops the unrolling of repeats (the pattern is refused anyway). */
  constructor(private readonly pattern: string, private readonly cap: number) {}

  alternation(body: Alternation, threads: Threads): Threads {
    let out = NO_THREADS;
    for (const branch of body) {
      let t = threads;
      for (const node of branch) t = this.node(node, t);
      out = merge(out, t);
    }
    return out;
  }

  private node(node: Node, threads: Threads): Threads {
    if (++this.steps > MAX_WALK_STEPS) {
      throw new PatternError(this.pattern, `repeats nested too deeply to check for runaway backtracking at offset ${node.at}`);
    }
    switch (node.kind) {
      case 'literal': case 'set': case 'any':
        return threads.size === 0 ? threads : close(threads, firstBytes(node));
      case 'group': {
        const out = this.alternation(node.body, threads);
        return ambiguous(node.body) ? merge(out, this.member(node, threads, consumedBytes(node), firstBytes(node))) : out;
      }
      case 'repeat':
        return this.repeat(node, threads);
      case 'look':
        this.look(node.body, threads);
        return threads;
      default:
        return threads;
    }
  }

  /** A repeat (or ambiguous alternation) matching `set`: it extends every open run it overlaps. */
  private member(node: Node, threads: Threads, set: ByteSet, first: ByteSet): Threads {
    let count = 1;
    for (const t of threads.values()) if (t.count >= count && overlaps(t.set, set)) count = t.count + 1;
    this.ends.set(node, Math.max(count, this.ends.get(node) ?? 0));
    if (count > this.peak) {
      this.peak = count;
      this.peakAt = node.at;
    }
    const before = nullable(node) ? threads : close(threads, first);
    return merge(before, new Map([[setKey(set), { count, set }]]));
  }

  private repeat(node: Extract<Node, { kind: 'repeat' }>, threads: Threads): Threads {
    const { body, min, max } = node;
    if (!hasRuns(body)) {
      if (max > min) return this.member(node, threads, consumedBytes(body), firstBytes(body));
      return min > 0 && threads.size > 0 ? close(threads, firstBytes(body)) : threads;
    }
    if (max === Infinity && this.nestedAt < 0 && this.runsAcrossIterations(body)) this.nestedAt = node.at;
    // Iterations in a row until the open runs stop changing (or the run is too long anyway).
    if (max > 1) this.loops++;
    let out = min === 0 ? threads : NO_THREADS;
    let current = threads;
    for (let i = 1; ; i++) {
      const next = this.node(body, current);
      const done = i >= max || sameThreads(next, current);
      const settled = done || i > this.cap || this.peak > this.cap;
      if (!done && settled) this.cut = true;
      if (i >= min || settled) out = merge(out, next);
      if (settled) break;
      current = next;
    }
    if (max > 1) this.loops--;
    // How many iterations run is itself open when the count can vary.
    return max > min ? merge(out, this.member(node, threads, consumedBytes(body), firstBytes(body))) : out;
  }

  /** Whether some run goes on from one iteration of `body` into the next: iterations then split text in many ways. */
  private runsAcrossIterations(body: Node): boolean {
    const probe = new RunWalker(this.pattern, this.cap);
    probe.steps = this.steps;
    const once = probe.node(body, NO_THREADS);
    const firstEnds = new Map(probe.ends);
    probe.node(body, once);
    this.steps = probe.steps;
    for (const [member, count] of probe.ends) if (count > (firstEnds.get(member) ?? 0)) return true;
    return false;
  }

  /**
   * A lookaround runs afresh wherever it is reached: its repeats multiply the ways of getting
   * there (the open runs, the enclosing iterations), whatever bytes those match.
   */
  private look(body: Alternation, threads: Threads): void {
    let before = 0;
    for (const t of threads.values()) before = Math.max(before, t.count);
    before += this.loops;
    this.alternation(body, before > 0 ? new Map([[setKey(ALL_BYTES), { count: before, set: ALL_BYTES }]]) : NO_THREADS);
  }
}

/** The runs that can go on through an item starting with a byte of `first`. */
function close(threads: Threads, first: ByteSet): Threads {
  let out: Map<string, Thread> | undefined;
  for (const [key, t] of threads) {
    if (overlaps(t.set, first)) continue;
    out ??= new Map(threads);
    out.delete(key);
  }
  return out ?? threads;
}

function merge(a: Threads, b: Threads): Threads {
  if (a.size === 0) return b;
  if (b.size === 0) return a;
  const out = new Map(a);
  for (const [key, t] of b) {
    const had = out.get(key);
    if (had === undefined || had.count < t.count) out.set(key, t);
  }
  return out;
}

function sameThreads(a: Threads, b: Threads): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [key, t] of a) if (b.get(key)?.count !== t.count) return false;
  return true;
}

function setKey(set: ByteSet): string {
  let key = '';
  for (let b = 0; b < 256; b += 16) {
    let word = 0;
    for (let k = 0; k < 16; k++) word |= set[b + k]! << k;
    key += String.fromCharCode(word);
  }
  return key;
}

function overlaps(a: ByteSet, b: ByteSet): boolean {
  for (let i = 0; i < 256; i++) if (a[i] === 1 && b[i] === 1) return true;
  return false;
}

const consumedMemo = new WeakMap<Node, ByteSet>();
const firstMemo = new WeakMap<Node, ByteSet>();
const runsMemo = new WeakMap<Node, boolean>();

/** Every byte the node can match. */
function consumedBytes(node: Node): ByteSet {
  let set = consumedMemo.get(node);
  if (set !== undefined) return set;
  switch (node.kind) {
    case 'literal': set = literalSet(node.bytes, node.caseless); break;
    case 'set': set = node.bytes; break;
    case 'any': set = anyBytes(node.dotall); break;
    case 'repeat': set = consumedBytes(node.body); break;
    case 'group':
      set = new Uint8Array(256);
      for (const branch of node.body) for (const item of branch) addAll(set, consumedBytes(item));
      break;
    default: set = new Uint8Array(256);
  }
  consumedMemo.set(node, set);
  return set;
}

/** The bytes a match of the node can start with. */
function firstBytes(node: Node): ByteSet {
  let set = firstMemo.get(node);
  if (set !== undefined) return set;
  switch (node.kind) {
    case 'literal': set = literalSet(node.bytes.slice(0, 1), node.caseless); break;
    case 'set': case 'any': set = consumedBytes(node); break;
    case 'repeat': set = firstBytes(node.body); break;
    case 'group':
      set = new Uint8Array(256);
      for (const branch of node.body) addAll(set, sequenceFirst(branch));
      break;
    default: set = new Uint8Array(256);
  }
  firstMemo.set(node, set);
  return set;
}

function sequenceFirst(items: readonly Node[]): ByteSet {
  const set = new Uint8Array(256);
  for (const item of items) {
    addAll(set, firstBytes(item));
    if (!nullable(item)) break;
  }
  return set;
}

/** One set per byte and case mode, shared (sets are never written once made). */
const singleByteSets = new Map<number, ByteSet>();

function literalSet(bytes: readonly number[], caseless: boolean): ByteSet {
  const key = bytes.length === 1 ? bytes[0]! * 2 + (caseless ? 1 : 0) : -1;
  const shared = singleByteSets.get(key);
  if (shared !== undefined) return shared;
  const set = bytesToSet(bytes);
  if (caseless) foldCase(set);
  if (key >= 0) singleByteSets.set(key, set);
  return set;
}

function anyBytes(dotall: boolean): ByteSet {
  const set = complement(new Uint8Array(256));
  if (!dotall) set[0x0a] = 0;
  return set;
}

/** Alternations with more branches are judged on their first bytes alone. */
const MAX_PAIRED_BRANCHES = 64;
const ambiguousMemo = new WeakMap<Alternation, boolean>();

/**
 * Whether two branches can match at the same start (or one can match empty): the
 * alternation can then split text in several ways. Two branches cannot when their first
 * bytes, or the bytes at some position of the single-byte items both start with, differ.
 */
function ambiguous(body: Alternation): boolean {
  if (body.length < 2) return false;
  let found = ambiguousMemo.get(body);
  if (found !== undefined) return found;
  found = body.some((branch) => branch.every(nullable));
  if (!found && body.length > MAX_PAIRED_BRANCHES) {
    const seen = new Uint8Array(256);
    for (const branch of body) {
      const first = sequenceFirst(branch);
      if (overlaps(seen, first)) {
        found = true;
        break;
      }
      addAll(seen, first);
    }
  } else if (!found) {
    const heads = body.map((branch) => [sequenceFirst(branch), ...singleBytePrefix(branch).slice(1)]);
    for (let i = 0; i < heads.length && !found; i++) {
      for (let j = i + 1; j < heads.length && !found; j++) found = !apart(heads[i]!, heads[j]!);
    }
  }
  ambiguousMemo.set(body, found);
  return found;
}

/** The byte sets of the literal bytes, classes and dots a branch starts with, up to anything else. */
function singleBytePrefix(branch: readonly Node[]): ByteSet[] {
  const out: ByteSet[] = [];
  for (const node of branch) {
    if (node.kind === 'literal') for (const b of node.bytes) out.push(literalSet([b], node.caseless));
    else if (node.kind === 'set' || node.kind === 'any') out.push(consumedBytes(node));
    else break;
  }
  return out;
}

function apart(a: readonly ByteSet[], b: readonly ByteSet[]): boolean {
  for (let k = 0; k < a.length && k < b.length; k++) if (!overlaps(a[k]!, b[k]!)) return true;
  return false;
}

/** Whether the node holds something that can match the same text in several ways. */
function hasRuns(node: Node): boolean {
  let runs = runsMemo.get(node);
  if (runs !== undefined) return runs;
  switch (node.kind) {
    case 'repeat': runs = node.max > node.min || hasRuns(node.body); break;
    case 'group': runs = ambiguous(node.body) || node.body.some((branch) => branch.some(hasRuns)); break;
    case 'look': runs = node.body.some((branch) => branch.some(hasRuns)); break;
    default: runs = false;
  }
  runsMemo.set(node, runs);
  return runs;
}

/**
 * Literal bytes every match of the sequence starts with (looking through simple
 * assertions and single-branch groups; Infinity from a non-multiline `^`), and whether the
 * sequence ended before anything else came.
 */
function leadingLiteral(items: readonly Node[]): { bytes: number; through: boolean } {
  let bytes = 0;
  for (const node of items) {
    if (node.kind === 'bol' && !node.multiline) return { bytes: Infinity, through: false };
    if (node.kind === 'literal') {
      bytes += node.bytes.length;
      continue;
    }
    if (node.kind === 'bol' || node.kind === 'eol' || node.kind === 'wordBoundary' || node.kind === 'notWordBoundary') continue;
    if (node.kind === 'group' && node.body.length === 1) {
      const inner = leadingLiteral(node.body[0]!);
      bytes += inner.bytes;
      if (inner.through) continue;
    }
    return { bytes, through: false };
  }
  return { bytes, through: true };
}

/** The largest product of counts along nested repeats, as V8's linear-time engine unrolls them. */
function replication(node: Node): number {
  switch (node.kind) {
    case 'repeat':
      return (node.max === Infinity ? node.min + 1 : Math.max(node.max, 1)) * replication(node.body);
    case 'group': case 'look': {
      let most = 1;
      for (const branch of node.body) for (const item of branch) most = Math.max(most, replication(item));
      return most;
    }
    default:
      return 1;
  }
}

// ---------------------------------------------------------------------------------------
// Emission

class Emitter {
  readonly groupMap: number[];
  readonly trailGroups: number[] = [];
  /** Whether the JS holds a lookaround (V8's linear-time engine cannot run it). */
  lookaround = false;
  private jsGroups = 0;

  constructor(groupCount: number) {
    this.groupMap = new Array<number>(groupCount).fill(0);
  }

  /** The whole pattern: a `$` ending a top-level branch consumes its optional newline in a group. */
  top(tree: Alternation): string {
    return tree.map((branch) => {
      const last = branch[branch.length - 1];
      if (last?.kind !== 'eol') return this.sequence(branch);
      const head = this.sequence(branch.slice(0, -1));
      this.trailGroups.push(++this.jsGroups);
      return head + (last.multiline ? '(?:(\\n)|$)' : '(\\n?)$');
    }).join('|');
  }

  private alternation(tree: Alternation): string {
    return tree.map((branch) => this.sequence(branch)).join('|');
  }

  private sequence(branch: readonly Node[]): string {
    let out = '';
    for (const node of branch) out += this.node(node);
    return out;
  }

  private node(node: Node): string {
    switch (node.kind) {
      case 'literal': return node.bytes.map((b) => literalChar(b, node.caseless)).join('');
      case 'set': return node.js;
      case 'any': return node.dotall ? '[\\s\\S]' : '[^\\n]';
      case 'bol':
        if (!node.multiline) return '^';
        this.lookaround = true;
        return '(?:^|(?<=\\n)(?=[\\s\\S]))';
      case 'eol':
        this.lookaround = true;
        return node.multiline ? '(?=\\n|$)' : '(?=\\n?$)';
      case 'wordBoundary': return '\\b';
      case 'notWordBoundary': return '\\B';
      case 'group': {
        if (node.capture === 0) return `(?:${this.alternation(node.body)})`;
        this.groupMap[node.capture - 1] = ++this.jsGroups;
        return `(${this.alternation(node.body)})`;
      }
      case 'look':
        this.lookaround = true;
        return `(?${node.behind ? '<' : ''}${node.negate ? '!' : '='}${this.alternation(node.body)})`;
      case 'repeat': return this.repeat(node);
    }
  }

  private repeat(node: Extract<Node, { kind: 'repeat' }>): string {
    const body = this.node(node.body);
    // PCRE2 takes an optional item that matched empty (setting its captures); JS drops
    // such an iteration. An alternation with an empty branch behaves like PCRE2.
    if (node.min === 0 && node.max === 1 && nullable(node.body) && hasCapture(node.body)) {
      return node.greedy ? `(?:${body}|)` : `(?:|${body})`;
    }
    const atomic = node.body.kind === 'set' || node.body.kind === 'any' || node.body.kind === 'group'
      || (node.body.kind === 'literal' && node.body.bytes.length === 1);
    const operand = atomic ? body : `(?:${body})`;
    let quantifier: string;
    if (node.min === 0 && node.max === Infinity) quantifier = '*';
    else if (node.min === 1 && node.max === Infinity) quantifier = '+';
    else if (node.min === 0 && node.max === 1) quantifier = '?';
    else if (node.min === node.max) quantifier = `{${node.min}}`;
    else quantifier = `{${node.min},${node.max === Infinity ? '' : node.max}}`;
    return operand + quantifier + (node.greedy ? '' : '?');
  }
}

// ---------------------------------------------------------------------------------------
// Required-bytes prefilter

/** How many required runs a matcher checks: a run common in real logs ("Process") can hide a rare one ("%FTD-"). */
const MAX_REQUIRED_RUNS = 4;

/**
 * Runs of bytes every match must contain, one byte set per position (a case pair for a
 * letter read under `i`), the longest first. Only consuming items outside lookarounds
 * count, so each run lies at or after the match start.
 */
function requiredRuns(tree: Alternation): ByteSet[][] {
  if (tree.length !== 1) return [];
  // One unit per position: the byte, or 0x100 + the lower-case letter for a case pair.
  const runs: number[][] = [];
  let run: number[] = [];
  const flush = (): void => {
    if (run.length > 0) runs.push(run);
    run = [];
  };
  const walk = (items: readonly Node[]): void => {
    for (const node of items) {
      if (node.kind === 'literal') run.push(...literalUnits(node));
      else if (node.kind === 'group' && node.body.length === 1) walk(node.body[0]!);
      else if (node.kind === 'repeat' && node.min >= 1 && node.body.kind === 'group' && node.body.body.length === 1) {
        // The first iteration follows what came before.
        walk(node.body.body[0]!);
        flush();
      } else if (node.kind === 'repeat' && node.min >= 1 && node.body.kind === 'literal') {
        // The first copy follows what came before, the last one precedes what comes next.
        const units = literalUnits(node.body);
        run.push(...units);
        flush();
        run = units;
      } else {
        flush();
      }
    }
  };
  walk(tree[0]!);
  flush();
  const distinct = new Map<string, number[]>();
  for (const r of runs) distinct.set(String.fromCharCode(...r), r);
  return [...distinct.values()]
    .sort((a, b) => b.length - a.length)
    .slice(0, MAX_REQUIRED_RUNS)
    .map((r) => r.map((unit) => {
      const set = bytesToSet([unit & 0xff]);
      if (unit > 0xff) foldCase(set);
      return set;
    }));
}

function literalUnits(node: Extract<Node, { kind: 'literal' }>): number[] {
  return node.bytes.map((b) => (node.caseless && isAsciiLetter(b) ? 0x100 | b | 0x20 : b));
}

function prefilter(required: readonly (readonly ByteSet[])[]): (subject: ByteString, from: number) => boolean {
  const checks = required.map(runCheck);
  if (checks.length === 0) return () => true;
  return (subject, from) => {
    for (const check of checks) if (!check(subject, from)) return false;
    return true;
  };
}

/** Whether the run occurs at or after `from`: indexOf for exact bytes, a small RegExp for case pairs. */
function runCheck(run: readonly ByteSet[]): (subject: ByteString, from: number) => boolean {
  if (run.every((set) => set.reduce((n, b) => n + b, 0) === 1)) {
    const needle = String.fromCharCode(...run.map((set) => set.indexOf(1)));
    return (subject, from) => subject.indexOf(needle, from) !== -1;
  }
  const re = new RegExp(run.map((set) => setToJs(set, false)).join(''), 'g');
  return (subject, from) => {
    re.lastIndex = from;
    return re.test(subject);
  };
}

// ---------------------------------------------------------------------------------------
// UTF-8 validity, as pcre2_match checks a (*UTF) subject

function isContinuation(code: number): boolean {
  return code >= 0x80 && code <= 0xbf;
}

function isValidUtf8(s: ByteString): boolean {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    let need: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; }
    else return false;
    if (i + need >= n) return false;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const cc = s.charCodeAt(i + k);
      if (!isContinuation(cc)) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += need;
  }
  return true;
}
