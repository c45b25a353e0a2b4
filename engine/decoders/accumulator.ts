/**
 * The openldap `<accumulate/>` store (analysisd's accumulator.c): events of one connection
 * share an `id`, so fields learnt from earlier lines (the client address, the bound user)
 * fill the gaps of later ones. Entries live 120 s; time comes from the caller.
 */
import type { ByteString, EngineEvent } from '../types.js';

const EXPIRE_SECONDS = 120;
const PURGE_INTERVAL_SECONDS = 300;
const PURGE_EVERY = 200;
/** Keys of 256 bytes or more are not accumulated. */
const MAX_KEY_BYTES = 256;
/** Values longer than 80 bytes are neither stored nor restored. */
const MAX_VALUE_BYTES = 80;

const FIELDS = ['dstuser', 'srcuser', 'dstip', 'srcip', 'dstport', 'srcport', 'data'] as const;
type AccumulatedField = (typeof FIELDS)[number];

interface Entry {
  timestamp: number;
  readonly values: Partial<Record<AccumulatedField, ByteString>>;
}

export class Accumulator {
  private readonly entries = new Map<string, Entry>();
  private lookups = 0;
  private purgedAt: number | undefined;

  /** Entries currently held (for tests and statistics). */
  get size(): number {
    return this.entries.size;
  }

  /** Fills the event's empty fields from its connection's entry, then stores what it knows; `now` in seconds. */
  accumulate(event: EngineEvent, decoderName: string, now: number): void {
    const id = event.fields.id;
    if (id === undefined) return;
    this.purge(now);
    const key = `${event.hostname} ${decoderName} ${id}`;
    if (key.length >= MAX_KEY_BYTES) return;
    let entry = this.entries.get(key);
    if (entry && entry.timestamp > 0 && entry.timestamp < now - EXPIRE_SECONDS) entry = undefined;
    if (entry) {
      for (const field of FIELDS) copyIfUnknown(event.fields, entry.values, field);
    } else {
      entry = { timestamp: 0, values: {} };
      this.entries.set(key, entry);
    }
    entry.timestamp = now;
    for (const field of FIELDS) copyIfUnknown(entry.values, event.fields, field);
  }

  /** Every 200th lookup drops the entries older than 120 s. */
  private purge(now: number): void {
    this.purgedAt ??= now;
    this.lookups++;
    if (this.lookups < PURGE_EVERY && this.purgedAt < now + PURGE_INTERVAL_SECONDS) return;
    this.lookups = 0;
    this.purgedAt = now;
    for (const [key, entry] of this.entries) {
      if (entry.timestamp < now - EXPIRE_SECONDS) this.entries.delete(key);
    }
  }
}

/** acm_str_replace: never overwrite a known value, never copy an empty or over-long one. */
function copyIfUnknown(
  to: Partial<Record<AccumulatedField, ByteString>>,
  from: Partial<Record<AccumulatedField, ByteString>>,
  field: AccumulatedField,
): void {
  const value = from[field];
  if (value === undefined || value.length === 0 || value.length > MAX_VALUE_BYTES) return;
  if (to[field]) return;
  to[field] = value;
}
