/**
 * The envelope every frame carries, `{v, type, id, re?, body}`, its msgpack
 * encoding, and validation against a catalogue of body schemas. Decoding can only
 * yield plain data, and nothing reaches an actor before its schema accepted it.
 */
import { Packr } from 'msgpackr';
import { z } from 'zod';
import { FrameError } from './errors.js';

export const ENVELOPE_VERSION = 1;
const U32 = 0xffff_ffff;

// Plain msgpack: no record extension (no generated readers for peer data), objects not Maps.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', moreTypes: false });

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

export function decodePayload(payload: Buffer): unknown {
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
    return `${where || 'frame'}: ${i.message}`;
  }).join('; ');
}

export interface Catalogue<B extends Bodies> {
  readonly bodies: B;
  parse(raw: unknown): FrameOf<B>;
  has(type: string): type is MessageType<B>;
}

export function catalogue<B extends Bodies>(name: string, bodies: B): Catalogue<B> {
  const has = (type: string): type is MessageType<B> => Object.hasOwn(bodies, type);
  return {
    bodies,
    has,
    parse(raw) {
      const env = EnvelopeSchema.safeParse(raw);
      if (!env.success) throw new FrameError('invalid-message', `invalid envelope: ${describeIssues(env.error.issues, '')}`);
      const { type } = env.data;
      const { id } = env.data;
      if (!Object.hasOwn(bodies, type)) throw new FrameError('invalid-message', `unknown ${name} message type '${type}'`, id);
      const schema = bodies[type] as z.ZodType;
      const body = schema.safeParse(env.data.body);
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
