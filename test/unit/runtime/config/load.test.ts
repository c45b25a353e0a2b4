import { DEFAULT_AGENT_SERVICES } from '../../../../runtime/config/ossec-agent-services.js';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DEFAULT_INTERVALS } from '../../../../runtime/config/defaults.js';
import { formatConfigIssue, loadNodeConfig } from '../../../../runtime/config/load.js';
import type { ConfigLoadResult, NodeConfig } from '../../../../runtime/config/types.js';

const KEY = 'fd3350b86d239654e34866ab3c4988a8';

const OSSEC_CONF = `<ossec_config>
  <remote><port>1514</port></remote>
</ossec_config>
<ossec_config>
  <cluster>
    <name>lab</name>
    <node_name>w1</node_name>
    <node_type>worker</node_type>
    <key>${KEY}</key>
    <nodes>
      <node>10.1.0.1</node>
    </nodes>
    <redis_url>redis://127.0.0.1:6379/0</redis_url>
  </cluster>
</ossec_config>
`;

let home = '';

async function writeEtc(name: string, text: string): Promise<void> {
  await fs.mkdir(path.join(home, 'etc'), { recursive: true });
  await fs.writeFile(path.join(home, 'etc', name), text);
}

function enabled(result: ConfigLoadResult): NodeConfig {
  assert.ok(result.kind === 'enabled', JSON.stringify(result));
  return result.config;
}

beforeEach(async () => {
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'clusterd-load-'));
});

afterEach(async () => {
  await fs.rm(home, { recursive: true, force: true });
});

describe('loadNodeConfig', () => {
  it('combines ossec.conf and cluster.json', async () => {
    await writeEtc('ossec.conf', OSSEC_CONF);
    await writeEtc('cluster.json', '{"intervals": {"worker": {"keep_alive": 0.5}}, "fault_injection": true}');
    const result = await loadNodeConfig(home);
    assert.deepEqual(result, {
      kind: 'enabled',
      warnings: [],
      config: {
        home,
        ossecConfPath: path.join(home, 'etc', 'ossec.conf'),
        cluster: {
          name: 'lab',
          nodeName: 'w1',
          nodeType: 'worker',
          key: KEY,
          port: 1516,
          bindAddr: '0.0.0.0',
          nodes: ['10.1.0.1'],
          masterAddress: '10.1.0.1',
          hidden: false,
          redisUrl: 'redis://127.0.0.1:6379/0',
          tls: null,
          handshakesPerSource: 16,
        },
        intervals: { ...DEFAULT_INTERVALS, worker: { ...DEFAULT_INTERVALS.worker, keep_alive: 0.5 } },
        agents: DEFAULT_AGENT_SERVICES,
        faultInjection: true,
      },
    });
  });

  it('uses the default intervals without cluster.json', async () => {
    await writeEtc('ossec.conf', OSSEC_CONF);
    const config = enabled(await loadNodeConfig(home));
    assert.deepEqual(config.intervals, DEFAULT_INTERVALS);
    assert.equal(config.faultInjection, false);
  });

  it('resolves a relative home', async () => {
    await writeEtc('ossec.conf', OSSEC_CONF);
    const config = enabled(await loadNodeConfig(path.relative(process.cwd(), home)));
    assert.equal(config.home, home);
    assert.equal(config.ossecConfPath, path.join(home, 'etc', 'ossec.conf'));
  });

  it('freezes the whole result', async () => {
    await writeEtc('ossec.conf', OSSEC_CONF);
    const result = await loadNodeConfig(home);
    const config = enabled(result);
    const parts = [result, config, config.cluster, config.cluster.nodes, config.intervals, config.intervals.worker];
    for (const part of parts) assert.ok(Object.isFrozen(part));
    assert.throws(() => {
      Object.assign(config.intervals.worker, { keep_alive: 1 });
    }, TypeError);
  });

  it('passes warnings along', async () => {
    await writeEtc('ossec.conf', OSSEC_CONF.replace('worker</node_type>', 'client</node_type>'));
    const result = await loadNodeConfig(home);
    assert.equal(enabled(result).cluster.nodeType, 'worker');
    assert.deepEqual(result.warnings, [
      {
        file: path.join(home, 'etc', 'ossec.conf'),
        line: 8,
        element: 'ossec_config/cluster/node_type',
        message: "Deprecated node type 'client'. Using 'worker' instead.",
      },
    ]);
  });

  it('is disabled when the block is absent or disabled', async () => {
    await writeEtc('ossec.conf', '<ossec_config><global/></ossec_config>\n');
    assert.deepEqual(await loadNodeConfig(home), { kind: 'disabled', reason: 'absent', warnings: [] });
    await writeEtc('ossec.conf', OSSEC_CONF.replace('<name>lab</name>', '<disabled>yes</disabled>'));
    assert.deepEqual(await loadNodeConfig(home), { kind: 'disabled', reason: 'disabled', warnings: [] });
  });

  it('reports a missing ossec.conf as an error, not as absent', async () => {
    const file = path.join(home, 'etc', 'ossec.conf');
    assert.deepEqual(await loadNodeConfig(home), {
      kind: 'invalid',
      warnings: [],
      errors: [
        { file, element: '', message: `Error reading cluster configuration: ENOENT: no such file or directory, open '${file}'` },
      ],
    });
  });

  it('reports the errors of both files together', async () => {
    await writeEtc('ossec.conf', OSSEC_CONF.replace('<nodes>', '<port>80</port>\n    <nodes>'));
    await writeEtc('cluster.json', '{"intervals": {"worker": {"keep_alve": 5}}}');
    const result = await loadNodeConfig(home);
    assert.ok(result.kind === 'invalid');
    assert.deepEqual(
      result.errors.map((e) => [e.file, e.line, e.element]),
      [
        [path.join(home, 'etc', 'ossec.conf'), 10, 'ossec_config/cluster/port'],
        [path.join(home, 'etc', 'cluster.json'), undefined, 'intervals.worker.keep_alve'],
      ],
    );
    for (const e of result.errors) assert.ok(!formatConfigIssue(e).includes(KEY));
  });
});

describe('formatConfigIssue', () => {
  it('gives file, line, element and message', () => {
    const text = formatConfigIssue({
      file: '/x/etc/ossec.conf',
      line: 12,
      element: 'ossec_config/cluster/port',
      message: "Port must be higher than 1024 and lower than 65535 (found '80')",
    });
    assert.equal(
      text,
      "/x/etc/ossec.conf:12: ossec_config/cluster/port: Port must be higher than 1024 and lower than 65535 (found '80')",
    );
  });

  it('leaves out an unknown line and an empty element', () => {
    assert.equal(
      formatConfigIssue({ file: '/x/etc/cluster.json', element: 'fault_injection', message: 'Expected true or false' }),
      '/x/etc/cluster.json: fault_injection: Expected true or false',
    );
    assert.equal(
      formatConfigIssue({ file: '/x/etc/ossec.conf', line: 3, element: '', message: 'Invalid XML: boom' }),
      '/x/etc/ossec.conf:3: Invalid XML: boom',
    );
  });
});
