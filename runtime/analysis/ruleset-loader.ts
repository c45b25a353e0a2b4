/**
 * Reads a node's ruleset from disk the way Wazuh does (etc/ossec.conf's `<ruleset>`,
 * directories listed, files in load order, declared CDB lists) and compiles it with the
 * pure engine. The compiled ruleset is immutable, so it is reused while no file it came
 * from changed: that keeps a new logtest session cheap and still sees new rule files.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { compileRuleset, type Ruleset, type RulesetFile } from '../../engine/engine.js';
import { compileOsRegex } from '../../engine/match/os-regex.js';
import { readAnalysisConf, type AnalysisConf } from '../../engine/ruleset/config.js';
import { orderRulesetFiles, rulesetDirectories, type RulesetFiles } from '../../engine/ruleset/files.js';
import { guardRegExpBacktracking } from './regexp-guard.js';

export type RulesetReader = 'analysisd' | 'logtest';

export interface LoadedRuleset {
  readonly conf: AnalysisConf;
  readonly files: RulesetFiles;
  readonly ruleset: Ruleset;
}

/** Where a relative ruleset path lives: Wazuh paths are relative to the home. */
const inHome = (home: string, p: string): string => path.resolve(home, p);

/** Loads and caches one home's ruleset; throws RulesetLoadError or the fs error that stopped it. */
export class RulesetLoader {
  /** The last compile, good or bad: unchanged files give the same ruleset, or the same error. */
  private cached: { signature: string; outcome: { loaded: LoadedRuleset } | { error: unknown } } | null = null;

  constructor(readonly home: string) {
    guardRegExpBacktracking();
  }

  async load(reader: RulesetReader): Promise<LoadedRuleset> {
    const confText = await fs.readFile(inHome(this.home, 'etc/ossec.conf'), 'latin1');
    const conf = readAnalysisConf(confText, 'etc/ossec.conf');
    const files = orderRulesetFiles(conf, await this.listings(rulesetDirectories(conf)), {
      daemon: reader,
      compilePattern: (pattern) => {
        const matcher = compileOsRegex(pattern);
        return (p) => matcher.test(p);
      },
    });
    const all = [...files.decoders, ...files.rules, ...files.lists];
    const signature = `${reader}\n${confText}\n${(await Promise.all(all.map((f) => this.stamp(f)))).join('\n')}`;
    if (this.cached?.signature !== signature) this.cached = { signature, outcome: await this.compile(conf, files) };
    const { outcome } = this.cached;
    if ('error' in outcome) throw outcome.error;
    return outcome.loaded;
  }

  private async compile(conf: AnalysisConf, files: RulesetFiles): Promise<{ loaded: LoadedRuleset } | { error: unknown }> {
    try {
      const [decoders, rules, lists] = await Promise.all([
        this.readAll(files.decoders),
        this.readAll(files.rules),
        this.readLists(files.lists),
      ]);
      return { loaded: { conf, files, ruleset: compileRuleset({ decoders, rules, lists }) } };
    } catch (err) {
      return { error: err };
    }
  }

  private async listings(dirs: readonly string[]): Promise<Map<string, string[]>> {
    const listing = new Map<string, string[]>();
    await Promise.all(dirs.map(async (dir) => {
      try {
        listing.set(dir, await fs.readdir(inHome(this.home, dir)));
      } catch {
        // Wazuh skips a directory it cannot open.
      }
    }));
    return listing;
  }

  private async stamp(file: string): Promise<string> {
    try {
      const st = await fs.stat(inHome(this.home, file));
      return `${file} ${st.size} ${st.mtimeMs}`;
    } catch {
      return `${file} absent`;
    }
  }

  /** Files are read as bytes (latin1 view): patterns and texts keep Wazuh's byte semantics. */
  private readAll(files: readonly string[]): Promise<RulesetFile[]> {
    return Promise.all(files.map(async (file) => ({ file, text: await fs.readFile(inHome(this.home, file), 'latin1') })));
  }

  /** A declared list that cannot be read is not loaded; rules naming it are skipped with a warning. */
  private async readLists(files: readonly string[]): Promise<RulesetFile[]> {
    const read = await Promise.all(files.map(async (file) => {
      try {
        return { file, text: await fs.readFile(inHome(this.home, file), 'latin1') };
      } catch {
        return null;
      }
    }));
    return read.filter((f): f is RulesetFile => f !== null);
  }
}
