/**
 * CDB lists: the text file Wazuh compiles into list.cdb (analysisd/lists_make.c) and the
 * lookups a rule's `<list lookup="...">` makes (analysisd/lists_list.c). An in-memory map
 * stands in for the cdb file; cdb returns the first of duplicate keys, so the map keeps it.
 */
import type { ByteString, CdbList, Matcher } from '../types.js';

/**
 * The lookups rules.c accepts. There is no `not_address_match_key_value`: Wazuh refuses
 * that name as an invalid lookup.
 */
export type ListLookup =
  | 'match_key'
  | 'not_match_key'
  | 'match_key_value'
  | 'address_match_key'
  | 'not_address_match_key'
  | 'address_match_key_value';

export const LIST_LOOKUPS: readonly ListLookup[] = [
  'match_key', 'not_match_key', 'match_key_value', 'address_match_key', 'not_address_match_key', 'address_match_key_value',
];

/** Wazuh reads a list line by line with fgets into a 65,536-byte buffer: longer lines come in pieces. */
const LINE_PIECE = 65534;

/**
 * Parses a list's text, line by line:
 *  - the line ends at its first `\r` or `\n` (so `a:b\rc` is `a:b`), or at a NUL byte;
 *  - a line without `:` is skipped (there are no comments: `#x:y` is key `#x`);
 *  - when a `"` comes before the first `:`, the key is what lies between that quote and
 *    the next one (a missing closing quote skips the line), and the value starts after
 *    the first `:` following the closing quote; otherwise the key is everything before
 *    the first `:`;
 *  - when the value holds a `"`, it is what lies between that quote and the next one
 *    (a missing closing quote skips the line);
 *  - keys and values may be empty; the first of duplicate keys wins.
 */
export function parseCdbList(text: ByteString): CdbList {
  const list = new Map<ByteString, ByteString>();
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf('\n', start);
    const lineEnd = Math.min(newline < 0 ? text.length : newline + 1, start + LINE_PIECE);
    const entry = parseLine(text.slice(start, lineEnd));
    if (entry !== undefined && !list.has(entry[0])) list.set(entry[0], entry[1]);
    start = lineEnd;
  }
  return list;
}

function parseLine(raw: string): [ByteString, ByteString] | undefined {
  const line = raw.slice(0, firstOf(raw, ['\r', '\n', '\0']));
  const colon = line.indexOf(':');
  if (colon < 0) return undefined;
  const quote = line.indexOf('"');
  let key: string;
  let valueFrom: number;
  if (quote >= 0 && quote < colon) {
    const close = line.indexOf('"', quote + 1);
    if (close < 0) return undefined;
    key = line.slice(quote + 1, close);
    const separator = line.indexOf(':', close + 1);
    if (separator < 0) return undefined;
    valueFrom = separator + 1;
  } else {
    key = line.slice(0, colon);
    valueFrom = colon + 1;
  }
  let value = line.slice(valueFrom);
  const open = value.indexOf('"');
  if (open >= 0) {
    const close = value.indexOf('"', open + 1);
    if (close < 0) return undefined;
    value = value.slice(open + 1, close);
  }
  return [key, value];
}

function firstOf(text: string, stops: readonly string[]): number {
  let end = text.length;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0 && at < end) end = at;
  }
  return end;
}

/**
 * One `<list>` test, as OS_DBSearch answers it. Keys compare exactly (case-sensitive).
 * `checkValue` is the rule's compiled `check_value` (OS_Match); without it a value never
 * matches.
 *  - address lookups try the key, then each prefix of it that ends in `.`, longest first
 *    (`10.1.2.3` → `10.1.2.`, `10.1.`, `10.`): subnets by octet, not CIDR;
 *  - `address_match_key_value` is inverted in Wazuh and copied as is: it holds when no
 *    prefix is in the list, or when the value of the first (longest) one found does NOT
 *    match check_value. The stock rules never use it.
 */
export function lookupList(list: CdbList, lookup: ListLookup, key: ByteString, checkValue?: Matcher): boolean {
  const valueMatches = (value: ByteString): boolean => checkValue !== undefined && checkValue.test(value);
  switch (lookup) {
    case 'match_key': return list.has(key);
    case 'not_match_key': return !list.has(key);
    case 'match_key_value': {
      const value = list.get(key);
      return value !== undefined && valueMatches(value);
    }
    case 'address_match_key': return addressValue(list, key) !== undefined;
    case 'not_address_match_key': return addressValue(list, key) === undefined;
    case 'address_match_key_value': {
      const value = addressValue(list, key);
      return value === undefined || !valueMatches(value);
    }
  }
}

/** The value of the key, else of its longest prefix ending in `.`. */
function addressValue(list: CdbList, key: ByteString): ByteString | undefined {
  const exact = list.get(key);
  if (exact !== undefined) return exact;
  for (let dot = key.lastIndexOf('.'); dot >= 0; dot = key.lastIndexOf('.', dot - 1)) {
    const value = list.get(key.slice(0, dot + 1));
    if (value !== undefined) return value;
    if (dot === 0) break;
  }
  return undefined;
}
