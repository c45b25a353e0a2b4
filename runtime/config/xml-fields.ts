/**
 * What the ossec.conf compilers share: the parsed element shape, where an issue is
 * reported and how issues are collected, and the checks more than one section uses.
 */
import type { ConfigIssue } from './types.js';

/** Where an issue is reported: an element path and the line of its opening tag. */
export interface Position {
  readonly path: string;
  readonly line?: number;
}

export interface XmlElement extends Position {
  readonly name: string;
  readonly line: number;
  /** Direct text content, trimmed; text split by comments is joined. */
  readonly text: string;
  readonly children: readonly XmlElement[];
}

export class Issues {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];

  constructor(private readonly file: string) {}

  error(at: Position, message: string): void {
    this.errors.push(this.issue(at, message));
  }

  warning(at: Position, message: string): void {
    this.warnings.push(this.issue(at, message));
  }

  private issue(at: Position, message: string): ConfigIssue {
    const { file } = this;
    const element = at.path;
    return at.line === undefined ? { file, element, message } : { file, line: at.line, element, message };
  }
}

export function invalidElement(name: string, allowed: readonly string[]): string {
  const hint =
    allowed.length > 0 ? `Allowed elements: ${allowed.join(', ')}` : 'This element takes a value, not elements';
  return `Invalid element in the configuration: '${name}'. ${hint}`;
}

export function rejectChildren(el: XmlElement, issues: Issues): void {
  for (const child of el.children) issues.error(child, invalidElement(child.name, []));
}

/** 0 turns the limit off; more than a million is a typo. */
export const MAX_HANDSHAKES_PER_SOURCE = 1_000_000;

/** `<handshakes_per_source>` of `<cluster>`, `<auth>` or `<remote>`. */
export function checkHandshakesPerSource(text: string, at: Position, issues: Issues): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (n >= 0 && n <= MAX_HANDSHAKES_PER_SOURCE) return n;
  issues.error(at, `Invalid handshakes_per_source '${text}': expected 0 (no limit) to ${MAX_HANDSHAKES_PER_SOURCE}`);
  return 0;
}
