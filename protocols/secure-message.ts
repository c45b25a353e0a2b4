/**
 * Wazuh's secure agent message (§5 of the agent protocol), the pure part:
 *
 *   wire = [ "!" id "!" ] ( "#AES:" | ":" ) encrypt( "!"×n + zlib( md5hex(L3) + L3 ) )
 *   L3   = RRRRR GGGGGGGGGG ":" LLLL ":" payload
 *
 * Payloads are bytes throughout; nothing here decodes them as UTF-8.
 */
import { createCipheriv, createDecipheriv, createHash, randomInt } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { aesKey, deriveEncryptionKey } from './agent-keys.js';
import { blowfishCbcDecrypt, blowfishCbcEncrypt } from './blowfish.js';

export type Cipher = 'aes' | 'blowfish';

export interface AgentKeyMaterial {
  /** The id as written in client.keys, e.g. "001". */
  id: string;
  name: string;
  key: string;
}

export type DecodeReason = 'bad-sender' | 'bad-key' | 'corrupt' | 'bad-checksum' | 'legacy-format' | 'too-large';

const REASON_TEXT: Record<DecodeReason, string> = {
  'bad-sender': 'malformed !id! sender prefix',
  'bad-key': 'message does not decrypt with this agent key',
  'corrupt': 'corrupt message',
  'bad-checksum': 'message checksum mismatch',
  'legacy-format': 'legacy uncompressed message format is not supported',
  'too-large': 'decompressed message is too large',
};

export class DecodeError extends Error {
  constructor(readonly reason: DecodeReason, message?: string) {
    super(message ?? REASON_TEXT[reason]);
    this.name = 'DecodeError';
  }
}

/** `#!-agent ack `: the manager's answer to a control message. */
export const ACK = Buffer.from('#!-agent ack ', 'latin1');
/** The raw answer to a raw `#ping`. */
export const PONG = Buffer.from('#pong', 'latin1');
const PING = Buffer.from('#ping', 'latin1');

/** A raw, unencrypted payload starting with `#ping` (§4.3). */
export function isPing(raw: Buffer): boolean {
  return raw.length >= PING.length && raw.subarray(0, PING.length).equals(PING);
}

const AES_MARKER = Buffer.from('#AES:', 'latin1');
const AES_PREFIX = Buffer.from('#AES', 'latin1');
const BLOWFISH_MARKER = Buffer.from(':', 'latin1');
const AES_IV = Buffer.from('FEDCBA0987654321', 'latin1');
const BLOWFISH_IV = Buffer.from([0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10]);

const BANG = 0x21; // '!'
const COLON = 0x3a; // ':'
const MD5_HEX_BYTES = 32;
/** RRRRR + GGGGGGGGGG + ':' + LLLL + ':' */
const COUNTER_HEADER_BYTES = 21;
const MIN_INFLATED_BYTES = MD5_HEX_BYTES + COUNTER_HEADER_BYTES;
/** OS_MAXSTR plus room: anything that inflates past this is refused, not buffered. */
const MAX_INFLATED_BYTES = 70_000;
const ID_RE = /^\d{1,8}$/;
const MAX_ID_DIGITS = 8;

export interface EncodeOptions {
  /** Prefix the message with `!<id>!` (agent→manager, §4.4). */
  withId: boolean;
  /** 0..65535; random when omitted. */
  random?: number;
  /** 0..9999999999; default 0. */
  global?: number;
  /** 0..9999; default 1. */
  local?: number;
}

function counter(value: number, max: number, digits: number, what: string): string {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) throw new RangeError(`${what} counter out of range: ${value}`);
  return String(value).padStart(digits, '0');
}

function md5hex(data: Buffer): Buffer {
  return Buffer.from(createHash('md5').update(data).digest('hex'), 'latin1');
}

function blowfishKey(k: AgentKeyMaterial): Buffer {
  return Buffer.from(deriveEncryptionKey(k.id, k.name, k.key), 'latin1');
}

/** Builds one secure message, §5.2. Throws RangeError on out-of-range counters or a bad id. */
export function encodeSecure(payload: Buffer, k: AgentKeyMaterial, cipher: Cipher, opts: EncodeOptions): Buffer {
  const header = counter(opts.random ?? randomInt(0, 65_536), 65_535, 5, 'random')
    + counter(opts.global ?? 0, 9_999_999_999, 10, 'global') + ':'
    + counter(opts.local ?? 1, 9_999, 4, 'local') + ':';
  const l3 = Buffer.concat([Buffer.from(header, 'latin1'), payload]);
  const l1 = deflateSync(Buffer.concat([md5hex(l3), l3]), { level: 9 });
  const pad = 1 + ((8 - ((l1.length + 1) % 8)) % 8);
  const l0 = Buffer.concat([Buffer.alloc(pad, BANG), l1]);
  let body: Buffer;
  if (cipher === 'aes') {
    const c = createCipheriv('aes-256-cbc', aesKey(k.id, k.name, k.key), AES_IV);
    body = Buffer.concat([AES_MARKER, c.update(l0), c.final()]);
  } else {
    body = Buffer.concat([BLOWFISH_MARKER, blowfishCbcEncrypt(blowfishKey(k), BLOWFISH_IV, l0)]);
  }
  if (!opts.withId) return body;
  if (!ID_RE.test(k.id)) throw new RangeError(`agent id must be 1 to 8 digits, got '${k.id}'`);
  return Buffer.concat([Buffer.from(`!${k.id}!`, 'latin1'), body]);
}

/** Strips a leading `!<digits>!`; `id` is null when the message has none (fixed-IP agents). */
export function splitSender(message: Buffer): { id: string | null; rest: Buffer } {
  if (message[0] !== BANG) return { id: null, rest: message };
  const close = message.indexOf(BANG, 1);
  const digits = close - 1;
  if (close < 0 || digits < 1 || digits > MAX_ID_DIGITS) throw new DecodeError('bad-sender');
  for (let i = 1; i < close; i++) {
    const c = message[i] as number;
    if (c < 0x30 || c > 0x39) throw new DecodeError('bad-sender');
  }
  return { id: message.toString('latin1', 1, close), rest: message.subarray(close + 1) };
}

function decryptAes(ciphertext: Buffer, k: AgentKeyMaterial): Buffer {
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
    throw new DecodeError('corrupt', `AES ciphertext of ${ciphertext.length} bytes is not a whole number of blocks`);
  }
  try {
    const d = createDecipheriv('aes-256-cbc', aesKey(k.id, k.name, k.key), AES_IV);
    return Buffer.concat([d.update(ciphertext), d.final()]);
  } catch {
    throw new DecodeError('bad-key');
  }
}

function decryptBlowfish(ciphertext: Buffer, k: AgentKeyMaterial): Buffer {
  if (ciphertext.length === 0 || ciphertext.length % 8 !== 0) {
    throw new DecodeError('corrupt', `Blowfish ciphertext of ${ciphertext.length} bytes is not a whole number of blocks`);
  }
  return blowfishCbcDecrypt(blowfishKey(k), BLOWFISH_IV, ciphertext);
}

function inflate(compressed: Buffer): Buffer {
  try {
    return inflateSync(compressed, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw new DecodeError('too-large');
    throw new DecodeError('bad-key');
  }
}

/** Decimal digits at [start, start + count) as a number, or null if any byte is not a digit. */
function readDigits(b: Buffer, start: number, count: number): number | null {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    const c = b[i] as number;
    if (c < 0x30 || c > 0x39) return null;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/**
 * Decodes what follows the sender prefix (§5.3). Every refusal is a DecodeError;
 * on TCP the caller closes the connection.
 */
export function decodeSecure(rest: Buffer, k: AgentKeyMaterial): { payload: Buffer; cipher: Cipher; global: number; local: number } {
  let cipher: Cipher;
  let plain: Buffer;
  if (rest.length >= AES_PREFIX.length && rest.subarray(0, AES_PREFIX.length).equals(AES_PREFIX)) {
    if (rest[AES_PREFIX.length] !== COLON) throw new DecodeError('corrupt', 'no ":" after the #AES marker');
    cipher = 'aes';
    plain = decryptAes(rest.subarray(AES_MARKER.length), k);
  } else {
    if (rest[0] !== COLON) throw new DecodeError('corrupt', 'no cipher marker');
    cipher = 'blowfish';
    plain = decryptBlowfish(rest.subarray(BLOWFISH_MARKER.length), k);
  }

  if (plain[0] === COLON) throw new DecodeError('legacy-format');
  if (plain[0] !== BANG) throw new DecodeError('bad-key');
  let start = 1;
  while (plain[start] === BANG) start++;

  const text = inflate(plain.subarray(start));
  if (text.length < MIN_INFLATED_BYTES) throw new DecodeError('corrupt', `decompressed message of ${text.length} bytes is too short`);
  const l3 = text.subarray(MD5_HEX_BYTES);
  if (!md5hex(l3).equals(text.subarray(0, MD5_HEX_BYTES))) throw new DecodeError('bad-checksum');

  // l3: RRRRR GGGGGGGGGG ':' LLLL ':' payload. The random part is not checked.
  const global = readDigits(l3, 5, 10);
  const local = readDigits(l3, 16, 4);
  if (global === null || local === null || l3[15] !== COLON || l3[20] !== COLON) {
    throw new DecodeError('corrupt', 'malformed counter header');
  }
  return { payload: l3.subarray(COUNTER_HEADER_BYTES), cipher, global, local };
}
