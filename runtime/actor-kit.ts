/**
 * A small typed layer over nact 7.6.2. Actor files import this, never nact.
 *
 * What it adds to nact (see reference/aesthetics-ecosystem.md §A):
 * - typed refs, and `ask` with replies carried inside the message;
 * - one supervision policy for every actor: restart with exponential backoff,
 *   count restarts, escalate to the parent after N restarts in a window; the root
 *   supervisor gives up by calling `onGiveUp` (the process exits and its own
 *   supervisor, systemd or the lab, restarts it). nact's console default is never used;
 * - `init` runs again on every restart, so an actor reloads its state from its
 *   source of truth instead of losing it (nact's `reset` discards state);
 * - timers and async work scoped to the actor: cancelled when it restarts or stops;
 * - one injectable clock (`SystemOptions.clock`, `ctx.now()`) for timers, backoff,
 *   ask timeouts and timestamps; the system clock unless a test passes its own;
 * - a registry with per-actor figures for the inspector.
 */
import { createRequire } from 'node:module';
import { systemClock, sleepOn, type Clock, type ClockTimer } from './clock.js';

// nact's own typings are wrong in several places; this is the part we use, as it behaves.
interface NactRef { readonly path?: { toString(): string } }
interface NactContext { readonly self: NactRef; readonly path: { toString(): string }; readonly name: string }
interface NactSupervision extends NactContext {
  readonly reset: symbol; readonly stop: symbol; readonly escalate: symbol;
}
type NactHandler = (state: unknown, msg: unknown, ctx: NactContext) => unknown;
type NactOnCrash = (msg: unknown, err: unknown, ctx: NactSupervision, child?: NactRef) => Promise<symbol>;
interface NactApi {
  start(opts: { name: string }): NactRef;
  spawn(parent: NactRef, f: NactHandler, name: string, props: {
    initialStateFunc: (ctx: NactContext) => unknown;
    onCrash: NactOnCrash;
    afterStop: () => void;
  }): NactRef;
  dispatch(ref: NactRef, msg: unknown): void;
  query(ref: NactRef, factory: (temp: NactRef) => unknown, timeoutMs: number): Promise<unknown>;
  stop(ref: NactRef): void;
}
const nact = createRequire(import.meta.url)('nact') as NactApi;

export interface SupervisionPolicy {
  /** Restarts allowed inside `windowMs` before the failure escalates to the parent. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
}

export const DEFAULT_POLICY: SupervisionPolicy = {
  maxRestarts: 5, windowMs: 60_000, backoffInitialMs: 50, backoffMaxMs: 5_000,
};

/** Backoff before restart number `n` (1-based) of the current window. */
export function backoffMs(policy: SupervisionPolicy, n: number): number {
  return Math.min(policy.backoffMaxMs, policy.backoffInitialMs * 2 ** Math.max(0, n - 1));
}

/** Restart times still inside the window ending at `now`, plus `now`. */
export function recordRestart(times: readonly number[], now: number, windowMs: number): number[] {
  return [...times.filter((t) => now - t < windowMs), now];
}

declare const messageBrand: unique symbol;
export interface ActorRef<M> {
  readonly path: string;
  tell(msg: M): void;
  /**
   * Asks and waits for the reply, which travels inside the message. A crash or a
   * stopped actor surfaces as a timeout (nact never tells the caller).
   */
  ask<T>(make: (reply: Reply<T>) => M, timeoutMs: number): Promise<T>;
  /** Messages queued and not yet handled. */
  readonly depth: number;
  /** Phantom: keeps ActorRef<A> from being assignable to ActorRef<B>. */
  readonly [messageBrand]?: (m: M) => void;
}

export interface Reply<T> {
  ok(value: T): void;
  fail(reason: string): void;
}

export interface Cancel { cancel(): void }

export type SummaryValue = string | number | boolean | null;
export type Summary = Readonly<Record<string, SummaryValue>>;

export interface ActorContext<M> {
  readonly self: ActorRef<M>;
  readonly path: string;
  spawn<CS, CM>(spec: ActorSpec<CS, CM>): ActorRef<CM>;
  stop(child: ActorRef<never>): void;
  /** The system's clock: milliseconds since the epoch, as Date.now(). */
  now(): number;
  /** Sends `msg` to self after `ms`, unless this incarnation ends first. */
  after(ms: number, msg: M): Cancel;
  every(ms: number, msg: M): Cancel;
  /** Runs async work outside the handler and tells self its outcome. */
  pipe<T>(work: Promise<T>, ok: (value: T) => M, fail: (err: Error) => M): void;
}

export interface ActorSpec<S, M> {
  readonly name: string;
  /** Builds the state from its source of truth; runs at start and on every restart. */
  init(ctx: ActorContext<M>): S;
  receive(state: S, msg: M, ctx: ActorContext<M>): S | Promise<S>;
  summary?(state: S): Summary;
  readonly policy?: Partial<SupervisionPolicy>;
}

export type ActorStatus = 'running' | 'restarting' | 'stopped';

export interface ActorFigures {
  readonly path: string;
  readonly parent: string | null;
  readonly name: string;
  readonly status: ActorStatus;
  readonly handled: number;
  readonly mailbox: number;
  readonly restarts: number;
  readonly lastError: { readonly message: string; readonly at: string } | null;
  readonly summary: Summary;
}

interface Entry {
  readonly path: string;
  readonly parent: string | null;
  readonly name: string;
  ref: NactRef;
  readonly policy: SupervisionPolicy;
  summarize(): Summary;
  status: ActorStatus;
  handled: number;
  depth: number;
  restarts: number;
  windowRestarts: number[];
  lastError: { message: string; at: string } | null;
  timers: Set<ClockTimer>;
  incarnation: number;
}

const UNSPAWNED: NactRef = {};
const FAULT = Symbol('injected-fault');
interface InjectedFault { readonly [FAULT]: true }
const isFault = (m: unknown): m is InjectedFault => typeof m === 'object' && m !== null && FAULT in m;

/** Thrown inside an actor by `ActorSystem.injectFault` (test-only control command). */
export class InjectedFaultError extends Error {
  constructor(path: string) {
    super(`fault injected into ${path}`);
    this.name = 'InjectedFaultError';
  }
}

export interface SystemOptions {
  readonly name: string;
  readonly policy?: Partial<SupervisionPolicy>;
  /** Called once a failure escalates past the root supervisor. */
  readonly onGiveUp: (err: Error) => void;
  /** Told about every crash and restart decision, for logs. */
  readonly onCrash?: (path: string, err: Error, decision: 'restart' | 'escalate' | 'give-up') => void;
  /** Time and timers for the whole tree; the system clock unless a test passes its own. */
  readonly clock?: Clock;
}

let systemSeq = 0;

export class ActorSystem {
  private readonly entries = new Map<string, Entry>();
  private readonly topLevel: ActorSpec<unknown, never>[] = [];
  private readonly nactSystem: NactRef;
  private readonly root: Entry;
  private readonly clock: Clock;
  private stopped = false;

  constructor(private readonly opts: SystemOptions) {
    this.clock = opts.clock ?? systemClock;
    // nact keeps systems in a process-global map keyed by name: make names unique.
    this.nactSystem = nact.start({ name: `${opts.name}-${process.pid}-${++systemSeq}` });
    const rootSpec: ActorSpec<null, never> = {
      name: 'node',
      // A restart of the root restarts the whole tree: spawn every top-level actor again.
      init: (ctx) => {
        for (const spec of this.topLevel) ctx.spawn(spec);
        return null;
      },
      receive: (s) => s,
      summary: () => ({ node: opts.name }),
      ...(opts.policy ? { policy: opts.policy } : {}),
    };
    this.root = this.spawnEntry(this.nactSystem, null, rootSpec);
  }

  /** Spawns a top-level actor under the root supervisor. */
  spawn<S, M>(spec: ActorSpec<S, M>): ActorRef<M> {
    const ref = this.refFor<M>(this.spawnEntry(this.root.ref, this.root, spec));
    this.topLevel.push(spec as unknown as ActorSpec<unknown, never>);
    return ref;
  }

  figures(): ActorFigures[] {
    return [...this.entries.values()].map((e) => ({
      path: e.path, parent: e.parent, name: e.name, status: e.status, handled: e.handled,
      mailbox: e.depth, restarts: e.restarts, lastError: e.lastError, summary: safeSummary(e),
    }));
  }

  /** Makes the actor at `path` throw while handling its next message. */
  injectFault(path: string): boolean {
    const e = this.entries.get(path);
    if (!e || e.status === 'stopped') return false;
    const fault: InjectedFault = { [FAULT]: true };
    e.depth++;
    nact.dispatch(e.ref, fault);
    return true;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const e of this.entries.values()) this.retire(e);
    nact.stop(this.nactSystem);
  }

  private spawnEntry<S, M>(parentRef: NactRef, parent: Entry | null, spec: ActorSpec<S, M>): Entry {
    const path = parent ? `${parent.path}/${spec.name}` : spec.name;
    if (this.entries.has(path)) throw new Error(`actor ${path} already exists`);
    let state: S | undefined;
    const entry: Entry = {
      path, parent: parent?.path ?? null, name: spec.name, ref: UNSPAWNED,
      policy: { ...DEFAULT_POLICY, ...this.opts.policy, ...spec.policy },
      summarize: () => (spec.summary && state !== undefined ? spec.summary(state) : {}),
      status: 'running', handled: 0, depth: 0, restarts: 0, windowRestarts: [], lastError: null,
      timers: new Set(), incarnation: 0,
    };
    this.entries.set(path, entry);
    const handler: NactHandler = async (prev, msg) => {
      entry.depth = Math.max(0, entry.depth - 1);
      entry.handled++;
      if (isFault(msg)) throw new InjectedFaultError(entry.path);
      state = await spec.receive(prev as S, msg as M, this.contextFor<M>(entry));
      return state;
    };
    try {
      nact.spawn(parentRef, handler, spec.name, {
        // Runs inside nact's constructor (and again on every reset): the ref exists only here.
        initialStateFunc: (nctx) => {
          entry.ref = nctx.self;
          state = spec.init(this.contextFor<M>(entry));
          return state;
        },
        onCrash: (_msg, err, ctx, child) => this.onCrash(entry, toError(err), ctx, child),
        afterStop: () => this.retire(entry),
      });
    } catch (err) {
      this.entries.delete(path);
      throw err;
    }
    return entry;
  }

  private async onCrash(e: Entry, err: Error, ctx: NactSupervision, child?: NactRef): Promise<symbol> {
    try {
      const failure = child ? new Error(`child ${child.path?.toString() ?? '?'} gave up: ${err.message}`) : err;
      const now = this.clock.now();
      e.lastError = { message: failure.message, at: new Date(now).toISOString() };
      e.windowRestarts = recordRestart(e.windowRestarts, now, e.policy.windowMs);
      if (e.windowRestarts.length > e.policy.maxRestarts) return this.escalate(e, failure, ctx);
      this.opts.onCrash?.(e.path, failure, 'restart');
      e.status = 'restarting';
      this.clearTimers(e);
      await sleepOn(this.clock, backoffMs(e.policy, e.windowRestarts.length));
      e.restarts++;
      e.incarnation++;
      e.status = 'running';
      // nact's reset stops the children and lets init spawn them again at once.
      this.retireDescendants(e);
      return ctx.reset;
    } catch {
      return ctx.stop;
    }
  }

  private escalate(e: Entry, err: Error, ctx: NactSupervision): symbol {
    if (e === this.root) {
      this.opts.onCrash?.(e.path, err, 'give-up');
      this.opts.onGiveUp(err);
      return ctx.stop;
    }
    this.opts.onCrash?.(e.path, err, 'escalate');
    e.windowRestarts = [];
    return ctx.escalate;
  }

  private contextFor<M>(e: Entry): ActorContext<M> {
    const incarnation = e.incarnation;
    const live = (): boolean => e.incarnation === incarnation && e.status !== 'stopped';
    const clock = this.clock;
    const timer = (t: ClockTimer): Cancel => {
      e.timers.add(t);
      return { cancel: () => { clock.clearTimer(t); e.timers.delete(t); } };
    };
    const self = this.refFor<M>(e);
    return {
      self,
      path: e.path,
      now: () => clock.now(),
      spawn: <CS, CM>(spec: ActorSpec<CS, CM>) => this.refFor<CM>(this.spawnEntry(e.ref, e, spec)),
      stop: (child) => {
        const c = this.entries.get(child.path);
        if (!c) return;
        this.retireDescendants(c);
        this.retire(c);
        nact.stop(c.ref);
      },
      after: (ms, msg) => {
        const t = clock.setTimeout(() => { e.timers.delete(t); if (live()) self.tell(msg); }, ms);
        return timer(t);
      },
      every: (ms, msg) => timer(clock.setInterval(() => { if (live()) self.tell(msg); }, ms)),
      pipe: (work, ok, fail) => {
        work.then((v) => ok(v), (err: unknown) => fail(toError(err))).then((m) => self.tell(m), () => undefined);
      },
    };
  }

  /** Refs resolve by path at send time, so they stay valid across restarts. */
  private refFor<M>(e: Entry): ActorRef<M> {
    const { path } = e;
    const entries = this.entries;
    const clock = this.clock;
    const tell = (msg: M): void => {
      const cur = entries.get(path);
      if (!cur || cur.status === 'stopped' || cur.ref === UNSPAWNED) return;
      cur.depth++;
      nact.dispatch(cur.ref, msg);
    };
    return {
      path,
      tell,
      ask: (make, timeoutMs) => askVia(clock, path, tell, make, timeoutMs),
      get depth() { return entries.get(path)?.depth ?? 0; },
    };
  }

  private clearTimers(e: Entry): void {
    for (const t of e.timers) this.clock.clearTimer(t);
    e.timers.clear();
  }

  private retire(e: Entry): void {
    this.clearTimers(e);
    e.status = 'stopped';
    e.depth = 0;
    if (this.entries.get(e.path) === e) this.entries.delete(e.path);
  }

  private retireDescendants(e: Entry): void {
    for (const d of [...this.entries.values()]) if (d.path.startsWith(`${e.path}/`)) this.retire(d);
  }
}

async function askVia<M, T>(clock: Clock, path: string, tell: (m: M) => void, make: (reply: Reply<T>) => M, timeoutMs: number): Promise<T> {
  type Answer = { ok: true; value: T } | { ok: false; reason: string };
  let settle: ((a: Answer) => void) | undefined;
  const answered = new Promise<Answer>((resolve) => { settle = resolve; });
  tell(make({ ok: (value) => settle?.({ ok: true, value }), fail: (reason) => settle?.({ ok: false, reason }) }));
  let timer: ClockTimer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new Error(`no answer from ${path} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const a = await Promise.race([answered, timeout]);
    if (!a.ok) throw new Error(a.reason);
    return a.value;
  } finally {
    if (timer) clock.clearTimer(timer);
  }
}

function safeSummary(e: Entry): Summary {
  try {
    return e.summarize();
  } catch (err) {
    return { summaryError: toError(err).message };
  }
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
