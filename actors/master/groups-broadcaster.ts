/**
 * GroupsBroadcaster (master): hands every committed registry change (keys and
 * groups, in revision order) to every worker session as it happens, and every
 * sync_agent_groups sends the beacon (revision + checksum) that lets a worker notice
 * what it missed. Wazuh broadcasts its whole delta every 10 s; here the push is
 * immediate and the beacon only repairs.
 */
import type { ActorRef, ActorSpec, Reply } from '../../runtime/actor-kit.js';
import type { Logger } from '../../runtime/logger.js';
import { REGISTRY_BATCH, type RevisedChange } from '../../protocols/registry.js';
import type { Beacon } from './agent-registry.js';

/** What a worker session takes from the broadcaster. */
export type RegistryPush =
  | { readonly kind: 'push-registry'; readonly changes: readonly RevisedChange[] }
  | { readonly kind: 'push-beacon'; readonly beacon: Beacon };

export type GroupsBroadcasterMsg =
  | { readonly kind: 'committed'; readonly changes: readonly RevisedChange[] }
  | { readonly kind: 'beacon-tick' }
  | { readonly kind: 'beacon-ready'; readonly beacon: Beacon }
  | { readonly kind: 'beacon-failed'; readonly error: Error };

interface State {
  readonly revision: number;
  readonly pushed: number;
  readonly beacons: number;
}

export interface GroupsBroadcasterDeps {
  readonly log: Logger;
  readonly beaconSeconds: number;
  readonly askMs: number;
  readonly registry: ActorRef<{ readonly kind: 'beacon'; readonly reply: Reply<Beacon> }>;
  /** Hands a push to every connected worker's session (the MasterCoordinator knows them). */
  readonly fanOut: (push: RegistryPush) => void;
}

export function groupsBroadcasterSpec(deps: GroupsBroadcasterDeps): ActorSpec<State, GroupsBroadcasterMsg> {
  const log = deps.log.task('Agent-groups send');
  const askBeacon = (): Promise<Beacon> => deps.registry.ask<Beacon>((reply) => ({ kind: 'beacon', reply }), deps.askMs);
  return {
    name: 'groups-broadcaster',
    init: (ctx) => {
      ctx.every(deps.beaconSeconds * 1000, { kind: 'beacon-tick' });
      return { revision: 0, pushed: 0, beacons: 0 };
    },
    receive: (s, msg, ctx) => {
      switch (msg.kind) {
        case 'committed': {
          for (let i = 0; i < msg.changes.length; i += REGISTRY_BATCH) {
            const changes = msg.changes.slice(i, i + REGISTRY_BATCH);
            deps.fanOut({ kind: 'push-registry', changes });
          }
          const revision = msg.changes[msg.changes.length - 1]?.rev ?? s.revision;
          log.debug(`Pushed ${msg.changes.length} changes (revision ${revision}).`);
          return { ...s, revision, pushed: s.pushed + msg.changes.length };
        }
        case 'beacon-tick':
          ctx.pipe(askBeacon(), (beacon) => ({ kind: 'beacon-ready', beacon }), (error) => ({ kind: 'beacon-failed', error }));
          return s;
        case 'beacon-ready':
          deps.fanOut({ kind: 'push-beacon', beacon: msg.beacon });
          log.debug(`Beacon sent: revision ${msg.beacon.revision}, checksum ${msg.beacon.checksum}.`);
          return { ...s, revision: msg.beacon.revision, beacons: s.beacons + 1 };
        case 'beacon-failed':
          log.warning(`No beacon this time: ${msg.error.message}`);
          return s;
      }
    },
    summary: (s) => ({ revision: s.revision, pushed: s.pushed, beacons: s.beacons }),
  };
}
