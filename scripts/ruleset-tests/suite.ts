/**
 * Wazuh's ruleset test suite run end to end: a throwaway home for the ruleset folder,
 * the real logtest server on its Unix socket with the engine behind it, every run as
 * its own session over the socket, then everything removed.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger, type LogLevel } from '../../runtime/logger.js';
import { EngineLogtestBackend } from '../../runtime/analysis/logtest-backend.js';
import { RulesetLoader } from '../../runtime/analysis/ruleset-loader.js';
import { LogtestServer, logtestSocketPath } from '../../runtime/logtest/logtest-server.js';
import { defaultSuiteFiles, runSuite, type FileOutcome, type SuiteOutcome } from './runner.js';
import { writeSuiteHome } from './suite-home.js';
import { socketEvaluator } from './socket-evaluator.js';

export interface SuiteOptions {
  /** A Wazuh ruleset folder: decoders/, rules/, lists/, testing/{ruleset,tests}/. */
  readonly ruleset: string;
  /** Only test files whose name ends with this. */
  readonly only?: string;
  readonly parallel?: number;
  readonly onFile?: (outcome: FileOutcome) => void;
}

export interface SuiteReport extends SuiteOutcome {
  /** What the server logged at warning level or worse (load failures show here). */
  readonly log: readonly string[];
}

export async function runRulesetSuite(options: SuiteOptions): Promise<SuiteReport> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'clusterd-ruleset-tests-'));
  const log: string[] = [];
  const sink = { write: (level: LogLevel, tag: string, _sub: string, message: string): void => { if (level === 'error' || level === 'warning') log.push(`${level}: [${tag}] ${message}`); } };
  try {
    await writeSuiteHome(home, options.ruleset);
    const socketPath = logtestSocketPath(home);
    const logger = createLogger(sink, 'wazuh-analysisd');
    const backend = new EngineLogtestBackend(new RulesetLoader(home), os.hostname(), logger);
    const server = new LogtestServer({ socketPath, backend, log: logger, config: { maxSessions: 500 } });
    await server.start();
    try {
      const testsDir = path.join(options.ruleset, 'testing', 'tests');
      const names = defaultSuiteFiles(await fs.readdir(testsDir)).filter((n) => options.only === undefined || n.endsWith(options.only));
      const files = await Promise.all(names.map(async (name) => ({ name, text: await fs.readFile(path.join(testsDir, name), 'utf8') })));
      const outcome = await runSuite(files, socketEvaluator(socketPath), { parallel: options.parallel ?? 2, ...(options.onFile ? { onFile: options.onFile } : {}) });
      return { ...outcome, log };
    } finally {
      await server.close();
    }
  } finally {
    await fs.rm(home, { recursive: true, force: true });
  }
}
