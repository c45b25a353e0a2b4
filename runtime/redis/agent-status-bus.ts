/**
 * Fans the master's agent status changes out to Redis:
 *   - a capped stream (`agentStreamKey`) holding every change in seq order, once;
 *   - one hash per agent (`agentHashKey`) holding its latest status;
 *   - a pub/sub channel (`agentChannel`) with a JSON line per change, for live
 *     listeners: each event handed to `publish` at most once per bus lifetime, in
 *     order (history refilled from the log, older than this process, is not news).
 *
 * The master's own durable log is the source of truth (`since`). Whatever
 * Redis misses (an outage, a restart without persistence, a queue overflow)
 * is refilled from it on the next connection, starting after the highest seq
 * the stream holds. Each batch is one MULTI/EXEC: either all of it is in
 * Redis or none of it, so the last stream entry always tells exactly what was
 * written and nothing is written twice.
 *
 * Redis is optional for the cluster: `publish` never throws and never waits,
 * outages are logged once and recovery once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { RedisLink } from './redis-link.js';
import { isAgentStatus } from '../../protocols/agent-status.js';
import type { AgentStatusEvent } from '../../protocols/agent-info.js';

export const agentStreamKey = (cluster: string): string => `clusterd:{${cluster}}:agent-status`;
export const agentChannel = (cluster: string): string => `clusterd:{${cluster}}:agent-events`;
export const agentHashKey = (cluster: string, id: number): string => `clusterd:{${cluster}}:agent:${String(id).padStart(3, '0')}`;
/** SCAN MATCH pattern for every agent hash of `cluster` (glob characters in the name escaped). */
export const agentHashPattern = (cluster: string): string => `clusterd:{${cluster.replace(/[*?[\]\\]/g, '\\$&')}}:agent:*`;

export interface AgentStatusBusOptions {
  url: string;
  cluster: string;
  log: Logger;
  /** Stream cap, approximate (XADD MAXLEN ~). Default 1,000,000. */
  maxLen?: number;
  /** Events kept in memory while Redis is away; beyond it the oldest are dropped (refilled later). Default 100,000. */
  maxQueue?: number;
  /** The master's own durable log: the events after `seq`, oldest first, at most `limit`. Used to refill Redis after an outage or a Redis restart. */
  since: (seq: number, limit: number) => AgentStatusEvent[];
}

export interface AgentStatusBusFigures {
  /** Events written from `publish` (one XADD each). */
  published: number;
  /** Events written from the durable log (`since`) after a (re)connection or an overflow. */
  refilled: number;
  connected: boolean;
  /** Highest seq known to be in the Redis stream (0 until the first sync). */
  lastSeq: number;
}

const DEFAULT_MAX_LEN = 1_000_000;
const DEFAULT_MAX_QUEUE = 100_000;
const REFILL_LIMIT = 10_000;
/** Events per MULTI/EXEC: three commands each. */
const BATCH_EVENTS = 1_000;
const COMMAND_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 2_000;
const RETRY_MS = 1_000;
const DRAIN_ON_CLOSE_MS = 1_000;

const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Field/value pairs, flat, as XADD takes them; the same fields go to the agent hash. `null` is stored as ''. */
export function encodeAgentStatusFields(e: AgentStatusEvent): string[] {
  return [
    'seq', String(e.seq), 'id', String(e.id), 'name', e.name, 'status', e.status,
    'node', e.node ?? '', 'version', e.version ?? '', 'at', String(e.at),
  ];
}

/** Inverse of `encodeAgentStatusFields`, from a flat list (stream entry) or a record (HGETALL); null if not an event. */
export function decodeAgentStatusFields(fields: readonly string[] | Readonly<Record<string, string>>): AgentStatusEvent | null {
  let record: Readonly<Record<string, string>>;
  if (Array.isArray(fields)) {
    const flat = fields as readonly string[];
    const built: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) built[flat[i] as string] = flat[i + 1] as string;
    record = built;
  } else {
    record = fields as Readonly<Record<string, string>>;
  }
  const int = (text: string | undefined): number | null =>
    text !== undefined && /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : null;
  const seq = int(record['seq']);
  const id = int(record['id']);
  const at = int(record['at']);
  const { name, status, node, version } = record;
  if (seq === null || id === null || at === null || name === undefined || node === undefined || version === undefined) return null;
  if (!isAgentStatus(status)) return null;
  return { seq, id, name, status, node: node === '' ? null : node, version: version === '' ? null : version, at };
}

/** The JSON line published on the channel: the event's own fields, in a fixed order. */
export function agentEventLine(e: AgentStatusEvent): string {
  const { seq, id, name, status, node, version, at } = e;
  return JSON.stringify({ seq, id, name, status, node, version, at });
}

/** The `seq` of a stream entry's flat field list; 0 when absent (nothing of ours). */
function seqField(fields: readonly string[] | null): number {
  if (!fields) return 0;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'seq') {
      const seq = Number(fields[i + 1]);
      return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
    }
  }
  return 0;
}

/** The durable log failed: not a Redis outage, logged apart. */
class SourceError extends Error {}

export class AgentStatusBus {
  private readonly log: Logger;
  private readonly link: RedisLink;
  private readonly streamKey: string;
  private readonly channel: string;
  private readonly maxLen: number;
  private readonly maxQueue: number;
  private closed = false;

  /** Events handed to `publish` and not yet written, oldest first. */
  private queue: AgentStatusEvent[] = [];
  /** Highest seq the stream is known to hold in this connection epoch. */
  private lastSeq = 0;
  /** Highest seq ever published on the channel: refills do not announce old news twice. */
  private announced = 0;
  /** Lowest seq handed to `publish`: what comes before is history, never announced. */
  private firstLive = Infinity;
  /** Read the stream's last entry and refill before writing the queue. */
  private needsSync = true;
  private pumping = false;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;

  private published = 0;
  private refilled = 0;
  /** Refilled since the outage began: for the recovery line. */
  private refilledSinceDown = 0;
  private droppedSinceUp = 0;
  private sourceFailing = false;

  constructor(private readonly opts: AgentStatusBusOptions) {
    this.log = opts.log.task('Redis agents');
    this.link = new RedisLink({ // a bad URL is a configuration error: throws now
      url: opts.url,
      log: this.log,
      paused: 'Agent status fan-out paused; changes are kept and refilled later.',
      resumed: 'Agent status fan-out resumed',
      client: {
        // A command cut by a lost connection must fail, never be resent behind our back:
        // the next sync reads the stream to learn what got in.
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: COMMAND_TIMEOUT_MS,
        connectTimeout: CONNECT_TIMEOUT_MS,
      },
      onReady: () => {
        this.needsSync = true;
        this.kick();
      },
      // The recovery line counts what was refilled since the outage began.
      onDown: () => { this.refilledSinceDown = 0; },
    });
    this.streamKey = agentStreamKey(opts.cluster);
    this.channel = agentChannel(opts.cluster);
    this.maxLen = opts.maxLen ?? DEFAULT_MAX_LEN;
    this.maxQueue = Math.max(1, opts.maxQueue ?? DEFAULT_MAX_QUEUE);
  }

  start(): void {
    if (this.closed || this.link.client) return;
    this.link.connect();
  }

  publish(events: readonly AgentStatusEvent[]): void {
    if (this.closed || events.length === 0) return;
    for (const e of events) {
      this.queue.push(e);
      if (e.seq < this.firstLive) this.firstLive = e.seq;
    }
    const excess = this.queue.length - this.maxQueue;
    if (excess > 0) {
      this.queue.splice(0, excess);
      // The dropped ones are in the durable log: refill from there.
      this.needsSync = true;
      if (this.droppedSinceUp === 0) {
        this.log.warning(`Agent status queue full (${this.maxQueue} events): dropping the oldest; they will be refilled from the master's log.`);
      }
      this.droppedSinceUp += excess;
    }
    this.kick();
  }

  figures(): AgentStatusBusFigures {
    return { published: this.published, refilled: this.refilled, connected: this.link.connected, lastSeq: this.lastSeq };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Best effort: let what is queued reach a live Redis, briefly.
    const deadline = Date.now() + DRAIN_ON_CLOSE_MS;
    while (this.link.connected && this.busy() && Date.now() < deadline) await sleep(10);
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.link.close();
  }

  private busy(): boolean {
    return this.pumping || this.scheduled || this.needsSync || this.queue.length > 0;
  }

  /** Runs the pump soon, once for everything published in the same turn (one pipeline per burst). */
  private kick(): void {
    if (this.closed || this.scheduled || this.pumping) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      for (;;) {
        const client = this.link.client;
        if (this.closed || !client || client.status !== 'ready') return; // 'ready' kicks again
        if (this.needsSync) {
          await this.sync(client);
          continue;
        }
        if (this.queue.length === 0) return;
        const taken = this.queue.splice(0, BATCH_EVENTS);
        const batch = this.fresh(taken);
        try {
          await this.write(client, batch);
        } catch (err) {
          // Back in front, in order; the sync after the failure drops what did get in.
          this.queue.unshift(...taken);
          if (this.queue.length > this.maxQueue) this.queue.splice(0, this.queue.length - this.maxQueue);
          throw err;
        }
        this.published += batch.length;
      }
    } catch (err) {
      this.needsSync = true;
      if (err instanceof SourceError) {
        if (!this.sourceFailing) this.log.error(`Cannot read the agent status log to refill Redis: ${err.message}. Retrying.`);
        this.sourceFailing = true;
      } else {
        this.markDown(reasonOf(err));
      }
      this.retryLater();
    } finally {
      this.pumping = false;
    }
  }

  private retryLater(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, RETRY_MS);
  }

  /** Learns what the stream holds, refills the rest from the durable log, then drops the queued duplicates. */
  private async sync(client: Redis): Promise<void> {
    const last = await client.xrevrange(this.streamKey, '+', '-', 'COUNT', 1);
    const entry = last[0];
    // Empty or missing (a Redis restarted without persistence): refill everything the log has.
    this.lastSeq = entry ? seqField(entry[1]) : 0;
    // Whatever the stream holds was published with it, in the same transaction.
    this.announced = Math.max(this.announced, this.lastSeq);
    for (;;) {
      let events: AgentStatusEvent[];
      try {
        events = this.opts.since(this.lastSeq, REFILL_LIMIT);
      } catch (err) {
        throw new SourceError(reasonOf(err));
      }
      this.sourceFailing = false;
      const batch = this.fresh(events);
      for (let i = 0; i < batch.length; i += BATCH_EVENTS) {
        const chunk = batch.slice(i, i + BATCH_EVENTS);
        await this.write(client, chunk);
        this.refilled += chunk.length;
        this.refilledSinceDown += chunk.length;
      }
      if (batch.length === 0 || events.length < REFILL_LIMIT) break;
    }
    this.queue = this.queue.filter((e) => e.seq > this.lastSeq);
    this.needsSync = false;
    this.markUp();
  }

  /** The events of `events` that come after `lastSeq`, each later than the one before. */
  private fresh(events: readonly AgentStatusEvent[]): AgentStatusEvent[] {
    const out: AgentStatusEvent[] = [];
    let high = this.lastSeq;
    for (const e of events) {
      if (e.seq > high) {
        out.push(e);
        high = e.seq;
      }
    }
    return out;
  }

  /** One MULTI/EXEC: all of `events` or none. Per event, the stream entry comes last. */
  private async write(client: Redis, events: readonly AgentStatusEvent[]): Promise<void> {
    const last = events.at(-1);
    if (!last) return;
    const tx = client.multi();
    for (const e of events) {
      const fields = encodeAgentStatusFields(e);
      tx.hset(agentHashKey(this.opts.cluster, e.id), ...fields);
      if (e.seq > this.announced && e.seq >= this.firstLive) tx.publish(this.channel, agentEventLine(e));
      tx.xadd(this.streamKey, 'MAXLEN', '~', this.maxLen, '*', ...fields);
    }
    const results = await tx.exec();
    if (!results) throw new Error('transaction aborted');
    const failure = results.find(([err]) => err)?.[0];
    if (failure) throw failure;
    this.lastSeq = last.seq;
    this.announced = Math.max(this.announced, last.seq);
  }

  private markDown(reason: string): void {
    if (!this.closed) this.link.markDown(reason);
  }

  private markUp(): void {
    const refilled = this.refilledSinceDown;
    this.refilledSinceDown = 0;
    this.droppedSinceUp = 0;
    const before = this.link.markUp({ restored: `; ${refilled} events refilled`, connected: `; ${refilled} agent status events refilled` });
    if (before === 'up' && refilled > 0) this.log.info(`Refilled ${refilled} agent status events from the master's log into Redis.`);
  }
}
