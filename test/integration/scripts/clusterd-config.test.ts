/**
 * The clusterd process with good, bad, disabled and absent configurations: what it
 * says, what it logs, and its exit code.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { runCli, tempDir } from '../../harness/cluster.js';
import { writeNodeHome } from '../../../scripts/lib/node-home.js';

const KEY = 'c98b62a9b6169ac5f67dae55ae4a9088';

async function home(ossecConf?: string): Promise<string> {
  const dir = await tempDir('config');
  await writeNodeHome(dir, { cluster: 'wazuh', nodeName: 'm', nodeType: 'master', key: KEY, port: 1516, bindAddr: '127.0.0.1', masterAddress: '127.0.0.1' });
  if (ossecConf !== undefined) await fs.writeFile(path.join(dir, 'etc', 'ossec.conf'), ossecConf);
  return dir;
}

test('clusterd config - a bad <cluster> block: every error named on stderr and in cluster.log, exit 1', async () => {
  const dir = await home(`<ossec_config>
  <cluster>
    <name>wazuh</name>
    <node_name>m</node_name>
    <key>short</key>
    <node_type>boss</node_type>
    <port>80</port>
    <nodes><node>NODE_IP</node></nodes>
  </cluster>
</ossec_config>
`);
  const r = await runCli('clusterd', ['--home', dir]);
  assert.equal(r.code, 1);
  const file = path.join(dir, 'etc', 'ossec.conf');
  assert.match(r.stderr, new RegExp(`${file}:5: .*key.*Key must be 32 characters long`));
  assert.match(r.stderr, /:6: .*node_type.*Invalid node type boss/);
  assert.match(r.stderr, /:7: .*port.*Port must be higher than 1024 and lower than 65535/);
  assert.match(r.stderr, /Invalid elements in node fields: NODE_IP/);
  assert.doesNotMatch(r.stderr, /short/);
  const log = await fs.readFile(path.join(dir, 'logs', 'cluster.log'), 'utf8');
  assert.match(log, /ERROR: \[Cluster\] \[Main\] .*ossec\.conf:7: .*Port must be higher than 1024/);
  await fs.rm(dir, { recursive: true, force: true });
});

test('clusterd config - disabled or absent cluster: says so and exits 0', async () => {
  const disabled = await home(`<ossec_config><cluster><disabled>yes</disabled></cluster></ossec_config>\n`);
  const r1 = await runCli('clusterd', ['--home', disabled]);
  assert.equal(r1.code, 0, r1.stderr);
  assert.match(r1.stdout, /Cluster is disabled in .*ossec\.conf \(<disabled>yes<\/disabled>\)/);
  const absent = await home(`<ossec_config><global><jsonout_output>yes</jsonout_output></global></ossec_config>\n`);
  const r2 = await runCli('clusterd', ['--home', absent]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, /there is no <cluster> block/);
  for (const d of [disabled, absent]) await fs.rm(d, { recursive: true, force: true });
});

test('clusterd config - -t checks a good file and exits 0; bad arguments exit 2', async () => {
  const dir = await home();
  const ok = await runCli('clusterd', ['--home', dir, '-t']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /Configuration OK/);
  const bad = await runCli('clusterd', ['--home', dir, '--frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Unknown argument: frobnicate/);
  const missing = await runCli('clusterd', ['--home', path.join(dir, 'nowhere')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /ossec\.conf/);
  await fs.rm(dir, { recursive: true, force: true });
});

test('clusterd config - a second clusterd on the same home refuses to start', async () => {
  const dir = await home();
  const cfg = (await fs.readFile(path.join(dir, 'etc', 'ossec.conf'), 'utf8')).replace('<port>1516</port>', '<port>45999</port>');
  await fs.writeFile(path.join(dir, 'etc', 'ossec.conf'), cfg);
  const { NodeProcess } = await import('../../harness/cluster.js');
  const first = new NodeProcess(dir, 'first');
  await first.start();
  try {
    const second = await runCli('clusterd', ['--home', dir]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /Could not start: another clusterd is already running here/);
  } finally {
    await first.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
});
