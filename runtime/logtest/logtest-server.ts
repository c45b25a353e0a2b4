/**
 * analysisd's logtest socket (`<home>/queue/sockets/logtest`, mode 0660): one framed
 * request per connection, one framed reply, then the connection closes (A.1). A header
 * announcing more than 65,535 bytes gets error 5 at once, its body unread; a peer that
 * closes (or sends an empty frame) before its request is whole gets no reply.
 *
 * `threads` (`<rule_test>`) bounds how many requests are processed at once, as
 * analysisd's worker threads do; waiting for a request's bytes takes no slot, and a
 * request that has not arrived whole within `requestTimeoutMs` is dropped unanswered
 * (analysisd waits forever, which lets one silent client stall a thread).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { JsonObject, printJson, toJsonValue, type ByteString } from '../../protocols/cjson.js';
import { LogtestFrameReader, frameLogtest } from '../../protocols/logtest/framing.js';
import { logtestMessage, logtestText } from '../../protocols/logtest/messages.js';
import { checkRequest, logtestQueueLine, type LogProcessingRequest } from '../../protocols/logtest/request.js';
import {
  LOGTEST_CODEMSG, LogtestMessageList, alertOf, errorReply, servedReply, tooLargeReply, withRuleLevel,
} from '../../protocols/logtest/response.js';
import type { LogtestBackend, LogtestResult, OpenedSession } from './backend.js';
import { LogtestSessions, type SessionEntry } from './sessions.js';

/** `<rule_test>` of ossec.conf, already validated and capped. */
export interface RuleTestConfig {
  readonly enabled: boolean;
  readonly threads: number;
  readonly maxSessions: number;
  /** Seconds. */
  readonly sessionTimeout: number;
}

export const RULE_TEST_DEFAULTS: RuleTestConfig = { enabled: true, threads: 1, maxSessions: 64, sessionTimeout: 900 };

export const logtestSocketPath = (home: string): string => path.join(home, 'queue', 'sockets', 'logtest');

/** analysisd's listen backlog; connections beyond this many open at once are refused. */
export const LOGTEST_MAX_CONNECTIONS = 128;
export const LOGTEST_REQUEST_TIMEOUT_MS = 30_000;

export interface LogtestServerOptions {
  readonly socketPath: string;
  readonly backend: LogtestBackend;
  readonly log: Logger;
  readonly config?: Partial<RuleTestConfig>;
  /** Session times and the sweep timer (tests pass a manual clock). */
  readonly clock?: Clock;
  /** Token source (tests force collisions with it). */
  readonly random32?: () => number;
  readonly requestTimeoutMs?: number;
  readonly maxConnections?: number;
}

const randomU32 = (): number => randomBytes(4).readUInt32LE(0);
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class LogtestServer {
  readonly config: RuleTestConfig;
  readonly sessions: LogtestSessions;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly log: Logger;
  private busySlots = 0;
  private readonly slotWaiters: (() => void)[] = [];

  constructor(private readonly opts: LogtestServerOptions) {
    this.config = { ...RULE_TEST_DEFAULTS, ...opts.config };
    this.log = opts.log.tagged('Logtest');
    this.sessions = new LogtestSessions({
      maxSessions: this.config.maxSessions,
      sessionTimeout: this.config.sessionTimeout,
      clock: opts.clock ?? systemClock,
      random32: opts.random32 ?? randomU32,
      onRemoved: (token, cause) => this.log.debug(`Session '${token}' ${cause}`),
      onCloseError: (token, err) => this.log.warning(`Closing session '${token}' failed: ${errText(err)}`),
    });
  }

  /** Listens (unless `<rule_test><enabled>no`); true when serving. */
  async start(): Promise<boolean> {
    if (!this.config.enabled) {
      this.log.info(logtestText(7201));
      return false;
    }
    const { socketPath } = this.opts;
    await fs.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o750 });
    await removeStaleSocket(socketPath);
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: socketPath, backlog: LOGTEST_MAX_CONNECTIONS }, () => resolve());
    });
    server.on('error', (err) => this.log.error(`Logtest socket: ${err.message}`));
    await fs.chmod(socketPath, 0o660);
    this.server = server;
    this.sessions.startSweep();
    this.log.info(logtestText(7200));
    return true;
  }

  /** Stops listening, drops open connections and every session, and removes the socket file. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sessions.closeAll();
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fs.rm(this.opts.socketPath, { force: true });
  }

  private onConnection(socket: net.Socket): void {
    socket.on('error', () => undefined);
    if (this.sockets.size >= (this.opts.maxConnections ?? LOGTEST_MAX_CONNECTIONS)) {
      this.log.warning('Too many logtest connections: refused one');
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    const reader = new LogtestFrameReader();
    const timer = setTimeout(() => socket.destroy(), this.opts.requestTimeoutMs ?? LOGTEST_REQUEST_TIMEOUT_MS);
    timer.unref();
    const stopReading = (): void => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.removeAllListeners('end');
      socket.pause();
    };
    socket.on('close', () => {
      clearTimeout(timer);
      this.sockets.delete(socket);
    });
    socket.on('end', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      const progress = reader.push(chunk);
      if (progress.kind === 'incomplete') return;
      stopReading();
      if (progress.kind === 'too-large') {
        this.log.debug(`Refused a request of ${progress.length} bytes`);
        this.reply(socket, tooLargeReply());
      } else if (progress.body.length === 0) {
        socket.destroy();
      } else {
        void this.serve(socket, progress.body);
      }
    });
  }

  private reply(socket: net.Socket, reply: JsonObject): void {
    if (!socket.destroyed) socket.end(frameLogtest(printJson(reply)), () => socket.destroy());
  }

  private async serve(socket: net.Socket, body: Buffer): Promise<void> {
    await this.takeSlot();
    try {
      this.reply(socket, await this.handle(body));
    } catch (err) {
      this.log.error(`Logtest request failed: ${errText(err)}`);
      socket.destroy();
    } finally {
      this.releaseSlot();
    }
  }

  private takeSlot(): Promise<void> {
    if (this.busySlots < Math.max(1, this.config.threads)) {
      this.busySlots++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.busySlots--;
  }

  /** One request body to its reply, without the socket (the fuzzer calls it directly). */
  async handle(body: Uint8Array): Promise<JsonObject> {
    const request = checkRequest(body);
    switch (request.kind) {
      case 'error': return errorReply(request.error, request.message);
      case 'remove_session': return servedReply(this.removeSession(request.token));
      case 'log_processing': return servedReply(await this.logProcessing(request));
    }
  }

  private removeSession(token: ByteString): JsonObject {
    const messages = new LogtestMessageList();
    const outcome = this.sessions.remove(token);
    if (outcome === 'removed') messages.add(logtestMessage('info', 7206, token));
    else if (outcome === 'busy') messages.add(logtestMessage('error', 7318, token));
    else messages.add(logtestMessage('error', 7004, token));
    const data = new JsonObject();
    data.add('codemsg', messages.flushInto(data, LOGTEST_CODEMSG.success));
    return data;
  }

  private async logProcessing(request: LogProcessingRequest): Promise<JsonObject> {
    const data = new JsonObject();
    const messages = new LogtestMessageList();
    messages.add(...request.warnings);
    const entry = await this.sessionFor(request.token, messages);
    let code = messages.flushInto(data, LOGTEST_CODEMSG.success);
    if (!entry || code < 0) {
      // A loader that reported an ERROR yet returned a session: answered as a failure, the session dropped.
      if (entry) this.discard(entry);
      data.add('codemsg', code);
      return data;
    }
    data.add('token', entry.token);
    if (request.rulesDebug === 'invalid') messages.add(logtestMessage('warning', 7006, 'rules_debug'));
    const result = await this.process(entry, request);
    if (result) messages.add(...result.messages);
    if (result && result.output !== null) data.add('output', withRuleLevel(toJsonValue(result.output), result.rule));
    else messages.add(logtestMessage('error', 7312));
    if (request.rulesDebug === 'on') data.add('rules_debug', [...(result?.rulesDebug ?? [])]);
    code = messages.flushInto(data, code);
    if (code >= 0) data.add('alert', alertOf(result?.rule ?? null, entry.session.logAlertLevel));
    data.add('codemsg', code);
    return data;
  }

  /** The session a request runs in, locked for it: the token's, or a new one. Adds 7003, 7202 or 7311 as it goes. */
  private async sessionFor(token: ByteString | null, messages: LogtestMessageList): Promise<SessionEntry | undefined> {
    if (token !== null) {
      const found = this.sessions.find(token);
      if (found) {
        await this.sessions.lock(found);
        this.sessions.touch(found);
        return found;
      }
      messages.add(logtestMessage('warning', 7003, token));
    }
    const opened = await this.openSession();
    if ('error' in opened) {
      messages.add(...opened.error, logtestMessage('error', 7311));
      return undefined;
    }
    messages.add(...opened.messages);
    const entry = this.sessions.register(opened.session);
    messages.add(logtestMessage('info', 7202, entry.token));
    this.log.debug(`Session '${entry.token}' initialized`);
    return entry;
  }

  private async openSession(): Promise<OpenedSession> {
    try {
      return await this.opts.backend.openSession();
    } catch (err) {
      this.log.error(`Opening a logtest session failed: ${errText(err)}`);
      return { error: [] };
    }
  }

  private async process(entry: SessionEntry, request: LogProcessingRequest): Promise<LogtestResult | null> {
    try {
      return await entry.session.process({
        message: logtestQueueLine(request.location, request.event),
        location: request.location,
        event: request.event,
        rulesDebug: request.rulesDebug === 'on',
      });
    } catch (err) {
      this.log.error(`Processing an event in session '${entry.token}' failed: ${errText(err)}`);
      return null;
    } finally {
      this.sessions.unlock(entry);
    }
  }

  private discard(entry: SessionEntry): void {
    this.sessions.unlock(entry);
    this.sessions.remove(entry.token);
  }
}

/** A socket file nobody answers on is left over from a crash; one that answers belongs to a running node. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  const answers = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => { probe.destroy(); resolve(true); });
    probe.once('error', () => resolve(false));
  });
  if (answers) throw new Error(`another logtest server answers on ${socketPath}`);
  await fs.rm(socketPath, { force: true });
}
