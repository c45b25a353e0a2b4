#!/usr/bin/env node
/**
 * wazuh-logtest: Wazuh's rule-testing tool over the node's logtest socket. One request per
 * non-empty stdin line (location `stdin` or -l, log_format syslog), the session token kept
 * across lines, the three phases printed as Wazuh prints them, remove_session at exit.
 *
 * As Wazuh's: -U rule:alert:decoder (exit code: the number of empty parts when the last
 * event matched them, else 1), -v rule debugging, -q only errors, -d debug output with the
 * requests and replies, -V version. Ours: --socket (default <home>/queue/sockets/logtest),
 * --json (each reply as one line on stdout, nothing else there).
 * Information goes to stdout, warnings and errors to stderr (Wazuh writes all to stderr).
 */
import { operatorCli } from './lib/cli.js';
import { MANAGER_VERSION } from '../protocols/enrolment.js';
import { logtestRequest } from '../runtime/logtest/logtest-client.js';
import { logtestSocketPath } from '../runtime/logtest/logtest-server.js';
import type { ByteString } from '../protocols/cjson.js';
import {
  EMPTY_TRIPLE, LogtestCliRequests, parseUnitTriple, readCliReply, sameTriple, unitExitCode, unitTripleOf, type UnitTriple,
} from '../protocols/logtest/client.js';
import { phaseLines, pyJsonDumps, pyRepr, pyStr, type PyValue } from '../protocols/logtest/python-view.js';

const argv = await operatorCli('wazuh-logtest', '$0 [--home DIR | --socket PATH] [-l LOCATION] [-U rule:alert:decoder] [-v] [-q] [-d] [-V] [--json] < events')
  .version(false)
  .option('V', { type: 'boolean', default: false, describe: 'Version and license message' })
  .option('d', { type: 'boolean', default: false, describe: 'Execute in debug mode' })
  .option('U', { type: 'string', nargs: 1, describe: 'Unit test: expected rule:alert:decoder of the last event (exit code)' })
  .option('l', { type: 'string', nargs: 1, default: 'stdin', describe: 'Use custom location' })
  .option('q', { type: 'boolean', default: false, describe: 'Quiet execution (errors only)' })
  .option('v', { type: 'boolean', default: false, describe: 'Verbose (full) output/rule debugging' })
  .option('socket', { type: 'string', nargs: 1, describe: 'The logtest socket (default <home>/queue/sockets/logtest)' })
  .parseAsync();

type Level = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
const RANK: Readonly<Record<Level, number>> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 };
const threshold: Level = argv.q ? 'ERROR' : argv.d ? 'DEBUG' : 'INFO';

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
function asctime(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${pad(d.getMilliseconds(), 3)}`;
}

/** Python's logging as wazuh_logtest.py configures it. */
function log(level: Level, message: string): void {
  if (RANK[level] < RANK[threshold] || (argv.json && RANK[level] < RANK.WARNING)) return;
  const line = argv.d && !argv.q ? `${asctime(new Date())} wazuh_logtest[${level}] ${message}` : message;
  (RANK[level] >= RANK.WARNING ? process.stderr : process.stdout).write(`${line}\n`);
}

const socketPath = argv.socket ?? logtestSocketPath(argv.home);
const toBytes = (text: string): ByteString => Buffer.from(text, 'utf8').toString('latin1');

if (argv.V) {
  log('INFO', `Wazuh ${MANAGER_VERSION} - Wazuh Inc.`);
  log('INFO', '\nThis program is free software; you can redistribute it and/or modify\nit under the terms of the GNU General Public License (version 2) as\n'
    + 'published by the Free Software Foundation. For more details, go to\nhttps://www.gnu.org/licenses/gpl.html\n');
  process.exit(0);
}

let expected: UnitTriple | null = null;
if (argv.U !== undefined) {
  expected = parseUnitTriple(argv.U);
  if (!expected) {
    log('ERROR', `Unit test configuration wrong syntax: ${argv.U} (-U takes rule:alert:decoder)`);
    process.exit(1);
  }
}

const requests = new LogtestCliRequests(toBytes(argv.l));
let lastToken = '';
let lastTriple: UnitTriple = EMPTY_TRIPLE;

/** Lines of stdin as Python's text mode reads them (\n, \r\n and \r all end a line), as bytes. */
async function* stdinLines(): AsyncGenerator<ByteString> {
  let pending = '';
  let sawCr = false;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    let text = chunk.toString('latin1');
    if (sawCr && text.startsWith('\n')) text = text.slice(1);
    sawCr = false;
    pending += text;
    const parts = pending.split(/\r\n|\r|\n/);
    pending = parts.pop() ?? '';
    if (pending === '' && text.endsWith('\r')) sawCr = true;
    yield* parts;
  }
  if (pending !== '') yield pending;
}

/** input('\n'): the prompt goes to stdout before each read. */
function prompt(): void {
  if (!argv.json) process.stdout.write('\n');
}

async function processLine(event: ByteString, token: string): Promise<string> {
  const request = requests.logProcessing(event, token, argv.v);
  log('DEBUG', `Request: ${Buffer.from(request, 'latin1').toString('utf8')}\n`);
  let payload: Buffer;
  try {
    payload = await logtestRequest(socketPath, Buffer.from(request, 'latin1'));
  } catch {
    log('ERROR', '** Wazuh-logtest error when connecting with wazuh-analysisd');
    return token;
  }
  log('DEBUG', `Reply: ${payload.toString('utf8')}\n`);
  if (argv.json) process.stdout.write(Buffer.concat([payload, Buffer.from('\n')]));
  const reply = readCliReply(payload);
  if (reply.kind === 'error') {
    log('ERROR', `** Wazuh-logtest error ${reply.text}`);
    return token;
  }
  lastToken = reply.token;
  lastTriple = unitTripleOf(reply.data);
  if (token !== '' && token !== reply.token) log('WARNING', `New session was created with token "${reply.token}"`);
  const messages = reply.data.get('messages');
  const warnings = (Array.isArray(messages) ? messages : []).map((m: PyValue) => pyStr(m)).filter((m) => m.startsWith('WARNING'));
  for (const w of warnings) log('WARNING', `** Wazuh-Logtest: ${w}`);
  if (warnings.length > 0) log('WARNING', '');
  log('DEBUG', pyJsonDumps(reply.data));
  for (const line of phaseLines(reply.data)) log('INFO', line);
  if (expected) {
    log('INFO', '');
    log('INFO', sameTriple(expected, lastTriple) ? 'Unit test OK' : `Unit test FAIL. Expected ${pyRepr([...expected])} , Result ${pyRepr([...lastTriple])}`);
  }
  return reply.token;
}

async function removeLastSession(): Promise<void> {
  if (lastToken === '') return;
  log('DEBUG', `Removing session with token ${lastToken}.`);
  await logtestRequest(socketPath, Buffer.from(requests.removeSession(lastToken), 'latin1')).catch(() => undefined);
}

async function main(): Promise<number> {
  log('INFO', `Starting wazuh-logtest ${MANAGER_VERSION}`);
  log('INFO', 'Type one log per line');
  let token = '';
  prompt();
  for await (const event of stdinLines()) {
    if (event !== '') {
      log('INFO', '');
      token = await processLine(event, token);
    }
    prompt();
  }
  return expected ? unitExitCode(expected, lastTriple) : 0;
}

let finishing = false;
async function finish(code: number): Promise<never> {
  finishing = true;
  await removeLastSession();
  process.exit(code);
}

// Ctrl-C ends the input, as EOF does.
process.on('SIGINT', () => {
  if (!finishing) void finish(expected ? unitExitCode(expected, lastTriple) : 0);
});

try {
  await finish(await main());
} catch (err) {
  log('ERROR', `** Wazuh-logtest error ${err instanceof Error ? err.message : String(err)}`);
  await finish(1);
}
