/**
 * wazuh-logtest end to end: the CLI as a process, talking through the socket to a real
 * logtest server with the in-test backend. Phase printing, -U exit codes, error lines,
 * session reuse and removal at exit, and argument errors.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import test, { type TestContext } from 'node:test';
import { LogtestServer, logtestSocketPath } from '../../../runtime/logtest/logtest-server.js';
import { createLogger, MemorySink } from '../../../runtime/logger.js';
import { scriptPath, tempDir } from '../../harness/cluster.js';
import { within } from '../../harness/wait.js';
import { FixtureBackend } from '../runtime/logtest/fixture-backend.js';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function wazuhLogtest(args: readonly string[], input: string): Promise<Run> {
  return within(new Promise((resolve) => {
    const child = spawn(process.execPath, [scriptPath('wazuh-logtest'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  }), 'wazuh-logtest exits');
}

async function serve(t: TestContext): Promise<{ home: string; backend: FixtureBackend; server: LogtestServer }> {
  const home = await tempDir('logtest-cli');
  const backend = new FixtureBackend();
  const server = new LogtestServer({ socketPath: logtestSocketPath(home), backend, log: createLogger(new MemorySink(), 'Main') });
  await server.start();
  t.after(async () => {
    await server.close();
    await fs.rm(home, { recursive: true, force: true });
  });
  return { home, backend, server };
}

const EVENT = 'Oct 15 21:07:56 linux-agent sshd[29205]: Invalid user blimey from 18.18.18.18 port 48928';

const PHASES = [
  '**Phase 1: Completed pre-decoding.',
  `\tfull event: '${EVENT}'`,
  "\ttimestamp: 'Oct 15 21:07:56'",
  "\thostname: 'linux-agent'",
  "\tprogram_name: 'sshd'",
  '',
  '**Phase 2: Completed decoding.',
  "\tname: 'sshd'",
  "\tparent: 'sshd'",
  "\tsrcip: '18.18.18.18'",
  "\tsrcport: '48928'",
  "\tsrcuser: 'blimey'",
  '',
  '**Phase 3: Completed filtering (rules).',
  "\tid: '5710'",
  "\tlevel: '5'",
  "\tdescription: 'sshd: Attempt to login using a non-existent user'",
  "\tgroups: '['syslog', 'sshd']'",
  "\tfiredtimes: '1'",
  "\tmail: 'False'",
  '**Alert to be generated.',
];

test('wazuh-logtest - prints the three phases as Wazuh does, reuses its session and removes it at exit', async (t) => {
  const { home, backend, server } = await serve(t);
  const r = await wazuhLogtest(['--home', home], `${EVENT}\n\n${EVENT}\n`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const second = PHASES.map((l) => l.replace("firedtimes: '1'", "firedtimes: '2'"));
  // Banners, then Python's input('\n') prompt before every read (four reads: three lines and EOF).
  assert.equal(r.stdout, ['Starting wazuh-logtest v4.14.5', 'Type one log per line', '', '', ...PHASES, '', '', '', ...second, '', ''].join('\n'));
  assert.equal(backend.opened, 1, 'one session for the whole run');
  assert.equal(server.sessions.size, 0, 'removed at exit');
  assert.equal(backend.closed, 1);
  assert.deepEqual(backend.inputs.map((i) => i.location), ['stdin', 'stdin']);
});

test('wazuh-logtest - -U rule:alert:decoder: 0 on a match, the count of empty parts on a match, 1 otherwise', async (t) => {
  const { home } = await serve(t);
  const exit = async (ut: string, input: string): Promise<number | null> => (await wazuhLogtest(['--home', home, '-q', '-U', ut], input)).code;
  assert.equal(await exit('5710:5:sshd', `${EVENT}\n`), 0);
  assert.equal(await exit('5710:5:sshd', `level0\n${EVENT}\n`), 0, 'only the last event counts');
  assert.equal(await exit('5710:5:sshd', `${EVENT}\nlevel0\n`), 1);
  assert.equal(await exit('1:0:sshd', 'level0\n'), 0);
  assert.equal(await exit('::', 'nodecoder\n'), 3);
  assert.equal(await exit('::', ''), 3, 'no event: the last result is empty');
  assert.equal(await exit('5710:5:', `${EVENT}\n`), 1);
  const verbose = await wazuhLogtest(['--home', home, '-U', '5710:4:sshd'], `${EVENT}\n`);
  assert.equal(verbose.code, 1);
  assert.match(verbose.stdout, /\nUnit test FAIL\. Expected \['5710', '4', 'sshd'\] , Result \['5710', '5', 'sshd'\]\n/);
  assert.match((await wazuhLogtest(['--home', home, '-U', '5710:5:sshd'], `${EVENT}\n`)).stdout, /\nUnit test OK\n/);
  const bad = await wazuhLogtest(['--home', home, '-U', '5710:5'], `${EVENT}\n`);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Unit test configuration wrong syntax: 5710:5 \(-U takes rule:alert:decoder\)/);
});

test('wazuh-logtest - -q prints no banner and no phase; -v adds rule debugging; -l sets the location', async (t) => {
  const { home, backend } = await serve(t);
  const quiet = await wazuhLogtest(['--home', home, '-q'], `${EVENT}\n`);
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stdout, '\n\n');
  assert.equal(quiet.stderr, '');
  const verbose = await wazuhLogtest(['--home', home, '-v', '-l', 'master->/var/log/syslog'], `${EVENT}\n`);
  assert.match(verbose.stdout, /\n\*\*Rule debugging:\n\tTrying rule: 1 - Generic template for all syslog rules\.\n\t\t\*Rule 1 matched\n\t\t\*Trying child rules\n\n\*\*Phase 3/);
  assert.equal(backend.inputs.at(-1)?.location, 'master->/var/log/syslog');
  assert.equal(backend.inputs.at(-1)?.rulesDebug, true);
});

test('wazuh-logtest - a negative codemsg or a refused request is an error line; no server is one error per line', async (t) => {
  const { home, backend } = await serve(t);
  const r = await wazuhLogtest(['--home', home], `fail\n${EVENT}\n`);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /^\*\* Wazuh-logtest error -1: \n\tINFO: \(7202\): Session initialized with token '[0-9a-f]{8}'\n\tERROR: \(1106\): String not correctly formatted\.\n\tERROR: \(7312\): Failed to process the event\n$/);
  // The failed reply's token was not kept: the next line opened a second session.
  assert.equal(backend.opened, 2);
  assert.match(r.stdout, /\*\*Alert to be generated\./);
  const refused = await wazuhLogtest(['--home', home, '-l', ''], `${EVENT}\n`);
  assert.equal(refused.stderr, "** Wazuh-logtest error 2: (7308): 'location' JSON field is required and must be a string\n");
  const nowhere = await wazuhLogtest(['--socket', path.join(home, 'nothing-here')], 'a\nb\n');
  assert.equal(nowhere.code, 0);
  assert.equal(nowhere.stderr, '** Wazuh-logtest error when connecting with wazuh-analysisd\n'.repeat(2));
});

test('wazuh-logtest - a new session mid-run is warned about; WARNING messages are shown before the phases', async (t) => {
  const { home, server } = await serve(t);
  const input = `${EVENT}\n${EVENT}\n`;
  // Drop the session between the two lines by evicting it: max one session, and another client opens one.
  const child = spawn(process.execPath, [scriptPath('wazuh-logtest'), '--home', home], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stdin.write(`${EVENT}\n`);
  await within((async () => { while (server.sessions.size === 0) await new Promise((r) => setTimeout(r, 10)); })(), 'first line served');
  const [first] = server.sessions.tokens();
  assert.equal(server.sessions.remove(first as string), 'removed');
  child.stdin.end(input.slice(EVENT.length + 1));
  await within(new Promise((r) => child.on('exit', r)), 'exit');
  assert.match(stderr, new RegExp(`^New session was created with token "[0-9a-f]{8}"\\n\\*\\* Wazuh-Logtest: WARNING: \\(7003\\): '${first}' token expires\\n\\n$`));
  assert.match(stdout, /firedtimes: '1'[\s\S]*firedtimes: '1'/);
});

test('wazuh-logtest - --json prints each reply as one line; -V the version; bad arguments are named', async (t) => {
  const { home } = await serve(t);
  const json = await wazuhLogtest(['--home', home, '--json'], `${EVENT}\nnodecoder\n`);
  const lines = json.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0] as string, /^\{"error":0,"data":\{"messages":\["INFO: \(7202\)/);
  assert.match(lines[1] as string, /"decoder":\{\},"location":"stdin"\},"alert":false,"codemsg":0\}\}$/);
  const version = await wazuhLogtest(['-V'], '');
  assert.equal(version.code, 0);
  assert.ok(version.stdout.startsWith('Wazuh v4.14.5 - Wazuh Inc.\n\nThis program is free software;'));
  const unknown = await wazuhLogtest(['--home', home, '--bogus'], '');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^ERROR: Unknown argument: bogus/);
  const missing = await wazuhLogtest(['--home', home, '-U'], '');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^ERROR: Not enough arguments following: U/);
});
