/**
 * Groups and the registry's order across the cluster: real clusterd processes, the
 * enrolment service over TLS, the CLIs over the control socket, and each node's
 * SQLite registry read while they run.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeCluster, listedNodes, runCli, waitFor, type NodeProcess, type TestCluster } from '../harness/cluster.js';
import { enrol, issuedKey, readRegistry, clientKeys } from '../harness/agents.js';
import { controlRequest } from '../../runtime/control/control-client.js';
import type { RegistryCommand, RegistryOutcome } from '../../protocols/registry.js';

async function formed(c: TestCluster): Promise<void> {
  await c.master.start();
  await Promise.all(c.workers.map((w) => w.start()));
  await waitFor(async () => (await listedNodes(c.master)).length === c.workers.length + 1, 'the cluster to form');
}

async function registry(node: NodeProcess, command: RegistryCommand): Promise<RegistryOutcome> {
  const a = await controlRequest(node.home, 'registry', { command });
  if (a.type !== 'registry-result') throw new Error(`unexpected ${a.type}: ${JSON.stringify(a.body)}`);
  return a.body.outcome;
}

function sameRegistry(a: NodeProcess, b: NodeProcess): boolean {
  const x = readRegistry(a.home);
  const y = readRegistry(b.home);
  return x.revision === y.revision && JSON.stringify([...x.agents]) === JSON.stringify([...y.agents]);
}

test('groups - assigned right after enrolling through a worker: no worker ever holds a group row for an agent it lacks', async (t) => {
  const c = await makeCluster('groups-order', { workers: 2 });
  t.after(() => c.stopAll());
  await formed(c);
  const [w1, w2] = c.workers as [NodeProcess, NodeProcess];
  assert.equal((await registry(w2, { op: 'create-group', group: 'dbs' })).ok, true);

  let sampling = true;
  let samples = 0;
  const sampler = (async () => {
    while (sampling) {
      for (const w of c.workers) {
        const r = readRegistry(w.home);
        assert.equal(r.orphans, 0, `${w.name} holds group rows for missing agents`);
        samples += 1;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const ids: number[] = [];
  for (let i = 0; i < 40; i++) {
    const k = issuedKey(await enrol(w1.authPort, `OSSEC A:'ordered-${i}'`));
    const id = Number(k.id);
    ids.push(id);
    // Through the other worker, at once: the assignment races the key's arrival there.
    const outcome = await registry(w2, { op: 'assign-group', id, group: 'dbs', replace: false });
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
  }
  await waitFor(() => c.workers.every((w) => ids.every((id) => readRegistry(w.home).agents.get(id)?.groups === 'default,dbs')), 'every worker to hold default,dbs for all 40 agents');
  sampling = false;
  await sampler;
  assert.ok(samples > 10);
  for (const w of c.workers) assert.doesNotMatch(await w.log(), /Could not apply/);
  assert.ok(sameRegistry(c.master, w1) && sameRegistry(c.master, w2));
});

test('groups - a worker stopped while agents and groups change catches up fully when it comes back', async (t) => {
  const c = await makeCluster('groups-catchup', { workers: 2 });
  t.after(() => c.stopAll());
  await formed(c);
  const [w1, w2] = c.workers as [NodeProcess, NodeProcess];
  const first = issuedKey(await enrol(w1.authPort, "OSSEC A:'before-stop'"));
  await waitFor(() => readRegistry(w2.home).agents.has(Number(first.id)), 'w2 to have the first agent');
  await w2.stop();

  await registry(c.master, { op: 'create-group', group: 'web' });
  const added: number[] = [];
  for (let i = 0; i < 10; i++) added.push(Number(issuedKey(await enrol(w1.authPort, `OSSEC A:'while-away-${i}' G:'web'`)).id));
  await registry(c.master, { op: 'assign-group', id: Number(first.id), group: 'web', replace: true });
  await registry(c.master, { op: 'remove-agent', id: added[0] as number });
  await registry(c.master, { op: 'create-group', group: 'gone' });
  await registry(c.master, { op: 'delete-group', group: 'gone' });

  await w2.start();
  await waitFor(() => sameRegistry(c.master, w2), 'w2 to catch up with the master');
  const r = readRegistry(w2.home);
  assert.equal(r.agents.has(added[0] as number), false);
  assert.equal(r.agents.get(Number(first.id))?.groups, 'web');
  assert.match(await w2.log(), /Caught up: \d+ changes applied/);
  // client.keys follows through integrity sync, identical to the master's.
  await waitFor(async () => (await clientKeys(w2.home)).join('\n') === (await clientKeys(c.master.home)).join('\n'), 'client.keys on w2');
  await waitFor(async () => (await fs.stat(path.join(w2.home, 'etc', 'shared', 'web', 'merged.mg')).catch(() => null)) !== null, 'merged.mg of web on w2');
});

test('groups - CLIs on a worker: manage_agents, agent_groups and cluster_control -a, with usage errors', async (t) => {
  const c = await makeCluster('groups-cli', { workers: 1 });
  t.after(() => c.stopAll());
  await formed(c);
  const w = c.workers[0] as NodeProcess;
  const home = ['--home', w.home];
  const run = async (tool: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => runCli(tool, [...home, ...args]);

  let r = await run('manage_agents', ['-a', 'cli-agent', '-i', '10.0.0.7']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ID: 001\n {3}Name: cli-agent\n {3}IP Address: 10\.0\.0\.7/);
  r = await run('manage_agents', ['-l']);
  assert.match(r.stdout, /ID: 001, Name: cli-agent, IP: 10\.0\.0\.7/);
  r = await run('manage_agents', ['-e', '001']);
  const encoded = r.stdout.trim().split('\n').pop() ?? '';
  assert.match(Buffer.from(encoded, 'base64').toString(), /^001 cli-agent 10\.0\.0\.7 [0-9a-f]{64}$/);

  assert.equal((await run('agent_groups', ['-c', '-g', 'dbs'])).stdout.trim(), "Group 'dbs' created.");
  await waitFor(async () => (await fs.readFile(path.join(c.master.home, 'etc', 'shared', 'dbs', 'agent.conf'), 'utf8').catch(() => '')).includes('<agent_config>'), 'dbs/agent.conf on the master');
  assert.equal((await run('agent_groups', ['-a', '-i', '1', '-g', 'dbs'])).code, 0);
  assert.equal((await run('agent_groups', ['-s', '-i', '001'])).stdout.trim(), "The agent 'cli-agent' with ID '001' belongs to groups: default, dbs.");
  r = await run('agent_groups', ['-l']);
  assert.match(r.stdout, /Groups \(2\):\n {2}dbs \(1\)\n {2}default \(1\)\nUnassigned agents: 0\./);
  r = await run('agent_groups', ['-l', '-g', 'dbs', '--json']);
  assert.deepEqual(JSON.parse(r.stdout).data.affected_items, [{ id: '001', name: 'cli-agent' }]);
  // A multigroup gets its merged.mg under var/multigroups on the master.
  await waitFor(async () => (await fs.readdir(path.join(c.master.home, 'var', 'multigroups')).catch(() => [])).length === 1, 'a multigroup folder');

  r = await runCli('cluster_control', [...home, '-a']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ID +NAME +IP +STATUS +VERSION +NODE NAME\n000 +master +127\.0\.0\.1 +active +Wazuh v4\.14\.5 +master\n001 +cli-agent +10\.0\.0\.7 +never_connected +unknown +unknown$/m);
  r = await runCli('cluster_control', [...home, '-a', '-fs', 'never_connected', '--json']);
  assert.deepEqual(JSON.parse(r.stdout).data.affected_items.map((a: { id: string }) => a.id), ['001']);

  assert.equal((await run('agent_groups', ['-r', '-i', '1', '-g', 'dbs'])).code, 0);
  assert.equal((await run('agent_groups', ['-d', '-g', 'dbs'])).stdout.trim(), "Group 'dbs' removed.");
  assert.equal((await run('manage_agents', ['-r', '001'])).code, 0);
  await waitFor(async () => (await clientKeys(c.master.home)).length === 0, 'client.keys emptied');

  // Errors: clear words, non-zero exits.
  r = await run('manage_agents', ['-r', '42']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), "ERROR: Agent '042' does not exist.");
  r = await run('agent_groups', ['-a', '-i', 'abc', '-g', 'dbs']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /-i: 'abc' is not an agent ID/);
  r = await run('agent_groups', ['-c']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /-c needs -g GROUP/);
  r = await run('agent_groups', ['-d', '-g', 'default']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /default group cannot be deleted/);
  r = await run('agent_groups', ['-c', '-g', 'bad/name']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /group names are/);
  r = await run('manage_agents', ['-l', '-r', '1']);
  assert.equal(r.code, 2);
  r = await runCli('cluster_control', [...home, '-fs', 'active']);
  assert.equal(r.code, 2);
});
