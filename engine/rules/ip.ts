/**
 * `<srcip>`/`<dstip>` address lists, as Wazuh's rules compare them: each entry is an
 * IPv4 or IPv6 network (`1.2.3.4`, `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `fe80::/10`,
 * `::ffff:1.2.3.4`), `any`, or a `!`-negated one. The list's verdict follows Wazuh's
 * quirk: once a negated entry is seen, every later entry (and the fall-through) flips.
 */
import type { ByteString } from '../types.js';

export interface IpEntry {
  /** The entry was written with a leading `!`. */
  readonly negated: boolean;
  /** 4 bytes for IPv4, 16 for IPv6; `any` has neither family and matches both. */
  readonly family: 4 | 6 | 'any';
  readonly address: Uint8Array;
  readonly mask: Uint8Array;
}

const IPV4_OCTET = /^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
const IPV6_PREFIX = /^(?:12[0-8]|1[0-1][0-9]|[0-9]?[0-9])$/;
const IPV4_CIDR = /^(?:3[0-2]|[1-2]?[0-9])$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** Parses a rule entry; undefined when Wazuh would refuse it (a load error). */
export function parseIpEntry(text: string): IpEntry | undefined {
  const negated = text.startsWith('!');
  const body = negated ? text.slice(1) : text;
  if (body === 'any') return { negated, family: 'any', address: new Uint8Array(0), mask: new Uint8Array(0) };
  const slash = body.indexOf('/');
  const host = slash < 0 ? body : body.slice(0, slash);
  const suffix = slash < 0 ? undefined : body.slice(slash + 1);
  const mapped = /^::[fF]{4}:/.test(host) ? host.slice(7) : host;
  const v4 = parseStrictIpv4(mapped);
  if (v4) return ipv4Entry(negated, v4, suffix);
  if (host.includes('.')) return undefined;
  return ipv6Entry(negated, host, suffix);
}

function ipv4Entry(negated: boolean, address: Uint8Array, suffix: string | undefined): IpEntry | undefined {
  let mask: Uint8Array;
  if (suffix === undefined) mask = prefixMask(32, 4);
  else if (IPV4_CIDR.test(suffix)) mask = prefixMask(Number(suffix), 4);
  else {
    const dotted = parseStrictIpv4(suffix);
    if (!dotted) return undefined;
    mask = dotted;
  }
  return { negated, family: 4, address: applyMask(address, mask), mask };
}

function ipv6Entry(negated: boolean, host: string, suffix: string | undefined): IpEntry | undefined {
  if (!isRuleIpv6Shape(host)) return undefined;
  const address = parseIpv6(host);
  if (!address) return undefined;
  if (suffix !== undefined && !IPV6_PREFIX.test(suffix)) return undefined;
  const mask = prefixMask(suffix === undefined ? 128 : Number(suffix), 16);
  return { negated, family: 6, address: applyMask(address, mask), mask };
}

/** The shapes Wazuh's entry patterns accept: hex groups with at most one `::`, no embedded IPv4. */
function isRuleIpv6Shape(host: string): boolean {
  if (host === '::') return true;
  const halves = host.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const all = halves.flatMap(groups);
  if (!all.every((g) => HEX_GROUP.test(g))) return false;
  return halves.length === 1 ? all.length === 8 : all.length <= 7;
}

/** Does `ip` (an event field) fall in the list? Unparsable addresses never match. */
export function ipListMatches(entries: readonly IpEntry[], ip: ByteString): boolean {
  const v4 = parseStrictIpv4(ip);
  const address = v4 ?? parseIpv6(ip);
  if (!address) return false;
  const family = v4 ? 4 : 6;
  let verdict = true;
  for (const entry of entries) {
    if (entry.negated) verdict = false;
    if (entry.family === 'any' || (entry.family === family && inNetwork(address, entry))) return verdict;
  }
  return !verdict;
}

function inNetwork(address: Uint8Array, entry: IpEntry): boolean {
  for (let i = 0; i < address.length; i++) {
    if ((address[i]! & entry.mask[i]!) !== entry.address[i]) return false;
  }
  return true;
}

/** Dotted quad as inet_pton reads it: four decimal octets, no leading zeros. */
export function parseStrictIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!IPV4_OCTET.test(part)) return undefined;
    out[i] = Number(part);
  }
  return out;
}

/** Any textual IPv6 address inet_pton accepts (`::` compression, trailing dotted quad). */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  const words: number[] = [];
  const last = (halves.length === 2 ? tail : head);
  const pushGroups = (groups: string[], target: number[], allowV4: boolean): boolean => {
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (allowV4 && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseStrictIpv4(g);
        if (!v4) return false;
        target.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (HEX_GROUP.test(g)) target.push(parseInt(g, 16));
      else return false;
    }
    return true;
  };
  const headWords: number[] = [];
  const tailWords: number[] = [];
  if (!pushGroups(head, headWords, last === head)) return undefined;
  if (!pushGroups(tail, tailWords, last === tail)) return undefined;
  if (halves.length === 1) {
    if (headWords.length !== 8) return undefined;
    words.push(...headWords);
  } else {
    const fill = 8 - headWords.length - tailWords.length;
    if (fill < 1) return undefined;
    words.push(...headWords, ...new Array<number>(fill).fill(0), ...tailWords);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  return out;
}

function prefixMask(bits: number, bytes: number): Uint8Array {
  const mask = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    mask[i] = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
  }
  return mask;
}

function applyMask(address: Uint8Array, mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(address.length);
  for (let i = 0; i < address.length; i++) out[i] = address[i]! & mask[i]!;
  return out;
}
