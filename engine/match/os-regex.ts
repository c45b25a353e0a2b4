/**
 * OS_Regex, Wazuh's home-grown matcher (the default for decoder <prematch>/<regex> and
 * rule <regex>/<field>), reproduced byte for byte with its quirks: lazy classes with only
 * four saved backtrack points, alternatives tried one after another over the whole
 * subject, and the C engine's peculiar end pointer and capture positions.
 *
 * The pattern compiles to one token program per `|` alternative; matching walks the
 * program over the subject's bytes (a ByteString) with 256-entry class tables and no
 * allocation per byte.
 */
import { PatternError, type ByteString, type Matcher, type MatchResult } from '../types.js';

export interface OsRegexOptions {
  /** Keep literal letters as written (C OS_CASE_SENSITIVE; analysisd never sets it). */
  readonly caseSensitive?: boolean;
  /**
   * Record group positions (C OS_RETURN_SUBSTRING, default true). Decoder <regex> uses
   * it; rule expressions, <prematch> and <program_name> compile without it, and for a
   * pattern holding groups that changes the end-of-subject check (see `closesAtEnd`).
   */
  readonly captures?: boolean;
}

/** Longest pattern the C compiler accepts (OS_PATTERN_MAXSIZE). */
export const OS_PATTERN_MAXSIZE = 20480;

const LITERAL = 0;
const CLASS = 1;
const MARK = 2;
/** Sentinel after the last token: the C pattern's terminating NUL. */
const END = 3;

const ONCE = 0;
const PLUS = 1;
const STAR = 2;

/** A group parenthesis takes part in comparisons as the byte '(' when two are adjacent. */
const MARK_BYTE = 0x28;
/** The END sentinel's comparison value: equal to no subject byte. */
const NO_BYTE = 0xffff;
const NO_MATCH = -2;
const SAVE_POINTS = 4;

/** ASCII-only lower-casing, as the C charmap does (bytes >= 0x80 are left alone). */
const LOWER = new Uint8Array(256);
for (let b = 0; b < 256; b++) LOWER[b] = b >= 0x41 && b <= 0x5a ? b + 0x20 : b;

const HAS_UPPER = /[A-Z]/;
/** Latin-1 capitals: String#toLowerCase folds them, the C charmap does not. */
const HAS_LATIN_UPPER = /[\xC0-\xDE]/;
const UPPER_RUN = /[A-Z]+/g;

/** ASCII-only lower-casing of a text, as the C charmap folds bytes. */
export function lowerAscii(s: string): string {
  if (!HAS_UPPER.test(s)) return s;
  if (!HAS_LATIN_UPPER.test(s)) return s.toLowerCase();
  return s.replace(UPPER_RUN, (run) => run.toLowerCase());
}

/** The last subject folded: rules try many patterns on the same log in a row. */
let foldedFrom: string | undefined;
let folded = '';

/** lowerAscii(s), remembered for the last subject. */
export function foldSubject(s: ByteString): string {
  if (s !== foldedFrom) {
    folded = lowerAscii(s);
    foldedFrom = s;
  }
  return folded;
}

/**
 * The byte pairs of one subject, folded: many patterns search the same log in a row, and a
 * text holding a pair the log lacks needs no search. pairStamp[pair] === stampGen marks
 * the pairs of `pairsOf`; a subject is stamped once it is asked about a second time.
 */
const pairStamp = new Uint32Array(0x10000);
let stampGen = 0;
let pairsOf: string | undefined;
/** pairsOf holds a code unit above 0xff: its pairs were not taken, nothing is ruled out. */
let pairsUnknown = false;
let askedOf: string | undefined;
/** Shorter subjects are searched outright. */
const PAIRS_FROM_LENGTH = 48;

/** The distinct folded byte pairs of a folded text (none if it holds a code unit above 0xff). */
export function textPairs(text: string): Uint16Array {
  const pairs = new Set<number>();
  for (let i = 0; i + 1 < text.length; i++) {
    const a = text.charCodeAt(i);
    const b = text.charCodeAt(i + 1);
    if (a > 0xff || b > 0xff) return new Uint16Array(0);
    pairs.add(((LOWER[a] as number) << 8) | (LOWER[b] as number));
  }
  return Uint16Array.from(pairs);
}

/** False only when the folded subject surely lacks one of the pairs (so it cannot hold their text). */
export function mayHoldPairs(s: ByteString, pairs: Uint16Array): boolean {
  if (pairs.length === 0) return true;
  if (s !== pairsOf) {
    if (s.length < PAIRS_FROM_LENGTH) return true;
    if (s !== askedOf) {
      askedOf = s;
      return true;
    }
    stampPairs(s);
  }
  if (pairsUnknown) return true;
  for (let i = 0; i < pairs.length; i++) if (pairStamp[pairs[i] as number] !== stampGen) return false;
  return true;
}

function stampPairs(s: ByteString): void {
  pairsOf = s;
  pairsUnknown = false;
  if (++stampGen === 0x100000000) {
    pairStamp.fill(0);
    stampGen = 1;
  }
  let prev = s.charCodeAt(0);
  if (prev > 0xff) {
    pairsUnknown = true;
    return;
  }
  prev = LOWER[prev] as number;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) {
      pairsUnknown = true;
      return;
    }
    const folded = LOWER[c] as number;
    pairStamp[(prev << 8) | folded] = stampGen;
    prev = folded;
  }
}

/** Whether the subject, ASCII-folded, holds the (folded) text at index at; at + text.length <= subject.length. */
export function foldedAt(subject: ByteString, text: string, at: number): boolean {
  for (let j = 0; j < text.length; j++) {
    let c = subject.charCodeAt(at + j);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== text.charCodeAt(j)) return false;
  }
  return true;
}

const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const isWord = (b: number): boolean =>
  isDigit(b) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x40 || b === 0x5f;
const isPunct = (b: number): boolean =>
  (b >= 0x21 && b <= 0x2e) || (b >= 0x3a && b <= 0x3f) || b === 0x5b || b === 0x5d || (b >= 0x7b && b <= 0x7d);

/** Escape letter -> class id and the bytes it accepts (the C regexmap rows). */
const ESCAPES: readonly (readonly [string, (b: number) => boolean])[] = [
  ['d', isDigit],
  ['w', isWord],
  ['s', (b) => b === 0x20],
  ['p', isPunct],
  ['(', (b) => b === 0x28],
  [')', (b) => b === 0x29],
  ['\\', (b) => b === 0x5c],
  ['D', (b) => !isDigit(b)],
  ['W', (b) => !isWord(b)],
  ['S', (b) => b !== 0x20],
  ['.', () => true],
  ['t', (b) => b === 0x09],
  ['$', (b) => b === 0x24],
  ['|', (b) => b === 0x7c],
  ['<', (b) => b === 0x3c],
];

/** All class tables in one block: class id k accepts byte b when TABLES[k * 256 + b] is 1. */
const TABLES = new Uint8Array(ESCAPES.length * 256);
const CLASS_OF_ESCAPE = new Map<string, number>();
ESCAPES.forEach(([letter, accepts], id) => {
  CLASS_OF_ESCAPE.set(letter, id);
  for (let b = 0; b < 256; b++) TABLES[id * 256 + b] = accepts(b) ? 1 : 0;
});

/** One `|` alternative compiled to parallel token arrays, closed by an END token. */
interface Branch {
  readonly kind: Uint8Array;
  /** Literal byte (lower-cased unless case-sensitive), class table offset, or '(' for a mark. */
  readonly arg: Uint16Array;
  readonly quant: Uint8Array;
  /**
   * For a class: the C engine's look-ahead two or three bytes on reaches the end of the
   * pattern (it decides whether a failing class still ends the match).
   */
  readonly nearEnd: Uint8Array;
  /** For a mark: its position among the branch's marks (open/close alternate). */
  readonly slot: Uint16Array;
  readonly marks: number;
  readonly anchoredStart: boolean;
  readonly anchoredEnd: boolean;
  /**
   * The subject bytes an unanchored branch can start with when it opens with a literal
   * ('' for a letter's other case), for skipping ahead; null when any byte may start it.
   */
  readonly lead: readonly [string, string] | null;
  /** The branch's text when it is literals only: then it is a plain (folded) string search. */
  readonly literal: string | null;
  /** literal holds a letter: searching it anywhere needs the folded subject. */
  readonly literalLetters: boolean;
  /** literal's folded byte pairs (see mayHoldPairs). */
  readonly literalPairs: Uint16Array;
  /**
   * Texts every match must hold at or after its start (see requiredTexts), most telling
   * first; empty when the check would not pay (a branch anchored on a literal fails fast).
   */
  readonly required: readonly Needle[];
}

/** A text any match consumes, and what the byte before it must be when the match has one there. */
interface Needle {
  readonly text: string;
  /** The text holds a letter: it is looked for in the folded subject. */
  readonly letters: boolean;
  /** The text's folded byte pairs (see mayHoldPairs). */
  readonly pairs: Uint16Array;
  /**
   * Bytes that may come right before the text inside a match (1 = allowed), when a token
   * that consumes a byte precedes it; null when the text may open the match.
   */
  readonly before: Uint8Array | null;
}

interface Token {
  kind: number;
  arg: number;
  quant: number;
}

/** Compiles an OS_Regex pattern (a ByteString); throws PatternError as OSRegex_Compile fails. */
export function compileOsRegex(pattern: string, options: OsRegexOptions = {}): Matcher {
  return new OsRegex(pattern, parse(pattern, options.caseSensitive === true), options.captures !== false);
}

function parse(pattern: string, caseSensitive: boolean): Branch[] {
  const refuse = (reason: string): PatternError => new PatternError(pattern, reason);
  if (pattern.length === 0) throw refuse('empty pattern');
  if (pattern.length > OS_PATTERN_MAXSIZE) throw refuse(`longer than ${OS_PATTERN_MAXSIZE} bytes`);
  const branches: Branch[] = [];
  let tokens: Token[] = [];
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern.charCodeAt(i);
    if (ch === 0) throw refuse(`NUL byte at offset ${i}`);
    if (ch === 0x5c) {
      const letter = pattern[i + 1];
      if (letter === undefined) throw refuse('pattern ends with a lone backslash');
      const id = CLASS_OF_ESCAPE.get(letter);
      if (id === undefined) throw refuse(`unknown escape '\\${letter}' at offset ${i}`);
      i++;
      const next = pattern.charCodeAt(i + 1);
      const quant = next === 0x2b ? PLUS : next === 0x2a ? STAR : ONCE;
      if (quant !== ONCE) i++;
      tokens.push({ kind: CLASS, arg: id * 256, quant });
    } else if (ch === 0x28 || ch === 0x29) {
      depth += ch === 0x28 ? 1 : -1;
      if (depth > 1) throw refuse(`nested group at offset ${i}`);
      if (depth < 0) throw refuse(`')' without '(' at offset ${i}`);
      tokens.push({ kind: MARK, arg: MARK_BYTE, quant: ONCE });
    } else if (ch === 0x7c) {
      if (depth !== 0) throw refuse(`'|' inside a group at offset ${i}`);
      branches.push(buildBranch(tokens));
      tokens = [];
    } else {
      tokens.push({ kind: LITERAL, arg: caseSensitive || ch > 0xff ? ch : (LOWER[ch] as number), quant: ONCE });
    }
  }
  if (depth !== 0) throw refuse('unclosed group');
  branches.push(buildBranch(tokens));
  return branches;
}

/** Strips the `^`/`$` anchors (first/last byte of the alternative) and lays the tokens out. */
function buildBranch(tokens: Token[]): Branch {
  const isLiteral = (t: Token | undefined, byte: number): boolean => t?.kind === LITERAL && t.arg === byte;
  const anchoredStart = isLiteral(tokens[0], 0x5e);
  if (anchoredStart) tokens = tokens.slice(1);
  const anchoredEnd = isLiteral(tokens[tokens.length - 1], 0x24);
  if (anchoredEnd) tokens = tokens.slice(0, -1);

  const size = tokens.length + 1;
  const kind = new Uint8Array(size).fill(END, tokens.length);
  const arg = new Uint16Array(size).fill(NO_BYTE, tokens.length);
  const quant = new Uint8Array(size);
  const nearEnd = new Uint8Array(size);
  const slot = new Uint16Array(size);
  let marks = 0;
  tokens.forEach((t, i) => {
    kind[i] = t.kind;
    arg[i] = t.arg;
    quant[i] = t.quant;
    if (t.kind === MARK) slot[i] = marks++;
    if (t.kind === CLASS) nearEnd[i] = reachesEnd(tokens, i) ? 1 : 0;
  });
  // An opening group mark only records where each attempt starts, so look past it.
  const opener = tokens[0]?.kind === MARK ? tokens[1] : tokens[0];
  const lead = !anchoredStart && opener?.kind === LITERAL ? leadBytes(opener.arg) : null;
  const literal =
    tokens.length > 0 && tokens.every((t) => t.kind === LITERAL) ? String.fromCharCode(...tokens.map((t) => t.arg)) : null;
  const required = literal !== null || (anchoredStart && opener?.kind === LITERAL) ? [] : requiredTexts(tokens);
  return {
    kind, arg, quant, nearEnd, slot, marks, anchoredStart, anchoredEnd, lead, literal,
    literalLetters: literal !== null && HAS_LETTER.test(literal),
    literalPairs: textPairs(literal ?? ''),
    required,
  };
}

/** Most required texts a branch checks before it runs. */
const MAX_REQUIRED = 3;
/** An ASCII letter: a text holding one is looked for in the folded subject (where an upper-case one never is). */
const HAS_LETTER = /[A-Za-z]/;

/**
 * The runs of literals (a lone group mark may sit between them) that any match consumes as
 * consecutive subject bytes at or after its start, each with the bytes that may precede
 * it. The matcher walks the tokens over consecutive bytes (a run class takes zero or more,
 * a '+' one included: a stale run state can step over it; single classes and literals
 * take one), only moves past a literal by matching it against the next byte, and ends
 * early without one only in two ways, neither of which skips a literal but the last
 * token: the subject running out (only classes may then remain) and a failing single
 * class just before a final token (the C look-ahead, `nearEnd`). So a subject without
 * an occurrence of such a text, preceded by an allowed byte, cannot match.
 */
function requiredTexts(tokens: readonly Token[]): Needle[] {
  const last = tokens.length - 1;
  // The C look-ahead can end a match on a failing single class just before a final literal.
  const skippable = last > 0 && tokens[last]!.kind === LITERAL && tokens[last - 1]!.kind === CLASS && tokens[last - 1]!.quant === ONCE;
  const needles: Needle[] = [];
  let run = '';
  let start = 0;
  tokens.forEach((t, i) => {
    // A lone mark is stepped over; the second of two adjacent marks takes a '(' byte.
    const transparent = t.kind === MARK && tokens[i - 1]?.kind !== MARK;
    if (t.kind === LITERAL && !(skippable && i === last)) {
      if (run === '') start = i;
      run += String.fromCharCode(t.arg);
    } else if (!transparent) {
      if (run !== '') needles.push(needle(run, bytesBefore(tokens, start)));
      run = '';
    }
  });
  if (run !== '') needles.push(needle(run, bytesBefore(tokens, start)));
  needles.sort((a, b) => telling(b) - telling(a));
  const kept: Needle[] = [];
  for (const n of needles) {
    if (kept.length === MAX_REQUIRED) break;
    const implied = kept.some((k) => k.text.includes(n.text) && (n.before === null || (k.text === n.text && sameBytes(k.before, n.before))));
    if (!implied) kept.push(n);
  }
  return kept;
}

function needle(text: string, before: Uint8Array | null): Needle {
  return { text, letters: HAS_LETTER.test(text), pairs: textPairs(text), before };
}

/**
 * The bytes the tokens before index i may leave right before it: those of every run class
 * back to the nearest single class or literal, included. Null when only run classes (or
 * nothing) precede it, or when two adjacent marks make the reading uncertain.
 */
function bytesBefore(tokens: readonly Token[], i: number): Uint8Array | null {
  const allowed = new Uint8Array(256);
  for (let k = i - 1; k >= 0; k--) {
    const t = tokens[k] as Token;
    if (t.kind === MARK) {
      if (tokens[k - 1]?.kind === MARK || tokens[k + 1]?.kind === MARK) return null;
      continue;
    }
    if (t.kind === LITERAL) {
      for (let b = 0; b < 256; b++) if (LOWER[b] === t.arg) allowed[b] = 1;
      return allowed;
    }
    for (let b = 0; b < 256; b++) if (TABLES[t.arg + b] === 1) allowed[b] = 1;
    if (t.quant === ONCE) return allowed;
  }
  return null;
}

/** How much a needle is likely to rule out: its length, rare bytes and a narrow predecessor set. */
function telling(n: Needle): number {
  let score = 0;
  for (let i = 0; i < n.text.length; i++) score += COMMON_BYTES.includes(n.text[i] as string) ? 2 : 5;
  if (n.before !== null) score += n.before.reduce((sum, b) => sum + b, 0) <= 16 ? 3 : 1;
  return score;
}

/** Bytes found in most logs: a needle made of them rules little out. */
const COMMON_BYTES = ' :.-/=",0123456789abcdefghijklmnopqrstuvwxyz';

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  for (let i = 0; i < 256; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The subject bytes that fold to literal byte b (an upper-case literal is met by none). */
function leadBytes(b: number): readonly [string, string] {
  if (b >= 0x61 && b <= 0x7a) return [String.fromCharCode(b), String.fromCharCode(b - 0x20)];
  if (b >= 0x41 && b <= 0x5a) return ['', ''];
  return [String.fromCharCode(b), ''];
}

/**
 * Whether the byte two or three places after class token i is the pattern's end in the C
 * layout (a class is '\' + code [+ quantifier]; literals and marks are one byte).
 */
function reachesEnd(tokens: Token[], i: number): boolean {
  const last = tokens.length - 1;
  if ((tokens[i] as Token).quant !== ONCE) return i === last;
  if (i === last) return true;
  return i + 1 === last && (tokens[i + 1] as Token).kind !== CLASS;
}

/** Scratch state shared by all runs: matching is synchronous and never re-entered. */
const savedToken = new Int32Array(SAVE_POINTS);
const savedByte = new Int32Array(SAVE_POINTS);
let groupAt = new Int32Array(16);
/** Lead-byte search state of the current run: next known positions (-2 unknown, -1 none). */
let nextLeadA = -2;
let nextLeadB = -2;
let nulAt = -2;

class OsRegex implements Matcher {
  /** Captures are recorded, and the end check skips trailing starred classes first. */
  private readonly recording: boolean;

  constructor(readonly source: string, private readonly branches: readonly Branch[], captures: boolean) {
    this.recording = captures && branches.some((b) => b.marks > 0);
    const most = branches.reduce((m, b) => Math.max(m, b.marks), 0);
    if (most > groupAt.length) groupAt = new Int32Array(most);
  }

  test(subject: ByteString): boolean {
    for (let i = 0; i < this.branches.length; i++) {
      const branch = this.branches[i] as Branch;
      if (this.recording) clearGroups(branch.marks);
      if (attempt(branch, subject, 0, this.recording) !== NO_MATCH) return !this.recording || groupsValid(branch.marks);
    }
    return false;
  }

  exec(subject: ByteString, from = 0): MatchResult | null {
    const start = from > 0 ? from : 0;
    for (let i = 0; i < this.branches.length; i++) {
      const branch = this.branches[i] as Branch;
      if (this.recording) clearGroups(branch.marks);
      const end = attempt(branch, subject, start, this.recording);
      if (end === NO_MATCH) continue;
      if (!this.recording) return { end, captures: NO_CAPTURES };
      return groupsValid(branch.marks) ? { end, captures: groupTexts(subject, branch.marks) } : null;
    }
    return null;
  }
}

const NO_CAPTURES: readonly ByteString[] = Object.freeze([]);

function clearGroups(marks: number): void {
  for (let k = 0; k < marks; k++) groupAt[k] = -1;
}

/**
 * Groups are read pairwise up to the first one whose open or close was never reached. A
 * close left by an abandoned attempt can precede the final open (dovecot's " (\S*)$" on a
 * log ending in a space): the C copy then gets a negative length, and its failed
 * allocation voids the whole match (at exactly -1 the C code overruns and crashes
 * instead); either way there is no match to report.
 */
function groupsValid(marks: number): boolean {
  for (let k = 0; k + 1 < marks; k += 2) {
    const open = groupAt[k] as number;
    const close = groupAt[k + 1] as number;
    if (open < 0 || close < 0) return true;
    if (close < open) return false;
  }
  return true;
}

function groupTexts(subject: ByteString, marks: number): ByteString[] {
  const out: ByteString[] = [];
  for (let k = 0; k + 1 < marks; k += 2) {
    const open = groupAt[k] as number;
    const close = groupAt[k + 1] as number;
    if (open < 0 || close < 0) break;
    out.push(subject.slice(open, close));
  }
  return out;
}

/**
 * First index >= at where the branch can start (or where the subject ends: its length
 * or its first NUL, the C terminator). Skipping to it is exact: a start that fails on the
 * opening literal only resets the branch, and no state survives a reset but the position.
 */
function nextStart(lead: readonly [string, string], s: ByteString, at: number): number {
  if (nextLeadA !== -1 && nextLeadA < at) nextLeadA = lead[0] === '' ? -1 : s.indexOf(lead[0], at);
  if (nextLeadB !== -1 && nextLeadB < at) nextLeadB = lead[1] === '' ? -1 : s.indexOf(lead[1], at);
  let next = s.length;
  if (nextLeadA >= 0) next = nextLeadA;
  if (nextLeadB >= 0 && nextLeadB < next) next = nextLeadB;
  if (next > at) {
    if (nulAt === -2) nulAt = s.indexOf('\0', at);
    if (nulAt >= at && nulAt < next) next = nulAt;
  }
  return next;
}

function attempt(b: Branch, s: ByteString, from: number, record: boolean): number {
  if (b.literal !== null) return findLiteral(b, b.literal, s, from);
  const required = b.required;
  for (let k = 0; k < required.length; k++) if (!holdsNeedle(required[k] as Needle, s, from)) return NO_MATCH;
  return run(b, s, from, record);
}

/** Whether the text occurs at or after `from` with an allowed byte (at or after `from`) before it. */
function holdsNeedle(n: Needle, s: ByteString, from: number): boolean {
  if (!mayHoldPairs(s, n.pairs)) return false;
  const within = n.letters ? foldSubject(s) : s;
  let at = within.indexOf(n.text, from);
  const before = n.before;
  if (before === null) return at >= 0;
  while (at >= 0) {
    if (at > from) {
      const c = s.charCodeAt(at - 1);
      if (c > 0xff || before[c] === 1) return true;
    }
    at = within.indexOf(n.text, at + 1);
  }
  return false;
}

/**
 * A literals-only branch as the C engine runs it: the first occurrence (the engine restarts
 * one byte after each failed start), at the start for '^', at the end for '$'; the end
 * pointer is its last byte. The subject stops at its first NUL, as a C string does.
 */
function findLiteral(b: Branch, text: string, s: ByteString, from: number): number {
  let at: number;
  if (b.anchoredEnd) {
    const nul = s.indexOf('\0', from);
    const limit = nul < 0 ? s.length : nul;
    at = limit - text.length;
    if (at < from || (b.anchoredStart && at !== from) || !foldedAt(s, text, at)) return NO_MATCH;
  } else if (b.anchoredStart) {
    // The text holds no NUL, so matching it in place also rules one out.
    if (from + text.length > s.length || !foldedAt(s, text, from)) return NO_MATCH;
    at = from;
  } else {
    if (!mayHoldPairs(s, b.literalPairs)) return NO_MATCH;
    at = (b.literalLetters ? foldSubject(s) : s).indexOf(text, from);
    if (at < 0) return NO_MATCH;
    const nul = s.indexOf('\0', from);
    if (nul >= 0 && nul < at) return NO_MATCH;
  }
  return at + text.length - 1;
}

/**
 * Matches one alternative from `from`; returns the C end pointer's index or NO_MATCH.
 * `end` may be from - 1: a zero-width `*` at the first byte points before the subject.
 */
function run(b: Branch, s: ByteString, from: number, record: boolean): number {
  const { kind, arg, quant, slot, nearEnd, anchoredStart, anchoredEnd, lead } = b;
  const n = s.length;
  let pt = 0;
  let st = from;
  if (lead !== null) {
    nextLeadA = nextLeadB = nulAt = -2;
    st = nextStart(lead, s, from);
  }
  let end = from;
  let inRun = false;
  let retryAt = -1;
  let saved = 0;
  for (; st < n; st++) {
    const c = s.charCodeAt(st);
    if (c === 0) break;
    // At the pattern's end the match is over (unless '$' wants the subject's end too); a
    // group mark records the position and is stepped over, once.
    let k = kind[pt];
    if (k === END) {
      if (!anchoredEnd) return end;
    } else if (k === MARK) {
      if (record) groupAt[slot[pt] as number] = st;
      k = kind[++pt];
      if (k === END && !anchoredEnd) return end;
    }

    if (k === CLASS) {
      if (TABLES[(arg[pt] as number) + c] === 1) {
        if (quant[pt] === ONCE) {
          pt++;
          if (retryAt < 0) retryAt = st;
          end = st;
          continue;
        }
        if (quant[pt] === STAR) inRun = true;
        if (!inRun) {
          // First byte of a '+' run: stay on the class; a group closing right after it opens here.
          if (record && kind[pt + 1] === MARK) {
            groupAt[slot[pt + 1] as number] = st + 1 < n && s.charCodeAt(st + 1) !== 0 ? st : st + 1;
          }
          inRun = true;
          end = st;
          continue;
        }
        // Inside a run: peek at the token after it (past one group mark) and jump there lazily.
        let next = pt + 1;
        const overMark = kind[next] === MARK;
        if (overMark) next++;
        const table = arg[pt] as number;
        const after = kind[next];
        if (after === END) {
          // The run closes the pattern: it takes every byte the class accepts.
          while (st + 1 < n) {
            const d = s.charCodeAt(st + 1);
            if (d === 0 || TABLES[table + d] !== 1) break;
            st++;
          }
          if (record && overMark) groupAt[slot[next - 1] as number] = st + 1;
          continue;
        }
        const peek = arg[next] as number;
        let advance = -1;
        if (after === CLASS) {
          if (TABLES[peek + c] === 1) advance = quant[next] === ONCE ? 1 : 0;
        } else if (peek === LOWER[c]) {
          inRun = false;
          advance = 1;
        }
        if (advance < 0) {
          // The run goes on over every byte the class accepts and the next token refuses.
          while (st + 1 < n) {
            const d = s.charCodeAt(st + 1);
            if (d === 0 || TABLES[table + d] !== 1) break;
            if (after === CLASS ? TABLES[peek + d] === 1 : LOWER[d] === peek) break;
            st++;
          }
          end = st;
          continue;
        }
        if (record && overMark) groupAt[slot[next - 1] as number] = st;
        if (saved < SAVE_POINTS) {
          savedToken[saved] = pt;
          savedByte[saved] = st;
          saved++;
        }
        pt = next + advance;
        end = st;
        continue;
      }
      if (nearEnd[pt] === 1 && inRun && end !== NO_MATCH) {
        end = st;
        if (!anchoredEnd) return end;
      } else if (quant[pt] === PLUS && inRun) {
        pt++;
        st--;
        inRun = false;
        continue;
      } else if (quant[pt] === STAR) {
        pt++;
        st--;
        end = st;
        inRun = false;
        continue;
      }
      inRun = false;
    } else if (arg[pt] === LOWER[c]) {
      pt++;
      if (retryAt < 0) retryAt = st;
      end = st;
      continue;
    }

    // Mismatch: resume from the newest saved point, or restart the alternative further on.
    if (saved > 0) {
      saved--;
      pt = savedToken[saved] as number;
      st = savedByte[saved] as number;
      continue;
    }
    if (anchoredStart) return NO_MATCH;
    if (retryAt >= 0) {
      st = retryAt;
      retryAt = -1;
    }
    pt = 0;
    end = NO_MATCH;
    if (lead !== null) st = nextStart(lead, s, st + 1) - 1;
  }
  if (record) {
    while (kind[pt] === CLASS && quant[pt] === STAR) pt++;
    if (kind[pt] === MARK) groupAt[slot[pt] as number] = st;
  }
  return closesAtEnd(b, pt, inRun) ? end : NO_MATCH;
}

/**
 * The C engine's verdict once the subject is exhausted at token pt: the rest of the
 * pattern must be empty, or one still-running class (plus an optional starred class), or a
 * starred class; each check may step over one group mark. The checks run in sequence and
 * each leaves its position for the next, as the C expression's side effects do.
 */
function closesAtEnd(b: Branch, pt: number, inRun: boolean): boolean {
  const { kind, quant } = b;
  const overMark = (p: number): number => (kind[p] === MARK ? p + 1 : p);
  pt = overMark(pt);
  if (kind[pt] === END) return true;
  let onQuantifier = false;
  if (kind[pt] === CLASS && inRun) {
    if (quant[pt] === ONCE) {
      pt++;
    } else {
      pt = overMark(pt + 1);
      if (kind[pt] === END) return true;
      if (kind[pt] === CLASS) {
        if (quant[pt] === STAR) {
          pt = overMark(pt + 1);
          if (kind[pt] === END) return true;
        } else if (quant[pt] === PLUS) {
          onQuantifier = true;
        } else {
          pt++;
        }
      }
    }
  }
  return !onQuantifier && kind[pt] === CLASS && quant[pt] === STAR && kind[overMark(pt + 1)] === END;
}
