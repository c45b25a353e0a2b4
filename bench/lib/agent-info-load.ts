/**
 * Agent status load for the master, shared by the agent-info and tls-overhead
 * benchmarks: a master registry seeded with N agents, and worker links (real cluster
 * links, in this process) that report full or keepalive cycles for all of them.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { RegistryDb } from '../../runtime/storage/registry-db.js';
import { ClusterClient } from '../../runtime/transport/cluster-client.js';
import type { PemTls } from '../../runtime/transport/tls-options.js';
import { createLogger, MemorySink } from '../../runtime/logger.js';
import { CLUSTERD_VERSION } from '../../protocols/version.js';
import { AGENT_INFO_BATCH, type AgentInfoUpdate } from '../../protocols/agent-info.js';
import { REGISTRY_BATCH, type RegistryChange } from '../../protocols/registry.js';
import type { PeerLink } from '../../actors/ports.js';

export function seedAgents(home: string, agents: number): void {
  const db = RegistryDb.open(path.join(home, 'queue', 'db', 'global.db'), 'master');
  try {
    db.commit([{ op: 'group-created', group: 'default' }]);
    for (let start = 1; start <= agents; start += REGISTRY_BATCH) {
      const batch: RegistryChange[] = [];
      for (let id = start; id < Math.min(start + REGISTRY_BATCH, agents + 1); id++) {
        batch.push({ op: 'agent-added', agent: { id, name: `agent-${id}`, ip: 'any', key: randomBytes(32).toString('hex'), registeredAt: Date.now(), groups: ['default'] } });
      }
      db.commit(batch);
    }
  } finally {
    db.close();
  }
}

export const REPORT = {
  uname: 'Linux |host |5.15 |#1 SMP |x86_64 [Ubuntu|ubuntu: 22.04 LTS (Jammy Jellyfish)]', configSum: 'ab73af41699f13fdd81903b5f23d8d00',
  mergedSum: 'd6e3ac3e75ca0319af3e7c262776f331', agentIp: '10.0.0.5', labels: '"env":bench',
  os: { name: 'Ubuntu', platform: 'ubuntu', version: '22.04', codename: 'Jammy Jellyfish', major: '22', minor: '04', build: null, arch: 'x86_64' },
};

/** Batches of updates for agents from..to: full reports on the first cycle, keepalive refreshes after. */
export function agentUpdates(from: number, to: number, cycle: number): AgentInfoUpdate[][] {
  const batches: AgentInfoUpdate[][] = [];
  for (let start = from; start <= to; start += AGENT_INFO_BATCH) {
    const batch: AgentInfoUpdate[] = [];
    for (let id = start; id <= Math.min(to, start + AGENT_INFO_BATCH - 1); id++) {
      batch.push(cycle === 0
        ? { id, kind: 'full', status: 'active', statusCode: 0, version: 'Wazuh v4.14.5', at: Date.now(), report: REPORT }
        : { id, kind: 'keepalive', status: 'active', statusCode: 0, version: 'Wazuh v4.14.5', at: Date.now(), report: null });
    }
    batches.push(batch);
  }
  return batches;
}

/** Workers named `names` connected to the master on `port` with the cluster key (and certificates, if given). */
export async function workerLinks(port: number, key: string, names: readonly string[], tls?: (name: string) => PemTls): Promise<{ links: PeerLink[]; close(): void }> {
  const clients: ClusterClient[] = [];
  const links: PeerLink[] = [];
  for (const name of names) {
    const client = new ClusterClient({
      host: '127.0.0.1', port, identity: { cluster: 'wazuh', node: name, version: CLUSTERD_VERSION, key },
      connectTimeoutMs: 10_000, requestTimeoutMs: 120_000, log: createLogger(new MemorySink(), name), ...(tls ? { tls: tls(name) } : {}),
    });
    clients.push(client);
    links.push((await client.connect()).link);
  }
  return { links, close: () => clients.forEach((c) => c.close('bench done')) };
}

/** One cycle over every agent, split between the links, all at once; ms until the master acknowledged all of it. */
export async function reportCycle(links: readonly PeerLink[], agents: number, cycle: number): Promise<number> {
  const per = Math.ceil(agents / links.length);
  const t0 = performance.now();
  await Promise.all(links.map(async (link, i) => {
    for (const batch of agentUpdates(i * per + 1, Math.min(agents, (i + 1) * per), cycle)) {
      const ack = await link.request('agent-info', { updates: batch }, 120_000);
      if (ack.type !== 'agent-info-ack' || ack.body.stored !== batch.length) throw new Error(`batch not stored: ${JSON.stringify(ack.body)}`);
    }
  }));
  return performance.now() - t0;
}
