import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { NodeStatus } from '../../../../protocols/node-status.js';
import { createLogger, MemorySink } from '../../../../runtime/logger.js';
import {
  eventsChannel,
  nodeKey,
  nodesKey,
  RedisStatusBus,
  type NodeStatusEvent,
} from '../../../../runtime/redis/status-bus.js';
import { startRedisServer, type RedisServerHandle } from '../../../harness/redis-server.js';

const HEARTBEAT_SECONDS = 5;
/** Generous: catches hangs without asserting on speed (shared, slow machine). */
const HANG_LIMIT_MS = 10_000;

function statusOf(cluster: string, node: string, type: NodeStatus['type'] = 'worker'): NodeStatus {
  return {
    cluster,
    node,
    type,
    version: '4.9.0',
    address: '10.0.0.1',
    connected: true,
    lastKeepalive: type === 'worker' ? new Date().toISOString() : null,
    workers: [],
    actorHealth: { actors: 10, restarts: 0, unhealthy: 0 },
    integrity: null,
    at: new Date().toISOString(),
  };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function withinLimit<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still pending after ${HANG_LIMIT_MS} ms`)), HANG_LIMIT_MS);
  });
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe('RedisStatusBus against a real redis-server', () => {
  let server: RedisServerHandle;
  let admin: Redis;
  const closers: (() => Promise<unknown>)[] = [];
  let clusterCount = 0;

  const client = (): Redis => {
    // Fast reconnects so test clients are back before the bus after a restart.
    const c = new Redis({ path: server.socketPath, retryStrategy: () => 50 });
    c.on('error', () => undefined);
    closers.push(() => c.quit().catch(() => c.disconnect()));
    return c;
  };

  const newBus = (sink: MemorySink): { bus: RedisStatusBus; cluster: string } => {
    const cluster = `c${++clusterCount}`;
    const bus = new RedisStatusBus({
      url: server.url, cluster, heartbeatSeconds: HEARTBEAT_SECONDS, log: createLogger(sink, 'Master'),
    });
    closers.push(() => bus.close());
    bus.start();
    return { bus, cluster };
  };

  const subscribe = async (cluster: string): Promise<NodeStatusEvent[]> => {
    const events: NodeStatusEvent[] = [];
    const sub = client();
    sub.on('message', (_channel: string, message: string) => events.push(JSON.parse(message) as NodeStatusEvent));
    await sub.subscribe(eventsChannel(cluster));
    return events;
  };

  const subscribers = async (cluster: string): Promise<number> => {
    const reply = await admin.pubsub('NUMSUB', eventsChannel(cluster));
    return Number(reply[1]);
  };

  before(async () => {
    server = await startRedisServer();
    admin = new Redis({ path: server.socketPath, retryStrategy: () => 50 });
    admin.on('error', () => undefined);
  });

  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });

  after(async () => {
    admin.disconnect();
    await server.cleanup();
  });

  it('writes the hash with a TTL, the zset entry, and publishes the status', async () => {
    const { bus, cluster } = newBus(new MemorySink());
    const events = await subscribe(cluster);
    const status = statusOf(cluster, 'worker-1');
    const startedAt = Date.now();

    await bus.publishNode(status);

    const key = nodeKey(cluster, 'worker-1');
    const fields = await admin.hgetall(key);
    assert.equal(fields['node'], 'worker-1');
    assert.equal(fields['connected'], 'true');
    assert.equal(fields['at'], status.at);
    const ttl = await admin.pttl(key);
    assert.ok(ttl > 0 && ttl <= 3 * HEARTBEAT_SECONDS * 1000, `PTTL ${ttl}`);
    const score = Number(await admin.zscore(nodesKey(cluster), 'worker-1'));
    assert.ok(score >= startedAt && score <= Date.now(), `score ${score}`);

    await waitFor('the status event', () => events.length === 1);
    assert.deepEqual(events[0], { kind: 'node-status', status });
    assert.deepEqual(bus.counters(), { published: 1, failed: 0, connected: true });
  });

  it('publishes only significant changes', async () => {
    const { bus, cluster } = newBus(new MemorySink());
    const events = await subscribe(cluster);
    const first = statusOf(cluster, 'worker-1');
    const refreshed = { ...first, at: new Date(Date.parse(first.at) + 1000).toISOString() };
    const changed = { ...refreshed, connected: false };

    await bus.publishNode(first);
    await bus.publishNode(refreshed);
    await bus.publishNode(changed);

    // Messages arrive in order: had `refreshed` been published, it would come before `changed`.
    await waitFor('the change event', () => events.length >= 2);
    assert.deepEqual(events.map((e) => e.status), [first, changed]);
    assert.equal(await admin.hget(nodeKey(cluster, 'worker-1'), 'at'), changed.at);
    assert.equal(bus.counters().published, 3);
  });

  it('reads back what was published, master first', async () => {
    const { bus, cluster } = newBus(new MemorySink());
    const w2 = statusOf(cluster, 'worker-2');
    const w1 = statusOf(cluster, 'worker-1');
    const master = { ...statusOf(cluster, 'zz-master', 'master'), workers: ['worker-1', 'worker-2'] };
    for (const s of [w2, master, w1]) await bus.publishNode(s);
    // Expired and corrupt entries are skipped.
    await admin.zadd(nodesKey(cluster), Date.now(), 'gone');
    await admin.zadd(nodesKey(cluster), Date.now(), 'corrupt');
    await admin.hset(nodeKey(cluster, 'corrupt'), 'node', 'corrupt');

    assert.deepEqual(await bus.readNodes(), [master, w1, w2]);
  });

  it('rides out a Redis outage and publishes what changed meanwhile', async () => {
    const sink = new MemorySink();
    const { bus, cluster } = newBus(sink);
    const events = await subscribe(cluster);
    const status = statusOf(cluster, 'worker-1');
    await bus.publishNode(status);
    await waitFor('the first event', () => events.length === 1);

    await server.stop();
    const changed = { ...status, connected: false, at: new Date().toISOString() };
    for (const s of [status, changed, { ...changed, at: new Date().toISOString() }]) {
      await withinLimit('publishNode while Redis is down', bus.publishNode(s));
    }
    assert.equal(bus.counters().failed, 3);
    assert.equal(bus.counters().published, 1);
    // The client may not have processed the socket close yet.
    await waitFor('the bus to notice the outage', () => !bus.counters().connected);
    await assert.rejects(withinLimit('readNodes while Redis is down', bus.readNodes()), /Cannot read node statuses from Redis at unix:\/\//);
    const warnings = sink.lines.filter((l) => l.startsWith('WARNING: [Master] [Redis] Redis unavailable at '));
    assert.equal(warnings.length, 1, sink.lines.join('\n'));
    assert.match(warnings[0] ?? '', /Status fan-out paused; the cluster keeps working\.$/);

    await server.restart();
    await waitFor('the bus to reconnect', () => bus.counters().connected);
    await waitFor('the subscriber to resubscribe', async () => (await subscribers(cluster)) === 1);
    const afterOutage = { ...changed, at: new Date().toISOString() };
    await bus.publishNode(afterOutage);

    assert.equal(bus.counters().published, 2);
    assert.equal(sink.lines.filter((l) => l.includes('Redis connection restored at unix://')).length, 1, sink.lines.join('\n'));
    await waitFor('the change made during the outage', () => events.length === 2);
    assert.deepEqual(events[1], { kind: 'node-status', status: afterOutage });
    assert.deepEqual(await bus.readNodes(), [afterOutage]);
  });

  it('closes promptly even while Redis is down, and stays closed', async () => {
    const { bus, cluster } = newBus(new MemorySink());
    await server.stop();
    try {
      await withinLimit('close', bus.close());
    } finally {
      await server.restart();
    }
    await bus.publishNode(statusOf(cluster, 'worker-1'));
    assert.deepEqual(bus.counters(), { published: 0, failed: 1, connected: false });
    assert.equal(await admin.exists(nodeKey(cluster, 'worker-1')), 0);
  });
});
