/**
 * The logtest server's engine: each session loads the ruleset as it is on disk when it
 * opens (reusing the compiled one while no file changed) and keeps its own stateful
 * memory, as a Wazuh logtest token does.
 */
import { AnalysisSession, type AnalysisContext } from '../../engine/engine.js';
import { PredecodeError } from '../../engine/predecode.js';
import type { LogtestBackend, LogtestEventInput, LogtestMessage, LogtestResult, LogtestSession, OpenedSession } from '../logtest/backend.js';
import type { RulesetLoader } from './ruleset-loader.js';

/** A loader message as logtest shows it: Wazuh's own `(code): text` when it has one. */
const message = (level: LogtestMessage['level'], text: string): LogtestMessage => ({ level, text });

export class EngineLogtestBackend implements LogtestBackend {
  constructor(
    private readonly loader: RulesetLoader,
    private readonly managerName: string,
  ) {}

  async openSession(): Promise<OpenedSession> {
    try {
      const loaded = await this.loader.load('logtest');
      const cluster = loaded.conf.alertCluster;
      const context: AnalysisContext = {
        managerName: this.managerName,
        ...(cluster ? { cluster: { name: cluster.name, node: cluster.node ?? '' } } : {}),
      };
      const session = new EngineSession(new AnalysisSession(loaded.ruleset, context, 'logtest'), loaded.conf.logAlertLevel.logtest);
      return { session, messages: loaded.ruleset.warnings.map((w) => message('warning', w)) };
    } catch (err) {
      return { error: [message('error', err instanceof Error ? err.message : String(err))] };
    }
  }
}

class EngineSession implements LogtestSession {
  constructor(
    private readonly analysis: AnalysisSession,
    readonly logAlertLevel: number,
  ) {}

  process(input: LogtestEventInput): LogtestResult {
    const rulesDebug: string[] | undefined = input.rulesDebug ? [] : undefined;
    try {
      const analysis = this.analysis.analyze(input.message, new Date(), rulesDebug);
      const { fired } = analysis;
      const rule = fired ? { level: fired.rule.level, suppressed: fired.suppressed } : null;
      return { output: this.analysis.render(analysis), rule, ...(rulesDebug ? { rulesDebug } : {}), messages: [] };
    } catch (err) {
      if (err instanceof PredecodeError) return { output: null, rule: null, messages: [message('error', err.message)] };
      throw err;
    }
  }

  close(): void {
    // The ruleset is shared and immutable; the session's memory goes with this object.
  }
}
