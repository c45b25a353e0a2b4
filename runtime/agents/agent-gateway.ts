/**
 * What a node does with each agent message (Wazuh's remoted logic): find the agent
 * (`!id!` plus a source check, or the source address), decrypt and check it, answer
 * `#ping`, startups and keepalives exactly as the reference says, push merged.mg when
 * the agent's checksum differs, hand events to the event sink, and report status to
 * AgentInfoIngest. No actor per agent: one gateway per node holds which connection
 * reaches which agent. A message it cannot trust closes the TCP connection (a UDP
 * datagram is dropped); the node is never harmed by it.
 */
import fs from 'node:fs/promises';
import { isIPv4, isIPv6, BlockList } from 'node:net';
import { randomInt } from 'node:crypto';
import { DecodeError, decodeSecure, encodeSecure, isPing, PONG, splitSender, type AgentKeyMaterial, type Cipher } from '../../protocols/secure-message.js';
import { AGENT_ACK, bareVersion, classifyAgentMessage, mergedPush, startupAnswer, type KeepaliveInfo } from '../../protocols/agent-messages.js';
import { MANAGER_VERSION } from '../../protocols/enrolment.js';
import { formatAgentId } from '../../protocols/registry.js';
import type { AgentInfoUpdate, AgentReport } from '../../protocols/agent-info.js';
import type { Logger } from '../logger.js';
import type { AgentConnection } from './remote-server.js';
import { MergedSums } from './merged-sums.js';
import { RefusalWarnings } from '../transport/per-source-limit.js';

/** The agents this node knows (its registry, or on a worker the replica of the master's). */
export interface AgentDirectory {
  agentById(id: number): DirectoryAgent | undefined;
  agentsByIp(ip: string): DirectoryAgent[];
}

export interface DirectoryAgent {
  readonly id: number;
  readonly name: string;
  readonly ip: string;
  readonly key: string;
  readonly groups: readonly string[];
}

/** Where the gateway's findings go: the node's role implements it (the master stores, a worker forwards). */
export interface AgentReports {
  report(update: AgentInfoUpdate): void;
  /** An agent without a group sent its first keepalive: the master chooses one (by merged.mg checksum, else default). */
  chooseGroup(id: number, mergedSum: string | null): void;
}

export interface AgentGatewayDeps {
  readonly home: string;
  readonly directory: AgentDirectory;
  readonly reports: AgentReports;
  readonly onEvent: (agent: DirectoryAgent, queue: string, location: string, text: Buffer) => void;
  readonly log: Logger;
}

export interface GatewayFigures {
  readonly agents: number;
  readonly messages: number;
  readonly events: number;
  readonly keepalives: number;
  readonly refused: number;
  readonly pushes: number;
}

interface Attached {
  conn: AgentConnection;
  cipher: Cipher;
  /** The server's own counters for what it sends this agent. */
  sent: number;
  /** JSON of the last full report: an identical keepalive is a keepalive-only refresh. */
  lastReport: string | null;
  pushing: boolean;
  groupAsked: number;
}

/** An agent with no group asks the master again only after this long. */
const GROUP_ASK_EVERY_MS = 30_000;

export class AgentGateway {
  private readonly attached = new Map<number, Attached>();
  private readonly merged: MergedSums;
  /** A warning per source and interval; the rest are counted into the next one. */
  private readonly refusals = new RefusalWarnings();
  private messages = 0;
  private events = 0;
  private keepalives = 0;
  private refused = 0;
  private pushes = 0;

  constructor(private readonly deps: AgentGatewayDeps) {
    this.merged = new MergedSums(deps.home);
  }

  figures(): GatewayFigures {
    return { agents: this.attached.size, messages: this.messages, events: this.events, keepalives: this.keepalives, refused: this.refused, pushes: this.pushes };
  }

  /** Connections of agents the registry no longer holds are closed (a deleted agent). */
  forget(ids: readonly number[]): void {
    for (const id of ids) {
      const a = this.attached.get(id);
      if (!a) continue;
      this.attached.delete(id);
      a.conn.close(`agent ${formatAgentId(id)} was removed`);
    }
  }

  closed(conn: AgentConnection): void {
    // A closed connection changes no status (Wazuh); the agent is only unreachable until it reconnects.
    for (const [id, a] of this.attached) if (a.conn === conn) this.attached.delete(id);
  }

  handle(conn: AgentConnection, raw: Buffer): void {
    this.messages += 1;
    if (isPing(raw)) {
      conn.send(PONG);
      return;
    }
    let sender: { id: string | null; rest: Buffer };
    try {
      sender = splitSender(raw);
    } catch {
      this.refuse(conn, 'a message with a malformed sender');
      return;
    }
    const agent = this.identify(conn, sender.id);
    if (!agent) return;
    const keys: AgentKeyMaterial = { id: formatAgentId(agent.id), name: agent.name, key: agent.key };
    let decoded: ReturnType<typeof decodeSecure>;
    try {
      decoded = decodeSecure(sender.rest, keys);
    } catch (err) {
      const reason = err instanceof DecodeError ? err.reason : 'undecodable';
      this.refuse(conn, `a message for agent ${keys.id} that does not decode (${reason})`);
      return;
    }
    this.dispatch(conn, agent, keys, decoded.cipher, decoded.payload);
  }

  private identify(conn: AgentConnection, idText: string | null): DirectoryAgent | undefined {
    if (idText === null) {
      const agent = this.deps.directory.agentsByIp(conn.peer)[0];
      if (!agent) this.refuse(conn, `a message from unknown address ${conn.peer}`);
      return agent;
    }
    const agent = this.deps.directory.agentById(Number(idText));
    if (!agent) {
      this.refuse(conn, `a message from unknown agent ${idText}`);
      return undefined;
    }
    if (!ipMatches(agent.ip, conn.peer)) {
      this.refuse(conn, `agent ${idText} (${agent.name}) from ${conn.peer}, not its registered ${agent.ip}`);
      return undefined;
    }
    return agent;
  }

  private refuse(conn: AgentConnection, what: string): void {
    this.refused += 1;
    this.refusals.report(this.deps.log, 'warning', conn.peer, `Refused ${what}; connection closed`);
    conn.close(what);
  }

  private dispatch(conn: AgentConnection, agent: DirectoryAgent, keys: AgentKeyMaterial, cipher: Cipher, payload: Buffer): void {
    const m = classifyAgentMessage(payload);
    switch (m.kind) {
      case 'startup': {
        const a = this.attach(agent.id, conn, cipher);
        const answer = startupAnswer(m, MANAGER_VERSION);
        this.sendTo(a, keys, Buffer.from(answer, 'latin1'));
        if (answer !== AGENT_ACK) return;
        a.lastReport = null;
        this.deps.reports.report(update(agent.id, 'status', 'pending', 0, m.version === null ? null : clip(`Wazuh ${bareVersion(m.version)}`, 128), null));
        return;
      }
      case 'keepalive':
        this.keepalive(conn, agent, keys, cipher, m.info);
        return;
      case 'shutdown':
        this.deps.reports.report(update(agent.id, 'status', 'disconnected', 3, null, null));
        return;
      case 'event':
        this.events += 1;
        this.deps.onEvent(agent, m.queue, m.location, Buffer.from(m.text, 'latin1'));
        return;
      default:
        return;
    }
  }

  private keepalive(conn: AgentConnection, agent: DirectoryAgent, keys: AgentKeyMaterial, cipher: Cipher, info: KeepaliveInfo): void {
    this.keepalives += 1;
    const a = this.attach(agent.id, conn, cipher);
    this.sendTo(a, keys, Buffer.from(AGENT_ACK, 'latin1'));
    const report = reportOf(info);
    const text = JSON.stringify(report);
    const full = text !== a.lastReport;
    a.lastReport = text;
    this.deps.reports.report(update(agent.id, full ? 'full' : 'keepalive', 'active', 0, info.version === null ? null : clip(info.version, 128), full ? report : null));
    if (agent.groups.length === 0) {
      if (Date.now() - a.groupAsked > GROUP_ASK_EVERY_MS) {
        a.groupAsked = Date.now();
        this.deps.reports.chooseGroup(agent.id, info.mergedSum);
      }
      return;
    }
    void this.pushMerged(a, agent, keys, info.mergedSum);
  }

  private attach(id: number, conn: AgentConnection, cipher: Cipher): Attached {
    const a = this.attached.get(id);
    if (a) {
      // The newest connection always wins (the reference waits 60 s before letting it).
      a.conn = conn;
      a.cipher = cipher;
      return a;
    }
    const fresh: Attached = { conn, cipher, sent: 0, lastReport: null, pushing: false, groupAsked: 0 };
    this.attached.set(id, fresh);
    return fresh;
  }

  private sendTo(a: Attached, keys: AgentKeyMaterial, payload: Buffer): void {
    a.sent += 1;
    const local = (a.sent % 9997) + 1;
    const global = Math.floor(a.sent / 9997);
    a.conn.send(encodeSecure(payload, keys, a.cipher, { withId: false, random: randomInt(65536), global, local }));
  }

  /** Sends the group's merged.mg once when the agent reports another checksum; never two transfers at once. */
  private async pushMerged(a: Attached, agent: DirectoryAgent, keys: AgentKeyMaterial, reported: string | null): Promise<void> {
    if (a.pushing) return;
    a.pushing = true;
    try {
      const current = await this.merged.of(agent.groups);
      if (!current || current.md5 === reported) return;
      const content = await fs.readFile(current.path);
      for (const message of mergedPush(current.md5, 'merged.mg', content)) this.sendTo(a, keys, message);
      this.pushes += 1;
      this.deps.log.debug(`Sent merged.mg (${current.md5}) to agent ${keys.id} (${agent.name}).`);
    } catch (err) {
      this.deps.log.warning(`Could not send merged.mg to agent ${keys.id}: ${(err as Error).message}`);
    } finally {
      a.pushing = false;
    }
  }
}

/** What the agent reported, cut to the sizes the master accepts: one odd agent must not stall its worker's batches. */
function reportOf(info: KeepaliveInfo): AgentReport {
  const maybe = (v: string | null, max: number): string | null => (v === null ? null : clip(v, max));
  const os = info.os;
  return {
    uname: clip(info.uname, 1024), configSum: maybe(info.configSum, 64), mergedSum: maybe(info.mergedSum, 64), agentIp: maybe(info.agentIp, 64),
    labels: clip(info.labels, 16_384),
    os: {
      name: maybe(os.name, 256), platform: maybe(os.platform, 256), version: maybe(os.version, 256), codename: maybe(os.codename, 256),
      major: maybe(os.major, 64), minor: maybe(os.minor, 64), build: maybe(os.build, 64), arch: maybe(os.arch, 64),
    },
  };
}

const clip = (text: string, max: number): string => (text.length > max ? text.slice(0, max) : text);

function update(id: number, kind: AgentInfoUpdate['kind'], status: AgentInfoUpdate['status'], statusCode: number, version: string | null, report: AgentReport | null): AgentInfoUpdate {
  return { id, kind, status, statusCode, version, at: Date.now(), report };
}

/** `any`, the exact address, or a CIDR holding it (Wazuh's check for `!id!` senders). */
export function ipMatches(registered: string, peer: string): boolean {
  if (registered === 'any' || registered === peer) return true;
  const [net, bits] = registered.split('/');
  if (net === undefined || bits === undefined) return false;
  const family = isIPv4(net) ? 'ipv4' : isIPv6(net) ? 'ipv6' : null;
  if (!family || (family === 'ipv4') !== isIPv4(peer)) return false;
  const list = new BlockList();
  list.addSubnet(net, Number(bits), family);
  return list.check(peer, family);
}
