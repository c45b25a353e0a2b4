/** The rule half of the analysis engine: load a ruleset, walk it for decoded events. */
export { compileRules, type CompiledRules, type RuleCompileContext, type RuleFile } from './compile.js';
export { matchRules, MatchBudgetExceeded, type MatchBudget, type MatchOptions, type RuleMatch } from './match.js';
export { newRuleState, RuleState, type RuleStateOptions } from './state.js';
export type { Rule, RuleNode, RuleOptions, RuleSet } from './model.js';
