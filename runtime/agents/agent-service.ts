/**
 * The agent messaging service of a node (Wazuh's remoted): the listeners on
 * `<remote><port>` (TCP, and UDP when `<protocol>` names it), bound to
 * `<remote><local_ip>`, and the gateway that gives each message its meaning.
 */
import type { NodeConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import { AgentGateway, type AgentGatewayDeps } from './agent-gateway.js';
import { RemoteServer } from './remote-server.js';

export interface AgentService {
  readonly gateway: AgentGateway;
  readonly server: RemoteServer;
  stop(): Promise<void>;
}

/** Connections (and UDP peers) one node holds at most. */
const MAX_AGENT_CONNECTIONS = 50_000;
/** A new TCP connection brings its first whole message within this, or is cut. */
const FIRST_MESSAGE_MS = 10_000;

export async function startAgentService(config: NodeConfig, deps: Omit<AgentGatewayDeps, 'home' | 'log'>, logger: Logger): Promise<AgentService> {
  const { remote, localIp } = config.agents;
  const log = logger.task('Agent service');
  const gateway = new AgentGateway({ ...deps, home: config.home, log });
  const server = new RemoteServer({
    host: localIp ?? '0.0.0.0',
    port: remote.port,
    tcp: remote.tcp,
    udp: remote.udp,
    onMessage: (conn, payload) => gateway.handle(conn, payload),
    onClose: (conn) => gateway.closed(conn),
    log,
    maxConnections: MAX_AGENT_CONNECTIONS,
    firstMessageMs: FIRST_MESSAGE_MS,
    handshakesPerSource: remote.handshakesPerSource,
    // An agent silent this long is disconnected anyway; its socket goes with it.
    idleMs: Math.max(FIRST_MESSAGE_MS, config.agents.disconnectionTimeSeconds * 1000),
  });
  await server.start();
  const protocols = [remote.tcp ? 'tcp' : null, remote.udp ? 'udp' : null].filter(Boolean).join(',');
  log.info(`Accepting agent connections on ${localIp ?? '0.0.0.0'}:${server.port} (${protocols}).`);
  return { gateway, server, stop: () => server.stop() };
}
