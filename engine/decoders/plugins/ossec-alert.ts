/**
 * OSSECAlert_Decoder: an alert forwarded by another OSSEC/Wazuh manager
 * (`Alert Level: 3; Rule: 5402 - ...; Location: (agent) ip->file; srcip: ...; user: ...;  <log>`)
 * points back at the rule that raised it, and its log becomes the event's log.
 */
import type { ByteString, EngineEvent } from '../../types.js';
import type { PluginRun } from '../model.js';

/** What the C rewrites besides hostname and log: EngineEvent keeps location and fullLog read-only. */
export interface ForwardedAlert {
  /** The id of the rule that raised the forwarded alert (C `lf->generated_rule`). */
  readonly ruleId: string;
  /** `<own location>|<forwarded location>`, at most 254 bytes; hostname gets the same. */
  readonly location: ByteString;
  /** The forwarded log, at most 4,094 bytes; `log` gets the same. */
  readonly fullLog: ByteString;
}

const forwarded = new WeakMap<EngineEvent, ForwardedAlert>();

/** The forwarded alert an event carried, when OSSECAlert_Decoder read it to the end. */
export function forwardedAlert(event: EngineEvent): ForwardedAlert | undefined {
  return forwarded.get(event);
}

export function ossecAlertDecoder(run: PluginRun): void {
  const { event } = run;
  const log = event.log;
  run.setType('ossec-alert');
  if (!log.startsWith('Alert Level:') && !log.startsWith('ossec: Alert Level')) return;

  const level = log.indexOf(';');
  if (level < 0) return;
  const colon = log.indexOf(':', level + 1);
  if (colon < 0 || log.charCodeAt(colon + 1) !== 0x20) return;
  const idEnd = log.indexOf(' ', colon + 2);
  if (idEnd < 0) return;
  const ruleId = log.slice(colon + 2, idEnd);
  if (!run.ruleExists?.(ruleId)) return;

  const afterRule = log.indexOf(';', idEnd);
  if (afterRule < 0 || !log.startsWith(' Location: ', afterRule + 1)) return;
  const locationStart = afterRule + 12;
  const locationEnd = log.indexOf(';', locationStart);
  if (locationEnd < 0) return;
  const location = (event.location + '|' + log.slice(locationStart, locationEnd)).slice(0, 254);
  event.hostname = location;

  let at = locationEnd + 1;
  while (log.charCodeAt(at) === 0x20 && log.charCodeAt(at + 1) !== 0x20) {
    const value = at + 1;
    const end = log.indexOf(';', value);
    if (end < 0) return;
    if (log.startsWith('srcip: ', value)) event.fields.srcip = log.slice(value + 7, end);
    if (log.startsWith('user: ', value)) event.fields.dstuser = log.slice(value + 6, end);
    at = end + 1;
  }
  while (log.charCodeAt(at) === 0x20) at++;
  const fullLog = log.slice(at, at + 4094);
  event.log = fullLog;
  forwarded.set(event, { ruleId, location, fullLog });
}
