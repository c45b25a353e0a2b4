/**
 * e2e with real clusterd processes: the master's synced files reach every worker,
 * byte for byte, and stay there through edits, kills and restarts.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { makeCluster, listedNodes, waitFor, type TestCluster, type NodeProcess } from '../harness/cluster.js';
import { sameTree, syncedTree, tempFiles, writeFile } from '../harness/tree.js';

let c: TestCluster;

const converged = (what: string, workers: readonly NodeProcess[] = c.workers, timeoutMs = 30_000): Promise<true> =>
  waitFor(() => {
    const m = syncedTree(c.master.home);
    return workers.every((w) => sameTree(m, syncedTree(w.home))) || undefined;
  }, what, timeoutMs);

before(async () => {
  c = await makeCluster('sync', { workers: 2 });
  // One file of each synced kind before anyone starts.
  writeFile(c.master.home, 'etc/client.keys', '001 web01 any 0123456789abcdef0123456789abcdef\n');
  writeFile(c.master.home, 'etc/shared/default/agent.conf', '<agent_config></agent_config>\n');
  writeFile(c.master.home, 'var/multigroups/0a1b2c3d/merged.mg', '#default\n');
  writeFile(c.master.home, 'etc/rules/local_rules.xml', '<group name="local,"></group>\n');
  writeFile(c.master.home, 'etc/decoders/local_decoder.xml', '<decoder name="local"></decoder>\n');
  writeFile(c.master.home, 'etc/lists/blocked-ips', '10.0.0.1:\n');
  writeFile(c.master.home, 'etc/sca/custom_policy.yml', 'policy:\n  id: custom\n');
  await c.master.start();
  await Promise.all(c.workers.map((w) => w.start()));
  await waitFor(async () => (await listedNodes(c.master)).length === 3, 'workers to join');
});

after(async () => {
  await c?.stopAll();
});

test('integrity sync - a new worker receives every kind of synced file, byte for byte', async () => {
  await converged('first sync');
  const tree = syncedTree(c.workers[0]!.home);
  assert.deepEqual([...tree.keys()], [
    'etc/client.keys', 'etc/decoders/local_decoder.xml', 'etc/lists/blocked-ips', 'etc/rules/local_rules.xml',
    'etc/sca/custom_policy.yml', 'etc/shared/default/agent.conf', 'etc/shared/default/merged.mg', 'var/multigroups/0a1b2c3d/merged.mg',
  ]);
  // The master's registry took the agent from client.keys and wrote the file back from itself.
  assert.equal(fs.readFileSync(path.join(c.workers[0]!.home, 'etc/client.keys'), 'utf8'), '001 web01 any 0123456789abcdef0123456789abcdef\n');
  // The worker's own ossec.conf is never synced.
  assert.match(fs.readFileSync(path.join(c.workers[0]!.home, 'etc/ossec.conf'), 'utf8'), /<node_name>worker1<\/node_name>/);
  assert.equal(fs.statSync(path.join(c.workers[0]!.home, 'etc/client.keys')).mode & 0o777, 0o640);
  assert.equal(fs.statSync(path.join(c.workers[0]!.home, 'etc/rules/local_rules.xml')).mode & 0o777, 0o660);
  await c.workers[0]!.waitForLog(/INFO: \[Worker worker1\] \[Integrity sync\] Files to create: 8 \| Files to update: 0 \| Files to delete: 0/);
  await c.workers[0]!.waitForLog(/\[Integrity sync\] Ruleset changed \(4 files in rules, decoders, lists or SCA policies\): reload requested\./);
  await c.master.waitForLog(/INFO: \[Worker worker1\] \[Integrity check\] Finished in \d+\.\d{3}s\. Received metadata of \d+ files\. Sync required\./);
});

test('integrity sync - creates, updates and deletes on the master reach every worker; nested group folders come and go', async () => {
  const m = c.master.home;
  writeFile(m, 'etc/shared/web/agent.conf', '<agent_config><localfile/></agent_config>\n');
  writeFile(m, 'etc/shared/web/nested/deeper/extra.txt', 'x\n');
  writeFile(m, 'etc/rules/local_rules.xml', '<group name="local,changed,"></group>\n');
  fs.rmSync(path.join(m, 'etc/lists/blocked-ips'));
  await converged('edits to reach workers');
  assert.ok(fs.existsSync(path.join(c.workers[1]!.home, 'etc/shared/web/nested/deeper/extra.txt')));
  fs.rmSync(path.join(m, 'etc/shared/web'), { recursive: true });
  await converged('group removal to reach workers');
  for (const w of c.workers) {
    await waitFor(() => !fs.existsSync(path.join(w.home, 'etc/shared/web')) || undefined, `${w.name} to remove the emptied group folder`);
    assert.ok(fs.existsSync(path.join(w.home, 'etc/shared/default')));
  }
});

test('integrity sync - edits and extra files on a worker are undone', async () => {
  const w = c.workers[0]!.home;
  writeFile(w, 'etc/rules/local_rules.xml', 'tampered\n');
  writeFile(w, 'etc/decoders/rogue.xml', '<decoder name="rogue"/>\n');
  writeFile(w, 'etc/shared/default/agent.conf', 'tampered\n');
  // Excluded names are the worker's own and stay.
  writeFile(w, 'etc/shared/default/ar.conf', 'restart-ossec0 - restart-ossec.sh - 0\n');
  await converged('worker edits to be undone');
  assert.ok(fs.existsSync(path.join(w, 'etc/shared/default/ar.conf')));
});

test('integrity sync - 5,000 small files and a 50 MB file', async () => {
  const m = c.master.home;
  for (let g = 0; g < 50; g++) {
    for (let f = 0; f < 100; f++) writeFile(m, `etc/shared/bulk${g}/file${f}.conf`, `group ${g} file ${f}\n`);
  }
  writeFile(m, 'etc/lists/big-list', randomBytes(50 * 1024 * 1024));
  await converged('bulk files to reach workers', c.workers, 120_000);
  assert.ok(syncedTree(c.workers[1]!.home).size > 5000);
  for (const w of c.workers) assert.deepEqual(tempFiles(w.home), []);
});

test('integrity sync - kill -9 a worker mid-sync: restarted, it has no temp files and converges', async () => {
  const w = c.workers[1]!;
  writeFile(c.master.home, 'etc/lists/big-list-2', randomBytes(80 * 1024 * 1024));
  await waitFor(() => tempFiles(w.home).length > 0 || undefined, 'the sync to start writing on worker2', 30_000);
  await w.kill9();
  const before = syncedTree(w.home);
  assert.equal(before.has('etc/lists/big-list-2'), false, 'a partial file became visible');
  await w.start();
  assert.deepEqual(tempFiles(w.home), []);
  await w.waitForLog(/Removed \d+ temporary files left by an interrupted sync\./);
  await converged('worker2 to converge after its restart', [w], 120_000);
});

test('integrity sync - kill -9 the master mid-sync: workers keep their last good tree, then converge', async () => {
  await converged('every worker to be in sync first', c.workers, 120_000);
  const lastGood = syncedTree(c.master.home);
  writeFile(c.master.home, 'etc/lists/big-list-3', randomBytes(80 * 1024 * 1024));
  await waitFor(() => c.workers.some((w) => tempFiles(w.home).length > 0) || undefined, 'a sync to start writing', 30_000);
  await c.master.kill9();
  for (const w of c.workers) {
    await waitFor(() => tempFiles(w.home).length === 0 || undefined, `${w.name} to drop its temp files`);
    const tree = syncedTree(w.home);
    assert.equal(tree.has('etc/lists/big-list-3'), false);
    assert.ok(sameTree(lastGood, tree), `${w.name} changed without a complete sync`);
  }
  await c.master.start();
  await converged('workers to converge after the master returned', c.workers, 120_000);
});
