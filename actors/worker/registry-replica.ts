/**
 * RegistryReplica (worker): keeps the local replica of the master's registry
 * (agents, keys, groups) by replaying the master's changes strictly in revision
 * order. A change that does not follow the replica's revision is held back and the
 * missing ones are fetched first, so a group assignment is never applied before the
 * agent it names. On connect, on a gap, and when the beacon shows the master ahead,
 * it catches up from its own revision; when the log no longer reaches back, or the
 * checksums differ at the same revision, it takes a full snapshot.
 */
import type { ActorContext, ActorSpec, Cancel, Reply } from '../../runtime/actor-kit.js';
import type { Logger } from '../../runtime/logger.js';
import type { ClusterBody, ClusterFrame } from '../../protocols/cluster-messages.js';
import { REGISTRY_BATCH, type AgentRecord, type RegistrySnapshotPart, type RevisedChange } from '../../protocols/registry.js';
import type { PeerLink } from '../ports.js';
import type { RegistryAgent } from '../master/registry-rules.js';

export interface ReplicaStore {
  readonly revision: number;
  /** Applies changes that continue the revision exactly, in one transaction. */
  replay(changes: readonly RevisedChange[]): number;
  replaceAll(revision: number, groups: readonly string[], agents: readonly AgentRecord[]): void;
  checksum(): string;
  agentById(id: number): RegistryAgent | undefined;
}

export type RegistryFrame = Extract<ClusterFrame, { type: 'registry-changes' | 'registry-beacon' | 'registry-snapshot' }>;

export interface ReplicaStatus {
  readonly revision: number;
  readonly catchingUp: boolean;
  readonly held: number;
}

export type ReplicaMsg =
  | { readonly kind: 'link-up'; readonly link: PeerLink }
  | { readonly kind: 'link-down' }
  | { readonly kind: 'frame'; readonly frame: RegistryFrame }
  | { readonly kind: 'catchup-reply'; readonly frame: ClusterFrame; readonly full: boolean }
  | { readonly kind: 'catchup-failed'; readonly error: Error }
  /** Answers true once the replica holds `revision` (false after `timeoutMs`). */
  | { readonly kind: 'wait-for'; readonly revision: number; readonly timeoutMs: number; readonly reply: Reply<boolean> }
  | { readonly kind: 'wait-expired'; readonly waiter: Waiter }
  | { readonly kind: 'status'; readonly reply: Reply<ReplicaStatus> };

interface Waiter {
  readonly revision: number;
  readonly reply: Reply<boolean>;
  timer: Cancel | null;
}

interface State {
  readonly link: PeerLink | null;
  /** A catch-up or snapshot is on its way: pushes wait in `held`. */
  readonly catchingUp: boolean;
  readonly held: readonly RevisedChange[];
  readonly snapshot: readonly RegistrySnapshotPart[];
  readonly waiters: readonly Waiter[];
  readonly applied: number;
  readonly snapshots: number;
}

export interface ReplicaDeps {
  readonly store: ReplicaStore;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  /** Agents the replica just removed: their connections here are closed. */
  readonly onRemoved: (ids: readonly number[]) => void;
}

export function registryReplicaSpec(deps: ReplicaDeps): ActorSpec<State, ReplicaMsg> {
  const { store } = deps;
  const log = deps.log.task('Agent-groups recv');

  const catchUp = (ctx: ActorContext<ReplicaMsg>, s: State, full: boolean, why: string): State => {
    if (!s.link || s.link.closed) return { ...s, catchingUp: false };
    log.debug(`Catching up from revision ${store.revision}${full ? ' with a full snapshot' : ''}: ${why}.`);
    ctx.pipe(s.link.request('registry-catchup', { since: store.revision, full }, deps.requestTimeoutMs),
      (frame) => ({ kind: 'catchup-reply', frame, full }), (error) => ({ kind: 'catchup-failed', error }));
    return { ...s, catchingUp: true, snapshot: [] };
  };

  /** Applies what continues the revision; returns the rest and whether a gap was found. */
  const apply = (changes: readonly RevisedChange[]): { gap: boolean; rest: RevisedChange[]; applied: number } => {
    const fresh = [...changes].filter((c) => c.rev > store.revision).sort((a, b) => a.rev - b.rev);
    let run = 0;
    while (run < fresh.length && fresh[run]?.rev === store.revision + run + 1) run += 1;
    const applied = run > 0 ? store.replay(fresh.slice(0, run)) : 0;
    const removed = fresh.slice(0, run).flatMap(({ change }) => (change.op === 'agent-removed' ? [change.id] : []));
    if (removed.length > 0) deps.onRemoved(removed);
    const rest = fresh.slice(run);
    return { gap: rest.length > 0, rest, applied };
  };

  const settle = (s: State): State => {
    const waiters = s.waiters.filter((w) => {
      if (w.revision > store.revision) return true;
      w.timer?.cancel();
      w.reply.ok(true);
      return false;
    });
    return waiters.length === s.waiters.length ? s : { ...s, waiters };
  };

  const onChanges = (ctx: ActorContext<ReplicaMsg>, s: State, changes: readonly RevisedChange[]): State => {
    if (s.catchingUp) return { ...s, held: [...s.held, ...changes] };
    try {
      const { gap, rest, applied } = apply(changes);
      const next = settle({ ...s, applied: s.applied + applied });
      return gap ? catchUp(ctx, { ...next, held: rest }, false, `change ${rest[0]?.rev} does not follow revision ${store.revision}`) : next;
    } catch (err) {
      log.error(`Could not apply the master's changes: ${(err as Error).message}. Asking for a full snapshot.`);
      return catchUp(ctx, s, true, 'the replica refused a change');
    }
  };

  /** After a catch-up: what was held back while it ran. */
  const resume = (ctx: ActorContext<ReplicaMsg>, s: State): State => {
    const held = s.held;
    return held.length === 0 ? settle({ ...s, catchingUp: false }) : onChanges(ctx, { ...s, catchingUp: false, held: [] }, held);
  };

  const onCatchupReply = (ctx: ActorContext<ReplicaMsg>, s: State, frame: ClusterFrame, full: boolean): State => {
    if (frame.type === 'registry-changes') {
      try {
        const { gap, applied } = apply(frame.body.changes);
        if (gap) return catchUp(ctx, s, true, 'the catch-up did not continue the revision');
        const next = { ...s, applied: s.applied + applied };
        if (frame.body.changes.length >= REGISTRY_BATCH) return catchUp(ctx, next, false, 'more changes follow');
        if (applied > 0) log.info(`Caught up: ${applied} changes applied, revision ${store.revision}.`);
        return resume(ctx, next);
      } catch (err) {
        log.error(`Could not apply the catch-up: ${(err as Error).message}. Asking for a full snapshot.`);
        return catchUp(ctx, s, true, 'the replica refused a change');
      }
    }
    if (frame.type === 'registry-snapshot-follows') {
      log.info(`Receiving a full snapshot: ${frame.body.agents} agents in ${frame.body.parts} parts (revision ${frame.body.revision}).`);
      return maybeSwap(ctx, s);
    }
    log.error(`Unexpected '${frame.type}' answer to a catch-up${full ? ' (full)' : ''}.`);
    return { ...s, catchingUp: false };
  };

  const onSnapshotPart = (ctx: ActorContext<ReplicaMsg>, s: State, part: ClusterBody<'registry-snapshot'>): State =>
    maybeSwap(ctx, { ...s, snapshot: [...s.snapshot, part] });

  /** The parts may overtake the catch-up's reply; the replica swaps once the last part is in. */
  const maybeSwap = (ctx: ActorContext<ReplicaMsg>, s: State): State => {
    const last = s.snapshot.find((p) => p.last);
    if (!last || s.snapshot.length < last.part + 1) return s;
    const parts = [...s.snapshot].filter((p) => p.revision === last.revision).sort((a, b) => a.part - b.part);
    if (parts.length !== last.part + 1) {
      log.error('Incomplete snapshot received; asking again.');
      return catchUp(ctx, { ...s, snapshot: [] }, true, 'incomplete snapshot');
    }
    const started = ctx.now();
    const agents = parts.flatMap((p) => p.agents);
    store.replaceAll(last.revision, parts[0]?.groups ?? [], agents);
    log.info(`Full snapshot applied: ${agents.length} agents, revision ${last.revision}, in ${((ctx.now() - started) / 1000).toFixed(3)}s.`);
    return resume(ctx, { ...s, snapshot: [], snapshots: s.snapshots + 1 });
  };

  const onBeacon = (ctx: ActorContext<ReplicaMsg>, s: State, body: ClusterBody<'registry-beacon'>): State => {
    if (s.catchingUp) return s;
    if (body.revision > store.revision) return catchUp(ctx, s, false, `the master is at revision ${body.revision}`);
    if (body.revision < store.revision) return catchUp(ctx, s, true, `the master's revision ${body.revision} is behind the replica's`);
    const mine = store.checksum();
    if (mine === body.checksum) {
      log.debug('The checksum of both databases match.');
      return s;
    }
    log.info(`The checksum of master (${body.checksum}) and worker (${mine}) are different at revision ${body.revision}. Sent request to obtain all agent-groups information from the master node.`);
    return catchUp(ctx, s, true, 'checksum mismatch');
  };

  return {
    name: 'registry-replica',
    init: () => ({ link: null, catchingUp: false, held: [], snapshot: [], waiters: [], applied: 0, snapshots: 0 }),
    receive: (s, msg, ctx) => {
      switch (msg.kind) {
        case 'link-up':
          return catchUp(ctx, { ...s, link: msg.link, held: [], snapshot: [] }, false, 'connected');
        case 'link-down':
          return { ...s, link: null, catchingUp: false, held: [], snapshot: [] };
        case 'frame':
          switch (msg.frame.type) {
            case 'registry-changes': return onChanges(ctx, s, msg.frame.body.changes);
            case 'registry-beacon': return onBeacon(ctx, s, msg.frame.body);
            case 'registry-snapshot': return onSnapshotPart(ctx, s, msg.frame.body);
          }
          return s;
        case 'catchup-reply':
          return onCatchupReply(ctx, s, msg.frame, msg.full);
        case 'catchup-failed':
          log.error(`Catch-up failed: ${msg.error.message}. The next beacon or reconnection retries.`);
          return { ...s, catchingUp: false, held: [] };
        case 'wait-for': {
          if (msg.revision <= store.revision) {
            msg.reply.ok(true);
            return s;
          }
          const waiter: Waiter = { revision: msg.revision, reply: msg.reply, timer: null };
          waiter.timer = ctx.after(msg.timeoutMs, { kind: 'wait-expired', waiter });
          return { ...s, waiters: [...s.waiters, waiter] };
        }
        case 'wait-expired':
          if (!s.waiters.includes(msg.waiter)) return s;
          msg.waiter.reply.ok(false);
          return { ...s, waiters: s.waiters.filter((w) => w !== msg.waiter) };
        case 'status':
          msg.reply.ok({ revision: store.revision, catchingUp: s.catchingUp, held: s.held.length });
          return s;
      }
    },
    summary: (s) => ({ revision: store.revision, catchingUp: s.catchingUp, held: s.held.length, applied: s.applied, snapshots: s.snapshots, linked: s.link !== null }),
  };
}
