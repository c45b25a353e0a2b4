/**
 * Fans a node's status out to Redis: one hash per node (expiring unless
 * refreshed), a zset of known nodes and an event on every significant change.
 * Redis is optional for the cluster: outages are logged once, counted, and
 * never thrown to callers of `publishNode`.
 */
import { once } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { NodeStatusSchema, type NodeStatus } from '../../protocols/node-status.js';
import type { Logger } from '../logger.js';
import { RedisLink } from './redis-link.js';

const COMMAND_TIMEOUT_MS = 2000;

export interface RedisStatusBusOptions {
  url: string;
  cluster: string;
  heartbeatSeconds: number;
  log: Logger;
}

export interface RedisStatusCounters {
  published: number;
  failed: number;
  connected: boolean;
}

export interface NodeStatusEvent {
  kind: 'node-status';
  status: NodeStatus;
}

export const nodeKey = (cluster: string, node: string): string => `clusterd:{${cluster}}:node:${node}`;
export const nodesKey = (cluster: string): string => `clusterd:{${cluster}}:nodes`;
export const eventsChannel = (cluster: string): string => `clusterd:{${cluster}}:events`;

/** Strings are stored as is (readable with redis-cli), everything else as JSON. */
export function encodeStatusFields(status: NodeStatus): Record<string, string> {
  return Object.fromEntries(
    Object.entries(status).map(([field, value]) => [field, typeof value === 'string' ? value : JSON.stringify(value)]),
  );
}

const STRING_FIELDS = new Set(
  Object.entries(NodeStatusSchema.shape).filter(([, schema]) => schema instanceof z.ZodString).map(([field]) => field),
);

/** Inverse of `encodeStatusFields`; null when the hash is empty or not a valid status. */
export function decodeStatusFields(fields: Record<string, string>): NodeStatus | null {
  const decoded = Object.fromEntries(
    Object.entries(fields).map(([field, text]) => [field, STRING_FIELDS.has(field) ? text : parseJsonOrText(text)]),
  );
  const parsed = NodeStatusSchema.safeParse(decoded);
  return parsed.success ? parsed.data : null;
}

/** Nullable strings (lastKeepalive) are stored raw when set, so they are not JSON. */
function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** True when `next` differs from `previous` in more than its timestamps. */
export function isSignificantChange(previous: NodeStatus | null, next: NodeStatus): boolean {
  return previous === null || !isDeepStrictEqual(withoutTimestamps(previous), withoutTimestamps(next));
}

function withoutTimestamps(status: NodeStatus): Omit<NodeStatus, 'at' | 'lastKeepalive'> {
  const { at: _at, lastKeepalive: _lastKeepalive, ...rest } = status;
  return rest;
}

/** Master first, then workers by name. */
export function sortStatuses(statuses: NodeStatus[]): NodeStatus[] {
  const rank = (s: NodeStatus): number => (s.type === 'master' ? 0 : 1);
  return [...statuses].sort((a, b) => rank(a) - rank(b) || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class RedisStatusBus {
  private readonly link: RedisLink;
  private readonly ttlMs: number;
  private closed = false;
  private lastPublished: NodeStatus | null = null;
  private published = 0;
  private failed = 0;

  constructor(private readonly opts: RedisStatusBusOptions) {
    this.link = new RedisLink({ // a bad URL is a configuration error: throws now
      url: opts.url,
      log: opts.log.task('Redis'),
      paused: 'Status fan-out paused; the cluster keeps working.',
      resumed: 'Status fan-out resumed',
      client: { maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS, connectTimeout: COMMAND_TIMEOUT_MS },
      onReady: () => this.link.markUp(),
    });
    this.ttlMs = 3 * opts.heartbeatSeconds * 1000;
  }

  start(): void {
    if (!this.closed) this.link.connect();
  }

  async publishNode(status: NodeStatus): Promise<void> {
    try {
      const client = await this.ready();
      await this.writeStatus(client, status);
      if (isSignificantChange(this.lastPublished, status)) {
        const event: NodeStatusEvent = { kind: 'node-status', status };
        await client.publish(eventsChannel(this.opts.cluster), JSON.stringify(event));
      }
      this.lastPublished = status;
      this.published++;
      this.link.markUp();
    } catch (err) {
      this.failed++;
      this.link.markDown(reasonOf(err));
    }
  }

  async readNodes(): Promise<NodeStatus[]> {
    try {
      const client = await this.ready();
      const names = await client.zrange(nodesKey(this.opts.cluster), '0', '-1');
      const pipeline = client.pipeline();
      for (const name of names) pipeline.hgetall(nodeKey(this.opts.cluster, name));
      const replies = (await pipeline.exec()) ?? [];
      return sortStatuses(replies.flatMap(([err, fields]) => {
        if (err) throw err;
        const status = isStringRecord(fields) ? decodeStatusFields(fields) : null;
        return status ? [status] : [];
      }));
    } catch (err) {
      throw new Error(`Cannot read node statuses from Redis at ${this.link.safeUrl}: ${reasonOf(err)}`, { cause: err });
    }
  }

  counters(): RedisStatusCounters {
    return { published: this.published, failed: this.failed, connected: this.link.connected };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.link.close();
  }

  /** The client once usable; waits only for a connection attempt already under way. */
  private async ready(): Promise<Redis> {
    // Reconnecting after close() would leak a client nobody closes.
    if (this.closed) throw new Error('status bus closed');
    const client = this.link.connect();
    if (client.status === 'ready') return client;
    if (client.status !== 'connecting' && client.status !== 'connect') {
      throw new Error(`not connected (${this.link.lastError})`);
    }
    try {
      await once(client, 'ready', { signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS) });
    } catch (err) {
      throw err instanceof Error && err.name === 'AbortError'
        ? new Error(`no connection within ${COMMAND_TIMEOUT_MS} ms`)
        : err;
    }
    return client;
  }

  private async writeStatus(client: Redis, status: NodeStatus): Promise<void> {
    const key = nodeKey(this.opts.cluster, status.node);
    const results = await client.multi()
      .del(key) // fields of an older status shape must not linger
      .hset(key, encodeStatusFields(status))
      .pexpire(key, this.ttlMs)
      .zadd(nodesKey(this.opts.cluster), Date.now(), status.node)
      .exec();
    if (!results) throw new Error('transaction aborted');
    const failure = results.find(([err]) => err)?.[0];
    if (failure) throw failure;
  }
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string');
}

