/**
 * MasterCoordinator: admits authenticated workers (one WorkerSession each), settles
 * name clashes, answers for the cluster's node list, and relays what must reach
 * every worker (manifest notices, registry changes and beacons) to their sessions.
 */
import type { ActorContext, ActorRef, ActorSpec, Reply } from '../../runtime/actor-kit.js';
import type { Logger } from '../../runtime/logger.js';
import type { Intervals } from '../../runtime/config/types.js';
import type { ClusterHealth, NodeInfo, WorkerHealth } from '../../protocols/cluster-messages.js';
import type { RejectCode } from '../../protocols/errors.js';
import type { AdmittedWorker, PeerLink } from '../ports.js';
import { workerSessionSpec, type WorkerSessionDeps, type WorkerSessionMsg } from './worker-session.js';
import type { SyncPort } from './worker-sync.js';
import type { ManifestSnapshot } from '../integrity-scanner.js';
import type { AgentRegistryMsg } from './agent-registry.js';
import type { RegistryPush } from './groups-broadcaster.js';

export type AdmitVerdict = { readonly accept: true } | { readonly accept: false; readonly reject: RejectCode; readonly detail: string };

export type MasterCoordinatorMsg =
  | { readonly kind: 'admit'; readonly worker: NodeInfo; readonly link: PeerLink; readonly reply: Reply<AdmitVerdict> }
  /** `probed`: the link of the session that held the name when the probe left. */
  | { readonly kind: 'probe-result'; readonly alive: boolean; readonly probed: PeerLink; readonly worker: NodeInfo; readonly link: PeerLink; readonly reply: Reply<AdmitVerdict> }
  | { readonly kind: 'link-closed'; readonly name: string; readonly link: PeerLink; readonly reason: string }
  | { readonly kind: 'list-nodes'; readonly reply: Reply<NodeInfo[]> }
  | { readonly kind: 'health'; readonly reply: Reply<ClusterHealth> }
  /** From the master's IntegrityScanner: announce the new manifest to every worker at once. */
  | { readonly kind: 'manifest-changed'; readonly revision: number; readonly digest: string }
  /** From the GroupsBroadcaster: registry changes or the beacon, for every worker. */
  | { readonly kind: 'registry-push'; readonly push: RegistryPush };

interface Session {
  readonly info: NodeInfo;
  readonly link: PeerLink;
  readonly ref: ActorRef<WorkerSessionMsg>;
  readonly since: number;
}

export interface CoordinatorState {
  /** Insertion order is connection order, which `cluster_control -l` keeps. */
  readonly sessions: ReadonlyMap<string, Session>;
  readonly admitted: number;
  readonly refused: number;
}

export interface MasterCoordinatorDeps {
  readonly cluster: string;
  readonly self: NodeInfo;
  readonly integrity: ActorRef<{ readonly kind: 'get-manifest'; readonly reply: Reply<ManifestSnapshot> }>;
  readonly registry: ActorRef<Extract<AgentRegistryMsg, { kind: 'enrol' | 'command' | 'catchup' }>>;
  readonly agentInfo: WorkerSessionDeps['agentInfo'];
  readonly sync: SyncPort;
  readonly intervals: Intervals;
  readonly log: Logger;
  /** The links the transport has welcomed and still holds open: the source of truth on restart. */
  readonly openLinks: () => readonly AdmittedWorker[];
  /** How long a live session gets to answer a ping before a same-name newcomer replaces it. */
  readonly probeTimeoutMs: number;
}

export function masterCoordinatorSpec(deps: MasterCoordinatorDeps): ActorSpec<CoordinatorState, MasterCoordinatorMsg> {
  const open = (ctx: ActorContext<MasterCoordinatorMsg>, sessions: Map<string, Session>, w: AdmittedWorker): void => {
    const ref = ctx.spawn(workerSessionSpec({
      info: w.info, link: w.link, intervals: deps.intervals, log: deps.log, coordinator: ctx.self, integrity: deps.integrity, registry: deps.registry, agentInfo: deps.agentInfo, sync: deps.sync,
    }));
    sessions.set(w.info.name, { info: w.info, link: w.link, ref, since: ctx.now() });
  };

  const accept = (ctx: ActorContext<MasterCoordinatorMsg>, s: CoordinatorState, worker: NodeInfo, link: PeerLink, reply: Reply<AdmitVerdict>): CoordinatorState => {
    const sessions = new Map(s.sessions);
    open(ctx, sessions, { info: worker, link });
    deps.log.tagged(`Worker ${worker.name}`).info(`Worker ${worker.name} connected from ${worker.address} (clusterd ${worker.version}).`);
    reply.ok({ accept: true });
    return { ...s, sessions, admitted: s.admitted + 1 };
  };

  const refuse = (s: CoordinatorState, reply: Reply<AdmitVerdict>, reject: RejectCode, detail: string): CoordinatorState => {
    reply.ok({ accept: false, reject, detail });
    return { ...s, refused: s.refused + 1 };
  };

  // A worker reconnecting after a crash must not be locked out by its own stale
  // session: only a session that still answers keeps the name.
  const admitOrProbe = (ctx: ActorContext<MasterCoordinatorMsg>, s: CoordinatorState, worker: NodeInfo, link: PeerLink, reply: Reply<AdmitVerdict>): CoordinatorState => {
    const existing = s.sessions.get(worker.name);
    if (!existing) return accept(ctx, s, worker, link, reply);
    const probed = existing.link;
    ctx.pipe(
      probed.request('ping', {}, deps.probeTimeoutMs),
      () => ({ kind: 'probe-result', alive: true, probed, worker, link, reply }),
      () => ({ kind: 'probe-result', alive: false, probed, worker, link, reply }),
    );
    return s;
  };

  const askMs = deps.intervals.communication.timeout_cluster_request * 1000;
  const health = (s: CoordinatorState, reply: Reply<ClusterHealth>): void => {
    const workers = Promise.all([...s.sessions.values()].map((x) => x.ref.ask<WorkerHealth>((r) => ({ kind: 'health', reply: r }), askMs)));
    const integrity = deps.integrity.ask<ManifestSnapshot>((r) => ({ kind: 'get-manifest', reply: r }), askMs)
      .then((m) => ({ revision: m.revision, files: m.manifest.size, digest: m.digest }), () => null);
    Promise.all([workers, integrity]).then(
      ([w, i]) => reply.ok({ cluster: deps.cluster, master: deps.self, integrity: i, workers: w }),
      (err: Error) => reply.fail(err.message),
    );
  };

  return {
    name: 'master-coordinator',
    init: (ctx) => {
      const sessions = new Map<string, Session>();
      for (const w of deps.openLinks()) open(ctx, sessions, w);
      return { sessions, admitted: sessions.size, refused: 0 };
    },
    receive: (s, msg, ctx) => {
      switch (msg.kind) {
        case 'admit':
          return admitOrProbe(ctx, s, msg.worker, msg.link, msg.reply);
        case 'probe-result': {
          const existing = s.sessions.get(msg.worker.name);
          // Another newcomer took the name while this probe was out: that session is probed in turn.
          if (existing && existing.link !== msg.probed) return admitOrProbe(ctx, s, msg.worker, msg.link, msg.reply);
          if (existing && msg.alive) {
            return refuse(s, msg.reply, 'duplicate-name', `${msg.worker.name} (connected from ${existing.info.address})`);
          }
          const sessions = new Map(s.sessions);
          if (existing) {
            deps.log.tagged(`Worker ${msg.worker.name}`).warning('Previous session did not answer; replacing it with the new connection.');
            sessions.delete(msg.worker.name);
            ctx.stop(existing.ref);
            existing.link.close('replaced by a new connection of the same node');
          }
          return accept(ctx, { ...s, sessions }, msg.worker, msg.link, msg.reply);
        }
        case 'link-closed': {
          const current = s.sessions.get(msg.name);
          if (!current || current.link !== msg.link) return s;
          deps.log.tagged(`Worker ${msg.name}`).info(`Disconnected ${msg.name}: ${msg.reason}.`);
          ctx.stop(current.ref);
          const sessions = new Map(s.sessions);
          sessions.delete(msg.name);
          return { ...s, sessions };
        }
        case 'list-nodes':
          msg.reply.ok([deps.self, ...[...s.sessions.values()].map((x) => x.info)]);
          return s;
        case 'health':
          health(s, msg.reply);
          return s;
        case 'manifest-changed':
          for (const session of s.sessions.values()) session.ref.tell({ kind: 'notify', revision: msg.revision, digest: msg.digest });
          return s;
        case 'registry-push':
          for (const session of s.sessions.values()) session.ref.tell(msg.push);
          return s;
      }
    },
    summary: (s) => ({ workers: s.sessions.size, admitted: s.admitted, refused: s.refused }),
  };
}

