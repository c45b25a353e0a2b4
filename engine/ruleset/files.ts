/**
 * Which decoder, rule and list files Wazuh loads, and in which order (config/rules-config.c
 * Read_Rules, then analysisd's or logtest's loop over the result). Pure: the caller lists
 * the directories (rulesetDirectories says which) and passes what readdir returned.
 *
 * One `<ruleset>` block yields:
 *  - its `<*_include>` paths, in document order;
 *  - then, directory by directory in document order, every entry but `.` and `..` whose
 *    "dir/name" the directory's pattern (OS_Regex, `.xml$` by default, case-insensitive)
 *    accepts, skipping names an exclude matches (by basename or "dir/name") and paths
 *    already taken (so an include and its directory's file count once; the same basename
 *    in two directories is kept twice);
 *  - all of it sorted by basename, bytewise (strcmp), stably: for equal basenames the
 *    include comes first, then the directories in order (glibc's qsort is a stable merge
 *    sort for arrays this small).
 * A later block that yields decoders (rules, lists) replaces what earlier blocks yielded;
 * one that yields none leaves them. analysisd, when no decoder file came out at all, reads
 * the default directories once more (which replaces the rules too if any are found);
 * a logtest session has no such fallback.
 */
import { RulesetLoadError } from '../types.js';
import { asciiLower } from '../xml/os-xml.js';
import {
  DEFAULT_DECODER_DIR, DEFAULT_RULE_DIR, defaultRulesetBlock,
  type AnalysisConf, type RulesetBlock, type RulesetDirectory,
} from './config.js';

export interface RulesetFiles {
  /** Paths relative to the Wazuh home, as Wazuh builds them ("dir/name"). */
  readonly decoders: string[];
  readonly rules: string[];
  readonly lists: string[];
}

/** Tells whether a directory entry's "dir/name" is taken. */
export type PathTest = (path: string) => boolean;

export interface OrderOptions {
  /** analysisd (the default) falls back to the default directories; logtest does not. */
  readonly daemon?: 'analysisd' | 'logtest';
  /**
   * Compiles a directory pattern as OS_Regex; needed only for patterns with `\`, `(` or `)`
   * (the others are literals with `^`, `$` and `|`, handled here). Throw to refuse one.
   */
  readonly compilePattern?: (pattern: string) => PathTest;
}

/** The directories whose listing orderRulesetFiles needs (the defaults included). */
export function rulesetDirectories(conf: AnalysisConf): string[] {
  const dirs = new Set<string>([DEFAULT_DECODER_DIR, DEFAULT_RULE_DIR]);
  for (const block of conf.rulesets) for (const dir of [...block.decoderDirs, ...block.ruleDirs]) dirs.add(dir.path);
  return [...dirs];
}

/**
 * The files to load, in load order. `listing` maps a directory path exactly as
 * configured (e.g. 'ruleset/decoders', 'etc/rules') to the entry names readdir gave; a
 * directory missing from it is one Wazuh could not open, and is skipped as Wazuh does.
 */
export function orderRulesetFiles(
  conf: AnalysisConf,
  listing: ReadonlyMap<string, readonly string[]>,
  options: OrderOptions = {},
): RulesetFiles {
  const context: Context = { file: conf.file, listing, compile: options.compilePattern };
  let decoders: string[] = [];
  let rules: string[] = [];
  let lists: string[] = [];
  const take = (block: RulesetBlock): void => {
    const found = blockFiles(block, context);
    if (found.decoders.length > 0) decoders = found.decoders;
    if (found.rules.length > 0) rules = found.rules;
    if (found.lists.length > 0) lists = found.lists;
  };
  for (const block of conf.rulesets) take(block);
  if ((options.daemon ?? 'analysisd') === 'analysisd' && decoders.length === 0) take(defaultRulesetBlock());
  return { decoders, rules, lists };
}

interface Context {
  readonly file: string;
  readonly listing: ReadonlyMap<string, readonly string[]>;
  readonly compile: ((pattern: string) => PathTest) | undefined;
}

function blockFiles(block: RulesetBlock, context: Context): RulesetFiles {
  return {
    decoders: sortByBasename(collect(block.decoderIncludes, block.decoderDirs, block.decoderExcludes, context)),
    rules: sortByBasename(collect(block.ruleIncludes, block.ruleDirs, block.ruleExcludes, context)),
    lists: [...block.lists],
  };
}

function collect(
  includes: readonly string[],
  dirs: readonly RulesetDirectory[],
  excludes: readonly string[],
  context: Context,
): string[] {
  const files = [...includes];
  const taken = new Set(files);
  const excluded = new Set(excludes);
  for (const dir of dirs) {
    const accepts = compileDirPattern(dir, context);
    for (const name of context.listing.get(dir.path) ?? []) {
      if (name === '.' || name === '..') continue;
      const path = `${dir.path}/${name}`;
      // An exclude or an earlier entry may equal the path or the bare name.
      if (excluded.has(path) || excluded.has(name)) continue;
      if (taken.has(path) || taken.has(name)) continue;
      if (!accepts(path)) continue;
      files.push(path);
      taken.add(path);
    }
  }
  return files;
}

function compileDirPattern(dir: RulesetDirectory, context: Context): PathTest {
  const literal = literalPattern(dir.pattern);
  if (literal !== undefined) return literal;
  const refuse = (reason: string): RulesetLoadError =>
    new RulesetLoadError(context.file, dir.line, 'ruleset', `pattern '${dir.pattern}' of ${dir.path}: ${reason}`);
  if (dir.pattern === '') throw refuse('an empty pattern does not compile');
  if (context.compile === undefined) throw refuse('needs an OS_Regex compiler (pass options.compilePattern)');
  try {
    return context.compile(dir.pattern);
  } catch (cause) {
    throw refuse(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * OS_Regex for a pattern without `\`, `(` or `)`: `|`-separated literals, each with an
 * optional leading `^` and trailing `$`, compared ASCII case-insensitively.
 */
function literalPattern(pattern: string): PathTest | undefined {
  if (pattern === '' || /[\\()]/.test(pattern)) return undefined;
  const alternatives = pattern.split('|').map((alternative) => {
    const start = alternative.startsWith('^');
    const body = alternative.slice(start ? 1 : 0);
    const end = body.endsWith('$');
    return { start, end, literal: asciiLower(end ? body.slice(0, -1) : body) };
  });
  return (path) => {
    const subject = asciiLower(path);
    return alternatives.some(({ start, end, literal }) => {
      if (start && end) return subject === literal;
      if (start) return subject.startsWith(literal);
      if (end) return subject.endsWith(literal);
      return subject.includes(literal);
    });
  };
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** strcmp on the UTF-8 bytes of the basenames; Array#sort is stable. */
function sortByBasename(paths: string[]): string[] {
  const keyed = paths.map((path) => ({ path, key: Buffer.from(basename(path), 'utf8') }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map(({ path }) => path);
}
