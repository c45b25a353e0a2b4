/**
 * The agent messaging listeners (Wazuh's remoted on `<remote><port>`, 1514): TCP with
 * the 4-byte little-endian length framing, and UDP with one message per datagram.
 * Only bytes move here; what a message means is the AgentGateway's business. A frame
 * over the limit closes the connection; every socket error stays inside.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { AgentFrameDecoder, frameAgentMessage } from '../../protocols/agent-framing.js';
import type { Logger } from '../logger.js';
import { PerSourceLimit, RefusalWarnings } from '../transport/per-source-limit.js';

/** One agent's way back: a TCP connection, or a UDP peer address. */
export interface AgentConnection {
  readonly serial: number;
  readonly transport: 'tcp' | 'udp';
  /** The peer's IP address (IPv4-mapped prefix removed). */
  readonly peer: string;
  readonly closed: boolean;
  /** One message: one TCP write (framed), or one datagram. */
  send(payload: Buffer): void;
  close(reason: string): void;
}

export interface RemoteServerOptions {
  readonly host: string;
  readonly port: number;
  readonly tcp: boolean;
  readonly udp: boolean;
  readonly onMessage: (conn: AgentConnection, payload: Buffer) => void;
  readonly onClose: (conn: AgentConnection) => void;
  readonly log: Logger;
  readonly maxConnections: number;
  /** A TCP connection must bring its first whole message within this (a slow trickle is cut)... */
  readonly firstMessageMs: number;
  /** ...and then one at least this often. */
  readonly idleMs: number;
  /** TCP connections from one address that have not yet brought a whole message (`<remote><handshakes_per_source>`); 0 = no limit. */
  readonly handshakesPerSource: number;
}

export interface RemoteServerFigures { readonly tcp: number; readonly udpPeers: number; readonly accepted: number; readonly refused: number }

const peerOf = (address: string | undefined): string => (address ?? 'unknown').replace(/^::ffff:/, '');

export class RemoteServer {
  private tcpServer: net.Server | null = null;
  private udpSocket: dgram.Socket | null = null;
  private readonly open = new Map<net.Socket, { since: number; lastMessage: number | null }>();
  private sweeper: NodeJS.Timeout | null = null;
  private readonly udpPeers = new Map<string, AgentConnection>();
  private serial = 0;
  private accepted = 0;
  private refused = 0;
  private readonly perSource: PerSourceLimit;
  private readonly perSourceWarnings = new RefusalWarnings();

  constructor(private readonly opts: RemoteServerOptions) {
    this.perSource = new PerSourceLimit(opts.handshakesPerSource);
  }

  async start(): Promise<void> {
    const where = `${this.opts.host}:${this.opts.port}`;
    if (this.opts.tcp) {
      const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
      server.maxConnections = this.opts.maxConnections;
      server.on('drop', () => { this.refused += 1; });
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(new Error(`Agent service cannot listen on ${where}/tcp: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
        server.listen(this.opts.port, this.opts.host, () => resolve());
      });
      server.on('error', (err) => this.opts.log.error(`Agent service error: ${err.message}`));
      this.tcpServer = server;
      this.sweeper = setInterval(() => this.cutIdle(), Math.max(100, Math.min(this.opts.firstMessageMs, this.opts.idleMs) / 4));
      this.sweeper.unref();
    }
    if (this.opts.udp) {
      const socket = dgram.createSocket(this.opts.host.includes(':') ? 'udp6' : 'udp4');
      socket.on('message', (msg, rinfo) => this.datagram(socket, msg, rinfo));
      await new Promise<void>((resolve, reject) => {
        socket.once('error', (err) => reject(new Error(`Agent service cannot listen on ${where}/udp: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
        socket.bind(this.opts.port, this.opts.host, () => resolve());
      });
      socket.on('error', (err) => this.opts.log.error(`Agent service (udp) error: ${err.message}`));
      this.udpSocket = socket;
    }
  }

  get port(): number {
    const a = this.tcpServer?.address() ?? this.udpSocket?.address();
    return typeof a === 'object' && a !== null ? a.port : this.opts.port;
  }

  figures(): RemoteServerFigures {
    return { tcp: this.open.size, udpPeers: this.udpPeers.size, accepted: this.accepted, refused: this.refused };
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const s of this.open.keys()) s.destroy();
    const server = this.tcpServer;
    this.tcpServer = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    const udp = this.udpSocket;
    this.udpSocket = null;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
  }

  /** Connections that never brought a whole message, or fell silent, are cut. */
  private cutIdle(): void {
    const now = Date.now();
    for (const [socket, seen] of this.open) {
      const limit = seen.lastMessage === null ? seen.since + this.opts.firstMessageMs : seen.lastMessage + this.opts.idleMs;
      if (now <= limit) continue;
      this.opts.log.debug(`Closing the agent connection from ${peerOf(socket.remoteAddress)}: ${seen.lastMessage === null ? 'no whole message' : 'silent'} for too long.`);
      socket.destroy();
    }
  }

  private accept(socket: net.Socket): void {
    const peer = peerOf(socket.remoteAddress);
    if (!this.perSource.enter(peer)) {
      this.refusedFromSource(peer);
      socket.destroy();
      return;
    }
    this.accepted += 1;
    const seen = { since: Date.now(), lastMessage: null as number | null };
    // The place is held until the first whole message: an agent behind a shared address then frees it.
    let holdsPlace = true;
    const freePlace = (): void => {
      if (holdsPlace) this.perSource.leave(peer);
      holdsPlace = false;
    };
    this.open.set(socket, seen);
    const decoder = new AgentFrameDecoder();
    let closed = false;
    const conn: AgentConnection = {
      serial: ++this.serial,
      transport: 'tcp',
      peer,
      get closed() { return closed; },
      send: (payload) => { if (!closed) socket.write(frameAgentMessage(payload)); },
      close: (reason) => {
        if (closed) return;
        this.opts.log.debug(`Closing the connection of ${conn.peer}: ${reason}`);
        socket.destroy();
      },
    };
    socket.on('data', (chunk: Buffer) => {
      let payloads: Buffer[];
      try {
        payloads = decoder.push(chunk);
      } catch (err) {
        this.opts.log.warning(`Agent connection from ${conn.peer} sent a bad frame (${(err as Error).message}); closed.`);
        socket.destroy();
        return;
      }
      if (payloads.length > 0) {
        seen.lastMessage = Date.now();
        freePlace();
      }
      for (const p of payloads) {
        if (closed) return;
        this.opts.onMessage(conn, p);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      freePlace();
      this.open.delete(socket);
      this.opts.onClose(conn);
    });
  }

  private refusedFromSource(peer: string): void {
    this.refused += 1;
    this.perSourceWarnings.report(this.opts.log, 'warning', peer,
      `Too many agent connections from ${peer} still waiting for a first message (limit ${this.perSource.limit}, <remote><handshakes_per_source>): refused one`);
  }

  private datagram(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length === 0 || msg.length > 65_536) return;
    const key = `${rinfo.address}|${rinfo.port}`;
    let conn = this.udpPeers.get(key);
    if (!conn) {
      // A datagram "connection" is the peer's address; closing it forgets the peer.
      let closed = false;
      const peer: AgentConnection = {
        serial: ++this.serial,
        transport: 'udp',
        peer: peerOf(rinfo.address),
        get closed() { return closed; },
        send: (payload) => { if (!closed) socket.send(payload, rinfo.port, rinfo.address); },
        close: () => {
          closed = true;
          this.udpPeers.delete(key);
          this.opts.onClose(peer);
        },
      };
      conn = peer;
      // Peers cost memory until forgotten: past the limit the oldest one is.
      if (this.udpPeers.size >= this.opts.maxConnections) this.udpPeers.values().next().value?.close('too many UDP peers');
      this.udpPeers.set(key, conn);
    }
    this.opts.onMessage(conn, msg);
  }
}
