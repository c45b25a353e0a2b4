/**
 * The texts of Wazuh's logtest messages (analysisd v4.14.5), one table. Every text is
 * written `(<code>): <text>`; the level prefixes (`INFO: ` ...) are added where a message
 * joins a reply's `messages` array.
 */
import type { ByteString } from '../cjson.js';

const TEXTS = {
  1106: () => 'String not correctly formatted.',
  7000: (limit: number) => `Number of logtest threads too high. Only creates ${limit} threads`,
  7001: (limit: number) => `Number of maximum users connected in logtest too high. Only allows ${limit} users`,
  7002: (limit: number) => `Number of maximum user timeouts in logtest too high. Only allows ${limit}s maximum timeouts`,
  7003: (token: ByteString) => `'${token}' token expires`,
  7004: (token: ByteString) => `No session found for token '${token}'`,
  7005: (field: string) => `'${field}' field must be a JSON object. The parameter will be ignored`,
  7006: (field: string) => `'${field}' field must be a boolean. The parameter will be ignored`,
  7200: () => 'Logtest started',
  7201: () => 'Logtest disabled',
  7202: (token: ByteString) => `Session initialized with token '${token}'`,
  7206: (token: ByteString) => `The session '${token}' was closed successfully`,
  7306: () => 'Unable to process command',
  7307: (position: number, window: ByteString) => `Error parsing JSON in position ${position}, ... ${window} ...`,
  7308: (field: string) => `'${field}' JSON field is required and must be a string`,
  7309: (token: ByteString) => `'${token}' is not a valid token`,
  7311: () => 'Failure to initializing session',
  7312: () => 'Failed to process the event',
  7313: (field: string) => `'${field}' JSON field not found`,
  7315: () => 'Failure to receive message: size is bigger than expected',
  7316: () => 'Failure to remove session. token JSON field must be a string',
  7317: (field: string) => `'${field}' JSON field value is not valid`,
  7318: (token: ByteString) => `Failure to remove session '${token}'`,
} as const;

export type LogtestCode = keyof typeof TEXTS;
type TextArgs<C extends LogtestCode> = Parameters<(typeof TEXTS)[C]>;

/** `(<code>): <text>` with its parameters filled in. */
export function logtestText<C extends LogtestCode>(code: C, ...args: TextArgs<C>): ByteString {
  const render = TEXTS[code] as (...a: TextArgs<C>) => string;
  return `(${code}): ${render(...args)}`;
}

export type LogtestLevel = 'info' | 'warning' | 'error';

/** One entry of a reply's `messages` array, before its level prefix. */
export interface LogtestMessage {
  readonly level: LogtestLevel;
  /** e.g. `(7202): Session initialized with token '1a2b3c4d'` (a ByteString). */
  readonly text: ByteString;
}

/**
 * analysisd formats a listed message into a 2048-byte buffer (OS_BUFFER_SIZE): longer
 * texts (a 7309 quoting a huge token) are cut to 2047 bytes.
 */
export const LOGTEST_MESSAGE_MAX_BYTES = 2047;

export function logtestMessage<C extends LogtestCode>(level: LogtestLevel, code: C, ...args: TextArgs<C>): LogtestMessage {
  return { level, text: logtestText(code, ...args).slice(0, LOGTEST_MESSAGE_MAX_BYTES) };
}

const PREFIX: Readonly<Record<LogtestLevel, string>> = { info: 'INFO: ', warning: 'WARNING: ', error: 'ERROR: ' };

/** The string a reply carries: `INFO: (7202): ...`. */
export function prefixedMessage(m: LogtestMessage): ByteString {
  return PREFIX[m.level] + m.text;
}
