/**
 * The replies of the logtest socket (A.3, A.5, A.6), member order included:
 *  - refused request:  {"message":...,"error":N,"data":{}}
 *  - oversize request: {"message":...,"error":5}            (no data)
 *  - served request:   {"error":0,"data":{...,"codemsg":C}}
 * and the `messages` bookkeeping that decides `codemsg`.
 */
import { JsonObject, type ByteString, type JsonValue } from '../cjson.js';
import { LOGTEST_ERROR, type LogtestErrorCode } from './request.js';
import { LOGTEST_MESSAGE_MAX_BYTES, logtestText, prefixedMessage, type LogtestMessage } from './messages.js';

/** `data.codemsg`: 0 success, 1 success with warnings, -1 error (then no `alert`, maybe no `output`). */
export const LOGTEST_CODEMSG = { success: 0, warning: 1, error: -1 } as const;
export type LogtestCodemsg = (typeof LOGTEST_CODEMSG)[keyof typeof LOGTEST_CODEMSG];

/** analysisd keeps at most this many pending messages; an older one gives way to a newer one. */
export const LOGTEST_MESSAGES_MAX = 50;

export function errorReply(error: LogtestErrorCode, message: ByteString): JsonObject {
  return new JsonObject([['message', message], ['error', error], ['data', new JsonObject()]]);
}

export function tooLargeReply(): JsonObject {
  return new JsonObject([['message', logtestText(7315)], ['error', LOGTEST_ERROR.tooLarge]]);
}

export function servedReply(data: JsonObject): JsonObject {
  return new JsonObject([['error', 0], ['data', data]]);
}

/**
 * Messages waiting to join a reply. `flushInto` moves them into `data.messages` (making
 * the array, at the end of `data`, if it is not there yet) and returns the new codemsg:
 * an ERROR makes it -1, a WARNING makes it 1 unless it is already -1.
 */
export class LogtestMessageList {
  private pending: LogtestMessage[] = [];

  add(...messages: readonly LogtestMessage[]): void {
    for (const m of messages) {
      this.pending.push(m.text.length > LOGTEST_MESSAGE_MAX_BYTES ? { level: m.level, text: m.text.slice(0, LOGTEST_MESSAGE_MAX_BYTES) } : m);
    }
    if (this.pending.length > LOGTEST_MESSAGES_MAX) this.pending = this.pending.slice(-LOGTEST_MESSAGES_MAX);
  }

  get length(): number {
    return this.pending.length;
  }

  flushInto(data: JsonObject, codemsg: LogtestCodemsg): LogtestCodemsg {
    if (this.pending.length === 0) return codemsg;
    let list = data.get('messages');
    if (!Array.isArray(list)) {
      list = [];
      data.add('messages', list);
    }
    let code = codemsg;
    for (const m of this.pending) {
      if (m.level === 'error') code = LOGTEST_CODEMSG.error;
      else if (m.level === 'warning' && code !== LOGTEST_CODEMSG.error) code = LOGTEST_CODEMSG.warning;
      list.push(prefixedMessage(m));
    }
    this.pending = [];
    return code;
  }
}

/** What the engine says about the rule an event ended on. */
export interface MatchedRule {
  readonly level: number;
  /** Matched inside its `ignore` window or hit by the ignore lists: reported, never alerted, not stored. */
  readonly suppressed: boolean;
}

/** `data.alert` (A.5): a stored match (level > 0, not suppressed) at or above the session's log_alert_level. */
export function alertOf(rule: MatchedRule | null, logAlertLevel: number): boolean {
  return rule !== null && rule.level > 0 && !rule.suppressed && rule.level >= logAlertLevel;
}

/**
 * The alert serializer leaves `rule.level` out when it is 0; logtest then appends it at
 * the end of `rule`. A `rule` that has its level, or no `rule` at all, is left as it is.
 */
export function withRuleLevel(output: JsonValue, rule: MatchedRule | null): JsonValue {
  const r = memberOf(output, 'rule');
  if (rule !== null && r instanceof JsonObject && !r.has('level')) r.add('level', rule.level);
  return output;
}

/** A parsed reply's member, when the reply is an object. */
export function memberOf(value: JsonValue | undefined, key: ByteString): JsonValue | undefined {
  return value instanceof JsonObject ? value.get(key) : undefined;
}
