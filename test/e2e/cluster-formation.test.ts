/**
 * e2e with real clusterd processes over real TCP: a master and two workers form a
 * cluster, refuse what they must, survive kills and restarts, and show it all.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeCluster, listedNodes, runCli, waitFor, type TestCluster } from '../harness/cluster.js';

let c: TestCluster;

before(async () => {
  c = await makeCluster('formation', { workers: 2 });
  await c.master.start();
  await Promise.all(c.workers.map((w) => w.start()));
  await waitFor(async () => (await listedNodes(c.master)).length === 3, 'both workers to join');
});

after(async () => {
  await c?.stopAll();
});

test('cluster formation - every node lists the master first, then the workers', async () => {
  for (const node of [c.master, ...c.workers]) {
    const r = await runCli('cluster_control', ['--home', node.home, '-l']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+TYPE\s+VERSION\s+ADDRESS$/);
    assert.match(lines[1] ?? '', /^master\s+master\s+0\.1\.0\s+127\.0\.0\.1$/);
    assert.deepEqual(lines.slice(2).map((l) => l.split(/\s+/)[0]).sort(), ['worker1', 'worker2']);
  }
  const json = await runCli('cluster_control', ['--home', c.workers[0]!.home, '-l', '--json', '-fn', 'worker2']);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { data: { affected_items: { name: string; type: string }[]; total_affected_items: number }; error: number };
  assert.equal(parsed.error, 0);
  assert.deepEqual(parsed.data.affected_items.map((n) => [n.name, n.type]), [['worker2', 'worker']]);
  assert.equal(parsed.data.total_affected_items, 1);
  await c.workers[0]!.waitForLog(/\[Worker worker1\] \[Main\] Successfully connected to master\./);
  await c.master.waitForLog(/INFO: \[Master\] \[Main\] Serving on \('127\.0\.0\.1', \d+\)/);
  await c.workers[0]!.waitForLog(/\[Worker worker1\] \[Keep Alive\] Successful response from master: keepalive/);
});

test('cluster formation - cluster_control explains bad usage and a stopped node', async () => {
  const noAction = await runCli('cluster_control', ['--home', c.master.home]);
  assert.equal(noAction.code, 2);
  assert.match(noAction.stderr, /ERROR: Wrong arguments/);
  const unknown = await runCli('cluster_control', ['--home', c.master.home, '-l', '--bogus']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown argument: bogus/);
  const badNode = await runCli('cluster_control', ['--home', c.master.home, '-l', '-fn', 'nope']);
  assert.equal(badNode.code, 1);
  assert.match(badNode.stderr, /Unknown node name\(s\): nope/);
  const nowhere = await runCli('cluster_control', ['--home', `${c.root}/missing`, '-l']);
  assert.equal(nowhere.code, 1);
  assert.match(nowhere.stderr, /ERROR: Cluster is not running/);
});

test('cluster formation - a worker with the wrong key is refused and both sides log it', async () => {
  const intruder = await c.addNode('intruder', 'worker', { key: 'x'.repeat(32) });
  await intruder.start();
  await intruder.waitForLog(/ERROR: \[Worker intruder\] \[Main\] Could not connect to master: .*key proof of master 'master' did not verify/);
  await c.master.waitForLog(/ERROR: \[Worker\] \[Main\] Handshake refused: Error 3025 - Could not verify the key proof.*worker refused the master/);
  assert.deepEqual((await listedNodes(c.master)).includes('intruder'), false);
  await intruder.stop();
});

test('cluster formation - a second worker with a taken name, or the master\'s name, is refused', async () => {
  const twin = await c.addNode('twin', 'worker', { nodeName: 'worker2' });
  await twin.start();
  await twin.waitForLog(/Could not connect to master: Error 3028 - Worker node ID already exists: worker2/);
  await c.master.waitForLog(/Handshake refused: Error 3028 - Worker node ID already exists: worker2/);
  await twin.stop();
  const impostor = await c.addNode('impostor', 'worker', { nodeName: 'master' });
  await impostor.start();
  await impostor.waitForLog(/Could not connect to master: Error 3029 - Connected worker with same name as the master/);
  await impostor.stop();
  assert.deepEqual((await listedNodes(c.master)).sort(), ['master', 'worker1', 'worker2']);
});

test('cluster formation - kill -9 a worker: the master drops it, and it rejoins on restart', async () => {
  const w = c.workers[0]!;
  await w.kill9();
  await waitFor(async () => !(await listedNodes(c.master)).includes('worker1'), 'master to drop worker1');
  await c.master.waitForLog(/\[Worker worker1\] \[Main\] Disconnected worker1: /);
  await w.start();
  await waitFor(async () => (await listedNodes(c.master)).includes('worker1'), 'worker1 to rejoin');
});

test('cluster formation - a frozen worker is dropped after max_allowed_time_without_keepalive and reconnects when it wakes', async () => {
  const w = c.workers[1]!;
  const pid = w.pid;
  assert.ok(pid);
  process.kill(pid, 'SIGSTOP');
  try {
    await c.master.waitForLog(/ERROR: \[Master\] \[Keep alive\] No keep alives have been received from worker2 in the last 2s\. Disconnecting/);
    await waitFor(async () => !(await listedNodes(c.master)).includes('worker2'), 'master to drop worker2');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await waitFor(async () => (await listedNodes(c.master)).includes('worker2'), 'worker2 to reconnect');
});

test('cluster formation - restart the master: workers reconnect by themselves', async () => {
  assert.equal(await c.master.stop(), 0);
  await c.workers[0]!.waitForLog(/The master is closing the connection: master shutting down|Connection with the master lost/);
  const notConnected = await runCli('cluster_control', ['--home', c.workers[0]!.home, '-l']);
  assert.equal(notConnected.code, 1);
  assert.match(notConnected.stderr, /Error 3023 - Worker node is not connected to master/);
  await c.master.start();
  await waitFor(async () => (await listedNodes(c.master)).length === 3, 'workers to reconnect');
  assert.deepEqual((await listedNodes(c.workers[1]!)).sort(), ['master', 'worker1', 'worker2']);
});

test('cluster formation - an injected actor crash restarts the actor; the inspector shows it; the node keeps serving', async () => {
  const crash = await runCli('actors', ['--home', c.master.home, '--crash', 'node/master-coordinator']);
  assert.equal(crash.code, 0, crash.stderr);
  type Fig = { path: string; restarts: number; lastError: { message: string } | null; summary: Record<string, unknown> };
  const fig = await waitFor(async () => {
    const r = await runCli('actors', ['--home', c.master.home, '--json']);
    const actors = (JSON.parse(r.stdout) as { actors: Fig[] }).actors;
    const coord = actors.find((a) => a.path === 'node/master-coordinator');
    return coord && coord.restarts === 1 ? { coord, actors } : undefined;
  }, 'coordinator restart to show');
  assert.match(fig.coord.lastError?.message ?? '', /fault injected into node\/master-coordinator/);
  // Its sessions were rebuilt from the links the transport still holds.
  assert.equal(fig.coord.summary['workers'], 2);
  assert.ok(fig.actors.some((a) => a.path === 'node/master-coordinator/worker-session-worker1'));
  assert.deepEqual((await listedNodes(c.workers[0]!)).sort(), ['master', 'worker1', 'worker2']);
  await c.master.waitForLog(/ERROR: \[Master\] \[Main\] Actor node\/master-coordinator crashed: fault injected into node\/master-coordinator \(restart\)\./);
  const table = await runCli('actors', ['--home', c.master.home]);
  assert.match(table.stdout, /^ {2}master-coordinator\s+running\s+\d+\s+\d+\s+1\s+/m);
  const worker = await runCli('actors', ['--home', c.workers[0]!.home, '--crash', 'node/master-session']);
  assert.equal(worker.code, 0, worker.stderr);
  await waitFor(async () => (await listedNodes(c.workers[0]!)).length === 3, 'worker session to serve again');
});
