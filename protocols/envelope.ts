/**
 * The envelope every frame carries, `{v, type, id, re?, body}`, its msgpack
 * encoding, and validation against a catalogue of body schemas. Decoding can only
 * yield plain data, and nothing reaches an actor before its schema accepted it.
 */
import { Packr } from 'msgpackr';
import { z } from 'zod';
import { FrameError } from './errors.js';
import { msgpackShapeProblem } from './msgpack-shape.js';

export const ENVELOPE_VERSION = 1;
const U32 = 0xffff_ffff;

// Plain msgpack: no record extension (no generated readers for peer data), objects not Maps,
// and no structured-clone references: with them a 129 KB frame pointing 10,000 times at one
// object of 10,000 keys decoded to a graph that took zod 26 s and 1.7 GB to walk (found by test/fuzz).
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', moreTypes: false, structuredClone: false });

/**
 * Validation stops at the first problem instead of collecting one issue per bad item: a 2 MB
 * frame listing 2,000,000 empty objects ran the node out of heap (found by test/fuzz). This
 * is the flag zod's own `validate()` sets; a unit test in envelope.test.ts pins its effect.
 */
const FIRST_PROBLEM: z.core.ParseContextInternal<z.core.$ZodIssue> = { abortEarly: true };

export type Bodies = Readonly<Record<string, z.ZodType>>;
export type MessageType<B extends Bodies> = keyof B & string;
export type BodyOf<B extends Bodies, T extends MessageType<B>> = z.infer<B[T]>;

export type FrameOf<B extends Bodies> = {
  [T in MessageType<B>]: { readonly v: 1; readonly type: T; readonly id: number; readonly re?: number; readonly body: BodyOf<B, T> };
}[MessageType<B>];

const EnvelopeSchema = z.strictObject({
  v: z.literal(ENVELOPE_VERSION),
  type: z.string().min(1).max(64),
  id: z.number().int().min(0).max(U32),
  re: z.number().int().min(0).max(U32).optional(),
  body: z.unknown(),
});

export function encodePayload(value: unknown): Buffer {
  return packr.pack(value);
}

/** Deeper than any message of ours (they nest fewer than ten levels). */
const MAX_NESTING = 32;

export function decodePayload(payload: Buffer): unknown {
  const problem = msgpackShapeProblem(payload, { maxDepth: MAX_NESTING });
  if (problem !== null) throw new FrameError('undecodable', `undecodable frame: ${problem}`);
  try {
    return packr.unpack(payload);
  } catch (err) {
    // Covers truncated data, trailing bytes, and the RangeError of deeply nested input.
    throw new FrameError('undecodable', `undecodable frame: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Where in the frame the first problems are, e.g. `body.nodes[0].name: expected string`. */
function describeIssues(issues: readonly z.core.$ZodIssue[], prefix: string): string {
  return issues.slice(0, 3).map((i) => {
    const where = [prefix, ...i.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))]
      .filter(Boolean).join('.').replace(/\.\[/g, '[');
    // An object of a million unknown keys names them all; the log gets the start.
    const message = i.message.length > 300 ? `${i.message.slice(0, 300)}…` : i.message;
    return `${where || 'frame'}: ${message}`;
  }).join('; ');
}

/**
 * A msgpack byte string anywhere but as the value of one of `bytesFields` (where the schemas
 * expect bytes): zod would walk it as an object with one key per byte (a 4 MB byte string as
 * a 'ping' body cost 1.7 s and 500 MB; found by test/fuzz). Says where it is, or null.
 */
function misplacedBytes(body: unknown, bytesFields: ReadonlySet<string>): string | null {
  if (ArrayBuffer.isView(body)) return 'as the body';
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value as unknown[]) {
        if (ArrayBuffer.isView(item)) return 'in a list';
        stack.push(item);
      }
      continue;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (!ArrayBuffer.isView(item)) stack.push(item);
      else if (!bytesFields.has(key)) return `in '${key}'`;
    }
  }
  return null;
}

export interface Catalogue<B extends Bodies> {
  readonly bodies: B;
  parse(raw: unknown): FrameOf<B>;
  has(type: string): type is MessageType<B>;
}

/** `bytesFields`: the field names whose values may be byte strings (msgpack bin). */
export function catalogue<B extends Bodies>(name: string, bodies: B, bytesFields: readonly string[] = []): Catalogue<B> {
  const has = (type: string): type is MessageType<B> => Object.hasOwn(bodies, type);
  const bytesAllowed = new Set(bytesFields);
  return {
    bodies,
    has,
    parse(raw) {
      if (ArrayBuffer.isView(raw)) throw new FrameError('invalid-message', 'invalid envelope: frame: bytes, not a map');
      const env = EnvelopeSchema.safeParse(raw, FIRST_PROBLEM);
      if (!env.success) throw new FrameError('invalid-message', `invalid envelope: ${describeIssues(env.error.issues, '')}`);
      const { type } = env.data;
      const { id } = env.data;
      if (!Object.hasOwn(bodies, type)) throw new FrameError('invalid-message', `unknown ${name} message type '${type}'`, id);
      const bytes = misplacedBytes(env.data.body, bytesAllowed);
      if (bytes !== null) throw new FrameError('invalid-message', `invalid '${type}' message: bytes ${bytes}, where the protocol has none`, id);
      const schema = bodies[type] as z.ZodType;
      const body = schema.safeParse(env.data.body, FIRST_PROBLEM);
      if (!body.success) throw new FrameError('invalid-message', `invalid '${type}' message: ${describeIssues(body.error.issues, 'body')}`, id);
      const frame = { v: ENVELOPE_VERSION, type, id, body: body.data, ...(env.data.re === undefined ? {} : { re: env.data.re }) };
      return frame as FrameOf<B>;
    },
  };
}

/** Builds an envelope for sending; `re` marks a reply to frame `re`. */
export function envelope<B extends Bodies, T extends MessageType<B>>(type: T, id: number, body: BodyOf<B, T>, re?: number): FrameOf<B> {
  return { v: ENVELOPE_VERSION, type, id, body, ...(re === undefined ? {} : { re }) } as FrameOf<B>;
}
