/**
 * A simulated Wazuh agent speaking the real protocol (agent protocol §1): enrolment
 * over TLS (§3.2/§3.4), then the secure message format over TCP (4-byte LE framing)
 * or UDP (one datagram per message): `#!-agent startup`, keepalives laid out as the
 * real agent's notify.c writes them (§7.1), events `<queue>:<location>:<text>`, and
 * the shared-file push the manager answers a stale merged.mg checksum with (§9.3/§9.4).
 * Used by the agent_simulator load tool, by e2e tests and by benchmarks; the node never
 * imports it. The texts it builds and reads are the agent halves in protocols/
 * (agent-messages, enrolment, merged-mg); the connection is ./link.ts, enrolment
 * ./enrol-agent.ts.
 *
 * Deliberately simple: a connection the server closes is counted as an error and the
 * agent stops (no automatic reconnect); only `#!-force_reconnect` reconnects it.
 */
import { createHash } from 'node:crypto';
import { AGENT_SHUTDOWN, CONTROL_PREFIX, eventText, keepaliveText, startupText } from '../protocols/agent-messages.js';
import type { EnrolmentKey } from '../protocols/enrolment.js';
import { agentConfSumOf, MERGED_NAME } from '../protocols/merged-mg.js';
import { decodeSecure, encodeSecure, splitSender, type AgentKeyMaterial, type Cipher } from '../protocols/secure-message.js';
import { enrolAgent } from './enrol-agent.js';
import { tcpLink, udpLink, type Link, type LinkEvents } from './link.js';

export type SimulatedOs = 'debian10' | 'ubuntu22' | 'windows10';

export interface SimulatedAgentOptions {
  name: string;
  /** Enrolment: host + port (TLS, rejectUnauthorized false), optional password and groups; or an existing key. */
  enrol?: { host: string; port: number; password?: string; groups?: string[] };
  key?: EnrolmentKey;
  /** Agent messaging: host + port, 'tcp' or 'udp'. */
  server: { host: string; port: number; transport: 'tcp' | 'udp' };
  /** Default 'aes'. */
  cipher?: Cipher;
  /** Default 'v4.14.5'. */
  version?: string;
  /** Keepalive uname template, default 'debian10'. */
  os?: SimulatedOs;
  labels?: Record<string, string>;
  /** notify_time: the interval of the periodic keepalives, the first one keepaliveMs after start. */
  keepaliveMs: number;
  /** Events sent per second by the agent itself, default 0 (fractions allowed). */
  eventsPerSecond?: number;
  /** Send `#!-agent startup {...}` on connect (default true). Without it, start() sends a keepalive instead and waits for its ACK. */
  sendStartup?: boolean;
}

export interface SimulatedAgentCounts {
  /** Messages sent (control messages and events). */
  sent: number;
  /** `#!-agent ack ` received. */
  acks: number;
  /** Messages received and decrypted. */
  received: number;
  /** Events sent. */
  events: number;
  /** Shared files received whose md5 verified. */
  pushes: number;
  /** Undecodable messages, `#!-err`, push checksum mismatches, socket errors, connections closed by the server. */
  errors: number;
  /** Reconnections on `#!-force_reconnect`. */
  reconnects: number;
}

export const DEFAULT_AGENT_VERSION = 'v4.14.5';
/** What a real agent reports for its agent.conf before it received any merged.mg. */
export const INITIAL_AGENT_CONF_SUM = 'ab73af41699f13fdd81903b5f23d8d00';
/** The merged.mg checksum of an agent that holds none. */
export const NO_MERGED_SUM = 'x';

export const STARTUP_TIMEOUT_MS = 10_000;
const ACK_TIMEOUT_MS = 10_000;
const WAIT_FOR_DEFAULT_MS = 10_000;
const RECEIVED_LIMIT = 1_000;
const PENDING_ACK_LIMIT = 1_000;
/** A push larger than this is abandoned (and counted as an error). */
const MAX_PUSH_BYTES = 64 * 1024 * 1024;
const MAX_LOCAL_COUNTER = 9_997;
const MAX_GLOBAL_COUNTER = 9_999_999_999;
/** Events per timer tick at most this many seconds' worth: a stalled loop does not burst. */
const MAX_EVENT_BACKLOG_S = 2;

const ACK_TEXT = '#!-agent ack';
const ERR_PREFIX = '#!-err';
const UP_PREFIX = '#!-up file ';
const CLOSE_PREFIX = '#!-close file';
const FORCE_RECONNECT = '#!-force_reconnect';

const md5hex = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The uname part of the keepalive's first line (§7.2) for one of the templates. */
export function simulatedUname(os: SimulatedOs, name: string): string {
  switch (os) {
    case 'debian10':
      return `Linux |${name} |4.19.0-21-amd64 |#1 SMP Debian 4.19.249-2 (2022-06-30) |x86_64 [Debian GNU/Linux|debian: 10 (buster)]`;
    case 'ubuntu22':
      return `Linux |${name} |5.15.0-1-generic |#1 SMP |x86_64 [Ubuntu|ubuntu: 22.04.2 LTS (Jammy Jellyfish)]`;
    case 'windows10':
      return `Microsoft Windows 10 Pro [Ver: 10.0.19045.2006] |${name} |x86_64`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The agent

interface PendingAck {
  readonly sentAt: number;
  resolve?: (ms: number) => void;
  reject?: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

interface Waiter {
  readonly pred: (text: string) => boolean;
  readonly resolve: (text: string) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface OpenPush {
  readonly md5: string;
  readonly name: string;
  readonly parts: Buffer[];
  size: number;
}

type State = 'idle' | 'starting' | 'running' | 'stopped';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A syslog time stamp, `Jan 29 10:03:41`. */
function syslogStamp(d: Date): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()] ?? 'Jan'} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

export class SimulatedAgent {
  private readonly opts: SimulatedAgentOptions;
  private readonly cipher: Cipher;
  private readonly version: string;
  private readonly uname: string;
  private keyLine: EnrolmentKey | null;
  private material: AgentKeyMaterial | null = null;
  private enrolling: Promise<EnrolmentKey> | null = null;

  private state: State = 'idle';
  private link: Link | null = null;
  /** Set by shutdown()/drop(): nothing may reopen the link afterwards. */
  private stopping = false;
  private reconnecting = false;
  private globalCounter = 0;
  private localCounter = 0;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private eventTimer: NodeJS.Timeout | null = null;
  private eventSeq = 0;

  private readonly pendingAcks: PendingAck[] = [];
  private readonly waiters = new Set<Waiter>();
  private push: OpenPush | null = null;

  private _mergedSum = NO_MERGED_SUM;
  private _mergedContent: Buffer | null = null;
  private agentConfSum: string | null = INITIAL_AGENT_CONF_SUM;
  private readonly _received: string[] = [];
  private readonly _counts: SimulatedAgentCounts = { sent: 0, acks: 0, received: 0, events: 0, pushes: 0, errors: 0, reconnects: 0 };
  private _lastError: string | null = null;

  constructor(opts: SimulatedAgentOptions) {
    if (!opts.key && !opts.enrol) throw new TypeError(`agent ${opts.name}: give either a key or enrolment settings`);
    if (!(opts.keepaliveMs > 0)) throw new RangeError(`agent ${opts.name}: keepaliveMs must be positive`);
    this.opts = opts;
    this.cipher = opts.cipher ?? 'aes';
    this.version = opts.version ?? DEFAULT_AGENT_VERSION;
    this.uname = simulatedUname(opts.os ?? 'debian10', opts.name);
    this.keyLine = opts.key ? { ...opts.key } : null;
  }

  get name(): string {
    return this.opts.name;
  }

  /** The key in use, null before enrolment. */
  get key(): EnrolmentKey | null {
    return this.keyLine ? { ...this.keyLine } : null;
  }

  /** Started, and its connection is up. */
  get connected(): boolean {
    return this.state === 'running' && this.link !== null && !this.link.closed;
  }

  /** md5 of the merged.mg it holds (after a completed push whose md5 verified), 'x' before any. */
  get mergedSum(): string {
    return this._mergedSum;
  }

  get mergedContent(): Buffer | null {
    return this._mergedContent;
  }

  /** A snapshot of the counters. */
  get counts(): SimulatedAgentCounts {
    return { ...this._counts };
  }

  /** The last error counted, for reports. */
  get lastError(): string | null {
    return this._lastError;
  }

  /** Every decrypted message from the server, in order (payload as latin1 text), bounded to the last 1000. */
  get received(): readonly string[] {
    return this._received;
  }

  /** Enrols if no key was given (once; later calls return the same key); returns the key line parts. */
  enrolNow(): Promise<EnrolmentKey> {
    if (this.keyLine) return Promise.resolve({ ...this.keyLine });
    const e = this.opts.enrol;
    if (!e) return Promise.reject(new Error(`agent ${this.opts.name}: no key and no enrolment settings`));
    this.enrolling ??= enrolAgent(e.host, e.port, { name: this.opts.name, version: this.version, password: e.password, groups: e.groups })
      .then((k) => {
        this.keyLine = k;
        return { ...k };
      })
      .finally(() => {
        this.enrolling = null;
      });
    return this.enrolling;
  }

  /**
   * Connects, sends `#!-agent startup {"version":"<v>"}`, then keepalives every keepaliveMs
   * and events at the rate. Resolves once the startup ACK arrived; rejects (and closes)
   * after 10 s without it, on `#!-err`, or when the server closes the connection first.
   */
  async start(): Promise<void> {
    if (this.state === 'starting' || this.state === 'running') throw new Error(`agent ${this.opts.name} is already started`);
    await this.enrolNow();
    this.stopping = false;
    this.state = 'starting';
    try {
      await this.connectAndGreet();
    } catch (err) {
      this.state = 'stopped';
      this.link?.destroy();
      this.link = null;
      throw err;
    }
    if (this.stopping) return; // dropped while starting
    this.state = 'running';
    this.startTimers();
  }

  /** Sends one keepalive now; resolves with the ms until its ACK (rejects after 10 s). */
  keepaliveNow(): Promise<number> {
    if (!this.link || this.link.closed) return Promise.reject(new Error(`agent ${this.opts.name} is not connected`));
    return this.sendControl(this.keepalivePayload(), ACK_TIMEOUT_MS);
  }

  /** Sends `<queue>:<location>:<text>`. Counted as an error when the agent is not connected. */
  sendEvent(text: string, queue = '1', location = '/var/log/syslog'): void {
    if (this.sendRaw(Buffer.from(eventText(queue, location, text), 'utf8'))) this._counts.events++;
    else this.noteError(`event not sent: agent ${this.opts.name} is not connected`);
  }

  /** Sends `#!-agent shutdown ` and closes. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    this.stopTimers();
    const link = this.link;
    this.link = null;
    if (link && !link.closed) {
      this.sendOn(link, Buffer.from(AGENT_SHUTDOWN, 'latin1'));
      await link.close();
    }
    this.state = 'stopped';
    this.failPending(new Error(`agent ${this.opts.name} shut down`));
  }

  /** Closes without a shutdown message (a lost agent). */
  drop(): void {
    this.stopping = true;
    this.stopTimers();
    this.link?.destroy();
    this.link = null;
    if (this.state !== 'idle') this.state = 'stopped';
    this.failPending(new Error(`agent ${this.opts.name} dropped`));
  }

  /**
   * Resolves with the first received message that satisfies `pred`, looking at the
   * messages already received (the last 1000) first; rejects after timeoutMs (default 10 s).
   */
  waitFor(pred: (text: string) => boolean, timeoutMs = WAIT_FOR_DEFAULT_MS): Promise<string> {
    const seen = this._received.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`agent ${this.opts.name}: no matching message within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  // -------------------------------------------------------------------------------------------------------------

  private async connectAndGreet(): Promise<void> {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    const { host, port, transport } = this.opts.server;
    let link: Link | null = null;
    const events: LinkEvents = {
      message: (msg) => {
        if (link !== null && this.link === link) this.onWire(msg);
      },
      error: (err) => this.noteError(err.message),
      lost: (reason) => {
        if (link !== null && this.link === link) this.onLost(reason);
      },
    };
    link = await (transport === 'udp' ? udpLink : tcpLink)(host, port, events, STARTUP_TIMEOUT_MS);
    if (this.stopping) {
      link.destroy();
      return;
    }
    this.link = link;
    const greeting = this.opts.sendStartup === false
      ? this.keepalivePayload()
      : Buffer.from(startupText(this.version), 'latin1');
    await this.sendControl(greeting, Math.max(1, deadline - Date.now()), 'startup');
  }

  private startTimers(): void {
    this.stopTimers();
    this.keepaliveTimer = setInterval(() => {
      if (this.connected) this.sendControl(this.keepalivePayload(), 0).catch(() => undefined);
    }, this.opts.keepaliveMs);
    this.keepaliveTimer.unref();
    const eps = this.opts.eventsPerSecond ?? 0;
    if (eps > 0) {
      const tickMs = Math.max(10, Math.min(1_000, Math.floor(1_000 / eps)));
      let base = performance.now();
      let generated = 0;
      this.eventTimer = setInterval(() => {
        if (!this.connected) return;
        let due = Math.floor(((performance.now() - base) * eps) / 1_000) - generated;
        const cap = Math.max(1, Math.ceil(eps * MAX_EVENT_BACKLOG_S));
        if (due > cap) {
          // Behind schedule (a stalled loop): drop the backlog rather than burst.
          base = performance.now();
          generated = 0;
          due = 1;
        }
        for (let i = 0; i < due; i++) this.sendEvent(this.nextEventText());
        generated += Math.max(0, due);
      }, tickMs);
      this.eventTimer.unref();
    }
  }

  private stopTimers(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    if (this.eventTimer) clearInterval(this.eventTimer);
    this.keepaliveTimer = null;
    this.eventTimer = null;
  }

  private nextEventText(): string {
    this.eventSeq++;
    return `${syslogStamp(new Date())} ${this.opts.name} agent_simulator[${process.pid}]: simulated event ${this.eventSeq}`;
  }

  private keepalivePayload(): Buffer {
    return Buffer.from(keepaliveText({
      uname: this.uname,
      version: this.version,
      agentConfSum: this.agentConfSum,
      labels: this.opts.labels,
      mergedSum: this._mergedSum,
      agentIp: '127.0.0.1',
    }), 'utf8');
  }

  /** Sends a control message that the server ACKs; resolves with the ms until the ACK. timeoutMs 0: nobody waits. */
  private sendControl(payload: Buffer, timeoutMs: number, what = 'keepalive'): Promise<number> {
    const entry: PendingAck = { sentAt: performance.now() };
    const waited = timeoutMs > 0
      ? new Promise<number>((resolve, reject) => {
        entry.resolve = resolve;
        entry.reject = reject;
        entry.timer = setTimeout(() => {
          const i = this.pendingAcks.indexOf(entry);
          if (i >= 0) this.pendingAcks.splice(i, 1);
          reject(new Error(`agent ${this.opts.name}: no ACK to the ${what} within ${timeoutMs} ms`));
        }, timeoutMs);
      })
      : Promise.resolve(0);
    this.expireAcks();
    this.pendingAcks.push(entry);
    if (this.pendingAcks.length > PENDING_ACK_LIMIT) this.settle(this.pendingAcks.shift(), new Error('too many unanswered control messages'));
    if (!this.sendRaw(payload)) {
      const i = this.pendingAcks.indexOf(entry);
      if (i >= 0) this.pendingAcks.splice(i, 1);
      this.settle(entry, new Error(`agent ${this.opts.name} is not connected`));
    }
    return waited;
  }

  /** Unanswered control messages older than the ACK timeout count as lost (UDP), so later ACKs match later messages. */
  private expireAcks(): void {
    const oldest = performance.now() - ACK_TIMEOUT_MS;
    while (this.pendingAcks.length > 0 && (this.pendingAcks[0]?.sentAt ?? Infinity) < oldest) {
      this.settle(this.pendingAcks.shift(), new Error('no ACK'));
    }
  }

  private settle(entry: PendingAck | undefined, outcome: number | Error): void {
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    if (outcome instanceof Error) entry.reject?.(outcome);
    else entry.resolve?.(outcome);
  }

  private sendRaw(payload: Buffer): boolean {
    const link = this.link;
    if (!link || link.closed) return false;
    this.sendOn(link, payload);
    return true;
  }

  private sendOn(link: Link, payload: Buffer): void {
    const key = this.keyMaterial();
    if (this.localCounter >= MAX_LOCAL_COUNTER) {
      this.localCounter = 0;
      this.globalCounter = this.globalCounter >= MAX_GLOBAL_COUNTER ? 0 : this.globalCounter + 1;
    }
    this.localCounter++;
    link.send(encodeSecure(payload, key, this.cipher, { withId: true, global: this.globalCounter, local: this.localCounter }));
    this._counts.sent++;
  }

  private keyMaterial(): AgentKeyMaterial {
    if (!this.material) {
      if (!this.keyLine) throw new Error(`agent ${this.opts.name} has no key`);
      this.material = { id: this.keyLine.id, name: this.keyLine.name, key: this.keyLine.key };
    }
    return this.material;
  }

  private onWire(msg: Buffer): void {
    let payload: Buffer;
    try {
      // Server replies carry no `!id!`; tolerate one anyway.
      const rest = msg[0] === 0x21 ? splitSender(msg).rest : msg;
      payload = decodeSecure(rest, this.keyMaterial()).payload;
    } catch (err) {
      this.noteError(`undecodable message from the server: ${errorText(err)}`);
      return;
    }
    const text = payload.toString('latin1');
    this._counts.received++;
    this._received.push(text);
    if (this._received.length > RECEIVED_LIMIT) this._received.splice(0, this._received.length - RECEIVED_LIMIT);
    this.react(text, payload);
    for (const w of [...this.waiters]) {
      if (!w.pred(text)) continue;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.resolve(text);
    }
  }

  private react(text: string, payload: Buffer): void {
    if (text.startsWith(ACK_TEXT)) {
      this._counts.acks++;
      const entry = this.pendingAcks.shift();
      if (entry) this.settle(entry, performance.now() - entry.sentAt);
    } else if (text.startsWith(ERR_PREFIX)) {
      this.noteError(`server error: ${text}`);
      this.settle(this.pendingAcks.shift(), new Error(`agent ${this.opts.name}: the server answered ${text}`));
    } else if (text.startsWith(UP_PREFIX)) {
      const [md5 = '', name = ''] = text.slice(UP_PREFIX.length).replace(/\n$/, '').split(' ');
      if (this.push) this.noteError(`push of ${this.push.name} abandoned by a new one`);
      this.push = { md5: md5.toLowerCase(), name, parts: [], size: 0 };
    } else if (text.startsWith(CLOSE_PREFIX)) {
      this.closePush();
    } else if (text.startsWith(FORCE_RECONNECT)) {
      void this.reconnect();
    } else if (!text.startsWith(CONTROL_PREFIX) && this.push) {
      this.push.parts.push(Buffer.from(payload));
      this.push.size += payload.length;
      if (this.push.size > MAX_PUSH_BYTES) {
        this.noteError(`push of ${this.push.name} larger than ${MAX_PUSH_BYTES} bytes`);
        this.push = null;
      }
    }
  }

  private closePush(): void {
    const push = this.push;
    this.push = null;
    if (!push) return;
    const content = Buffer.concat(push.parts, push.size);
    const sum = md5hex(content);
    if (sum !== push.md5) {
      this.noteError(`push of ${push.name}: md5 ${sum} does not match the announced ${push.md5}`);
      return;
    }
    this._counts.pushes++;
    if (push.name === MERGED_NAME) {
      this._mergedSum = sum;
      this._mergedContent = content;
      this.agentConfSum = agentConfSumOf(content);
    }
  }

  /** `#!-force_reconnect`: a new connection (or UDP socket) and a new startup. */
  private async reconnect(): Promise<void> {
    if (this.state !== 'running' || this.reconnecting || this.stopping) return;
    this.reconnecting = true;
    this.stopTimers();
    const old = this.link;
    this.link = null;
    old?.destroy();
    try {
      await this.connectAndGreet();
      if (this.stopping) return;
      this._counts.reconnects++;
      this.startTimers();
    } catch (err) {
      this.noteError(`reconnect failed: ${errorText(err)}`);
      // connectAndGreet may have set a link before failing.
      (this.link as Link | null)?.destroy();
      this.link = null;
      this.state = 'stopped';
    } finally {
      this.reconnecting = false;
    }
  }

  private onLost(reason: string): void {
    this.noteError(reason);
    this.stopTimers();
    this.link = null;
    this.push = null;
    if (this.state === 'running') this.state = 'stopped';
    this.failPending(new Error(`agent ${this.opts.name}: ${reason}`));
  }

  private failPending(err: Error): void {
    for (const entry of this.pendingAcks.splice(0)) this.settle(entry, err);
  }

  private noteError(message: string): void {
    this._counts.errors++;
    this._lastError = message;
  }
}
