/**
 * The logtest server's engine: each session loads the ruleset as it is on disk when it
 * opens (reusing the compiled one while no file changed) and keeps its own stateful
 * memory, as a Wazuh logtest token does.
 */
import { AnalysisSession, type Analysis, type AnalysisContext } from '../../engine/engine.js';
import { PredecodeError } from '../../engine/predecode.js';
import type { LogtestBackend, LogtestEventInput, LogtestMessage, LogtestResult, LogtestSession, OpenedSession } from '../logtest/backend.js';
import type { Logger } from '../logger.js';
import type { RulesetLoader } from './ruleset-loader.js';

/**
 * An event may take this long (wall clock) in the matchers before its rule walk is
 * stopped. Patterns that could backtrack without bound are refused at load time, so
 * this is the last line: generous enough that a busy machine (GC, a loaded core) never
 * trips it on a sound ruleset, where a stock event takes well under a millisecond.
 */
export const MATCH_BUDGET_MS = 1000;

/** What the node log says of an event that used up its match budget: the rule and the event. */
export function overBudgetText(analysis: Analysis, budgetMs: number): string {
  const where = analysis.overBudget?.ruleId === undefined ? 'while decoding' : `at rule ${analysis.overBudget.ruleId}`;
  const event = analysis.event.fullLog.length > 512 ? `${analysis.event.fullLog.slice(0, 512)}...` : analysis.event.fullLog;
  return `Match budget of ${budgetMs} ms exceeded ${where} (${analysis.overBudget?.elapsedMs.toFixed(0)} ms); the event raised nothing: '${event}'`;
}

/** A loader message as logtest shows it: Wazuh's own `(code): text` when it has one. */
const message = (level: LogtestMessage['level'], text: string): LogtestMessage => ({ level, text });

export class EngineLogtestBackend implements LogtestBackend {
  constructor(
    private readonly loader: RulesetLoader,
    private readonly managerName: string,
    private readonly log?: Logger,
  ) {}

  async openSession(): Promise<OpenedSession> {
    try {
      const loaded = await this.loader.load('logtest');
      const cluster = loaded.conf.alertCluster;
      const context: AnalysisContext = {
        managerName: this.managerName,
        ...(cluster ? { cluster: { name: cluster.name, node: cluster.node ?? '' } } : {}),
      };
      const budget = { ms: MATCH_BUDGET_MS, clock: (): number => performance.now() };
      const session = new EngineSession(new AnalysisSession(loaded.ruleset, context, 'logtest', budget), loaded.conf.logAlertLevel.logtest, this.log);
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
    private readonly log: Logger | undefined,
  ) {}

  process(input: LogtestEventInput): LogtestResult {
    const rulesDebug: string[] | undefined = input.rulesDebug ? [] : undefined;
    try {
      const analysis = this.analysis.analyze(input.message, new Date(), rulesDebug);
      const { fired } = analysis;
      const rule = fired ? { level: fired.rule.level, suppressed: fired.suppressed } : null;
      const messages: LogtestMessage[] = [];
      if (analysis.overBudget) {
        const text = overBudgetText(analysis, MATCH_BUDGET_MS);
        this.log?.warning(text);
        messages.push(message('warning', text));
      }
      return { output: this.analysis.render(analysis), rule, ...(rulesDebug ? { rulesDebug } : {}), messages };
    } catch (err) {
      if (err instanceof PredecodeError) return { output: null, rule: null, messages: [message('error', err.message)] };
      throw err;
    }
  }

  close(): void {
    // The ruleset is shared and immutable; the session's memory goes with this object.
  }
}
