/**
 * Wazuh's ruleset test files (`testing/tests/*.ini`) read the way its runner reads them:
 * Python's RawConfigParser with a dict that merges repeated keys, so a key written
 * three times is one value of three lines (one run feeding three events through one
 * session) and a repeated section merges into the first. Keys are lowercased and end at
 * the first `=` or `:`; whole-line `;`/`#` comments; no inline comments.
 */

/** One `log N pass|fail` key of a section: the events of one logtest session. */
export interface SuiteRun {
  readonly file: string;
  readonly section: string;
  readonly name: string;
  readonly events: readonly string[];
  /** A "fail" run succeeds unless the engine produces exactly the expected triple. */
  readonly negate: boolean;
  readonly expected: { readonly rule: string; readonly level: string; readonly decoder: string };
}

type Section = Map<string, string[]>;

/** Sections of an ini text in order; a repeated section or key extends the first. */
export function parseIni(text: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  let lastValue: string[] | undefined;
  let keyIndent = 0;
  for (const raw of text.split(/\r?\n/)) {
    const indent = raw.length - raw.trimStart().length;
    const line = raw.trim();
    if (line === '' ) { lastValue = undefined; continue; }
    if (line.startsWith('#') || line.startsWith(';')) continue;
    if (lastValue !== undefined && indent > keyIndent) { lastValue.push(line); continue; }
    const header = /^\[(.*)\]$/.exec(line);
    if (header) {
      const name = header[1] ?? '';
      current = sections.get(name) ?? new Map<string, string[]>();
      sections.set(name, current);
      lastValue = undefined;
      continue;
    }
    if (current === undefined) continue;
    const cut = firstDelimiter(line);
    if (cut < 0) continue;
    const key = line.slice(0, cut).trim().toLowerCase();
    const value = line.slice(cut + 1).trim();
    const values = current.get(key);
    if (values) values.push(value);
    else current.set(key, [value]);
    lastValue = current.get(key);
    keyIndent = indent;
  }
  return sections;
}

function firstDelimiter(line: string): number {
  const eq = line.indexOf('=');
  const colon = line.indexOf(':');
  if (eq < 0) return colon;
  if (colon < 0) return eq;
  return Math.min(eq, colon);
}

/** The runs of one test file, in file order. */
export function suiteRuns(file: string, text: string): SuiteRun[] {
  const runs: SuiteRun[] = [];
  for (const [section, keys] of parseIni(text)) {
    const expected = {
      rule: (keys.get('rule') ?? []).join('\n'),
      level: (keys.get('alert') ?? []).join('\n'),
      decoder: (keys.get('decoder') ?? []).join('\n'),
    };
    for (const [name, values] of keys) {
      if (!name.startsWith('log ')) continue;
      const events = values.join('\n').split('\n').filter((e) => e !== '');
      runs.push({ file, section, name, events, negate: name.endsWith('fail'), expected });
    }
  }
  return runs;
}

/** The last event's outcome as wazuh-logtest -U records it ('' where absent). */
export type Triple = readonly [rule: string, level: string, decoder: string];

/**
 * wazuh-logtest -U exits with the number of empty expected fields when the last triple
 * equals the expected one, else 1; a pass run needs exit 0, a fail run any other.
 */
export function runSucceeds(run: SuiteRun, last: Triple | undefined): boolean {
  const want: Triple = [run.expected.rule, run.expected.level, run.expected.decoder];
  const equal = last !== undefined && want.every((v, i) => v === last[i]);
  const exitCode = equal ? want.filter((v) => v === '').length : 1;
  return run.negate ? exitCode !== 0 : exitCode === 0;
}
