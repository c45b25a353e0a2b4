/**
 * The master's cluster listener. For each connection it runs the handshake, the
 * checks that need no state (cluster name, node type, version, own name), then asks
 * `admit` (the MasterCoordinator) about the name, and welcomes or rejects.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger.js';
import { ClusterCatalogue, CLUSTER_MAX_FRAME_BYTES, CLUSTER_HANDSHAKE_MAX_FRAME_BYTES, type ClusterBodies, type ClusterFrame, type NodeInfo } from '../../protocols/cluster-messages.js';
import { MasterHandshake, admissionCheck, type LocalIdentity, type Rejection } from '../../protocols/handshake.js';
import { describeReject, type RejectCode } from '../../protocols/errors.js';
import { FramedLink } from './framed-link.js';
import { certificateMismatch, peerCertificateNames, type LinkTlsOptions } from './tls-options.js';
import { PerSourceLimit, RefusalWarnings } from './per-source-limit.js';

export type ClusterLink = FramedLink<ClusterBodies>;

export type Admission = { readonly accept: true } | { readonly accept: false; readonly reject: RejectCode; readonly detail: string };

export interface ClusterServerOptions {
  readonly host: string;
  readonly port: number;
  readonly identity: LocalIdentity;
  /** What the master reports as its own address (nodes[0]). */
  readonly address: string;
  readonly handshakeTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly tls?: LinkTlsOptions;
  /** Connections from one address still in the handshake (`<cluster><handshakes_per_source>`); 0 = no limit. */
  readonly handshakesPerSource: number;
  readonly log: Logger;
  readonly admit: (worker: NodeInfo, link: ClusterLink) => Promise<Admission>;
  readonly onClosed: (worker: NodeInfo, link: ClusterLink, reason: string) => void;
}

/** Far above any cluster's worker count; it bounds what a flood of sockets can hold. */
const MAX_CLUSTER_CONNECTIONS = 1024;

type PeerSocket = Duplex & { remoteAddress?: string; remotePort?: number };

const addressOf = (socket: PeerSocket): string => socket.remoteAddress?.replace(/^::ffff:/, '') ?? '?';
/** The same for a TCP socket and the TLS socket over it, so the two can be matched. */
const endpointOf = (socket: PeerSocket): string => `${addressOf(socket)}|${socket.remotePort ?? 0}`;

export class ClusterServer {
  private server: net.Server | undefined;
  private readonly welcomed = new Map<ClusterLink, NodeInfo>();
  private readonly sockets = new Set<Duplex>();
  private stopping = false;
  private readonly perSource: PerSourceLimit;
  private readonly perSourceWarnings = new RefusalWarnings();
  private readonly tlsWarnings = new RefusalWarnings();
  /** Endpoints holding a place in perSource: connected, not yet welcomed. */
  private readonly unproven = new Set<string>();

  constructor(private readonly opts: ClusterServerOptions) {
    this.perSource = new PerSourceLimit(opts.handshakesPerSource);
  }

  /** Links welcomed and still open, in connection order. */
  openLinks(): { info: NodeInfo; link: ClusterLink }[] {
    return [...this.welcomed].filter(([l]) => !l.closed).map(([link, info]) => ({ info, link }));
  }

  async start(): Promise<void> {
    const { tls: tlsOpts } = this.opts;
    const onSocket = (socket: PeerSocket): void => this.onConnection(socket);
    this.server = tlsOpts
      ? tls.createServer({ ...tlsOpts, requestCert: true, rejectUnauthorized: true, handshakeTimeout: this.opts.handshakeTimeoutMs }, onSocket)
        .on('tlsClientError', (err, socket) => this.refuseTls(err, socket))
      : net.createServer(onSocket);
    this.server.maxConnections = MAX_CLUSTER_CONNECTIONS;
    // Counted on the TCP socket, so a TLS handshake that never ends holds a place too.
    this.server.prependListener('connection', (raw: net.Socket) => this.countHandshake(raw));
    await new Promise<void>((resolve, reject) => {
      const s = this.server as net.Server;
      s.once('error', reject);
      s.listen(this.opts.port, this.opts.host, () => {
        s.off('error', reject);
        resolve();
      });
    });
    this.opts.log.tagged('Master').info(`Serving on ('${this.opts.host}', ${this.opts.port})`);
  }

  /** Says goodbye to every worker, closes every link and stops listening. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const link of this.welcomed.keys()) {
      try {
        link.send('bye', { reason: 'master shutting down' });
      } catch { /* already closed */ }
      link.close('master shutting down');
    }
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Node reports a failed or timed-out TLS handshake but leaves the socket open: it is closed here. */
  private refuseTls(err: Error, socket: tls.TLSSocket): void {
    socket.destroy();
    const address = addressOf(socket);
    this.tlsWarnings.report(this.opts.log.tagged('Worker'), 'error', address, `Refused a TLS connection from ${address}: ${err.message}`);
  }

  private countHandshake(raw: net.Socket): void {
    const address = addressOf(raw);
    if (!this.perSource.enter(address)) {
      this.perSourceWarnings.report(this.opts.log.tagged('Worker'), 'warning', address,
        `Too many connections from ${address} still in the handshake (limit ${this.perSource.limit}, <cluster><handshakes_per_source>): refused one`);
      raw.destroy();
      return;
    }
    const endpoint = endpointOf(raw);
    this.unproven.add(endpoint);
    raw.on('close', () => this.handshakeOver(endpoint));
  }

  private handshakeOver(endpoint: string): void {
    if (this.unproven.delete(endpoint)) this.perSource.leave(endpoint.slice(0, endpoint.lastIndexOf('|')));
  }

  private onConnection(socket: PeerSocket): void {
    if (socket.destroyed) return;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    const log = this.opts.log.tagged('Worker');
    const address = addressOf(socket);
    log.info(`Connection from ('${address}', ${socket.remotePort ?? 0})`);
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const link: ClusterLink = new FramedLink(socket, {
      catalogue: ClusterCatalogue,
      maxFrameBytes: CLUSTER_MAX_FRAME_BYTES,
      handshake: { maxFrameBytes: CLUSTER_HANDSHAKE_MAX_FRAME_BYTES },
      requestTimeoutMs: this.opts.requestTimeoutMs,
      onProtocolError: (err) => log.error(`Refused frame from ${address}: ${err.message}`),
    });
    this.handshake(link, address, () => peerCertificateNames(socket)).then(
      (outcome) => this.settle(link, outcome, log, endpointOf(socket)),
      (err: Error) => {
        log.error(`Error during handshake with incoming connection from ${address}: ${err.message}`);
        link.close(err.message);
      },
    );
  }

  private async handshake(link: ClusterLink, address: string, certNames: () => string[] | null): Promise<{ worker: NodeInfo } | Rejection> {
    const deadline = Date.now() + this.opts.handshakeTimeoutMs;
    const next = async (): Promise<ClusterFrame> => link.nextFrame(Math.max(1, deadline - Date.now()));
    const hs = new MasterHandshake(this.opts.identity);
    const hello = await next();
    if (hello.type !== 'hello') return { reject: 'out-of-order', detail: `expected hello, got ${hello.type}` };
    const challenged = hs.onHello(hello.body);
    if ('reject' in challenged) return challenged;
    link.send('challenge', challenged.challenge);
    const proof = await next();
    if (proof.type === 'reject') return { reject: proof.body.code, detail: `worker refused the master: ${proof.body.detail}` };
    if (proof.type !== 'proof') return { reject: 'out-of-order', detail: `expected proof, got ${proof.type}` };
    const proven = hs.onProof(proof.body);
    if ('reject' in proven) return proven;
    const mismatch = certificateMismatch(certNames(), proven.worker.node);
    if (mismatch) return { reject: 'certificate', detail: mismatch };
    const refused = admissionCheck(this.opts.identity, proven.worker);
    if (refused) return refused;
    const worker: NodeInfo = { name: proven.worker.node, type: 'worker', version: proven.worker.version, address };
    const verdict = await this.opts.admit(worker, link);
    return verdict.accept ? { worker } : { reject: verdict.reject, detail: verdict.detail };
  }

  private settle(link: ClusterLink, outcome: { worker: NodeInfo } | Rejection, log: Logger, endpoint: string): void {
    if ('reject' in outcome) {
      const text = describeReject(outcome.reject, outcome.detail);
      log.error(`Handshake refused: ${text}`);
      if (!link.closed) {
        try {
          link.send('reject', { code: outcome.reject, detail: outcome.detail });
        } catch { /* peer already gone */ }
        link.close(text);
      }
      return;
    }
    const { worker } = outcome;
    const master = this.opts.identity;
    link.send('welcome', { master: { name: master.node, type: 'master', version: master.version, address: this.opts.address }, address: worker.address });
    link.endHandshake();
    this.handshakeOver(endpoint);
    this.welcomed.set(link, worker);
    link.onClose((reason) => {
      this.welcomed.delete(link);
      this.opts.onClosed(worker, link, reason);
    });
  }
}
