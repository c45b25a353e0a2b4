/**
 * Many simulated agents for benchmarks: enrolled through a node (a few at a time) and
 * started against agent services, and the CPU time of a node process from /proc.
 */
import fs from 'node:fs';
import { SimulatedAgent, type SimulatedAgentOptions } from '../../sim/simulated-agent.js';

export interface FleetNode {
  readonly authPort: number;
  readonly remotePort: number;
}

export interface FleetOptions {
  readonly count: number;
  readonly prefix: string;
  /** Used round robin: an agent enrols through the node it then reports to (that node holds its key at once). */
  readonly nodes: readonly FleetNode[];
  readonly keepaliveMs: number;
  readonly concurrency?: number;
  readonly extra?: Partial<SimulatedAgentOptions>;
  readonly progress?: (done: number) => void;
}

export async function startFleet(opts: FleetOptions): Promise<SimulatedAgent[]> {
  const agents: SimulatedAgent[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: opts.concurrency ?? 32 }, async () => {
    for (let i = next++; i < opts.count; i = next++) {
      const node = opts.nodes[i % opts.nodes.length];
      const agent = new SimulatedAgent({
        name: `${opts.prefix}-${i}`, enrol: { host: '127.0.0.1', port: node?.authPort ?? 0 },
        server: { host: '127.0.0.1', port: node?.remotePort ?? 0, transport: 'tcp' }, keepaliveMs: opts.keepaliveMs, ...opts.extra,
      });
      await agent.enrolNow();
      await agent.start();
      agents.push(agent);
      if (agents.length % 500 === 0) opts.progress?.(agents.length);
    }
  }));
  return agents;
}

/** utime + stime of a process, in ms (Linux). */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

export const r2 = (x: number): number => Number(x.toFixed(2));
