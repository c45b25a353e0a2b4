/**
 * JSON_Decoder: parses the log (from the selected decoder's plugin offset) as cJSON does
 * and turns every leaf of the top-level object into a field: nested keys joined with '.',
 * a few exact top-level names into static fields, the rest into dynamic fields.
 */
import type { ByteString, EngineEvent, StaticField } from '../../types.js';
import type { JsonOptions, PluginRun } from '../model.js';
import { CJsonCursor, SYNTAX_ERROR, cjsonInt, printJson, type JsonValue } from './cjson.js';
import { formatFixed6 } from './c-format.js';

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

// Fields found while parsing, applied only once the whole text parsed (cJSON fails as a whole).
// A top-level key may name a static field; nested keys never do.
const pendingKeys: string[] = [];
const pendingValues: ByteString[] = [];
const pendingTopLevel: boolean[] = [];

export function jsonDecoder(run: PluginRun): void {
  const start = inputStart(run);
  if (start === undefined) return;
  const log = run.event.log;
  const nul = log.indexOf('\0', start);
  const cursor = new CJsonCursor(log, start, nul < 0 ? log.length : nul);
  pendingKeys.length = 0;
  pendingValues.length = 0;
  pendingTopLevel.length = 0;
  try {
    if (log.startsWith('\xef\xbb\xbf', start)) cursor.pos += 3;
    cursor.skipWhitespace();
    // Only an object yields fields: any other top-level value has no key.
    if (cursor.peek() === 0x7b) readObject(cursor, undefined, run.selected.json);
    else cursor.value();
  } catch (err) {
    if (err === SYNTAX_ERROR) return;
    throw err;
  }
  for (let i = 0; i < pendingKeys.length; i++) fill(run.event, pendingKeys[i]!, pendingValues[i]!, pendingTopLevel[i]!);
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

function readObject(cursor: CJsonCursor, prefix: string | undefined, options: JsonOptions): void {
  cursor.open();
  cursor.skipWhitespace();
  if (cursor.peek() === 0x7d) {
    cursor.close();
    return;
  }
  for (;;) {
    const name = cursor.key();
    readMember(cursor, prefix === undefined ? name : prefix + '.' + name, prefix === undefined, options);
    cursor.skipWhitespace();
    const c = cursor.peek();
    if (c === 0x2c) {
      cursor.pos++;
      continue;
    }
    if (c !== 0x7d) throw SYNTAX_ERROR;
    cursor.close();
    return;
  }
}

function readMember(cursor: CJsonCursor, key: string, topLevel: boolean, options: JsonOptions): void {
  const c = cursor.peek();
  let value: ByteString;
  if (c === 0x7b) return readObject(cursor, key, options);
  if (c === 0x22) value = cursor.string();
  else if (c === 0x5b) value = renderArray(cursor.value() as JsonValue[], options);
  else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) value = decoderNumber(cursor.number());
  else {
    const literal = cursor.literal();
    if (literal === undefined) throw SYNTAX_ERROR;
    if (literal === null && options.nullAs === 'discard') return;
    value = literal === null ? 'null' : literal ? 'true' : 'false';
  }
  // An empty rendering (CSV of nothing) is not stored.
  if (c === 0x5b && value === '') return;
  pendingKeys.push(key);
  pendingValues.push(value);
  pendingTopLevel.push(topLevel);
}

/** `%i` when the double is an int, else `%f`. */
export function decoderNumber(d: number): string {
  const asInt = cjsonInt(d);
  return asInt === d ? String(asInt) : formatFixed6(d);
}

/** Default: cJSON_Print of the array. CSV: the scalar items joined with ',' (objects and arrays skipped). */
function renderArray(items: JsonValue[], options: JsonOptions): ByteString {
  if (options.arrayAs === 'array') return printJson(items);
  let out = '';
  for (let i = 0; i < items.length; i++) {
    const text = csvItem(items[i]!);
    if (text === undefined) continue;
    if (out.length + text.length >= MAX_CSV_BYTES) return '';
    out += text;
    if (out.length + 1 >= MAX_CSV_BYTES) return '';
    if (i + 1 < items.length) out += ',';
  }
  return out;
}

function csvItem(item: JsonValue): string | undefined {
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
