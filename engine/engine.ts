/**
 * The analysis engine as one unit: a ruleset compiled from file texts (immutable, so
 * any number of sessions and worker threads share it) and sessions that carry the
 * stateful part (event memory, firedtimes, FTS, accumulator) and turn one analysisd
 * queue message into a decoded event, the rule it ended on and its alert.
 */
import { parseOsXml } from './xml/os-xml.js';
import { parseCdbList } from './lists/cdb.js';
import { predecode } from './predecode.js';
import { alertObject } from './alert/alert-json.js';
import { compileDecoders, decodeEvent, decoderId, newDecoderState, type DecoderSet, type DecoderState } from './decoders/decoder-set.js';
import { compileRules, matchRules, MatchBudgetExceeded, newRuleState, type RuleSet, type RuleState } from './rules/rule-set.js';
import type { ByteString, CdbList, EngineEvent, FiredRule, XmlNode } from './types.js';
import type { JsonObject } from '../protocols/cjson.js';

export interface RulesetFile {
  /** Path as the operator knows it (relative to the home, or absolute): labels errors. */
  readonly file: string;
  readonly text: string;
}

export interface RulesetSources {
  /** Decoder files in Wazuh's load order. */
  readonly decoders: readonly RulesetFile[];
  /** Rule files in Wazuh's load order. */
  readonly rules: readonly RulesetFile[];
  /** CDB lists by the path declared in `<ruleset><list>`. */
  readonly lists: readonly RulesetFile[];
}

export interface Ruleset {
  readonly decoders: DecoderSet;
  readonly rules: RuleSet;
  /** What the loader skipped and why (Wazuh logs these as warnings). */
  readonly warnings: readonly string[];
}

/** Compiles a whole ruleset; throws RulesetLoadError naming file, line and element. */
export function compileRuleset(sources: RulesetSources): Ruleset {
  const parse = (f: RulesetFile): { file: string; nodes: readonly XmlNode[] } => ({ file: f.file, nodes: parseOsXml(f.text, f.file) });
  const decoders = compileDecoders(sources.decoders.map(parse));
  const lists = new Map<string, CdbList>(sources.lists.map((l) => [l.file, parseCdbList(l.text)]));
  const { rules, warnings } = compileRules(sources.rules.map(parse), { decoderId: (name) => decoderId(decoders, name), lists });
  return { decoders, rules, warnings };
}

/** Who is analysing: what the alert says about the manager and the cluster. */
export interface AnalysisContext {
  readonly managerName: string;
  /** Absent when ossec.conf has no visible `<cluster>` (disabled or hidden). */
  readonly cluster?: { readonly name: string; readonly node: string };
}

/**
 * Where an event is analysed. They differ where Wazuh's do: a rule matched inside its
 * `ignore` window is reported by logtest but falls back to its parent on the event path.
 */
export type AnalysisMode = 'logtest' | 'analysisd';

export interface Analysis {
  readonly event: EngineEvent;
  /** The rule the walk ended on; null when none matched (or the budget ran out). */
  readonly fired: FiredRule | null;
  readonly time: Date;
  /** Set when the event used up its match budget: where the walk stopped, and after how long. */
  readonly overBudget?: { readonly stage: 'decoding' | 'rules'; readonly ruleId?: number; readonly elapsedMs: number };
}

/**
 * A per-event match budget on the caller's clock (ms). A custom pattern that backtracks
 * badly can make one event slow; past the budget the rule walk stops, the event raises
 * nothing, and the caller logs the event and the rule.
 */
export interface EventBudget {
  readonly ms: number;
  readonly clock: () => number;
}

/** One stream of events with its own memory: a logtest token, or a node's event path. */
export class AnalysisSession {
  private readonly decoderState: DecoderState;
  private readonly ruleState: RuleState = newRuleState();
  private alertCounter = 0;

  constructor(
    readonly ruleset: Ruleset,
    private readonly context: AnalysisContext,
    private readonly mode: AnalysisMode,
    private readonly budget?: EventBudget,
  ) {
    const { rules } = ruleset;
    this.decoderState = { ...newDecoderState(), ruleExists: (id) => rules.byId.has(Number(id)) };
  }

  /** Analyses one `Q:location:message`; throws PredecodeError when it cannot be split. */
  analyze(message: ByteString, now: Date, rulesDebug?: string[]): Analysis {
    const event = predecode(message, { managerHostname: shortHostname(this.context.managerName) });
    const ms = now.getTime();
    const budget = this.budget;
    const started = budget?.clock() ?? 0;
    decodeEvent(this.ruleset.decoders, event, this.decoderState, ms);
    if (budget && budget.clock() - started > budget.ms) {
      return { event, fired: null, time: now, overBudget: { stage: 'decoding', elapsedMs: budget.clock() - started } };
    }
    try {
      const fired = matchRules(this.ruleset.rules, event, this.ruleState, {
        now: ms, mode: this.mode,
        ...(rulesDebug ? { debug: rulesDebug } : {}),
        ...(budget ? { budget: { deadline: started + budget.ms, clock: budget.clock } } : {}),
      });
      return { event, fired, time: now };
    } catch (err) {
      if (!(err instanceof MatchBudgetExceeded) || !budget) throw err;
      return { event, fired: null, time: now, overBudget: { stage: 'rules', ruleId: err.ruleId, elapsedMs: budget.clock() - started } };
    }
  }

  /** The alert object of an analysis (alerts.json's shape; logtest's `output` in logtest mode). */
  render(analysis: Analysis): JsonObject {
    return alertObject({
      event: analysis.event,
      ...(analysis.fired ? { fired: analysis.fired } : {}),
      managerName: this.context.managerName,
      ...(this.context.cluster ? { cluster: this.context.cluster } : {}),
      time: analysis.time,
      alertId: `${Math.floor(analysis.time.getTime() / 1000)}.${this.alertCounter++}`,
      logtest: this.mode === 'logtest',
    });
  }
}

/** Wazuh's pre-decoder names the manager by its hostname cut at the first dot. */
function shortHostname(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? name : name.slice(0, dot);
}
