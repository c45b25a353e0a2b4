/**
 * Many simulated agents for benchmarks: enrolled through a node (a few at a time) and
 * started against agent services, and the CPU time of a node process from /proc.
 */
import fs from 'node:fs';
import { SimulatedAgent, type SimulatedAgentOptions } from '../../runtime/agents/simulated-agent.js';

export interface FleetOptions {
  readonly count: number;
  readonly prefix: string;
  readonly enrolPort: number;
  /** Agent service ports, used round robin. */
  readonly servers: readonly number[];
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
      const agent = new SimulatedAgent({
        name: `${opts.prefix}-${i}`, enrol: { host: '127.0.0.1', port: opts.enrolPort },
        server: { host: '127.0.0.1', port: opts.servers[i % opts.servers.length] ?? 0, transport: 'tcp' }, keepaliveMs: opts.keepaliveMs, ...opts.extra,
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
