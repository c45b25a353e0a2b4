/**
 * The one place rules and decoders compile a pattern, whatever its dialect (Wazuh's
 * w_expression_t): OS_Match, OS_Regex, PCRE2 or an exact string, optionally negated.
 * Compiled expressions are immutable and cached by everything that shapes them, so every
 * session loading the same ruleset shares one compiled pattern.
 */
import type { ByteString, Matcher, MatchResult } from '../types.js';
import { compileOsMatch } from './os-match.js';
import { compileOsRegex } from './os-regex.js';
import { compilePcre2 } from './pcre2.js';

export type ExpressionType = 'osmatch' | 'osregex' | 'pcre2' | 'string';

export interface Expression extends Matcher {
  readonly type: ExpressionType;
  readonly negate: boolean;
}

export interface ExpressionOptions {
  /** The rule attribute negate="yes": test() flips, exec() matches exactly when the pattern does not. */
  readonly negate?: boolean;
  /** OS_Regex/OS_Match OS_CASE_SENSITIVE; PCRE2 and strings are always case-sensitive. */
  readonly caseSensitive?: boolean;
  /**
   * OS_Regex only: record groups (OS_RETURN_SUBSTRING, default true). Wazuh sets it for
   * decoder <regex> alone; rules, <prematch> and <program_name> compile without it.
   */
  readonly captures?: boolean;
}

const cache = new Map<string, Expression>();

/** Compiles (or fetches the shared compilation of) a pattern; throws PatternError. */
export function compileExpression(type: ExpressionType, pattern: string, options: ExpressionOptions = {}): Expression {
  const negate = options.negate === true;
  const caseSensitive = options.caseSensitive === true && (type === 'osregex' || type === 'osmatch');
  const captures = options.captures !== false || type !== 'osregex';
  const key = `${type}:${negate ? 1 : 0}${caseSensitive ? 1 : 0}${captures ? 1 : 0}:${pattern}`;
  let expression = cache.get(key);
  if (expression === undefined) {
    const inner = compileMatcher(type, pattern, caseSensitive, captures);
    expression = negate ? new NegatedExpression(type, inner) : new PlainExpression(type, inner);
    cache.set(key, expression);
  }
  return expression;
}

function compileMatcher(type: ExpressionType, pattern: string, caseSensitive: boolean, captures: boolean): Matcher {
  switch (type) {
    case 'osmatch':
      return compileOsMatch(pattern, { caseSensitive });
    case 'osregex':
      return compileOsRegex(pattern, { caseSensitive, captures });
    case 'pcre2':
      return compilePcre2(pattern);
    case 'string':
      return new ExactString(pattern);
  }
}

/** strcmp equality: what Wazuh uses for <action> unless a type is given. */
class ExactString implements Matcher {
  constructor(readonly source: string) {}

  test(subject: ByteString): boolean {
    return subject === this.source;
  }

  exec(subject: ByteString, from = 0): MatchResult | null {
    const start = from > 0 ? from : 0;
    const same = subject.length - start === this.source.length && subject.startsWith(this.source, start);
    return same ? { end: subject.length - 1, captures: [] } : null;
  }
}

class PlainExpression implements Expression {
  readonly negate = false;
  readonly source: string;

  constructor(readonly type: ExpressionType, private readonly inner: Matcher) {
    this.source = inner.source;
  }

  test(subject: ByteString): boolean {
    return this.inner.test(subject);
  }

  exec(subject: ByteString, from?: number): MatchResult | null {
    return this.inner.exec(subject, from);
  }
}

class NegatedExpression implements Expression {
  readonly negate = true;
  readonly source: string;

  constructor(readonly type: ExpressionType, private readonly inner: Matcher) {
    this.source = inner.source;
  }

  test(subject: ByteString): boolean {
    return !this.inner.test(subject);
  }

  exec(subject: ByteString, from?: number): MatchResult | null {
    const innerMatches = from ? this.inner.exec(subject, from) !== null : this.inner.test(subject);
    return innerMatches ? null : { end: subject.length - 1, captures: [] };
  }
}
