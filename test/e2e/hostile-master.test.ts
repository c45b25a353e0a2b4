/**
 * A real worker process against a scripted master that sends what no honest master
 * would: paths that escape the synced folders, a symlink escape, a zip bomb. The
 * worker refuses, writes nothing, logs it with the peer's name, and stays up.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { FakeMaster } from '../harness/fake-master.js';
import { NodeProcess, FAST_INTERVALS, newKey, tempDir, waitFor } from '../harness/cluster.js';
import { controlRequest } from '../../runtime/control/control-client.js';
import { tempFiles } from '../harness/tree.js';
import { writeNodeHome } from '../../scripts/lib/node-home.js';
import type { ClusterBody } from '../../protocols/cluster-messages.js';

const key = newKey();
const fake = new FakeMaster(key);
let root: string;
let worker: NodeProcess;
const outside = path.join(os.tmpdir(), `clusterd-outside-${randomBytes(4).toString('hex')}`);

type Plan = Omit<ClusterBody<'integrity-plan'>, 'syncId'>;
const plan = (create: { path: string; size: number; md5?: string }[]): Plan => ({
  revision: 1, files: create.length, deferred: 0, tooLarge: [], bytes: create.reduce((n, c) => n + c.size, 0),
  create: create.map((c) => ({ path: c.path, size: c.size, md5: c.md5 ?? '0'.repeat(32) })), update: [], delete: [],
});

before(async () => {
  const port = await fake.listen();
  root = await tempDir('hostile');
  fs.mkdirSync(outside);
  const home = path.join(root, 'worker1');
  await writeNodeHome(home, {
    cluster: 'wazuh', nodeName: 'worker1', nodeType: 'worker', key, port, bindAddr: '127.0.0.1', masterAddress: '127.0.0.1',
    // Checks only when a test asks (the session checks at connect, then every 60 s).
    clusterJson: { intervals: { ...FAST_INTERVALS, worker: { ...FAST_INTERVALS.worker, sync_integrity: 60 } } },
  });
  fs.symlinkSync(outside, path.join(home, 'etc/shared/escape'));
  worker = new NodeProcess(home, 'worker1');
  await worker.start();
  await worker.waitForLog(/Successfully connected to master\./);
});

after(async () => {
  await worker?.stop();
  await fake.close();
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

/** Makes the worker check now: a change notice from the "master". */
async function triggerCheck(): Promise<void> {
  const before = fake.frames('integrity-check').length;
  await waitFor(() => fake.notify() > 0 || undefined, 'a link to the worker');
  await waitFor(() => fake.frames('integrity-check').length > before || undefined, 'the worker to check');
}

async function refusedWith(reason: RegExp): Promise<void> {
  await waitFor(() => fake.frames('sync-start').some((f) => !f.body.accept && reason.test(f.body.reason ?? '')) || undefined, `a refusal matching ${reason}`);
}

test('hostile master - a plan with a path that climbs out of the synced folders is refused whole', async () => {
  fake.arm({
    plan: () => plan([{ path: 'etc/shared/default/fine.conf', size: 3 }, { path: 'etc/shared/../../../../tmp/evil', size: 3 }]),
    chunks: () => [],
  });
  await triggerCheck();
  await refusedWith(/refused path 'etc\/shared\/\.\.\/\.\.\/\.\.\/\.\.\/tmp\/evil': is not a normalised relative path/);
  await worker.waitForLog(/ERROR: \[Worker worker1\] \[Integrity sync\] Refused the sync from master fake-master: refused path .*Nothing was changed\./);
  assert.equal(fs.existsSync(path.join(worker.home, 'etc/shared/default/fine.conf')), false);
});

test('hostile master - absolute paths and files outside the synced set are refused', async () => {
  for (const bad of ['/etc/cron.d/evil', 'etc/ossec.conf', 'queue/db/global.db']) {
    fake.arm({ plan: () => plan([{ path: bad, size: 1 }]), chunks: () => [] });
    await triggerCheck();
    await refusedWith(new RegExp(`refused path '${bad.replace(/[.*/]/g, '\\$&')}'`));
  }
  assert.match(fs.readFileSync(path.join(worker.home, 'etc/ossec.conf'), 'utf8'), /<node_name>worker1<\/node_name>/);
});

test('hostile master - a path through a symlink that leads outside is refused; nothing lands outside', async () => {
  fake.arm({ plan: () => plan([{ path: 'etc/shared/escape/evil.conf', size: 3 }]), chunks: () => [] });
  await triggerCheck();
  await refusedWith(/its parent 'etc\/shared\/escape' is a symbolic link/);
  assert.deepEqual(fs.readdirSync(outside), []);
});

test('hostile master - a zip bomb fails the sync without writing anything; the worker stays up', async () => {
  const bomb = zlib.deflateRawSync(Buffer.alloc(100 * 1024 * 1024));
  const claimed = Buffer.from('tiny\n');
  fake.arm({
    plan: () => plan([{ path: 'etc/shared/default/bomb.conf', size: claimed.length }]),
    chunks: () => [{ path: 'etc/shared/default/bomb.conf', offset: 0, rawSize: claimed.length, data: bomb, last: true, md5: createHash('md5').update(claimed).digest('hex') }],
  });
  await triggerCheck();
  await waitFor(() => fake.frames('sync-applied').some((f) => !f.body.ok && /inflates beyond/.test(f.body.error ?? '')) || undefined, 'the worker to report the failed sync');
  await worker.waitForLog(/ERROR: \[Worker worker1\] \[Integrity sync\] Error synchronizing files: .*inflates beyond .*The tree keeps its last good state\./);
  assert.equal(fs.existsSync(path.join(worker.home, 'etc/shared/default/bomb.conf')), false);
  assert.deepEqual(tempFiles(worker.home), []);
  const status = await controlRequest(worker.home, 'get-status', {});
  assert.equal(status.type === 'status' && status.body.status.connected, true);
});
