/**
 * SymantecWS_Decoder: Symantec Web Security's `date,time,k=v,k=v` lines. Keys 10 (user),
 * 11 (source address), 60 (url), 2/3 (id) fill fields that are still unset.
 */
import type { ByteString, StaticField } from '../../types.js';
import type { PluginRun } from '../model.js';

export function symantecWsDecoder(run: PluginRun): void {
  const log = run.event.log;
  // The C looks for the second comma from the first one and finds the same: entries start after the date.
  const comma = log.indexOf(',');
  if (comma < 0) return;
  let at = comma + 1;
  while (at >= 0) {
    at = readEntry(run, log, at);
    const next = log.indexOf(',', at);
    at = next < 0 ? -1 : next + 1;
  }
}

/** Reads the entry at `at`, returns where the search for the next comma starts. */
function readEntry(run: PluginRun, log: ByteString, at: number): number {
  if (log.startsWith('10=', at)) return keepFirst(run, 'dstuser', log, at + 3, 128, true);
  if (log.startsWith('11=', at)) return keepFirst(run, 'srcip', log, at + 3, 128, true);
  if (log.startsWith('60=', at)) return keepFirst(run, 'url', log, at + 3, 1024, true);
  // An id keeps its "2=" or "3=" and does not stop at a comma.
  if (log.startsWith('3=', at) || log.startsWith('2=', at)) return keepFirst(run, 'id', log, at, 9, false);
  return at;
}

function keepFirst(run: PluginRun, field: StaticField, log: ByteString, start: number, max: number, stopAtComma: boolean): number {
  let end = start;
  while (end < log.length && end - start < max && !(stopAtComma && log.charCodeAt(end) === 0x2c)) end++;
  if (run.event.fields[field] === undefined) run.event.fields[field] = log.slice(start, end);
  return end;
}
