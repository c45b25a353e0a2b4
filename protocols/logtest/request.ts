/**
 * A logtest request as analysisd reads it (A.2-A.4 of the reference): the cJSON parse,
 * then the checks in their fixed order (the first failure answers), then what a valid
 * request asks for. Pure: the server decides what to do with the result.
 */
import { JsonObject, parseJson, printJsonText, type ByteString, type JsonValue } from '../cjson.js';
import { logtestMessage, logtestText, type LogtestMessage } from './messages.js';

/** Top-level `error` codes of a reply. */
export const LOGTEST_ERROR = {
  parsing: 1,
  invalidJson: 2,
  commandNotAllowed: 3,
  invalidToken: 4,
  tooLarge: 5,
} as const;
export type LogtestErrorCode = (typeof LOGTEST_ERROR)[keyof typeof LOGTEST_ERROR];

export const LOGTEST_TOKEN_LENGTH = 8;
/** cJSON's 7307 window: this many bytes, starting half of it before the error. */
const PARSE_WINDOW_BYTES = 20;

/** `options.rules_debug`: absent or false is 'off'; a value that is not a boolean is 'invalid' (warning 7006). */
export type RulesDebugOption = 'on' | 'off' | 'invalid';

export interface LogProcessingRequest {
  readonly kind: 'log_processing';
  readonly location: ByteString;
  /** Required and checked, then unused, as in v4.14.5. */
  readonly logFormat: ByteString;
  /** The log line; an object event is its compact cJSON text. */
  readonly event: ByteString;
  /** A well-formed (8-byte) token, or null for a new session. */
  readonly token: ByteString | null;
  readonly rulesDebug: RulesDebugOption;
  /** Warnings found while checking (7309 bad token, 7005 bad options), in order. */
  readonly warnings: readonly LogtestMessage[];
}

export interface RemoveSessionRequest {
  readonly kind: 'remove_session';
  readonly token: ByteString;
}

export interface RequestRefused {
  readonly kind: 'error';
  readonly error: Exclude<LogtestErrorCode, 5>;
  readonly message: ByteString;
}

export type LogtestRequest = LogProcessingRequest | RemoveSessionRequest | RequestRefused;

const refuse = (error: RequestRefused['error'], message: ByteString): RequestRefused => ({ kind: 'error', error, message });

const nonEmptyString = (v: JsonValue | undefined): v is ByteString => typeof v === 'string' && v.length > 0;

/** The 7307 text for a parse that stopped at `position` of `body`. */
export function parseErrorText(body: Uint8Array, position: number): ByteString {
  const nul = body.indexOf(0);
  const end = nul < 0 ? body.length : nul;
  const start = Math.max(0, position - PARSE_WINDOW_BYTES / 2);
  const window = Buffer.from(body.buffer, body.byteOffset, body.length).toString('latin1', start, Math.min(end, start + PARSE_WINDOW_BYTES));
  return logtestText(7307, position, window);
}

/** Reads and checks one request body, in analysisd's order. */
export function checkRequest(body: Uint8Array): LogtestRequest {
  const parsed = parseJson(body);
  if (!parsed.ok) return refuse(LOGTEST_ERROR.parsing, parseErrorText(body, parsed.position));
  const root = parsed.value;
  const parameters = root instanceof JsonObject ? root.get('parameters') : undefined;
  if (parameters === undefined) return refuse(LOGTEST_ERROR.invalidJson, logtestText(7313, 'parameters'));
  if (!(parameters instanceof JsonObject)) return refuse(LOGTEST_ERROR.invalidJson, logtestText(7317, 'parameters'));
  const command = (root as JsonObject).get('command');
  if (command === undefined) return refuse(LOGTEST_ERROR.invalidJson, logtestText(7313, 'command'));
  if (typeof command !== 'string') return refuse(LOGTEST_ERROR.invalidJson, logtestText(7317, 'command'));
  if (command === 'remove_session') return checkRemoveSession(parameters);
  if (command === 'log_processing') return checkLogProcessing(parameters);
  return refuse(LOGTEST_ERROR.commandNotAllowed, logtestText(7306));
}

function checkRemoveSession(parameters: JsonObject): RemoveSessionRequest | RequestRefused {
  const token = parameters.get('token');
  if (typeof token !== 'string') return refuse(LOGTEST_ERROR.invalidToken, logtestText(7316));
  if (token.length !== LOGTEST_TOKEN_LENGTH) return refuse(LOGTEST_ERROR.invalidToken, logtestText(7309, token));
  return { kind: 'remove_session', token };
}

function checkLogProcessing(parameters: JsonObject): LogProcessingRequest | RequestRefused {
  const location = parameters.get('location');
  if (!nonEmptyString(location)) return refuse(LOGTEST_ERROR.invalidJson, logtestText(7308, 'location'));
  const logFormat = parameters.get('log_format');
  if (!nonEmptyString(logFormat)) return refuse(LOGTEST_ERROR.invalidJson, logtestText(7308, 'log_format'));
  const event = parameters.get('event');
  if (event === undefined) return refuse(LOGTEST_ERROR.invalidJson, logtestText(7313, 'event'));
  const isObjectEvent = event instanceof JsonObject && event.size > 0;
  if (!nonEmptyString(event) && !isObjectEvent) return refuse(LOGTEST_ERROR.invalidJson, logtestText(7317, 'event'));

  const warnings: LogtestMessage[] = [];
  let token: ByteString | null = null;
  const rawToken = parameters.get('token');
  if (rawToken !== undefined) {
    if (typeof rawToken === 'string' && rawToken.length === LOGTEST_TOKEN_LENGTH) token = rawToken;
    else warnings.push(logtestMessage('warning', 7309, typeof rawToken === 'string' ? rawToken : printJsonText(rawToken)));
  }
  let rulesDebug: RulesDebugOption = 'off';
  const options = parameters.get('options');
  if (options !== undefined && !(options instanceof JsonObject)) {
    warnings.push(logtestMessage('warning', 7005, 'options'));
  } else if (options instanceof JsonObject) {
    const flag = options.get('rules_debug');
    if (flag === true) rulesDebug = 'on';
    else if (flag !== undefined && flag !== false) rulesDebug = 'invalid';
  }
  return {
    kind: 'log_processing',
    location,
    logFormat,
    event: isObjectEvent ? printJsonText(event) : (event as ByteString),
    token,
    rulesDebug,
    warnings,
  };
}

/**
 * analysisd escapes the location before building the queue line: `|` becomes `||`, `:`
 * becomes `|:`, into a 2049-byte buffer (wstr_escape), so the result is cut at 2048 bytes
 * at most; a pair is never split.
 */
const LOCATION_BUFFER = 2049;

export function escapeLocation(location: ByteString): ByteString {
  let out = '';
  let i = 0;
  do {
    let z = 0;
    while (i + z < location.length && location[i + z] !== '|' && location[i + z] !== ':') z++;
    const reserved = i + z < location.length;
    if (!reserved || out.length + z >= LOCATION_BUFFER - 2) {
      out += location.slice(i, i + Math.min(z, LOCATION_BUFFER - out.length - 1));
      break;
    }
    out += `${location.slice(i, i + z)}|${location[i + z]}`;
    i += z + 1;
  } while (i < location.length && out.length < LOCATION_BUFFER - 2);
  return out;
}

/** The line the pre-decoder receives, as a localfile event: `1:<escaped location>:<event>`. */
export function logtestQueueLine(location: ByteString, event: ByteString): ByteString {
  return `1:${escapeLocation(location)}:${event}`;
}
