/**
 * The client half of logtest, as Wazuh's wazuh-logtest speaks it: its requests (origin
 * `wazuh-logtest`, one parameter set kept and updated across requests, so remove_session
 * carries all of it), how it reads a reply (a non-zero `error` or a negative `codemsg` is an
 * error line), and the `-U rule:alert:decoder` unit-test triple with its exit code.
 */
import { JsonObject, parseJson, printJsonText, type ByteString } from '../cjson.js';
import { pyFromJson, pyStr, pyTruthy, type PyValue } from './python-view.js';

export const CLI_ORIGIN = 'wazuh-logtest';

/** Reads a reply's payload: the `data` dict, or the text after `** Wazuh-logtest error `. */
export type CliReply =
  | { readonly kind: 'data'; readonly data: Map<string, PyValue>; readonly token: string }
  | { readonly kind: 'error'; readonly text: string };

/** One wazuh-logtest run's requests: `location`, `log_format` 'syslog', then token, event and options as they come. */
export class LogtestCliRequests {
  private readonly parameters = new JsonObject();

  constructor(location: ByteString) {
    this.parameters.set('location', location).set('log_format', 'syslog');
  }

  logProcessing(event: ByteString, token: ByteString, rulesDebug: boolean): ByteString {
    if (token !== '') this.parameters.set('token', token);
    this.parameters.set('event', event);
    if (rulesDebug) this.parameters.set('options', new JsonObject([['rules_debug', true]]));
    return this.wrap('log_processing');
  }

  removeSession(token: ByteString): ByteString {
    this.parameters.set('token', token);
    return this.wrap('remove_session');
  }

  private wrap(command: string): ByteString {
    const origin = new JsonObject([['name', CLI_ORIGIN], ['module', CLI_ORIGIN]]);
    return printJsonText(new JsonObject([['version', 1], ['origin', origin], ['command', command], ['parameters', this.parameters]]));
  }
}

/** The protocol's unwrap plus the codemsg check of process_log. */
export function readCliReply(payload: Uint8Array): CliReply {
  const parsed = parseJson(payload);
  if (!parsed.ok || !(parsed.value instanceof JsonObject)) return { kind: 'error', text: `malformed reply (JSON error at byte ${parsed.ok ? 0 : parsed.position})` };
  const reply = pyFromJson(parsed.value) as Map<string, PyValue>;
  if (pyTruthy(reply.get('error'))) return { kind: 'error', text: `${pyStr(reply.get('error') ?? null)}: ${pyStr(reply.get('message') ?? null)}` };
  const data = reply.get('data');
  if (!(data instanceof Map)) return { kind: 'error', text: "malformed reply (no 'data')" };
  const codemsg = data.get('codemsg');
  if ((typeof codemsg === 'bigint' && codemsg < 0n) || (typeof codemsg === 'number' && codemsg < 0)) {
    const messages = data.get('messages');
    const lines = (Array.isArray(messages) ? messages : []).map((m) => `\n\t${pyStr(m)}`).join('');
    return { kind: 'error', text: `${pyStr(codemsg)}: ${lines}` };
  }
  return { kind: 'data', data, token: pyStr(data.get('token') ?? '') };
}

/** `[rule.id, str(rule.level), decoder.name]`, '' where absent. */
export type UnitTriple = readonly [PyValue, PyValue, PyValue];
export const EMPTY_TRIPLE: UnitTriple = ['', '', ''];

export function unitTripleOf(data: Map<string, PyValue>): UnitTriple {
  const output = data.get('output');
  if (!(output instanceof Map)) return EMPTY_TRIPLE;
  const rule = output.get('rule');
  const decoder = output.get('decoder');
  const id = rule instanceof Map ? rule.get('id') ?? '' : '';
  const level = rule instanceof Map ? pyStr(rule.get('level') ?? null) : '';
  const name = decoder instanceof Map && decoder.size > 0 ? decoder.get('name') ?? '' : '';
  return [id, level, name];
}

/** `-U` parsed: exactly three ':'-separated parts, or null. */
export function parseUnitTriple(spec: string): UnitTriple | null {
  const parts = spec.split(':');
  return parts.length === 3 ? [parts[0] as string, parts[1] as string, parts[2] as string] : null;
}

export const sameTriple = (a: UnitTriple, b: UnitTriple): boolean => a.every((v, i) => v === b[i]);

/** The exit code at end of input: the number of '' in the expected triple when it matched the last result, else 1. */
export function unitExitCode(expected: UnitTriple, last: UnitTriple): number {
  return sameTriple(expected, last) ? expected.filter((v) => v === '').length : 1;
}
