/**
 * e2e with real clusterd processes and a throwaway redis-server: node status lands
 * in Redis, and Redis going away or coming back never stops a node.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { makeCluster, listedNodes, waitFor, type TestCluster } from '../harness/cluster.js';
import { startRedisServer, type RedisServerHandle } from '../harness/redis-server.js';
import { parseRedisUrl } from '../../runtime/redis/redis-url.js';
import { nodeKey, eventsChannel } from '../../runtime/redis/status-bus.js';

let redis: RedisServerHandle;
let c: TestCluster;
const clients: Redis[] = [];

const connect = (): Redis => {
  const r = new Redis({ ...parseRedisUrl(redis.url), maxRetriesPerRequest: 1 });
  r.on('error', () => undefined);
  clients.push(r);
  return r;
};

before(async () => {
  redis = await startRedisServer();
  c = await makeCluster('redis', { workers: 1, redisUrl: redis.url });
  await c.master.start();
  await c.workers[0]!.start();
  await waitFor(async () => (await listedNodes(c.master)).length === 2, 'worker to join');
});

after(async () => {
  for (const r of clients) r.disconnect();
  await c?.stopAll();
  await redis?.cleanup();
});

test('redis status - each node publishes a hash with a TTL, and changes on the channel', async () => {
  const r = connect();
  const sub = connect();
  const events: string[] = [];
  sub.on('message', (_ch: string, m: string) => events.push(m));
  await sub.subscribe(eventsChannel('wazuh'));
  const master = await waitFor(async () => {
    const h = await r.hgetall(nodeKey('wazuh', 'master'));
    return h['workers'] === '["worker1"]' ? h : undefined;
  }, 'master status with its worker');
  assert.equal(master['type'], 'master');
  assert.equal(master['connected'], 'true');
  const worker = await waitFor(async () => {
    const h = await r.hgetall(nodeKey('wazuh', 'worker1'));
    return h['connected'] === 'true' && h['lastKeepalive'] !== 'null' ? h : undefined;
  }, 'worker status with a keepalive');
  assert.equal(worker['address'], '127.0.0.1');
  const ttl = await r.pttl(nodeKey('wazuh', 'worker1'));
  assert.ok(ttl > 0 && ttl <= 1500, `ttl ${ttl}`);
  // A worker leaving changes the master's status: that change is announced.
  await c.workers[0]!.stop();
  await waitFor(() => events.some((e) => e.includes('"node":"master"') && e.includes('"workers":[]')), 'master change event');
  await c.workers[0]!.start();
  await waitFor(async () => (await listedNodes(c.master)).length === 2, 'worker to rejoin');
});

test('redis status - nodes keep working while Redis is down and publish again when it is back', async () => {
  await redis.stop();
  await c.master.waitForLog(/WARNING: \[Master\] \[Redis\] Redis unavailable at unix:/);
  // The cluster itself does not care: the worker still reaches the master.
  await c.workers[0]!.stop();
  await c.workers[0]!.start();
  await waitFor(async () => (await listedNodes(c.workers[0]!)).length === 2, 'worker to rejoin without Redis');
  await redis.restart();
  await c.master.waitForLog(/INFO: \[Master\] \[Redis\] Redis connection restored at unix:/);
  const r = connect();
  await waitFor(async () => (await r.hget(nodeKey('wazuh', 'worker1'), 'connected')) === 'true', 'worker status back in Redis');
  await waitFor(async () => (await r.hget(nodeKey('wazuh', 'master'), 'workers')) === '["worker1"]', 'master status back in Redis');
});
