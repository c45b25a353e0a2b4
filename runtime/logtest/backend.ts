/**
 * What the logtest server needs from the analysis engine: sessions that each hold their
 * own ruleset and state, and process one event at a time. The server owns everything
 * else (socket, tokens, LRU and idle expiry, the per-session lock, the reply).
 *
 * Text crosses this boundary as ByteStrings (one code unit per byte: engine/types.ts).
 * Either method may answer synchronously or with a promise; the server never calls a
 * session's `process` twice at once, nor `close` while `process` runs.
 */
import type { ByteString, JsonInput } from '../../protocols/cjson.js';
import type { LogtestMessage } from '../../protocols/logtest/messages.js';
import type { MatchedRule } from '../../protocols/logtest/response.js';

export type { LogtestMessage, MatchedRule };

type MaybePromise<T> = T | Promise<T>;

export type OpenedSession =
  /** `messages`: what the loader had to say (warnings such as 7617); shown before the 7202 info. */
  | { readonly session: LogtestSession; readonly messages: readonly LogtestMessage[] }
  /** The ruleset did not load: the loader's messages (ERROR lines); the server adds 7311. */
  | { readonly error: readonly LogtestMessage[] };

export interface LogtestBackend {
  /**
   * A new session: reads ossec.conf (`<ruleset>`, `<alerts>`) and loads the ruleset as
   * it is on disk now, so rules added since are seen without a restart.
   */
  openSession(): MaybePromise<OpenedSession>;
}

export interface LogtestEventInput {
  /**
   * `1:<escaped location>:<event>`, the line the pre-decoder takes (built with
   * protocols/logtest/request.ts logtestQueueLine). An object event arrives as its cJSON text.
   */
  readonly message: ByteString;
  readonly location: ByteString;
  readonly event: ByteString;
  /** Collect `rulesDebug` lines while walking the rules. */
  readonly rulesDebug: boolean;
}

export interface LogtestResult {
  /**
   * The event as an alert object (alerts.json's serializer, `decoder` always present, `{}`
   * when no decoder matched); null when processing failed (e.g. 1106 from the pre-decoder):
   * the server then adds 7312. Strings are ByteStrings; use protocols' JsonObject where
   * member order must not follow JS rules (integer-like keys). If `rule` lacks `level`
   * (alerts.json drops level 0), the server appends it.
   */
  readonly output: JsonInput | null;
  /** The rule the walk ended on, or null when none matched. */
  readonly rule: MatchedRule | null;
  /** `Trying rule: <id> - <description>`, `*Rule <id> matched`, `*Trying child rules` (only when asked). */
  readonly rulesDebug?: readonly ByteString[];
  /** Anything said while processing (1106, "Unable to add data to sig list."...). */
  readonly messages: readonly LogtestMessage[];
}

export interface LogtestSession {
  /** `<alerts><log_alert_level>` read when the session opened; 0 when the block is missing. */
  readonly logAlertLevel: number;
  /** One event through pre-decoding, decoding, the accumulator and the rules, keeping the session's state. */
  process(input: LogtestEventInput): MaybePromise<LogtestResult>;
  /** The session is gone (removed, evicted, expired, or the server closed): free its ruleset. */
  close(): void;
}
