/**
 * Agents report to any worker: real clusterd processes (master + 2 workers), simulated
 * agents speaking the real protocol over TCP and UDP (enrolment over TLS, AES and
 * Blowfish), the master's SQLite registry read while they run, and a throwaway Redis.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { makeCluster, listedNodes, runCli, waitFor, FAST_INTERVALS, type NodeProcess, type TestCluster } from '../harness/cluster.js';
import { startRedisServer } from '../harness/redis-server.js';
import { SimulatedAgent, type SimulatedAgentOptions } from '../../sim/simulated-agent.js';
import { controlRequest } from '../../runtime/control/control-client.js';

const CLUSTER_JSON = {
  intervals: { ...FAST_INTERVALS, worker: { ...FAST_INTERVALS.worker, sync_agent_info: 1 }, master: { ...FAST_INTERVALS.master, sync_agent_groups: 1 } },
  fault_injection: true,
};

async function formed(c: TestCluster): Promise<void> {
  await c.master.start();
  await Promise.all(c.workers.map((w) => w.start()));
  await waitFor(async () => (await listedNodes(c.master)).length === c.workers.length + 1, 'the cluster to form');
}

interface MasterView { status: string; node: string | null; version: string | null; os_name: string | null; os_platform: string | null; labels: string | null; merged_sum: string | null }

function onMaster(c: TestCluster, name: string): MasterView | undefined {
  const db = new Database(path.join(c.master.home, 'queue', 'db', 'global.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT connection_status AS status, node_name AS node, version, os_name, os_platform, labels, merged_sum FROM agent WHERE name = ?`).get(name) as MasterView | undefined;
  } finally {
    db.close();
  }
}

const statusOf = (c: TestCluster, name: string): string | undefined => onMaster(c, name)?.status;

function agent(name: string, enrolVia: NodeProcess, reportTo: NodeProcess, extra: Partial<SimulatedAgentOptions> = {}): SimulatedAgent {
  return new SimulatedAgent({
    name, enrol: { host: '127.0.0.1', port: enrolVia.authPort },
    server: { host: '127.0.0.1', port: reportTo.remotePort, transport: 'tcp' }, keepaliveMs: 300, labels: { env: 'ci' }, ...extra,
  });
}

const md5 = (file: string): string => createHash('md5').update(fs.readFileSync(file)).digest('hex');

test('agents - enrol via one worker, report to another: pending, active with OS and labels, merged.mg pushed once and again on a group change, events counted, shutdown', async (t) => {
  const c = await makeCluster('agents-cycle', { workers: 2, clusterJson: CLUSTER_JSON, homeDefaults: { disconnectionTime: '3s' } });
  t.after(() => c.stopAll());
  await formed(c);
  const [w1, w2] = c.workers as [NodeProcess, NodeProcess];
  const a = agent('cycle-1', w1, w2, { keepaliveMs: 60_000 });
  t.after(() => a.drop());
  const key = await a.enrolNow();
  await a.start();
  await waitFor(() => statusOf(c, 'cycle-1') === 'pending', 'pending on the master after the startup');
  await a.keepaliveNow();
  await waitFor(() => statusOf(c, 'cycle-1') === 'active', 'active on the master after a keepalive');
  const seen = onMaster(c, 'cycle-1');
  assert.equal(seen?.node, 'worker2');
  assert.equal(seen?.version, 'Wazuh v4.14.5');
  assert.equal(seen?.os_name, 'Debian GNU/Linux');
  assert.equal(seen?.os_platform, 'debian');
  assert.match(seen?.labels ?? '', /"env":ci/);

  const defaultMerged = path.join(c.master.home, 'etc', 'shared', 'default', 'merged.mg');
  await waitFor(() => a.counts.pushes === 1, 'merged.mg pushed after the first keepalive');
  assert.equal(a.mergedSum, md5(defaultMerged));
  await a.keepaliveNow();
  await a.keepaliveNow();
  assert.equal(a.counts.pushes, 1, 'no second push while the checksum matches');

  assert.equal((await runCli('agent_groups', ['--home', c.master.home, '-c', '-g', 'web'])).code, 0);
  fs.writeFileSync(path.join(c.master.home, 'etc', 'shared', 'web', 'agent.conf'), '<agent_config><localfile><location>/var/log/web.log</location></localfile></agent_config>\n');
  const id = Number(key.id);
  assert.equal((await runCli('agent_groups', ['--home', c.master.home, '-a', '-f', '-i', String(id), '-g', 'web'])).code, 0);
  const webMerged = path.join(w2.home, 'etc', 'shared', 'web', 'merged.mg');
  await waitFor(() => fs.existsSync(webMerged) && md5(webMerged) === md5(path.join(c.master.home, 'etc', 'shared', 'web', 'merged.mg')), 'web merged.mg on worker2');
  await waitFor(async () => {
    await a.keepaliveNow();
    return a.mergedSum === md5(webMerged);
  }, 'the new merged.mg pushed to the agent');
  assert.match(a.mergedContent?.toString('latin1') ?? '', /\/var\/log\/web\.log/);

  for (let i = 0; i < 10; i++) a.sendEvent(`Nov 29 10:00:0${i} host sshd[1]: event ${i}`);
  await waitFor(async () => {
    const f = await controlRequest(w2.home, 'get-agent-service', {});
    return f.type === 'agent-service' && f.body.events >= 10;
  }, 'ten events counted on worker2');

  await a.shutdown();
  await waitFor(() => statusOf(c, 'cycle-1') === 'disconnected', 'disconnected on the master after the shutdown');
});

test('agents - silence disconnects; a killed worker\'s agents are disconnected, then active through another worker; a deleted agent is refused', async (t) => {
  const c = await makeCluster('agents-faults', { workers: 2, clusterJson: CLUSTER_JSON, homeDefaults: { disconnectionTime: '2s' } });
  t.after(() => c.stopAll());
  await formed(c);
  const [w1, w2] = c.workers as [NodeProcess, NodeProcess];

  const quiet = agent('quiet-1', w1, w1, { keepaliveMs: 200 });
  await quiet.enrolNow();
  await quiet.start();
  await waitFor(() => statusOf(c, 'quiet-1') === 'active', 'quiet-1 active');
  quiet.drop();
  await waitFor(() => statusOf(c, 'quiet-1') === 'disconnected', 'quiet-1 disconnected after 2 s of silence');

  const mover = agent('mover-1', w1, w1, { keepaliveMs: 200, cipher: 'blowfish' });
  const key = await mover.enrolNow();
  await mover.start();
  await waitFor(() => onMaster(c, 'mover-1')?.status === 'active' && onMaster(c, 'mover-1')?.node === 'worker1', 'mover-1 active on worker1');
  await w1.kill9();
  await waitFor(() => statusOf(c, 'mover-1') === 'disconnected', 'mover-1 disconnected once worker1 is gone');
  mover.drop();
  const moved = new SimulatedAgent({ name: 'mover-1', key, server: { host: '127.0.0.1', port: w2.remotePort, transport: 'udp' }, keepaliveMs: 200, cipher: 'blowfish' });
  t.after(() => moved.drop());
  await moved.start();
  await waitFor(() => onMaster(c, 'mover-1')?.status === 'active' && onMaster(c, 'mover-1')?.node === 'worker2', 'mover-1 active again, through worker2 over UDP');

  const doomed = agent('doomed-1', w2, w2, { keepaliveMs: 200 });
  const doomedKey = await doomed.enrolNow();
  await doomed.start();
  await waitFor(() => statusOf(c, 'doomed-1') === 'active', 'doomed-1 active');
  assert.equal((await runCli('manage_agents', ['--home', c.master.home, '-r', doomedKey.id])).code, 0);
  await waitFor(() => doomed.counts.errors > 0, 'the worker to close the deleted agent\'s connection');
  doomed.drop();
  const again = new SimulatedAgent({ name: 'doomed-1', key: doomedKey, server: { host: '127.0.0.1', port: w2.remotePort, transport: 'tcp' }, keepaliveMs: 200 });
  t.after(() => again.drop());
  await assert.rejects(again.start());
  // The node writes its log asynchronously: the refusal may reach the file after the agent saw it.
  await waitFor(async () => /Refused a message from unknown agent/.test(await w2.log()), 'the refusal of the deleted agent in the worker log');
});

test('agents - Redis carries every status change in order per agent, and a Redis restart loses none the master stored', async (t) => {
  const redis = await startRedisServer();
  t.after(() => redis.cleanup());
  const c = await makeCluster('agents-redis', { workers: 1, clusterJson: CLUSTER_JSON, redisUrl: redis.url, homeDefaults: { disconnectionTime: '2s' } });
  t.after(() => c.stopAll());
  await formed(c);
  const w = c.workers[0] as NodeProcess;
  const client = new Redis({ path: redis.socketPath, lazyConnect: true, maxRetriesPerRequest: 1 });
  t.after(() => client.disconnect());
  const stream = 'clusterd:{wazuh}:agent-status';
  const entries = async (): Promise<{ seq: number; name: string; status: string }[]> => {
    await client.connect().catch(() => undefined);
    const raw = await client.xrange(stream, '-', '+');
    return raw.map(([, fields]) => {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] ?? '', fields[i + 1] ?? '');
      return { seq: Number(f.get('seq')), name: f.get('name') ?? '', status: f.get('status') ?? '' };
    });
  };
  const run = async (name: string): Promise<void> => {
    const a = agent(name, w, w, { keepaliveMs: 200 });
    await a.enrolNow();
    await a.start();
    await waitFor(() => statusOf(c, name) === 'active', `${name} active`);
    await a.shutdown();
    await waitFor(() => statusOf(c, name) === 'disconnected', `${name} disconnected`);
  };
  await run('redis-1');
  await run('redis-2');
  const expected = ['pending', 'active', 'disconnected'];
  await waitFor(async () => (await entries()).length >= 6, 'six status changes in the stream');
  for (const name of ['redis-1', 'redis-2']) assert.deepEqual((await entries()).filter((e) => e.name === name).map((e) => e.status), expected);

  await redis.restart();
  await run('redis-3');
  await waitFor(async () => {
    const all = await entries();
    const seqs = all.map((e) => e.seq);
    return all.length >= 9 && seqs.every((s, i) => i === 0 || s > (seqs[i - 1] ?? 0));
  }, 'the stream refilled with every change, in order, after a Redis restart');
  for (const name of ['redis-1', 'redis-2', 'redis-3']) assert.deepEqual((await entries()).filter((e) => e.name === name).map((e) => e.status), expected);
});
