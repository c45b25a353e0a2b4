import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createLogger, MemorySink } from '../../../../runtime/logger.js';
import {
  agentChannel,
  agentHashKey,
  agentHashPattern,
  agentStreamKey,
  AgentStatusBus,
  decodeAgentStatusFields,
} from '../../../../runtime/redis/agent-status-bus.js';
import { AGENT_STATUSES } from '../../../../protocols/agent-status.js';
import type { AgentStatusEvent } from '../../../../protocols/agent-info.js';
import { startRedisServer, type RedisServerHandle } from '../../../harness/redis-server.js';

const SCRIPT = fileURLToPath(new URL('../../../../scripts/agent_status.js', import.meta.url));
const AGENTS = 50;
const BASE_AT = Date.UTC(2025, 0, 1);

/** Event `seq` of a made-up history: 50 agents taking turns, statuses cycling. */
function eventAt(seq: number): AgentStatusEvent {
  const id = (seq % AGENTS) + 1;
  return {
    seq,
    id,
    name: `agent-${id}`,
    status: AGENT_STATUSES[Math.floor(seq / AGENTS) % AGENT_STATUSES.length] ?? 'active',
    node: seq % 7 === 0 ? null : `worker-${seq % 3}`,
    version: seq % 5 === 0 ? null : 'Wazuh v4.9.0',
    at: BASE_AT + seq * 1000,
  };
}

/** The master's side: a durable log (all events ever) feeding the bus's refills. */
class Source {
  readonly log: AgentStatusEvent[] = [];
  constructor(private readonly bus: () => AgentStatusBus) {}
  readonly since = (seq: number, limit: number): AgentStatusEvent[] => {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.log[mid]?.seq ?? 0) <= seq) lo = mid + 1;
      else hi = mid;
    }
    return this.log.slice(lo, lo + limit);
  };
  /** Logs events `from`..`to`, then publishes them in bursts of `burst`. */
  emit(from: number, to: number, burst = 100): AgentStatusEvent[] {
    const events: AgentStatusEvent[] = [];
    for (let seq = from; seq <= to; seq++) events.push(eventAt(seq));
    this.log.push(...events);
    for (let i = 0; i < events.length; i += burst) this.bus().publish(events.slice(i, i + burst));
    return events;
  }
}

function latestByAgent(events: readonly AgentStatusEvent[]): Map<number, AgentStatusEvent> {
  const latest = new Map<number, AgentStatusEvent>();
  for (const e of events) latest.set(e.id, e);
  return latest;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function waitFor(what: string, check: () => boolean | Promise<boolean>, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe('AgentStatusBus against a real redis-server', () => {
  let server: RedisServerHandle;
  let admin: Redis;
  let clusterCount = 0;

  before(async () => {
    server = await startRedisServer();
    admin = new Redis({ path: server.socketPath, retryStrategy: () => 50 });
    admin.on('error', () => undefined);
  });

  after(async () => {
    admin.disconnect();
    await server.cleanup();
  });

  const client = (t: TestContext): Redis => {
    // Fast reconnects so test clients are back before the bus after a restart.
    const c = new Redis({ path: server.socketPath, retryStrategy: () => 50 });
    c.on('error', () => undefined);
    t.after(() => c.quit().catch(() => c.disconnect()));
    return c;
  };

  /** A bus on a new cluster; `history` events are in the master's log before it starts. */
  const newBus = (t: TestContext, { history = 0, start = true } = {}): { bus: AgentStatusBus; source: Source; cluster: string; sink: MemorySink } => {
    const sink = new MemorySink();
    const cluster = `a${++clusterCount}`;
    let bus: AgentStatusBus | null = null;
    const source = new Source(() => {
      assert.ok(bus);
      return bus;
    });
    source.log.push(...range(1, history).map(eventAt));
    bus = new AgentStatusBus({ url: server.url, cluster, log: createLogger(sink, 'Master'), since: source.since });
    const started = bus;
    t.after(() => started.close());
    if (start) bus.start();
    return { bus, source, cluster, sink };
  };

  const subscribe = async (t: TestContext, cluster: string): Promise<AgentStatusEvent[]> => {
    const received: AgentStatusEvent[] = [];
    const sub = client(t);
    sub.on('message', (_channel: string, line: string) => received.push(JSON.parse(line) as AgentStatusEvent));
    await sub.subscribe(agentChannel(cluster));
    return received;
  };

  const streamEvents = async (cluster: string): Promise<(AgentStatusEvent | null)[]> => {
    const entries = await admin.xrange(agentStreamKey(cluster), '-', '+');
    return entries.map(([, fields]) => decodeAgentStatusFields(fields));
  };

  /** The stream holds exactly `expected`, in order; each agent hash holds its latest. */
  const assertRedisHolds = async (cluster: string, expected: readonly AgentStatusEvent[]): Promise<void> => {
    const stream = await streamEvents(cluster);
    assert.deepEqual(stream.map((e) => e?.seq), expected.map((e) => e.seq), 'stream seqs');
    assert.deepEqual(stream, expected);
    const latest = latestByAgent(expected);
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await admin.scan(cursor, 'MATCH', agentHashPattern(cluster), 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    assert.equal(keys.length, latest.size, 'one hash per agent');
    for (const [id, event] of latest) {
      assert.deepEqual(decodeAgentStatusFields(await admin.hgetall(agentHashKey(cluster, id))), event, `hash of agent ${id}`);
    }
  };

  const caughtUp = (bus: AgentStatusBus, seq: number) => () => bus.figures().lastSeq === seq;

  const runScript = (t: TestContext, args: string[]): Run => {
    const child = spawn(process.execPath, [SCRIPT, '--redis-url', server.url, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    return { child, stdout: () => stdout, stderr: () => stderr, exit };
  };

  const finished = async (run: Run, limitMs = 20_000): Promise<number | null> => {
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`agent_status still running after ${limitMs} ms\nstdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`)), limitMs);
    });
    try {
      const { code } = await Promise.race([run.exit, hang]);
      return code;
    } finally {
      clearTimeout(timer);
    }
  };

  const groupExists = (cluster: string, group: string) => async (): Promise<boolean> => {
    try {
      const groups = await admin.xinfo('GROUPS', agentStreamKey(cluster)) as unknown[][];
      return groups.some((g) => g[1] === group);
    } catch {
      return false;
    }
  };

  /** The watcher sits in XREADGROUP ... BLOCK. */
  const watcherBlocked = async (): Promise<boolean> => {
    const list = String(await admin.client('LIST'));
    return list.split('\n').some((line) => / flags=[a-zA-Z]*b[a-zA-Z]* /.test(line) && / cmd=xreadgroup/.test(line));
  };

  const pending = async (cluster: string, group: string): Promise<number> => {
    const reply = await admin.xpending(agentStreamKey(cluster), group) as unknown[];
    return Number(reply[0]);
  };

  it('writes 1,000 events in seq order to the stream, the hashes and the channel', async (t) => {
    const { bus, source, cluster } = newBus(t);
    const received = await subscribe(t, cluster);
    await waitFor('the bus to connect', () => bus.figures().connected);

    const events = source.emit(1, 1000, 1);
    source.emit(0, -1); // nothing: no-op
    await waitFor('all events written', caughtUp(bus, 1000));

    await assertRedisHolds(cluster, events);
    await waitFor('every channel message', () => received.length >= 1000);
    assert.deepEqual(received, events);
    const figures = bus.figures();
    assert.equal(figures.published + figures.refilled, 1000);
    assert.equal(figures.connected, true);
    assert.equal(figures.lastSeq, 1000);
  });

  it('refills everything after a Redis restart that lost the data, once and in order', async (t) => {
    const { bus, source, cluster, sink } = newBus(t);
    await waitFor('the bus to connect', () => bus.figures().connected);
    source.emit(1, 1000);
    await waitFor('the first 1,000 events', caughtUp(bus, 1000));
    const received = await subscribe(t, cluster);

    await server.stop();
    await waitFor('the bus to notice the outage', () => !bus.figures().connected);
    assert.doesNotThrow(() => source.emit(1001, 1200, 20));
    await sleep(100);
    assert.doesNotThrow(() => source.emit(1201, 1200)); // empty burst while down
    assert.equal(bus.figures().lastSeq, 1000);
    const warnings = sink.lines.filter((l) => l.startsWith('WARNING: [Master] [Redis agents] Redis unavailable at unix://'));
    assert.equal(warnings.length, 1, sink.lines.join('\n'));

    await server.restart();
    await waitFor('the refill', caughtUp(bus, 1200));

    await assertRedisHolds(cluster, source.log);
    const restored = sink.lines.filter((l) => l.includes('Redis connection restored at unix://'));
    assert.equal(restored.length, 1, sink.lines.join('\n'));
    assert.match(restored[0] ?? '', /1200 events refilled\.$/);
    assert.equal(sink.lines.filter((l) => l.startsWith('WARNING:')).length, 1, sink.lines.join('\n'));
    assert.equal(bus.figures().refilled, 1200);
    // Old news is not announced again; what is announced comes once, in order.
    const seqs = received.map((e) => e.seq);
    assert.ok(seqs.every((s, i) => s > 1000 && (i === 0 || s > (seqs[i - 1] ?? 0))), `channel seqs ${seqs.join(',')}`);
  });

  it('loses and repeats nothing when connections are killed while publishing (Redis keeps its data)', async (t) => {
    const { bus, source, cluster, sink } = newBus(t);
    const rounds = 12;
    let seq = 0;
    let hits = 0;
    for (let round = 0; round < rounds; round++) {
      await waitFor('the bus to (re)connect', () => bus.figures().connected);
      source.emit(seq + 1, seq + 500, 50);
      seq += 500;
      // Let the pump send its transaction, then cut every connection but ours: before,
      // while or after Redis runs it.
      await new Promise((resolve) => setImmediate(resolve));
      if (round % 3) await sleep(round % 3);
      const killed = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal'));
      if (killed > 0) await waitFor('the bus to notice', () => !bus.figures().connected);
      hits += killed;
    }
    await waitFor('every event written', caughtUp(bus, seq), 30_000);
    await sleep(100);
    await assertRedisHolds(cluster, source.log);
    assert.equal(hits, rounds, 'every kill cut the bus connection');
    // A kill during the resync prolongs the same outage: logged once, recovered once.
    const outages = sink.lines.filter((l) => l.startsWith('WARNING:')).length;
    assert.ok(outages >= 1, sink.lines.join('\n'));
    assert.equal(sink.lines.filter((l) => l.includes('Redis connection restored')).length, outages, sink.lines.join('\n'));
  });

  it('fills a fresh Redis with the history on start, announcing only what is published live', async (t) => {
    const { bus, source, cluster } = newBus(t, { history: 300, start: false });
    const received = await subscribe(t, cluster);
    bus.start();
    await waitFor('the history', caughtUp(bus, 300));
    const live = source.emit(301, 310, 3);
    await waitFor('the live events', caughtUp(bus, 310));
    await assertRedisHolds(cluster, source.log);
    await waitFor('the announcements', () => received.length >= 10);
    await sleep(50);
    assert.deepEqual(received, live);
    assert.deepEqual(bus.figures(), { published: 10, refilled: 300, connected: true, lastSeq: 310 });
  });

  it('agent_status --watch prints events in order, acknowledges them, and a second run gets only new ones', async (t) => {
    const { bus, source, cluster } = newBus(t);
    await waitFor('the bus to connect', () => bus.figures().connected);

    const first = runScript(t, ['--cluster', cluster, '--watch', '--group', 'g1', '--consumer', 'c1', '--count', '50', '--json']);
    await waitFor('the consumer group', groupExists(cluster, 'g1'));
    const events = source.emit(1, 50, 7);
    assert.equal(await finished(first), 0, first.stderr());
    const lines = first.stdout().trim().split('\n');
    assert.deepEqual(lines.map((l) => JSON.parse(l) as AgentStatusEvent), events);
    assert.equal(await pending(cluster, 'g1'), 0);

    source.emit(51, 65, 5); // while nobody watches: still new to the group
    const second = runScript(t, ['--cluster', cluster, '--watch', '--group', 'g1', '--consumer', 'c2', '--count', '30']);
    await waitFor('the second watcher to block', watcherBlocked);
    source.emit(66, 80, 5);
    assert.equal(await finished(second), 0, second.stderr());
    const expected = range(51, 80).map((s) => {
      const e = eventAt(s);
      return `${new Date(e.at).toISOString()} ${String(e.id).padStart(3, '0')} ${e.name} ${e.status} ${e.node ?? 'unknown'}`;
    });
    assert.deepEqual(second.stdout().trim().split('\n'), expected);
    assert.equal(await pending(cluster, 'g1'), 0);
  });

  it('agent_status --watch delivers its own pending entries first and stops promptly on SIGTERM', async (t) => {
    const { bus, source, cluster } = newBus(t);
    await waitFor('the bus to connect', () => bus.figures().connected);
    source.emit(1, 10);
    await waitFor('the events', caughtUp(bus, 10));
    // A previous run of consumer c1 read 1..4 and died before acknowledging them.
    const key = agentStreamKey(cluster);
    await admin.xgroup('CREATE', key, 'g1', '0');
    await admin.xreadgroup('GROUP', 'g1', 'c1', 'COUNT', 4, 'STREAMS', key, '>');
    assert.equal(await pending(cluster, 'g1'), 4);

    const run = runScript(t, ['--cluster', cluster, '--watch', '--group', 'g1', '--consumer', 'c1', '--json']);
    await waitFor('the ten events', () => run.stdout().trim().split('\n').length === 10);
    await waitFor('the watcher to block', watcherBlocked);
    const startedStop = Date.now();
    run.child.kill('SIGTERM');
    assert.equal(await finished(run), 0, run.stderr());
    assert.ok(Date.now() - startedStop < 4000, `stopped after ${Date.now() - startedStop} ms`);
    assert.deepEqual(run.stdout().trim().split('\n').map((l) => (JSON.parse(l) as AgentStatusEvent).seq), range(1, 10));
    assert.equal(await pending(cluster, 'g1'), 0);
  });

  it('agent_status --watch rides out a Redis restart: group recreated, nothing shown twice', async (t) => {
    const { bus, source, cluster } = newBus(t);
    await waitFor('the bus to connect', () => bus.figures().connected);
    const run = runScript(t, ['--cluster', cluster, '--watch', '--count', '10', '--json']);
    await waitFor('the consumer group', groupExists(cluster, 'agent_status'));
    source.emit(1, 5);
    await waitFor('the first five events', () => run.stdout().trim().split('\n').length === 5);

    await server.restart();
    source.emit(6, 10);
    assert.equal(await finished(run, 30_000), 0, run.stderr());
    assert.deepEqual(run.stdout().trim().split('\n').map((l) => (JSON.parse(l) as AgentStatusEvent).seq), range(1, 10));
    await waitFor('the refill', caughtUp(bus, 10));
    await assertRedisHolds(cluster, source.log);
  });

  it('agent_status without --watch prints every agent\'s latest status', async (t) => {
    const { bus, source, cluster } = newBus(t);
    await waitFor('the bus to connect', () => bus.figures().connected);
    source.emit(1, 120);
    await waitFor('the events', caughtUp(bus, 120));
    const latest = [...latestByAgent(source.log).values()].sort((a, b) => a.id - b.id);

    const json = runScript(t, ['--cluster', cluster, '--json']);
    assert.equal(await finished(json), 0, json.stderr());
    const envelope = JSON.parse(json.stdout()) as { data: { affected_items: AgentStatusEvent[]; total_affected_items: number }; error: number };
    assert.equal(envelope.error, 0);
    assert.deepEqual(envelope.data.affected_items, latest);

    const table = runScript(t, ['--cluster', cluster]);
    assert.equal(await finished(table), 0, table.stderr());
    const rows = table.stdout().trimEnd().split('\n');
    assert.match(rows[0] ?? '', /^ID\s+NAME\s+STATUS\s+NODE\s+VERSION\s+LAST CHANGE$/);
    assert.equal(rows.length, 1 + AGENTS);
    const first = latest[0];
    assert.ok(first);
    assert.deepEqual(rows[1]?.split(/\s{2,}/), ['001', first.name, first.status, first.node ?? 'unknown', first.version ?? 'unknown', new Date(first.at).toISOString()]);

    await server.stop();
    try {
      const unreachable = runScript(t, ['--cluster', cluster]);
      assert.equal(await finished(unreachable), 1);
      assert.match(unreachable.stderr(), /^ERROR: Cannot connect to Redis at unix:\/\//);
    } finally {
      await server.restart();
    }
    const invalid = spawn(process.execPath, [SCRIPT, '--redis-url', 'http://x'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    invalid.stderr?.on('data', (c: Buffer) => { stderr += c.toString(); });
    const [code] = await once(invalid, 'exit');
    assert.equal(code, 1);
    assert.match(stderr, /^ERROR: Invalid Redis URL 'http:\/\/x'/);
  });
});
