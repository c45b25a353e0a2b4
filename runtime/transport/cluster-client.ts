/**
 * A worker's connection to its master: TCP (or TLS) connect, then the handshake.
 * Holds at most one link; the link it holds is the source of truth for the
 * worker's session after a restart.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { ClusterCatalogue, CLUSTER_MAX_FRAME_BYTES, CLUSTER_HANDSHAKE_MAX_FRAME_BYTES, type NodeInfo } from '../../protocols/cluster-messages.js';
import { WorkerHandshake, type LocalIdentity } from '../../protocols/handshake.js';
import { HandshakeRejectedError } from '../../protocols/errors.js';
import { FramedLink } from './framed-link.js';
import type { ClusterLink } from './cluster-server.js';
import { certificateMismatch, peerCertificateNames, type LinkTlsOptions } from './tls-options.js';
import type { Logger } from '../logger.js';

export interface ClusterClientOptions {
  readonly host: string;
  readonly port: number;
  readonly identity: LocalIdentity;
  /** Local address the link leaves from (a worker's bind_addr when it names one). */
  readonly sourceAddress?: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly tls?: LinkTlsOptions;
  readonly log: Logger;
}

export interface MasterLink {
  readonly link: ClusterLink;
  readonly master: NodeInfo;
}

export class ClusterClient {
  private held: MasterLink | null = null;

  constructor(private readonly opts: ClusterClientOptions) {}

  current(): MasterLink | null {
    return this.held && !this.held.link.closed ? this.held : null;
  }

  async connect(): Promise<MasterLink> {
    this.held?.link.close('reconnecting');
    this.held = null;
    const socket = await this.openSocket();
    const link: ClusterLink = new FramedLink(socket, {
      catalogue: ClusterCatalogue,
      maxFrameBytes: CLUSTER_MAX_FRAME_BYTES,
      handshake: { maxFrameBytes: CLUSTER_HANDSHAKE_MAX_FRAME_BYTES, endsWith: 'welcome' },
      requestTimeoutMs: this.opts.requestTimeoutMs,
      onProtocolError: (err) => this.opts.log.error(`Refused frame from the master: ${err.message}`),
    });
    try {
      const master = await this.handshake(link, () => peerCertificateNames(socket));
      this.held = { link, master };
      return this.held;
    } catch (err) {
      link.close(err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  close(reason: string): void {
    this.held?.link.close(reason);
    this.held = null;
  }

  private openSocket(): Promise<Duplex> {
    const { host, port, connectTimeoutMs, sourceAddress } = this.opts;
    const local = sourceAddress ? { localAddress: sourceAddress } : {};
    return new Promise((resolve, reject) => {
      const tlsOpts = this.opts.tls;
      const socket: net.Socket = tlsOpts
        ? tls.connect({ host, port, ...local, ...tlsOpts, servername: net.isIP(host) ? '' : host })
        : net.connect({ host, port, ...local });
      const ready = tlsOpts ? 'secureConnect' : 'connect';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connection to ${host}:${port} timed out`));
      }, connectTimeoutMs);
      socket.once(ready, () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(socket);
      });
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(new Error(`${host}:${port}: ${err.message}`));
      };
      socket.once('error', onError);
    });
  }

  private async handshake(link: ClusterLink, certNames: () => string[] | null): Promise<NodeInfo> {
    const hs = new WorkerHandshake(this.opts.identity);
    const timeout = this.opts.connectTimeoutMs;
    // Handshake frames are plain messages read in order, not request/reply pairs.
    link.send('hello', hs.hello());
    const challenge = await link.nextFrame(timeout);
    if (challenge.type === 'reject') throw new HandshakeRejectedError(challenge.body.code, challenge.body.detail);
    if (challenge.type !== 'challenge') throw new Error(`unexpected '${challenge.type}' during the handshake`);
    const proven = hs.onChallenge(challenge.body);
    if ('reject' in proven) {
      link.send('reject', { code: proven.reject, detail: proven.detail });
      throw new HandshakeRejectedError(proven.reject, proven.detail);
    }
    const mismatch = certificateMismatch(certNames(), challenge.body.node);
    if (mismatch) {
      link.send('reject', { code: 'certificate', detail: mismatch });
      throw new HandshakeRejectedError('certificate', mismatch);
    }
    link.send('proof', proven.proof);
    const verdict = await link.nextFrame(timeout);
    if (verdict.type === 'reject') throw new HandshakeRejectedError(verdict.body.code, verdict.body.detail);
    if (verdict.type !== 'welcome') throw new Error(`unexpected '${verdict.type}' during the handshake`);
    return verdict.body.master;
  }
}
