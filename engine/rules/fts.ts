/**
 * `<if_fts>` (first time seen) and the `<ignore>`/`<check_if_ignored>` keys. A key is the
 * space-joined tuple Wazuh writes to its fts-queue / ignore files; here the "files" are
 * sets in the RuleState.
 */
import type { ByteString, DecoderInfo, EngineEvent, StaticField } from '../types.js';
import { getDynamic } from '../types.js';
import type { IgnoreSpec } from './model.js';
import type { RuleState } from './state.js';

/** OS_FLSIZE: the key buffer. */
const KEY_LIMIT = 256;

interface FtsSpec {
  readonly id: boolean;
  readonly dstuser: boolean;
  readonly srcuser: boolean;
  readonly srcip: boolean;
  readonly dstip: boolean;
  readonly data: boolean;
  readonly systemName: boolean;
  readonly location: boolean;
  readonly dynamic: readonly string[];
}

const ftsSpecs = new WeakMap<DecoderInfo, FtsSpec>();

/** The decoder's `<fts>` names as Wazuh's decoder loader classifies them. */
function ftsSpec(decoder: DecoderInfo): FtsSpec {
  let spec = ftsSpecs.get(decoder);
  if (spec) return spec;
  const names = decoder.fts ?? [];
  const has = (...wanted: string[]): boolean => names.some((name) => wanted.includes(name));
  const statics = new Set(['dstuser', 'user', 'srcuser', 'srcip', 'dstip', 'id', 'location', 'data', 'extra_data', 'system_name', 'name']);
  spec = {
    id: has('id'), dstuser: has('dstuser', 'user'), srcuser: has('srcuser'), srcip: has('srcip'), dstip: has('dstip'),
    data: has('data', 'extra_data'), systemName: has('system_name'), location: has('location'),
    dynamic: names.filter((name) => !statics.has(name)),
  };
  ftsSpecs.set(decoder, spec);
  return spec;
}

const pick = (event: EngineEvent, field: StaticField, wanted: boolean): string => (wanted ? event.fields[field] ?? '' : '');

function appendDynamic(key: string, event: EngineEvent, names: readonly (string | null)[], stopAtStatic: boolean): string {
  let out = key;
  for (const name of names) {
    if (name === null) {
      if (stopAtStatic) break;
      continue;
    }
    const value = getDynamic(event, name);
    if (value !== undefined) out = `${out} ${value}`;
  }
  return out.slice(0, KEY_LIMIT);
}

export function ftsKey(event: EngineEvent, decoder: DecoderInfo, location: ByteString): string {
  const spec = ftsSpec(decoder);
  const head = [
    decoder.name, pick(event, 'id', spec.id), pick(event, 'dstuser', spec.dstuser), pick(event, 'srcuser', spec.srcuser),
    pick(event, 'srcip', spec.srcip), pick(event, 'dstip', spec.dstip), pick(event, 'data', spec.data),
    pick(event, 'system_name', spec.systemName), spec.location ? location : '',
  ].join(' ').slice(0, KEY_LIMIT - 1);
  return appendDynamic(head, event, spec.dynamic, false);
}

/** Leading characters two keys share (OS_StrHowClosedMatch). */
function sharedPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/**
 * True the first time a key is seen; the key is stored either way it passes. For IDS
 * decoders, a key close to three recent ones is cut to ftsMinSizeForString characters,
 * so a family of near-identical signatures counts as one.
 */
export function firstTimeSeen(state: RuleState, event: EngineEvent, decoder: DecoderInfo, location: ByteString): boolean {
  let key = ftsKey(event, decoder, location);
  if (state.ftsStore.has(key)) return false;
  let recentAdded = false;
  if (decoder.type === 'ids') {
    let similar = 0;
    for (let i = state.ftsRecent.length - 1; i >= 0; i--) {
      if (sharedPrefix(state.ftsRecent[i]!, key) > state.ftsMinSizeForString && ++similar > 2) {
        key = key.slice(0, state.ftsMinSizeForString);
        break;
      }
    }
    state.ftsRecent.push(key);
    if (state.ftsRecent.length > state.ftsListSize) state.ftsRecent.shift();
    recentAdded = true;
  }
  if (state.ftsStore.has(key)) {
    if (recentAdded) state.ftsRecent.pop();
    return false;
  }
  state.ftsStore.add(key);
  return true;
}

/**
 * The ignore-list key. `forCheck` builds the check_if_ignored key, which (as in Wazuh)
 * takes data from the rule's `<ignore>` flags rather than its own.
 */
export function ignoreKey(
  event: EngineEvent, decoder: DecoderInfo | undefined, location: ByteString, spec: IgnoreSpec, dataFlags: IgnoreSpec | undefined,
): string {
  const head = [
    spec.name ? decoder?.name ?? '' : '', pick(event, 'id', spec.id), pick(event, 'dstuser', spec.user),
    pick(event, 'srcip', spec.srcip), pick(event, 'dstip', spec.dstip), pick(event, 'data', dataFlags?.data ?? false), '',
    spec.location ? location : '',
  ].join(' ').slice(0, KEY_LIMIT - 1);
  return appendDynamic(head, event, spec.dynamic, true);
}
