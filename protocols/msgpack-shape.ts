/**
 * A walk over msgpack headers that allocates nothing, run before a frame is decoded.
 * The decoder builds whatever a peer describes: a 10 MB frame of arrays nested inside
 * one another cost 1.5 s to decode before any schema could refuse it, and an array
 * header may declare four billion items (both found by test/fuzz). Here such a frame
 * costs one pass over its bytes.
 */

export interface MsgpackShapeLimits {
  /** Containers inside containers; our messages nest fewer than ten deep. */
  readonly maxDepth: number;
}

/** The one extension our encoder writes: `undefined` (fixext 1, type 0, data 0). */
const UNDEFINED_EXT = 0xd4;

/** Byte counts of the fixed-size types from 0xc0 on (-1: container or sized; -2: never valid). */
const FIXED_SIZE: Readonly<Record<number, number>> = {
  0xc0: 0, 0xc2: 0, 0xc3: 0,
  0xca: 4, 0xcb: 8,
  0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8,
  0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8,
};

/**
 * Returns what is wrong with the payload's shape, or null when it is one well-formed
 * msgpack value within the limits that decodes to plain data only (no extension types,
 * so no dates or other classes).
 */
export function msgpackShapeProblem(buf: Uint8Array, limits: MsgpackShapeLimits): string | null {
  const remaining: number[] = [1];
  let pos = 0;
  while (remaining.length > 0) {
    const level = remaining.length - 1;
    if (remaining[level] === 0) {
      remaining.pop();
      continue;
    }
    (remaining[level] as number) -= 1;
    if (pos >= buf.length) return `truncated at byte ${pos}`;
    const at = pos;
    const step = headerAt(buf, pos);
    if (typeof step === 'string') return `${step} at byte ${at}`;
    pos = step.next;
    if (pos > buf.length) return `truncated at byte ${at}`;
    if (step.items === 0) continue;
    if (step.items > buf.length - pos) return `a container at byte ${at} declares ${step.items} items but only ${buf.length - pos} bytes follow`;
    if (remaining.length > limits.maxDepth) return `containers nested deeper than ${limits.maxDepth} at byte ${at}`;
    remaining.push(step.items);
  }
  return pos === buf.length ? null : `${buf.length - pos} bytes after the value`;
}

interface Header {
  /** Where the next value starts (after this header and any scalar payload). */
  readonly next: number;
  /** Values this container holds (a map counts keys and values). */
  readonly items: number;
}

function headerAt(buf: Uint8Array, pos: number): Header | string {
  const b = buf[pos] as number;
  if (b <= 0x7f || b >= 0xe0) return { next: pos + 1, items: 0 };
  if (b <= 0x8f) return { next: pos + 1, items: (b & 0x0f) * 2 };
  if (b <= 0x9f) return { next: pos + 1, items: b & 0x0f };
  if (b <= 0xbf) return { next: pos + 1 + (b & 0x1f), items: 0 };
  const fixed = FIXED_SIZE[b];
  if (fixed !== undefined) return { next: pos + 1 + fixed, items: 0 };
  switch (b) {
    case 0xc4: case 0xd9: return sized(buf, pos, 1);
    case 0xc5: case 0xda: return sized(buf, pos, 2);
    case 0xc6: case 0xdb: return sized(buf, pos, 4);
    case 0xdc: return counted(buf, pos, 2, 1);
    case 0xdd: return counted(buf, pos, 4, 1);
    case 0xde: return counted(buf, pos, 2, 2);
    case 0xdf: return counted(buf, pos, 4, 2);
    case UNDEFINED_EXT:
      return buf[pos + 1] === 0 && buf[pos + 2] === 0 ? { next: pos + 3, items: 0 } : 'an extension type (only plain data is accepted)';
    case 0xc1: return 'the reserved byte 0xc1';
    default: return 'an extension type (only plain data is accepted)';
  }
}

/** A string or binary: a big-endian length of `width` bytes, then that many bytes. */
function sized(buf: Uint8Array, pos: number, width: number): Header | string {
  const length = readLength(buf, pos + 1, width);
  return length === null ? 'truncated length' : { next: pos + 1 + width + length, items: 0 };
}

/** An array (`perEntry` 1) or a map (2): a big-endian count of `width` bytes. */
function counted(buf: Uint8Array, pos: number, width: number, perEntry: 1 | 2): Header | string {
  const count = readLength(buf, pos + 1, width);
  return count === null ? 'truncated length' : { next: pos + 1 + width, items: count * perEntry };
}

function readLength(buf: Uint8Array, at: number, width: number): number | null {
  if (at + width > buf.length) return null;
  let n = 0;
  for (let i = 0; i < width; i++) n = n * 256 + (buf[at + i] as number);
  return n;
}
