/**
 * OS_Match, Wazuh's plain-substring matcher (rule <match> and most field options, decoder
 * <program_name>, list check_value): `|`-separated alternatives tried in order, `^`/`$`
 * anchoring each one, a leading `!` negating the whole pattern, ASCII case folding.
 * Nothing can be escaped and there are no wildcards.
 */
import { PatternError, type ByteString, type Matcher, type MatchResult } from '../types.js';
import { OS_PATTERN_MAXSIZE, foldSubject, foldedAt, lowerAscii, mayHoldPairs, textPairs } from './os-regex.js';

export interface OsMatchOptions {
  /**
   * C OS_CASE_SENSITIVE (analysisd never sets it): letters stay as written, yet the C
   * engine still folds the subject, so an unanchored alternative holding an upper-case
   * letter never matches, while anchored ones compare case-insensitively regardless.
   */
  readonly caseSensitive?: boolean;
}

const ANYWHERE = 0;
const PREFIX = 1;
const SUFFIX = 2;
const WHOLE = 3;
const ALWAYS = 4;
const NEVER = 5;

interface Alternative {
  readonly how: number;
  /** Lower-cased text to look for. */
  readonly text: string;
  /** The text holds a letter: a search anywhere must look at the folded subject. */
  readonly letters: boolean;
  /** The text's folded byte pairs: a subject lacking one needs no search. */
  readonly pairs: Uint16Array;
}

const HAS_UPPER = /[A-Z]/;
const HAS_LOWER = /[a-z]/;

/** Compiles an OS_Match pattern (a ByteString); throws PatternError as OSMatch_Compile fails. */
export function compileOsMatch(pattern: string, options: OsMatchOptions = {}): Matcher {
  if (pattern.length > OS_PATTERN_MAXSIZE) throw new PatternError(pattern, `longer than ${OS_PATTERN_MAXSIZE} bytes`);
  if (pattern.includes('\0')) throw new PatternError(pattern, 'NUL byte in pattern');
  const negate = pattern.startsWith('!');
  const body = negate ? pattern.slice(1) : pattern;
  const alternatives = body.split('|').map((alt) => compileAlternative(alt, options.caseSensitive === true));
  return new OsMatch(pattern, alternatives, negate);
}

function compileAlternative(alt: string, caseSensitive: boolean): Alternative {
  const starts = alt.startsWith('^');
  const ends = alt.endsWith('$');
  const text = lowerAscii(alt.slice(starts ? 1 : 0, ends ? -1 : undefined));
  const letters = HAS_LOWER.test(text);
  const pairs = textPairs(text);
  if (starts && ends) return { how: WHOLE, text, letters, pairs };
  if (alt.length === 0) return { how: ALWAYS, text, letters, pairs };
  if (ends) return { how: SUFFIX, text, letters, pairs };
  if (starts) return { how: PREFIX, text, letters, pairs };
  return { how: caseSensitive && HAS_UPPER.test(alt) ? NEVER : ANYWHERE, text, letters, pairs };
}

class OsMatch implements Matcher {
  constructor(
    readonly source: string,
    private readonly alternatives: readonly Alternative[],
    private readonly negate: boolean,
  ) {}

  /** Only whether some alternative matches: no end index, no result object. */
  test(subject: ByteString): boolean {
    const alternatives = this.alternatives;
    for (let i = 0; i < alternatives.length; i++) {
      if (lastMatchedByte(alternatives[i] as Alternative, subject, 0) !== NONE) return !this.negate;
    }
    return this.negate;
  }

  exec(subject: ByteString, from = 0): MatchResult | null {
    const start = from > 0 ? from : 0;
    for (const alt of this.alternatives) {
      const end = lastMatchedByte(alt, subject, start);
      if (end !== NONE) return this.negate ? null : { end, captures: NO_CAPTURES };
    }
    return this.negate ? { end: subject.length - 1, captures: NO_CAPTURES } : null;
  }
}

/** No alternative matched (every real answer is >= -1). */
const NONE = -2;
const NO_CAPTURES: readonly ByteString[] = Object.freeze([]);

/**
 * Index of the last byte of the alternative's match in the subject (from `start`), or
 * NONE. Anchored alternatives compare folded bytes in place; only a search anywhere for a
 * text holding letters needs the folded subject.
 */
function lastMatchedByte(alt: Alternative, subject: ByteString, start: number): number {
  const { text } = alt;
  const room = subject.length - start;
  switch (alt.how) {
    case ANYWHERE: {
      if (room < text.length || !mayHoldPairs(subject, alt.pairs)) return NONE;
      const at = (alt.letters ? foldSubject(subject) : subject).indexOf(text, start);
      return at < 0 ? NONE : at + text.length - 1;
    }
    case PREFIX:
      return room >= text.length && foldedAt(subject, text, start) ? start + text.length - 1 : NONE;
    case SUFFIX:
      return room >= text.length && foldedAt(subject, text, subject.length - text.length) ? subject.length - 1 : NONE;
    case WHOLE:
      return room === text.length && foldedAt(subject, text, start) ? subject.length - 1 : NONE;
    case ALWAYS:
      return start - 1;
    default:
      return NONE;
  }
}
