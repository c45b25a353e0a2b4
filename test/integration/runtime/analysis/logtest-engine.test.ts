/**
 * The logtest socket with the real engine behind it: LogtestServer + EngineLogtestBackend
 * + RulesetLoader over a home whose `<ruleset>` points at the lab's own ruleset
 * (rulesets/lab, in the repo) and at etc/rules. Real Unix socket, real files.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EngineLogtestBackend } from '../../../../runtime/analysis/logtest-backend.js';
import { RulesetLoader } from '../../../../runtime/analysis/ruleset-loader.js';
import { createLogger } from '../../../../runtime/logger.js';
import { logtestRequest } from '../../../../runtime/logtest/logtest-client.js';
import { LogtestServer, logtestSocketPath } from '../../../../runtime/logtest/logtest-server.js';
import { repoRoot } from '../../../harness/upstream-data.js';

interface Reply {
  error: number;
  data: {
    messages?: string[];
    token?: string;
    output?: { rule?: { id: string; level: number; firedtimes?: number }; decoder: { name?: string }; data?: Record<string, unknown> };
    rules_debug?: string[];
    alert?: boolean;
    codemsg: number;
  };
}

const simulated = (n: number): string => `Dec  7 22:03:27 lab-agent-1 agent_simulator[4242]: simulated event ${n}`;

async function withLogtest(fn: (ask: (event: string, token?: string, options?: object) => Promise<Reply>, home: string) => Promise<void>): Promise<void> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'clusterd-logtest-engine-'));
  await fs.mkdir(path.join(home, 'etc', 'rules'), { recursive: true });
  await fs.mkdir(path.join(home, 'queue', 'sockets'), { recursive: true });
  const lab = path.join(repoRoot(), 'rulesets', 'lab');
  await fs.writeFile(path.join(home, 'etc', 'ossec.conf'), `<ossec_config>
  <ruleset>
    <decoder_dir>${lab}/decoders</decoder_dir>
    <rule_dir>${lab}/rules</rule_dir>
    <rule_dir>etc/rules</rule_dir>
  </ruleset>
</ossec_config>
`);
  const socketPath = logtestSocketPath(home);
  const server = new LogtestServer({ socketPath, backend: new EngineLogtestBackend(new RulesetLoader(home), 'manager.example'), log: createLogger({ write: () => undefined }, 'test') });
  await server.start();
  const ask = async (event: string, token?: string, options?: object): Promise<Reply> => JSON.parse((await logtestRequest(socketPath, Buffer.from(JSON.stringify({
    version: 1, command: 'log_processing',
    parameters: { event, log_format: 'syslog', location: 'stdin', ...(token ? { token } : {}), ...(options ? { options } : {}) },
  })))).toString('utf8')) as Reply;
  try {
    await fn(ask, home);
  } finally {
    await server.close();
    await fs.rm(home, { recursive: true, force: true });
  }
}

test('a simulator event is decoded and matched by the lab ruleset, with the alert Wazuh would raise', async () => {
  await withLogtest(async (ask) => {
    const r = await ask(simulated(17));
    assert.equal(r.error, 0);
    assert.equal(r.data.codemsg, 0);
    assert.match(r.data.messages?.[0] ?? '', /^INFO: \(7202\): Session initialized with token '[0-9a-f]{8}'$/);
    assert.equal(r.data.output?.decoder.name, 'agent_simulator');
    assert.deepEqual(r.data.output?.data, { id: '17' });
    assert.equal(r.data.output?.rule?.id, '100101');
    assert.equal(r.data.output?.rule?.level, 3);
    assert.equal(r.data.alert, true);
    const tenth = await ask(simulated(20), r.data.token);
    assert.equal(tenth.data.token, r.data.token);
    assert.equal(tenth.data.output?.rule?.id, '100102');
  });
});

test('frequency rules count within a session and start afresh in a new one', async () => {
  await withLogtest(async (ask) => {
    const first = await ask(simulated(1));
    const token = first.data.token;
    let last = first;
    for (let n = 2; n <= 30; n++) last = await ask(simulated(n * 10 + 1), token);
    assert.equal(last.data.output?.rule?.id, '100103', 'the 30th event of the session fires the frequency rule');
    const fresh = await ask(simulated(31));
    assert.equal(fresh.data.output?.rule?.id, '100101', 'a new session has no memory of the other');
  });
});

test('rules_debug shows the walk', async () => {
  await withLogtest(async (ask) => {
    const r = await ask(simulated(3), undefined, { rules_debug: true });
    assert.ok(r.data.rules_debug?.includes('*Rule 100101 matched'), JSON.stringify(r.data.rules_debug));
    assert.ok(r.data.rules_debug?.some((l) => l.startsWith('Trying rule: 100100 - ')));
  });
});

test('a new session sees a rule file added on disk; a broken file fails new sessions only, naming file and line', async () => {
  await withLogtest(async (ask, home) => {
    const before = await ask(simulated(4));
    assert.equal(before.data.output?.rule?.id, '100101');
    const custom = path.join(home, 'etc', 'rules', 'local_rules.xml');
    await fs.writeFile(custom, `<group name="local,">
  <rule id="100200" level="9">
    <if_sid>100101</if_sid>
    <match>event 4$</match>
    <description>Custom: the fourth event.</description>
  </rule>
</group>
`);
    const after = await ask(simulated(4));
    assert.equal(after.data.output?.rule?.id, '100200');
    const old = await ask(simulated(4), before.data.token);
    assert.equal(old.data.output?.rule?.id, '100101', 'an open session keeps the ruleset it opened with');

    await fs.writeFile(custom, '<group name="local,">\n  <rule id="100200" level="9">\n    <if_sid>100101</if_sid>\n</group>\n');
    const broken = await ask(simulated(4));
    assert.equal(broken.data.codemsg, -1);
    const errors = (broken.data.messages ?? []).join('\n');
    assert.match(errors, /etc\/rules\/local_rules\.xml/);
    assert.match(errors, /\(7311\): Failure to initializing session/);
    const still = await ask(simulated(4), before.data.token);
    assert.equal(still.data.output?.rule?.id, '100101', 'sessions opened before the bad file still work');
  });
});
