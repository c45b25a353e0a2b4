/**
 * The logtest server on a real Unix socket, with a small in-test backend: framing and its
 * limits, tokens, eviction, the idle sweep (manual clock), the session lock, and the
 * replies byte for byte.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import test, { type TestContext } from 'node:test';
import { LogtestServer, logtestSocketPath, type LogtestServerOptions } from '../../../../runtime/logtest/logtest-server.js';
import { logtestRequest } from '../../../../runtime/logtest/logtest-client.js';
import { JsonObject, parseJson, printJsonText, type JsonValue } from '../../../../protocols/cjson.js';
import { LOGTEST_MAX_REQUEST, frameLogtest } from '../../../../protocols/logtest/framing.js';
import { createLogger, MemorySink } from '../../../../runtime/logger.js';
import { ManualClock } from '../../../harness/manual-clock.js';
import { tempDir } from '../../../harness/cluster.js';
import { sleep, until, within } from '../../../harness/wait.js';
import { FixtureBackend, type FixtureOptions } from './fixture-backend.js';

interface Harness {
  readonly server: LogtestServer;
  readonly backend: FixtureBackend;
  readonly socketPath: string;
  readonly sink: MemorySink;
  /** One request; the reply's payload as text (latin1, one char per byte). */
  ask(request: string | object): Promise<string>;
  /** Raw bytes in; every byte the server sent before it closed. */
  raw(bytes: Buffer, opts?: { end?: boolean }): Promise<Buffer>;
}

type ServeOptions = Partial<Omit<LogtestServerOptions, 'socketPath' | 'backend' | 'log'>> & { fixture?: FixtureOptions };

async function serve(t: TestContext, opts: ServeOptions = {}): Promise<Harness> {
  const home = await tempDir('logtest');
  const socketPath = logtestSocketPath(home);
  const sink = new MemorySink();
  const backend = new FixtureBackend(opts.fixture);
  const server = new LogtestServer({ socketPath, backend, log: createLogger(sink, 'Main'), ...opts });
  assert.equal(await server.start(), true);
  t.after(async () => {
    await within(server.close(), 'close');
    await fs.rm(home, { recursive: true, force: true });
  });
  return {
    server, backend, socketPath, sink,
    async ask(request) {
      const text = typeof request === 'string' ? request : JSON.stringify(request);
      return (await within(logtestRequest(socketPath, Buffer.from(text, 'latin1')), 'reply')).toString('latin1');
    },
    async raw(bytes, { end = false } = {}) {
      const s = net.connect(socketPath);
      s.on('error', () => undefined);
      await within(once(s, 'connect'), 'connect');
      const got: Buffer[] = [];
      s.on('data', (c: Buffer) => got.push(c));
      const closed = once(s, 'close');
      s.write(bytes);
      if (end) s.end();
      await within(closed, 'server closes');
      return Buffer.concat(got);
    },
  };
}

const processing = (parameters: Record<string, unknown>): object =>
  ({ version: 1, origin: { name: 'test', module: 'test' }, command: 'log_processing', parameters: { location: 'stdin', log_format: 'syslog', ...parameters } });
const removal = (token: unknown): object => ({ version: 1, origin: { name: 'test', module: 'test' }, command: 'remove_session', parameters: { token } });
const EVENT = 'Oct 15 21:07:56 linux-agent sshd[29205]: Invalid user blimey from 18.18.18.18 port 48928';

function parse(text: string): JsonObject {
  const r = parseJson(Buffer.from(text, 'latin1'));
  assert.ok(r.ok && r.value instanceof JsonObject, text);
  return r.value;
}
const dataOf = (reply: string): JsonObject => parse(reply).get('data') as JsonObject;
const keysOf = (o: JsonValue | undefined): string[] => (o instanceof JsonObject ? o.entries.map(([k]) => k) : []);
const tokenOf = (reply: string): string => dataOf(reply).get('token') as string;

function header(length: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(length);
  return h;
}

test('logtest server - a new session: messages, token, output, alert, codemsg in that order; socket mode 0660', async (t) => {
  const h = await serve(t);
  assert.equal((await fs.stat(h.socketPath)).mode & 0o777, 0o660);
  const reply = await h.ask(processing({ event: EVENT, location: 'master->/var/log/syslog' }));
  const token = tokenOf(reply);
  assert.match(token, /^[0-9a-f]{8}$/);
  const data = dataOf(reply);
  assert.deepEqual(keysOf(data), ['messages', 'token', 'output', 'alert', 'codemsg']);
  assert.ok(reply.startsWith(`{"error":0,"data":{"messages":["INFO: (7202): Session initialized with token '${token}'"],"token":"${token}","output":{"timestamp":`));
  assert.ok(reply.endsWith(',"location":"master->/var/log/syslog"},"alert":true,"codemsg":0}}'));
  assert.deepEqual(h.backend.inputs.map((i) => i.message), [`1:master->/var/log/syslog:${EVENT}`]);
  assert.ok(h.sink.lines.some((l) => l === 'INFO: [Logtest] [Main] (7200): Logtest started'));
});

test('logtest server - framing: the request may arrive a byte at a time; the reply is length-prefixed little-endian', async (t) => {
  const h = await serve(t);
  const body = Buffer.from(JSON.stringify(removal('12345678')));
  const frame = frameLogtest(body);
  const s = net.connect(h.socketPath);
  await within(once(s, 'connect'), 'connect');
  const got: Buffer[] = [];
  s.on('data', (c: Buffer) => got.push(c));
  const closed = once(s, 'close');
  for (const byte of frame) {
    s.write(Buffer.from([byte]));
    await sleep(1);
  }
  await within(closed, 'reply and close');
  const reply = Buffer.concat(got);
  const expected = '{"error":0,"data":{"messages":["ERROR: (7004): No session found for token \'12345678\'"],"codemsg":-1}}';
  assert.equal(reply.readUInt32LE(0), expected.length);
  assert.equal(reply.subarray(4).toString('latin1'), expected);
});

test('logtest server - oversize: error 5 (no data) as soon as the header announces more than 65,535 bytes; at 65,535 it is served', async (t) => {
  const h = await serve(t);
  const reply = await h.raw(header(LOGTEST_MAX_REQUEST + 1));
  assert.equal(reply.subarray(4).toString('latin1'), '{"message":"(7315): Failure to receive message: size is bigger than expected","error":5}');
  assert.equal(reply.readUInt32LE(0), reply.length - 4);
  const huge = await h.raw(header(0xffffffff));
  assert.match(huge.toString('latin1'), /"error":5}$/);
  const request = JSON.stringify(removal('12345678'));
  const padded = Buffer.from(request + ' '.repeat(LOGTEST_MAX_REQUEST - request.length));
  assert.equal(padded.length, LOGTEST_MAX_REQUEST);
  const served = await h.raw(frameLogtest(padded));
  assert.match(served.toString('latin1'), /\(7004\): No session found for token '12345678'/);
});

test('logtest server - a peer that closes early, or sends an empty frame, gets no reply', async (t) => {
  const h = await serve(t);
  assert.equal((await h.raw(Buffer.from([5, 0]), { end: true })).length, 0);
  assert.equal((await h.raw(Buffer.concat([header(100), Buffer.from('{"command":')]), { end: true })).length, 0);
  assert.equal((await h.raw(header(0))).length, 0);
  // A client that half-closes after a whole request still gets its reply.
  const whole = await h.raw(frameLogtest(Buffer.from(JSON.stringify(removal('abcdefgh')))), { end: true });
  assert.match(whole.toString('latin1'), /\(7004\)/);
  // Nothing was processed, and the server still serves.
  assert.equal(h.backend.opened, 0);
  assert.match(await h.ask(removal('12345678')), /"codemsg":-1/);
});

test('logtest server - a request that never completes is dropped after the request timeout', async (t) => {
  const h = await serve(t, { requestTimeoutMs: 100 });
  const started = Date.now();
  assert.equal((await h.raw(header(50))).length, 0);
  assert.ok(Date.now() - started >= 90);
});

test('logtest server - tokens: reused while alive, unknown ones get 7003 and a new session, collisions regenerate', async (t) => {
  const values = [0xdeadbeef, 0xdeadbeef, 0x0000002a];
  const h = await serve(t, { random32: () => values.shift() ?? 7 });
  const first = tokenOf(await h.ask(processing({ event: EVENT })));
  assert.equal(first, 'deadbeef');
  const again = await h.ask(processing({ event: EVENT, token: first }));
  assert.equal(tokenOf(again), first);
  assert.deepEqual(keysOf(dataOf(again)), ['token', 'output', 'alert', 'codemsg']);
  const stale = await h.ask(processing({ event: EVENT, token: 'ffffffff' }));
  assert.ok(stale.startsWith('{"error":0,"data":{"messages":["WARNING: (7003): \'ffffffff\' token expires","INFO: (7202): Session initialized with token \'0000002a\'"],"token":"0000002a",'));
  assert.ok(stale.endsWith('"alert":true,"codemsg":1}}'));
  const badToken = await h.ask(processing({ event: EVENT, token: 42 }));
  assert.ok(badToken.startsWith('{"error":0,"data":{"messages":["WARNING: (7309): \'42\' is not a valid token","INFO: (7202): Session initialized with token \'00000007\'"]'));
  assert.deepEqual(h.server.sessions.tokens(), ['deadbeef', '0000002a', '00000007']);
});

test('logtest server - sessions keep their state; a new session starts afresh', async (t) => {
  const h = await serve(t);
  const firedtimes = (reply: string): JsonValue | undefined => ((dataOf(reply).get('output') as JsonObject).get('rule') as JsonObject).get('firedtimes');
  const r1 = await h.ask(processing({ event: EVENT }));
  const token = tokenOf(r1);
  const r2 = await h.ask(processing({ event: EVENT, token }));
  const r3 = await h.ask(processing({ event: EVENT, token }));
  assert.deepEqual([firedtimes(r1), firedtimes(r2), firedtimes(r3)], [1, 2, 3]);
  assert.equal(firedtimes(await h.ask(processing({ event: EVENT }))), 1);
});

test('logtest server - LRU eviction past max_sessions: the least recently used session goes', async (t) => {
  const h = await serve(t, { config: { maxSessions: 2 } });
  const a = tokenOf(await h.ask(processing({ event: EVENT })));
  const b = tokenOf(await h.ask(processing({ event: EVENT })));
  await h.ask(processing({ event: EVENT, token: a })); // a is now the most recent
  const c = tokenOf(await h.ask(processing({ event: EVENT })));
  assert.deepEqual(h.server.sessions.tokens(), [a, c]);
  assert.equal(h.backend.closed, 1);
  const gone = await h.ask(processing({ event: EVENT, token: b }));
  assert.match(gone, new RegExp(`"WARNING: \\(7003\\): '${b}' token expires"`));
  assert.equal(h.server.sessions.size, 2);
});

test('logtest server - the idle sweep runs every session_timeout and removes sessions idle that long (1x to 2x)', async (t) => {
  const clock = new ManualClock({ start: Date.UTC(2024, 0, 1) });
  const h = await serve(t, { clock, config: { sessionTimeout: 10 } });
  const idle = tokenOf(await h.ask(processing({ event: EVENT })));
  await clock.advance(5_000);
  const busy = tokenOf(await h.ask(processing({ event: EVENT })));
  await clock.advance(5_000); // sweep at 10 s: idle is 10 s old, busy 5 s
  assert.deepEqual(h.server.sessions.tokens(), [busy]);
  await clock.advance(9_000);
  assert.deepEqual(h.server.sessions.tokens(), [busy], 'not yet swept again');
  await clock.advance(1_000); // sweep at 20 s: 15 s idle
  assert.equal(h.server.sessions.size, 0);
  assert.equal(h.backend.closed, 2);
  assert.match(await h.ask(processing({ event: EVENT, token: idle })), /token expires/);
});

test('logtest server - remove_session: byte-exact replies for removed, unknown and busy sessions', async (t) => {
  const h = await serve(t, { config: { threads: 2 } });
  const token = tokenOf(await h.ask(processing({ event: EVENT })));
  const pending = h.ask(processing({ event: 'wait for it', token }));
  await until(() => h.backend.inputs.length === 2, 'the event is being processed');
  assert.equal(await h.ask(removal(token)), `{"error":0,"data":{"messages":["ERROR: (7318): Failure to remove session '${token}'"],"codemsg":-1}}`);
  h.backend.release();
  assert.match(await within(pending, 'processing ends'), /"codemsg":0}}$/);
  assert.equal(await h.ask(removal(token)), `{"error":0,"data":{"messages":["INFO: (7206): The session '${token}' was closed successfully"],"codemsg":0}}`);
  assert.equal(await h.ask(removal(token)), `{"error":0,"data":{"messages":["ERROR: (7004): No session found for token '${token}'"],"codemsg":-1}}`);
  assert.equal(h.backend.closed, 1);
  // The CLI sends its whole parameter set; only the token counts.
  assert.match(await h.ask({ command: 'remove_session', parameters: { location: 'stdin', log_format: 'syslog', event: 'x', token: 'zzzzzzzz' } }), /\(7004\)/);
});

test('logtest server - two requests on one session take turns; with threads=1 requests are served one at a time', async (t) => {
  const two = await serve(t, { config: { threads: 2 } });
  const token = tokenOf(await two.ask(processing({ event: EVENT })));
  const first = two.ask(processing({ event: 'wait 1', token }));
  await until(() => two.backend.inputs.length === 2, 'first is processing');
  const second = two.ask(processing({ event: 'second', token }));
  await sleep(50);
  assert.equal(two.backend.inputs.length, 2, 'the second waits for the session');
  two.backend.release();
  await within(Promise.all([first, second]), 'both served');
  assert.deepEqual(two.backend.inputs.map((i) => i.event), [EVENT, 'wait 1', 'second']);

  const one = await serve(t, { config: { threads: 1 } });
  const slow = one.ask(processing({ event: 'wait' }));
  await until(() => one.backend.inputs.length === 1, 'processing');
  let answered = false;
  const removal12 = one.ask(removal('12345678')).then((r) => { answered = true; return r; });
  await sleep(50);
  assert.equal(answered, false, 'no free thread');
  one.backend.release();
  await within(Promise.all([slow, removal12]), 'both served');
});

test('logtest server - alert: level > 0, not suppressed, at or above log_alert_level; rule.level 0 appended', async (t) => {
  const h = await serve(t, { fixture: { logAlertLevel: 10 } });
  const alertOf = async (event: string): Promise<JsonValue | undefined> => dataOf(await h.ask(processing({ event }))).get('alert');
  assert.equal(await alertOf(EVENT), false, 'level 5 is below 10');
  assert.equal(await alertOf('high'), true);
  assert.equal(await alertOf('ignored'), false);
  assert.equal(await alertOf('nodecoder'), false);
  const zero = await h.ask(processing({ event: 'level0' }));
  assert.match(zero, /"rule":\{"description":"Generic template","id":"1","firedtimes":1,"mail":false,"groups":\["syslog","sshd"\],"level":0\}/);
  assert.match(zero, /"alert":false,"codemsg":0\}\}$/);
  const none = dataOf(await h.ask(processing({ event: 'nodecoder' }))).get('output') as JsonObject;
  assert.equal(none.has('rule'), false);
  assert.deepEqual(keysOf(none.get('decoder')), []);
});

test('logtest server - rules_debug: the list after output; a non-boolean is warning 7006, whose array comes after output', async (t) => {
  const h = await serve(t);
  const token = tokenOf(await h.ask(processing({ event: EVENT })));
  const on = await h.ask(processing({ event: EVENT, token, options: { rules_debug: true } }));
  assert.deepEqual(keysOf(dataOf(on)), ['token', 'output', 'rules_debug', 'alert', 'codemsg']);
  assert.match(on, /"rules_debug":\["Trying rule: 1 - Generic template for all syslog rules\.","\*Rule 1 matched","\*Trying child rules"\],"alert":true,"codemsg":0\}\}$/);
  assert.equal(h.backend.inputs.at(-1)?.rulesDebug, true);
  const bad = await h.ask(processing({ event: EVENT, token, options: { rules_debug: 'yes' } }));
  assert.deepEqual(keysOf(dataOf(bad)), ['token', 'output', 'messages', 'alert', 'codemsg']);
  assert.match(bad, /"messages":\["WARNING: \(7006\): 'rules_debug' field must be a boolean\. The parameter will be ignored"\],"alert":true,"codemsg":1\}\}$/);
  assert.equal(h.backend.inputs.at(-1)?.rulesDebug, false);
  // A new session's messages come first, and later ones join that array.
  const fresh = await h.ask(processing({ event: EVENT, options: { rules_debug: 1 } }));
  assert.deepEqual(keysOf(dataOf(fresh)), ['messages', 'token', 'output', 'alert', 'codemsg']);
  assert.deepEqual((dataOf(fresh).get('messages') as string[]).map((m) => m.slice(0, 16)), ['INFO: (7202): Se', 'WARNING: (7006):']);
  const notObject = await h.ask(processing({ event: EVENT, token, options: 'x' }));
  assert.match(notObject, /^\{"error":0,"data":\{"messages":\["WARNING: \(7005\): 'options' field must be a JSON object\. The parameter will be ignored"\],"token"/);
});

test('logtest server - failures: a ruleset that does not load, an event the pre-decoder refuses, a backend that throws', async (t) => {
  const h = await serve(t);
  h.backend.failNextOpen = [{ level: 'error', text: "(1226): Error reading XML file 'etc/rules/local_rules.xml': XMLERR: Element 'group' not closed. (line 51)." }];
  assert.equal(await h.ask(processing({ event: EVENT })),
    '{"error":0,"data":{"messages":["ERROR: (1226): Error reading XML file \'etc/rules/local_rules.xml\': XMLERR: Element \'group\' not closed. (line 51).",'
    + '"ERROR: (7311): Failure to initializing session"],"codemsg":-1}}');
  assert.equal(h.server.sessions.size, 0);
  const token = tokenOf(await h.ask(processing({ event: EVENT })));
  assert.equal(await h.ask(processing({ event: 'fail', token })),
    `{"error":0,"data":{"token":"${token}","messages":["ERROR: (1106): String not correctly formatted.","ERROR: (7312): Failed to process the event"],"codemsg":-1}}`);
  assert.equal(await h.ask(processing({ event: 'throw', token, options: { rules_debug: true } })),
    `{"error":0,"data":{"token":"${token}","rules_debug":[],"messages":["ERROR: (7312): Failed to process the event"],"codemsg":-1}}`);
  assert.ok(h.sink.lines.some((l) => l.includes('fixture failure')));
  // The session survives a failed event.
  assert.match(await h.ask(processing({ event: EVENT, token })), /"codemsg":0\}\}$/);
});

test('logtest server - loader warnings precede 7202 and make codemsg 1', async (t) => {
  const h = await serve(t);
  h.backend.loaderWarnings = [{ level: 'warning', text: "(7617): Signature ID '1' was not found and will be ignored in the 'if_sid' option of rule '2'." }];
  const reply = await h.ask(processing({ event: EVENT }));
  const token = tokenOf(reply);
  assert.ok(reply.startsWith(`{"error":0,"data":{"messages":["WARNING: (7617): Signature ID '1' was not found and will be ignored in the 'if_sid' option of rule '2'.","INFO: (7202): Session initialized with token '${token}'"]`));
  assert.ok(reply.endsWith('"alert":true,"codemsg":1}}'));
});

test('logtest server - an object event is processed as its cJSON text; protocol errors are byte-exact', async (t) => {
  const h = await serve(t);
  await h.ask('{"command":"log_processing","parameters":{"location":"stdin","log_format":"json","event":{"a": 1.0, "b": "x\\/y"}}}');
  assert.equal(h.backend.inputs.at(-1)?.event, '{"a":1,"b":"x/y"}');
  assert.equal(await h.ask('{"command":"nope","parameters":{}}'), '{"message":"(7306): Unable to process command","error":3,"data":{}}');
  assert.equal(await h.ask('{"command":"log_processing","parameters":{"location":"stdin","log_format":"syslog"}}'),
    '{"message":"(7313): \'event\' JSON field not found","error":2,"data":{}}');
});

test('logtest server - disabled: says 7201 and does not listen; close removes the socket file', async (t) => {
  const home = await tempDir('logtest');
  t.after(() => fs.rm(home, { recursive: true, force: true }));
  const sink = new MemorySink();
  const socketPath = logtestSocketPath(home);
  const off = new LogtestServer({ socketPath, backend: new FixtureBackend(), log: createLogger(sink, 'Main'), config: { enabled: false } });
  assert.equal(await off.start(), false);
  assert.deepEqual(sink.lines, ['INFO: [Logtest] [Main] (7201): Logtest disabled']);
  await assert.rejects(fs.stat(socketPath));
  const on = new LogtestServer({ socketPath, backend: new FixtureBackend(), log: createLogger(sink, 'Main') });
  await on.start();
  await assert.rejects(new LogtestServer({ socketPath, backend: new FixtureBackend(), log: createLogger(sink, 'Main') }).start(), /answers/);
  await on.close();
  await assert.rejects(fs.stat(socketPath));
  assert.equal(path.basename(socketPath), 'logtest');
});

test('logtest server - throughput of one sequential client (figure, not a bound)', async (t) => {
  const h = await serve(t);
  const token = tokenOf(await h.ask(processing({ event: EVENT })));
  const request = Buffer.from(JSON.stringify(processing({ event: EVENT, token })));
  const n = 2000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await logtestRequest(h.socketPath, request);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  t.diagnostic(`${Math.round(n / seconds)} requests/s, ${(seconds / n * 1e6).toFixed(0)} us per request (connect, request, reply, close)`);
  assert.ok(n / seconds > 100);
});

test('logtest server - a request still in flight when the server closes is answered, and its new session closed', async (t) => {
  const h = await serve(t);
  await h.server.close();
  const reply = printJsonText(await h.server.handle(Buffer.from(JSON.stringify(processing({ event: EVENT })))));
  assert.match(reply, /"codemsg":0\}\}$/);
  assert.equal(h.server.sessions.size, 0);
  assert.deepEqual([h.backend.opened, h.backend.closed], [1, 1]);
});
