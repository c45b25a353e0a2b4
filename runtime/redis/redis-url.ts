/**
 * Redis connection URLs: `redis://[user[:password]@]host[:port][/db]`,
 * `rediss://...` (TLS) and `unix:///abs/path.sock`. Errors and log lines never
 * carry the password: use `redactRedisUrl` for anything shown to people.
 */
import type { RedisOptions } from 'ioredis';

export type RedisUrlOptions = Pick<RedisOptions, 'host' | 'port' | 'db' | 'path' | 'tls' | 'username' | 'password'>;

const SCHEMES = ['redis:', 'rediss:', 'unix:'] as const;
const MAX_PORT = 65535;

/** Replaces the password of `scheme://user:password@...` with `***`. */
export function redactRedisUrl(url: string): string {
  // Greedy up to the last '@', as the parser splits there.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):.*@/i, '$1:***@');
}

export function parseRedisUrl(url: string): RedisUrlOptions {
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0].toLowerCase() ?? '';
  const rest = url.slice(scheme.length);
  if (!(SCHEMES as readonly string[]).includes(scheme) || !rest.startsWith('//')) {
    fail(url, `scheme must be redis://, rediss:// or unix:// (got ${scheme ? `'${scheme}'` : 'none'})`);
  }
  if (/[?#]/.test(rest)) fail(url, 'query strings and fragments are not supported');
  const body = rest.slice(2);
  return scheme === 'unix:' ? parseUnix(url, body) : parseTcp(url, body, scheme === 'rediss:');
}

function parseUnix(url: string, body: string): RedisUrlOptions {
  if (!body.startsWith('/') || body.length < 2) {
    fail(url, `socket path must be absolute, as in unix:///run/redis.sock (got '${body}')`);
  }
  return { path: body };
}

function parseTcp(url: string, body: string, tls: boolean): RedisUrlOptions {
  // Split at the last '@' first: an unencoded '/' in a password must not end the host part.
  const at = body.lastIndexOf('@');
  const hostAndDb = body.slice(at + 1);
  const slash = hostAndDb.indexOf('/');
  const dbPart = slash === -1 ? '' : hostAndDb.slice(slash + 1);
  const options: RedisUrlOptions = {
    ...parseCredentials(url, at === -1 ? '' : body.slice(0, at)),
    ...parseHostPort(url, slash === -1 ? hostAndDb : hostAndDb.slice(0, slash)),
  };
  if (dbPart !== '') options.db = parseDb(url, dbPart);
  if (tls) options.tls = {};
  return options;
}

function parseCredentials(url: string, userinfo: string): RedisUrlOptions {
  if (userinfo === '') return {};
  const colon = userinfo.indexOf(':');
  const username = decode(url, colon === -1 ? userinfo : userinfo.slice(0, colon), 'user name');
  const password = colon === -1 ? '' : decode(url, userinfo.slice(colon + 1), 'password');
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function parseHostPort(url: string, hostPort: string): RedisUrlOptions {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::([^:]*))?$/i.exec(hostPort);
  if (!match?.[1]) fail(url, `host must be a name or an address (got '${hostPort}')`);
  const host = match[1].replace(/^\[(.*)\]$/, '$1');
  const portText = match[2];
  if (portText === undefined) return { host };
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > MAX_PORT) {
    fail(url, `port must be a number from 1 to ${MAX_PORT} (got '${portText}')`);
  }
  return { host, port };
}

function parseDb(url: string, dbPart: string): number {
  const db = Number(dbPart);
  if (!/^\d+$/.test(dbPart) || !Number.isSafeInteger(db)) {
    fail(url, `database must be a non-negative integer (got '${dbPart}')`);
  }
  return db;
}

function decode(url: string, text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // The bad text itself may be the password: name the part only.
    return fail(url, `${what} has invalid percent-encoding`);
  }
}

/** `problem` names the bad part without quoting it, so config errors can reuse it safely. */
export class RedisUrlError extends Error {
  constructor(url: string, readonly problem: string) {
    super(`Invalid Redis URL '${redactRedisUrl(url)}': ${problem}`);
    this.name = 'RedisUrlError';
  }
}

function fail(url: string, problem: string): never {
  throw new RedisUrlError(url, problem);
}
