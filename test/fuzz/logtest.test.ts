/**
 * Fuzzing the logtest socket: the cJSON-compatible parser and the request checks on
 * mutated requests, the whole request handling in process, and the live server over its
 * Unix socket (malformed JSON, lying and oversize headers, truncated frames, bad tokens).
 * Zero exceptions, zero broken invariants, and a proper client is served after.
 *
 * Kept beside the decoder targets of targets.ts rather than in them: the server side is
 * asynchronous (sessions, a backend), which the worker-thread runner does not drive.
 * FUZZ_SEED picks another seed, as for fuzz.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import test from 'node:test';
import { Rng, INTERESTING_U32, hostileString, mutateBytes, mutateValue, randomBytes, type ByteContext, type ValueContext } from './generators.js';
import { CJSON_NESTING_LIMIT, JsonObject, parseJson, printJsonText } from '../../protocols/cjson.js';
import { checkRequest } from '../../protocols/logtest/request.js';
import { LOGTEST_MAX_REQUEST, frameLogtest } from '../../protocols/logtest/framing.js';
import { LogtestServer, logtestSocketPath } from '../../runtime/logtest/logtest-server.js';
import { logtestRequest } from '../../runtime/logtest/logtest-client.js';
import { createLogger, MemorySink } from '../../runtime/logger.js';
import { tempDir } from '../harness/cluster.js';
import { HANG_MS, within } from '../harness/wait.js';
import { FixtureBackend } from '../integration/runtime/logtest/fixture-backend.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 0x5eed_f022) >>> 0;
const HUGE = 10_000;
const EVENTS = ['Oct 15 21:07:56 linux-agent sshd[29205]: Invalid user blimey from 18.18.18.18 port 48928', 'level0', 'nodecoder', 'fail', 'ignored', 'high'];
const KEYS = ['version', 'origin', 'command', 'parameters', 'location', 'log_format', 'event', 'token', 'options', 'rules_debug', 'name', 'module'];

function sampleRequest(rng: Rng, tokens: readonly string[]): Record<string, unknown> {
  const token = tokens.length > 0 && rng.chance(0.6) ? rng.pick(tokens) : rng.pick(['abcd1234', '12345678', 'deadbeef']);
  const envelope = { version: 1, origin: { name: 'fuzz', module: 'fuzz' } };
  if (rng.chance(0.2)) return { ...envelope, command: 'remove_session', parameters: { token } };
  const parameters: Record<string, unknown> = {
    location: rng.pick(['stdin', 'master->/var/log/syslog', '[001] (web) any->/var/log/secure', 'a|b:c']),
    log_format: rng.pick(['syslog', 'json']),
    event: rng.chance(0.8) ? rng.pick(EVENTS) : { win: { system: { eventID: 4625 } }, a: [1, 2.5, 'x'] },
  };
  if (rng.chance(0.7)) parameters['token'] = token;
  if (rng.chance(0.3)) parameters['options'] = { rules_debug: rng.chance(0.5) };
  return { ...envelope, command: 'log_processing', parameters };
}

/** JSON.stringify that takes whatever a value mutation made (byte arrays, maps, bigints). */
function looseJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return Number(v);
    if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
    if (v instanceof Map) return Object.fromEntries(v);
    return v;
  }) ?? 'null';
}

/** Hand-made JSON corners: deep nesting at the limit, long numbers, escape edge cases, NULs, BOMs. */
function corner(rng: Rng): Buffer {
  const depth = rng.pick([CJSON_NESTING_LIMIT - 1, CJSON_NESTING_LIMIT, CJSON_NESTING_LIMIT + 1, rng.int(3000)]);
  const open = rng.chance(0.5) ? '[' : '{"a":';
  const pieces = [
    () => `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`,
    () => `{"parameters":{"event":${'9'.repeat(rng.int(200))}.${'1'.repeat(rng.int(80))}e${rng.pick(['', '+', '-'])}${rng.int(400)}},"command":"log_processing"}`,
    () => `{"command":"log_processing","parameters":{"location":"x","log_format":"y","event":"${rng.pick(['\\u', '\\ud800', '\\ud800\\u', '\\udc00', '\\u00', '\\uZZZZ', '\\', '\\\\', '\\x', '\\u0000'])}${rng.pick(['', 'abc', '"'])}"}}`,
    () => `\ufeff{"command":"remove_session","parameters":{"token":"${'\\u0041'.repeat(rng.int(12))}"}}`,
    () => `{"command":"log_processing","parameters":{"location":"stdin","log_format":"s","event":"${'x'.repeat(rng.size(HUGE))}","token":${rng.pick(['1', '[]', '{}', 'null', 'true', '"1234567"', '"123456789"'])}}}`,
  ];
  const text = rng.pick(pieces)();
  const bytes = Buffer.from(text, 'latin1');
  if (rng.chance(0.2)) bytes[rng.int(bytes.length)] = 0;
  return bytes;
}

function generate(rng: Rng, tokens: readonly string[]): Buffer {
  const sample = (): Buffer => Buffer.from(JSON.stringify(sampleRequest(rng, tokens)));
  const byteCtx: ByteContext = { other: sample, dict: ['{', '}', '[', ']', '"', ':', ',', '\\u', '\\', 'null', 'true', '\0', '"token":', '"event":{}'].map((s) => Buffer.from(s)), hugeMax: HUGE };
  const valueCtx: ValueContext = { hugeMax: HUGE, keys: KEYS };
  switch (rng.int(10)) {
    case 0: case 1: case 2: case 3: return mutateBytes(rng, sample(), byteCtx);
    case 4: case 5: return Buffer.from(looseJson(mutateValue(rng, sampleRequest(rng, tokens), valueCtx)), rng.chance(0.7) ? 'utf8' : 'latin1');
    case 6: return randomBytes(rng, 512);
    case 7: case 8: return corner(rng);
    default: {
      const s = sample();
      return s.subarray(0, rng.int(s.length + 1));
    }
  }
}

/** What must hold for any input: no exception, a well-formed verdict, a print that parses back to itself. */
function checkInvariants(input: Buffer): void {
  const nul = input.indexOf(0);
  const textLength = nul < 0 ? input.length : nul;
  const parsed = parseJson(input);
  if (!parsed.ok) {
    assert.ok(parsed.position >= 0 && parsed.position <= textLength, `position ${parsed.position} outside 0..${textLength}`);
  } else {
    const reprint = (text: string): string => {
      const again = parseJson(Buffer.from(text, 'latin1'));
      assert.ok(again.ok, 'a printed value parses');
      return printJsonText(again.value);
    };
    const first = printJsonText(parsed.value);
    const second = reprint(first);
    // cJSON prints numbers near DBL_MAX with 15 digits that read back as infinity, then as null: stable after that.
    if (!/e\+308/.test(first)) assert.equal(second, first, 'printing is stable');
    assert.equal(reprint(second), second, 'printing is stable');
  }
  // Strict JSON is a subset of what cJSON accepts, but for what cJSON refuses by design: NULs (C strings), numbers
  // over 63 characters, lone surrogate escapes, nesting past 1000.
  const text = input.toString('utf8');
  const cjsonLimits = /\\u0000|[-+.eE\d]{64}|\\u[dD][89a-fA-F]/.test(text) || (text.match(/[[{]/g)?.length ?? 0) > CJSON_NESTING_LIMIT;
  if (nul < 0 && !cjsonLimits && Buffer.from(text, 'utf8').equals(input)) {
    let strict = true;
    try { JSON.parse(text); } catch { strict = false; }
    if (strict) assert.ok(parsed.ok, 'cJSON refused what JSON.parse took');
  }
  const verdict = checkRequest(input);
  assert.ok(['error', 'log_processing', 'remove_session'].includes(verdict.kind));
  if (verdict.kind === 'error') assert.match(verdict.message, /^\(73\d\d\): /);
  else assert.ok(verdict.token === null || verdict.token.length === 8);
}

test('fuzz - logtest requests: parser and checks on 20,000 mutated requests, zero exceptions or broken invariants', (t) => {
  const failures = new Map<string, string>();
  const started = performance.now();
  const n = 20_000;
  let slowest = 0;
  for (let i = 0; i < n; i++) {
    const input = generate(Rng.from(SEED, 'logtest-parse', i), []);
    const t0 = performance.now();
    try {
      checkInvariants(input);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!failures.has(message)) failures.set(message, `case ${i}: ${message} [input ${input.subarray(0, 80).toString('hex')}]`);
    }
    slowest = Math.max(slowest, performance.now() - t0);
  }
  const ms = performance.now() - started;
  t.diagnostic(`logtest parser: ${n} cases in ${(ms / 1000).toFixed(1)} s (${Math.round((n / ms) * 1000)}/s), slowest ${slowest.toFixed(1)} ms, seed ${SEED}`);
  assert.deepEqual([...failures.values()], []);
  assert.ok(slowest < HANG_MS);
});

test('fuzz - logtest handling in process: 8,000 mutated requests against live sessions, every reply well-formed', async (t) => {
  const home = await tempDir('logtest-fuzz');
  const backend = new FixtureBackend();
  const server = new LogtestServer({ socketPath: logtestSocketPath(home), backend, log: createLogger(new MemorySink(), 'Main'), config: { maxSessions: 8 } });
  const gate = setInterval(() => backend.release(), 20);
  t.after(() => fs.rm(home, { recursive: true, force: true }));
  t.after(() => clearInterval(gate));
  const failures: string[] = [];
  for (let i = 0; i < 8000; i++) {
    const input = generate(Rng.from(SEED, 'logtest-handle', i), server.sessions.tokens());
    try {
      const reply = printJsonText(await server.handle(input));
      const parsed = parseJson(Buffer.from(reply, 'latin1'));
      assert.ok(parsed.ok && parsed.value instanceof JsonObject, 'a reply is an object');
      const error = parsed.value.get('error');
      assert.ok(typeof error === 'number' && error >= 0 && error <= 4, `error ${String(error)}`);
      assert.ok(parsed.value.get('data') instanceof JsonObject);
    } catch (err) {
      if (failures.length < 5) failures.push(`case ${i}: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(server.sessions.size <= 8);
  assert.equal(backend.opened - backend.closed, server.sessions.size, 'every dropped session was closed');
  t.diagnostic(`logtest handling: 8000 cases, ${backend.opened} sessions opened, ${backend.inputs.length} events processed`);
});

/** One raw connection: the bytes, maybe a half-close; resolves with what the server sent before closing. */
function rawExchange(socketPath: string, bytes: Buffer, end: boolean): Promise<Buffer> {
  return within(new Promise((resolve) => {
    const s = net.connect(socketPath);
    const got: Buffer[] = [];
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => got.push(c));
    s.on('close', () => resolve(Buffer.concat(got)));
    s.on('connect', () => {
      s.write(bytes, () => undefined);
      if (end) s.end();
    });
  }), 'the server answers or closes');
}

test('fuzz - logtest live: 1,500 mutated frames over the socket (lying headers, oversize, truncation); a proper client is served after', async (t) => {
  const home = await tempDir('logtest-fuzz-live');
  const socketPath = logtestSocketPath(home);
  const backend = new FixtureBackend();
  const server = new LogtestServer({ socketPath, backend, log: createLogger(new MemorySink(), 'Main'), config: { maxSessions: 8, threads: 2 }, requestTimeoutMs: 2000 });
  await server.start();
  // A mutated event may say 'wait' to the fixture: let it through.
  const gate = setInterval(() => backend.release(), 20);
  t.after(async () => {
    clearInterval(gate);
    await server.close();
    await fs.rm(home, { recursive: true, force: true });
  });
  const problems: string[] = [];
  let answered = 0;
  let oversize = 0;
  const started = performance.now();
  for (let i = 0; i < 1500; i++) {
    const rng = Rng.from(SEED, 'logtest-live', i);
    const body = generate(rng, server.sessions.tokens());
    let frame: Buffer;
    const mode = rng.int(6);
    if (mode === 0) {
      const header = Buffer.alloc(4);
      header.writeUInt32LE(rng.pick(INTERESTING_U32) >>> 0);
      frame = Buffer.concat([header, body]);
    } else if (mode === 1) {
      frame = frameLogtest(body).subarray(0, rng.int(body.length + 4));
    } else if (mode === 2) {
      frame = Buffer.concat([frameLogtest(body), Buffer.from(hostileString(rng, 512), 'latin1')]);
    } else {
      frame = frameLogtest(body.subarray(0, LOGTEST_MAX_REQUEST));
    }
    const announced = frame.length >= 4 ? frame.readUInt32LE(0) : -1;
    const reply = await rawExchange(socketPath, frame, true);
    if (reply.length === 0) {
      const whole = announced >= 1 && announced <= LOGTEST_MAX_REQUEST && frame.length - 4 >= announced;
      if (whole && problems.length < 5) problems.push(`case ${i}: a whole request of ${announced} bytes got no reply`);
      continue;
    }
    answered++;
    const length = reply.readUInt32LE(0);
    const parsed = parseJson(reply.subarray(4));
    if (length !== reply.length - 4 || !parsed.ok || !(parsed.value instanceof JsonObject)) {
      if (problems.length < 5) problems.push(`case ${i}: malformed reply ${reply.subarray(0, 80).toString('latin1')}`);
      continue;
    }
    if (parsed.value.get('error') === 5) {
      oversize++;
      if (announced <= LOGTEST_MAX_REQUEST && problems.length < 5) problems.push(`case ${i}: error 5 for ${announced} bytes`);
    }
  }
  const ms = performance.now() - started;
  t.diagnostic(`logtest live: 1500 connections in ${(ms / 1000).toFixed(1)} s, ${answered} answered (${oversize} oversize), the rest closed unanswered`);
  assert.deepEqual(problems, []);
  const after = await logtestRequest(socketPath, Buffer.from(JSON.stringify({ command: 'log_processing', parameters: { location: 'stdin', log_format: 'syslog', event: EVENTS[0] } })));
  assert.match(after.toString('latin1'), /"alert":true,"codemsg":0\}\}$/);
  assert.ok(server.sessions.size <= 8);
});
