/**
 * JSON_Decoder: parses the log (from the selected decoder's plugin offset) as cJSON does
 * and turns every leaf of the top-level object into a field: nested keys joined with '.',
 * a few exact top-level names into static fields, the rest into dynamic fields.
 */
import type { ByteString, EngineEvent, StaticField } from '../../types.js';
import type { JsonOptions, PluginRun } from '../model.js';
import { JsonObject, cjsonInt, parseJson, printJsonFormatted, type JsonValue } from '../../../protocols/cjson.js';
import { formatFixed6 } from '../../../protocols/c-format.js';

/** Dynamic fields an event may hold (analysisd.decoder_order_size). */
const MAX_DYNAMIC_FIELDS = 256;
/** OS_MAXSTR: a CSV rendering that would reach it is dropped. */
const MAX_CSV_BYTES = 65536;

const STATIC_KEYS: ReadonlyMap<string, StaticField> = new Map<string, StaticField>([
  ['srcip', 'srcip'], ['dstip', 'dstip'], ['dstport', 'dstport'], ['srcport', 'srcport'],
  ['protocol', 'protocol'], ['action', 'action'], ['srcuser', 'srcuser'], ['dstuser', 'dstuser'],
  ['id', 'id'], ['status', 'status'], ['url', 'url'], ['data', 'data'], ['extra_data', 'extra_data'],
  ['systemname', 'system_name'],
]);

export function jsonDecoder(run: PluginRun): void {
  const start = inputStart(run);
  if (start === undefined) return;
  const log = run.event.log;
  // cJSON fails as a whole, so nothing is filled unless the whole text parsed.
  const parsed = parseJson(start === 0 ? log : log.slice(start));
  // Only an object yields fields: any other top-level value has no key.
  if (parsed.ok && parsed.value instanceof JsonObject) readObject(run.event, parsed.value, undefined, run.selected.json);
}

/** The C reads the plugin offset of `lf->decoder_info`, which may be the parent. */
function inputStart(run: PluginRun): number | undefined {
  switch (run.selected.pluginOffset) {
    case 'none': return 0;
    case 'after_parent': return run.afterParent;
    case 'after_prematch': return run.afterPrematch;
    default: return undefined;
  }
}

/** readJSON: every member in order; nested keys joined with '.'; a top-level key may name a static field. */
function readObject(event: EngineEvent, object: JsonObject, prefix: string | undefined, options: JsonOptions): void {
  for (const [name, item] of object.entries) {
    const key = prefix === undefined ? name : prefix + '.' + name;
    if (item instanceof JsonObject) {
      readObject(event, item, key, options);
      continue;
    }
    const value = memberText(item, options);
    if (value !== undefined) fill(event, key, value, prefix === undefined);
  }
}

/** A leaf as the C renders it; undefined when nothing is stored (a discarded null, an empty CSV). */
function memberText(item: JsonValue, options: JsonOptions): ByteString | undefined {
  if (Array.isArray(item)) {
    const text = renderArray(item, options);
    return text === '' ? undefined : text;
  }
  if (item === null && options.nullAs === 'discard') return undefined;
  return scalarText(item);
}

/** `%i` when the double is an int, else `%f`. */
export function decoderNumber(d: number): string {
  const asInt = cjsonInt(d);
  return asInt === d ? String(asInt) : formatFixed6(d);
}

/** Default: cJSON_Print of the array. CSV: the scalar items joined with ',' (objects and arrays skipped). */
function renderArray(items: JsonValue[], options: JsonOptions): ByteString {
  if (options.arrayAs === 'array') return printJsonFormatted(items);
  let out = '';
  for (let i = 0; i < items.length; i++) {
    const text = scalarText(items[i]!);
    if (text === undefined) continue;
    if (out.length + text.length >= MAX_CSV_BYTES) return '';
    out += text;
    if (out.length + 1 >= MAX_CSV_BYTES) return '';
    if (i + 1 < items.length) out += ',';
  }
  return out;
}

/** A string, number, boolean or null as the C writes it; undefined for an object or array. */
function scalarText(item: JsonValue): string | undefined {
  if (item === null) return 'null';
  if (typeof item === 'boolean') return item ? 'true' : 'false';
  if (typeof item === 'number') return decoderNumber(item);
  if (typeof item === 'string') return item;
  return undefined;
}

/** fillData: exact static names, `user` standing in for an unset dstuser, else a dynamic field. */
function fill(event: EngineEvent, key: string, value: ByteString, topLevel: boolean): void {
  if (topLevel) {
    const field = STATIC_KEYS.get(key);
    if (field) {
      event.fields[field] = value;
      return;
    }
    if (key === 'user') {
      if (!event.fields.dstuser) event.fields.dstuser = value;
      return;
    }
  }
  if (event.dynamic.length >= MAX_DYNAMIC_FIELDS) return;
  event.dynamic.push({ name: key, value });
}
