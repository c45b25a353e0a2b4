/**
 * OS_Match, Wazuh's plain-substring matcher (rule <match> and most field options, decoder
 * <program_name>, list check_value): `|`-separated alternatives tried in order, `^`/`$`
 * anchoring each one, a leading `!` negating the whole pattern, ASCII case folding.
 * Nothing can be escaped and there are no wildcards.
 */
import { PatternError, type ByteString, type Matcher, type MatchResult } from '../types.js';
import { OS_PATTERN_MAXSIZE, foldSubject, lowerAscii } from './os-regex.js';

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
}

const HAS_UPPER = /[A-Z]/;

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
  if (starts && ends) return { how: WHOLE, text };
  if (alt.length === 0) return { how: ALWAYS, text };
  if (ends) return { how: SUFFIX, text };
  if (starts) return { how: PREFIX, text };
  return { how: caseSensitive && HAS_UPPER.test(alt) ? NEVER : ANYWHERE, text };
}

class OsMatch implements Matcher {
  constructor(
    readonly source: string,
    private readonly alternatives: readonly Alternative[],
    private readonly negate: boolean,
  ) {}

  test(subject: ByteString): boolean {
    return this.exec(subject) !== null;
  }

  exec(subject: ByteString, from = 0): MatchResult | null {
    const start = from > 0 ? from : 0;
    const s = foldSubject(subject);
    for (const alt of this.alternatives) {
      const end = lastMatchedByte(alt, s, start);
      if (end !== undefined) return this.negate ? null : { end, captures: [] };
    }
    return this.negate ? { end: subject.length - 1, captures: [] } : null;
  }
}

/** Index of the last byte of the alternative's match in s (from `start`), or undefined. */
function lastMatchedByte(alt: Alternative, s: string, start: number): number | undefined {
  const { text } = alt;
  const room = s.length - start;
  switch (alt.how) {
    case ANYWHERE: {
      const at = room >= text.length ? s.indexOf(text, start) : -1;
      return at < 0 ? undefined : at + text.length - 1;
    }
    case PREFIX:
      return s.startsWith(text, start) ? start + text.length - 1 : undefined;
    case SUFFIX:
      return room >= text.length && s.endsWith(text) ? s.length - 1 : undefined;
    case WHOLE:
      return room === text.length && s.startsWith(text, start) ? s.length - 1 : undefined;
    case ALWAYS:
      return start - 1;
    default:
      return undefined;
  }
}
