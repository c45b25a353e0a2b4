/**
 * Node-wide events for consumers outside the actor tree (event processing reloads
 * its ruleset on `ruleset-changed`).
 */
import { EventEmitter } from 'node:events';

export interface NodeEventMap {
  'ruleset-changed': [paths: readonly string[]];
}

export class NodeEvents extends EventEmitter<NodeEventMap> {}
