/**
 * Answers to the control socket's requests (cluster_control, manage_agents,
 * agent_groups, the actor inspector), from the node's role and services.
 */
import type { ActorSystem } from '../runtime/actor-kit.js';
import type { NodeConfig } from '../runtime/config/types.js';
import type { ControlAnswer } from '../runtime/control/control-server.js';
import type { AgentService } from '../runtime/agents/agent-service.js';
import type { ControlFrame } from '../protocols/control-messages.js';
import type { NodeStatus } from '../protocols/node-status.js';
import type { ManifestSnapshot } from '../actors/integrity-scanner.js';
import { CLUSTERD_VERSION } from '../protocols/version.js';
import type { Role } from './role.js';

/** What a running node answers from. */
export interface ControlContext {
  readonly config: NodeConfig;
  readonly system: ActorSystem;
  readonly askMs: number;
  readonly role: Role;
  readonly agentService: AgentService | null;
}

export async function answerControl(req: ControlFrame, node: ControlContext): Promise<ControlAnswer> {
  const { config, system, role } = node;
  switch (req.type) {
    case 'list-nodes':
      return { type: 'nodes', body: { nodes: await role.listNodes() } };
    case 'get-health':
      return { type: 'health', body: { health: await role.health() } };
    case 'list-actors':
      return { type: 'actors', body: { node: config.cluster.nodeName, actors: system.figures().map((f) => ({ ...f, summary: { ...f.summary } })) } };
    case 'get-status':
      return { type: 'status', body: { status: await nodeStatus(node) } };
    case 'registry':
      return { type: 'registry-result', body: { outcome: await role.registryCommand(req.body.command) } };
    case 'get-agent-service':
      return agentServiceFigures(node.agentService);
    case 'crash-actor':
      if (!config.faultInjection) return { type: 'error', body: { code: 'forbidden', message: 'fault injection is disabled on this node (set "fault_injection": true in etc/cluster.json)' } };
      return system.injectFault(req.body.path)
        ? { type: 'done', body: { detail: `fault injected into ${req.body.path}` } }
        : { type: 'error', body: { code: 'unknown-actor', message: `no running actor at ${req.body.path}` } };
    default:
      return { type: 'error', body: { code: 'unexpected', message: `'${req.type}' is not a request` } };
  }
}

function agentServiceFigures(service: AgentService | null): ControlAnswer {
  if (!service) return { type: 'error', body: { code: 'disabled', message: 'no agent service on this node' } };
  const { tcp, udpPeers } = service.server.figures();
  return { type: 'agent-service', body: { ...service.gateway.figures(), tcp, udpPeers } };
}

/** The node's status as Redis and `get-status` carry it. */
export async function nodeStatus(node: ControlContext): Promise<NodeStatus> {
  const { config, system, askMs, role } = node;
  const figures = system.figures();
  const actorHealth = {
    actors: figures.length,
    restarts: figures.reduce((n, f) => n + f.restarts, 0),
    unhealthy: figures.filter((f) => f.status !== 'running').length,
  };
  const snapshot = await role.integrity.ask<ManifestSnapshot>((reply) => ({ kind: 'get-manifest', reply }), askMs).catch(() => null);
  const { lastSync, ...own } = await role.status();
  return {
    cluster: config.cluster.name, node: config.cluster.nodeName, version: CLUSTERD_VERSION, actorHealth, at: new Date().toISOString(),
    ...own,
    integrity: snapshot ? { revision: snapshot.revision, files: snapshot.manifest.size, digest: snapshot.digest, lastSync } : null,
  };
}
