#!/usr/bin/env node
/**
 * agent_status: the agents' status as the master fans it out to Redis.
 * Without --watch: the latest status of every agent (one hash each), as a table
 * or --json. With --watch: follows the agent status stream through a consumer
 * group, printing each change (a line, or a JSON line with --json) and
 * acknowledging it once printed; this consumer's unacknowledged entries come
 * first. `--count N` exits after N events.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { operatorCli } from './lib/cli.js';
import { apiEnvelope, fail, formatTable, printJson } from './lib/output.js';
import { formatAgentId } from '../protocols/registry.js';
import {
  agentHashPattern,
  agentStreamKey,
  decodeAgentStatusFields,
} from '../runtime/redis/agent-status-bus.js';
import type { AgentStatusEvent } from '../protocols/agent-info.js';
import { parseRedisUrl, redactRedisUrl, type RedisUrlOptions } from '../runtime/redis/redis-url.js';

const BLOCK_MS = 5_000;
const READ_COUNT = 500;
const SCAN_COUNT = 1_000;
const CONNECT_TIMEOUT_MS = 3_000;
const MAX_BACKOFF_MS = 2_000;
const COMMAND_TIMEOUT_MS = 10_000;

const argv = await operatorCli('agent_status',
  '$0 --redis-url URL [--cluster NAME] [--watch [--group NAME] [--consumer NAME] [--count N]] [--json]')
  .option('redis-url', { type: 'string', demandOption: true, describe: 'Redis the master publishes to (redis://, rediss://, unix://)' })
  .option('cluster', { type: 'string', default: 'wazuh', describe: 'Cluster name' })
  .option('watch', { type: 'boolean', default: false, describe: 'Follow status changes' })
  .option('group', { type: 'string', describe: 'With --watch: consumer group (default agent_status)' })
  .option('consumer', { type: 'string', describe: 'With --watch: consumer name (default <hostname>-<pid>)' })
  .option('count', { type: 'number', describe: 'With --watch: exit after this many events' })
  .parseAsync();

const watchOnly = (['group', 'consumer', 'count'] as const).filter((o) => argv[o] !== undefined);
if (!argv.watch && watchOnly.length) {
  process.stderr.write(`ERROR: Wrong arguments: ${watchOnly.map((o) => `--${o}`).join(', ')} ${watchOnly.length === 1 ? 'goes' : 'go'} with --watch.\n`);
  process.exit(2);
}

if (argv.count !== undefined && !(Number.isSafeInteger(argv.count) && argv.count > 0)) {
  process.stderr.write(`ERROR: Wrong arguments: --count takes a positive whole number, not '${String(argv.count)}'.\n`);
  process.exit(2);
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

let target: RedisUrlOptions;
try {
  target = parseRedisUrl(argv.redisUrl);
} catch (err) {
  fail(messageOf(err));
}
const safeUrl = redactRedisUrl(argv.redisUrl);
const streamKey = agentStreamKey(argv.cluster);

const orUnknown = (v: string | null): string => v ?? 'unknown';
const isoOf = (ms: number): string => (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms));

/** Connects once, failing fast; afterwards (watch) reconnects for as long as it takes. */
async function connect(keepReconnecting: boolean): Promise<Redis> {
  let connected = false;
  const client = new Redis({
    ...target,
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // A cut command fails rather than being resent: the watch loop knows how to pick up again.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    // One-shot commands must not hang on a stuck server; watch blocks on purpose.
    ...(keepReconnecting ? {} : { commandTimeout: COMMAND_TIMEOUT_MS }),
    retryStrategy: (attempt) => (connected && keepReconnecting ? Math.min(attempt * 100, MAX_BACKOFF_MS) : null),
  });
  let lastError = '';
  client.on('error', (err: unknown) => {
    lastError = messageOf(err);
  });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new Error(`Cannot connect to Redis at ${safeUrl}: ${lastError || messageOf(err)}`);
  }
  connected = true;
  return client;
}

async function listAgents(): Promise<void> {
  const client = await connect(false);
  try {
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, found] = await client.scan(cursor, 'MATCH', agentHashPattern(argv.cluster), 'COUNT', SCAN_COUNT);
      cursor = next;
      for (const key of found) keys.add(key);
    } while (cursor !== '0');
    const agents: AgentStatusEvent[] = [];
    const all = [...keys];
    for (let i = 0; i < all.length; i += SCAN_COUNT) {
      const pipeline = client.pipeline();
      for (const key of all.slice(i, i + SCAN_COUNT)) pipeline.hgetall(key);
      for (const [err, fields] of (await pipeline.exec()) ?? []) {
        if (err && !err.message.startsWith('WRONGTYPE')) throw err; // a key of someone else's that matches the pattern
        const event = !err && isStringRecord(fields) ? decodeAgentStatusFields(fields) : null;
        if (event) agents.push(event);
      }
    }
    agents.sort((a, b) => a.id - b.id);
    if (argv.json) {
      printJson(apiEnvelope(agents, 'All agents status information was returned'));
      return;
    }
    const rows = agents.map((a) => [formatAgentId(a.id), a.name, a.status, orUnknown(a.node), orUnknown(a.version), isoOf(a.at)]);
    process.stdout.write(`${formatTable(['ID', 'Name', 'Status', 'Node', 'Version', 'Last change'], rows)}\n`);
  } finally {
    client.disconnect();
  }
}

type StreamEntry = [id: string, fields: string[] | null];

async function watch(): Promise<void> {
  const group = argv.group ?? 'agent_status';
  const consumer = argv.consumer ?? `${os.hostname()}-${process.pid}`;
  const limit = argv.count ?? Infinity;
  const client = await connect(true);
  let stopping = false;
  let blockedClientId: number | null = null;
  let printed = 0;
  /** Highest seq printed: a stream refilled after a Redis restart repeats what was already shown. */
  let lastSeq = 0;

  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const id = blockedClientId;
    if (id !== null) {
      // Wake the blocked read so that it returns empty: no entry is delivered and lost.
      void unblock(id).catch(() => client.disconnect());
    } else if (client.status !== 'ready') {
      client.disconnect(); // waiting for Redis to come back: give up
    }
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const createGroup = async (): Promise<void> => {
    try {
      await client.xgroup('CREATE', streamKey, group, '0', 'MKSTREAM');
    } catch (err) {
      if (!messageOf(err).startsWith('BUSYGROUP')) throw err;
    }
  };

  /** Prints what is new, then acknowledges everything read. */
  const deliver = async (entries: readonly StreamEntry[]): Promise<void> => {
    const ids: string[] = [];
    for (const [id, fields] of entries) {
      ids.push(id);
      const event = fields ? decodeAgentStatusFields(fields) : null;
      if (!event || event.seq <= lastSeq) continue; // trimmed, foreign or already shown
      lastSeq = event.seq;
      await write(argv.json ? `${JSON.stringify(event)}\n` : `${formatLine(event)}\n`);
      printed++;
    }
    if (ids.length) await client.xack(streamKey, group, ...ids);
  };

  /** After a failed command: true to go on (reconnected, group there again), false to stop. */
  const recover = async (err: unknown): Promise<boolean> => {
    for (;;) {
      if (stopping) return false;
      const noGroup = messageOf(err).startsWith('NOGROUP');
      // Redis answered with an error that is not about the group: retrying will not help.
      if (!noGroup && client.status === 'ready') throw err;
      if (!(await connectionBack(client))) return false;
      try {
        if (noGroup) await createGroup(); // the stream went away, as when Redis restarts without persistence
        return true;
      } catch (next) {
        err = next;
      }
    }
  };

  try {
    await createGroup();
    /** Where the next read starts: this consumer's pending entries first ('0', then after the last seen), then new ones ('>'). */
    let from = '0';
    while (!stopping && printed < limit) {
      const count = Math.min(READ_COUNT, limit - printed);
      let reply: unknown;
      try {
        if (from === '>') {
          blockedClientId = await clientId(client);
          if (stopping) break;
          reply = await client.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'BLOCK', BLOCK_MS, 'STREAMS', streamKey, '>');
        } else {
          reply = await client.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', streamKey, from);
        }
        blockedClientId = null;
        const entries = entriesOf(reply);
        if (from !== '>') from = entries.at(-1)?.[0] ?? '>';
        await deliver(entries);
      } catch (err) {
        blockedClientId = null;
        if (!(await recover(err))) break;
        from = '0'; // a read cut short may have delivered entries we never saw
      }
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    try {
      await client.quit();
    } catch {
      client.disconnect();
    }
  }
}

async function unblock(id: number): Promise<void> {
  const helper = await connect(false);
  try {
    await helper.client('UNBLOCK', id);
  } finally {
    helper.disconnect();
  }
}

/** The connection's id, for CLIENT UNBLOCK; asked each time as it changes on reconnection. */
async function clientId(client: Redis): Promise<number> {
  return Number(await client.client('ID'));
}

/** Waits for the client to be usable again; false if it ended instead. */
async function connectionBack(client: Redis): Promise<boolean> {
  if (client.status === 'ready') {
    await sleep(100); // the error came from a ready connection (NOGROUP): no wait needed, but no busy loop either
    return true;
  }
  if (client.status === 'end') return false;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      client.off('ready', done);
      client.off('end', done);
      resolve();
    };
    client.on('ready', done);
    client.on('end', done);
  });
  const status: string = client.status; // changed while waiting
  return status === 'ready';
}

function entriesOf(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) return [];
  const stream = reply[0] as unknown;
  if (!Array.isArray(stream) || !Array.isArray(stream[1])) return [];
  return (stream[1] as unknown[]).filter((e): e is StreamEntry => Array.isArray(e) && typeof e[0] === 'string');
}

function formatLine(e: AgentStatusEvent): string {
  return `${isoOf(e.at)} ${formatAgentId(e.id)} ${e.name} ${e.status} ${orUnknown(e.node)}`;
}

async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve));
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string');
}

try {
  await (argv.watch ? watch() : listAgents());
} catch (err) {
  fail(messageOf(err));
}
