/**
 * The enrolment listener (Wazuh's authd, TLS on 1515). One request per connection:
 * the agent writes one line ending in `\n`, gets one answer (`OSSEC K:'…'` or
 * `ERROR: … Unable to add agent`) in a single write, and the server closes.
 * What the line means is the `handle` callback's business; this class only deals
 * with the connection: TLS, limits, timeouts, and never letting a client's
 * misbehaviour escape as an exception.
 */
import type net from 'node:net';
import tls from 'node:tls';
import {
  ENROLMENT_INTERNAL_ERROR_ANSWER, ENROLMENT_INVALID_REQUEST_ANSWER, ENROLMENT_MAX_LINE,
} from '../../protocols/enrolment.js';
import type { Logger } from '../logger.js';
import { PerSourceLimit, RefusalWarnings } from '../transport/per-source-limit.js';

export interface EnrolmentServerOptions {
  /** '0.0.0.0' or a specific address. */
  readonly host: string;
  /** 0 = ephemeral (tests). */
  readonly port: number;
  /** PEM certificate and private key. */
  readonly cert: string;
  readonly key: string;
  /**
   * Turns one request line (without its '\n', decoded as UTF-8) into the answer sent
   * back (encoded as UTF-8). A rejection is logged and answered with
   * ENROLMENT_INTERNAL_ERROR_ANSWER.
   */
  readonly handle: (line: string, peerAddress: string) => Promise<string>;
  readonly log: Logger;
  /** The TLS handshake must finish within this. */
  readonly handshakeTimeoutMs: number;
  /** The request line must arrive within this once TLS is up. */
  readonly requestTimeoutMs: number;
  /** Concurrent connections; beyond it new sockets are closed at once. */
  readonly maxConnections: number;
  /** Concurrent connections from one address (`<auth><handshakes_per_source>`); 0 = no limit. */
  readonly handshakesPerSource: number;
}

export interface EnrolmentServerFigures {
  /** TCP connections taken in (not counting those turned away at the limit). */
  readonly accepted: number;
  /** Requests answered (a key or an error). */
  readonly answered: number;
  /** Connections closed without an answer: over the limit, failed or slow TLS, no request in time, peer gone. */
  readonly refused: number;
  /** Connections open now. */
  readonly open: number;
}

export class EnrolmentServer {
  private server: tls.Server | undefined;
  /** Raw TCP sockets, from accept to close. */
  private readonly connections = new Set<net.Socket>();
  /** TLS sockets past the handshake, until close. */
  private readonly secured = new Set<tls.TLSSocket>();
  private boundPort = 0;
  private stopping = false;
  private accepted = 0;
  private answered = 0;
  private refused = 0;
  private readonly dropWarnings = new RefusalWarnings();
  private readonly perSource: PerSourceLimit;
  private readonly perSourceWarnings = new RefusalWarnings();

  constructor(private readonly opts: EnrolmentServerOptions) {
    this.perSource = new PerSourceLimit(opts.handshakesPerSource);
  }

  /** The bound port (0 before start). */
  get port(): number {
    return this.boundPort;
  }

  figures(): EnrolmentServerFigures {
    return { accepted: this.accepted, answered: this.answered, refused: this.refused, open: this.connections.size };
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('Enrolment service already started');
    const { host, port, cert, key, log } = this.opts;
    let server: tls.Server;
    try {
      server = tls.createServer({
        cert,
        key,
        minVersion: 'TLSv1.2',
        handshakeTimeout: this.opts.handshakeTimeoutMs,
        // A client that half-closes after an unterminated line still gets its answer.
        allowHalfOpen: true,
      });
    } catch (err) {
      throw new Error(`Enrolment service cannot use its certificate: ${(err as Error).message}`);
    }
    server.maxConnections = this.opts.maxConnections;
    server.on('connection', (raw: net.Socket) => this.onConnection(raw));
    server.on('drop', (data?: net.DropArgument) => this.onDrop(data));
    server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => this.onTlsClientError(err, socket));
    server.on('secureConnection', (socket: tls.TLSSocket) => this.serve(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const fail = (err: NodeJS.ErrnoException): void => {
        this.server = undefined;
        reject(new Error(`Enrolment service cannot listen on ${hostPort(host, port)}: ${err.code ?? err.message}`));
      };
      server.once('error', fail);
      server.listen(port, host, () => {
        server.off('error', fail);
        resolve();
      });
    });
    server.on('error', (err) => log.error(`Enrolment service error: ${err.message}`));
    const address = server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : port;
  }

  /** Stops listening and destroys every open connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    const server = this.server;
    const closed = new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));
    for (const socket of this.secured) socket.destroy();
    for (const raw of this.connections) raw.destroy();
    await closed;
  }

  private onConnection(raw: net.Socket): void {
    if (this.stopping) {
      raw.destroy();
      return;
    }
    const peer = peerAddress(raw.remoteAddress);
    if (!this.perSource.enter(peer)) {
      this.refusedFromSource(peer);
      raw.destroy();
      return;
    }
    this.accepted++;
    this.connections.add(raw);
    raw.on('error', () => undefined); // reported through the TLS socket
    raw.on('close', () => {
      this.connections.delete(raw);
      this.perSource.leave(peer);
    });
  }

  private refusedFromSource(peer: string): void {
    this.refused++;
    this.perSourceWarnings.report(this.opts.log, 'warning', peer,
      `Too many enrolment connections from ${peer} (limit ${this.perSource.limit}, <auth><handshakes_per_source>): refused one`);
  }

  private onDrop(data: net.DropArgument | undefined): void {
    this.refused++;
    const peer = peerAddress(data?.remoteAddress);
    // The total limit is everyone's: one warning per interval whoever is refused.
    this.dropWarnings.report(this.opts.log, 'warning', 'any source',
      `Too many enrolment connections (limit ${this.opts.maxConnections}): refused connection from ${peer}`);
  }

  private onTlsClientError(err: Error, socket: tls.TLSSocket): void {
    this.refused++;
    this.opts.log.debug(`TLS handshake with ${peerAddress(socket.remoteAddress)} failed: ${err.message}`);
    socket.destroy();
  }

  private serve(socket: tls.TLSSocket): void {
    const { log, requestTimeoutMs } = this.opts;
    const peer = peerAddress(socket.remoteAddress);
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.secured.add(socket);
    let state: 'reading' | 'handling' | 'done' = 'reading';
    let answered = false;
    let received: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined = setTimeout(() => {
      if (state !== 'reading') return;
      state = 'done';
      log.debug(`Enrolment connection from ${peer} closed: no request within ${requestTimeoutMs} ms.`);
      socket.destroy();
    }, requestTimeoutMs);
    const clearTimer = (): void => {
      clearTimeout(timer);
      timer = undefined;
    };

    socket.on('error', (err: NodeJS.ErrnoException) => log.debug(`Enrolment connection from ${peer}: ${err.code ?? err.message}`));
    socket.on('close', () => {
      clearTimer();
      this.secured.delete(socket);
      if (!answered) this.refused++;
    });

    /** One write, then a TLS shutdown; the rest of the peer's bytes are read and dropped until it closes. */
    const answer = (text: string): boolean => {
      state = 'done';
      if (socket.destroyed || !socket.writable) {
        socket.destroy();
        return false;
      }
      answered = true;
      this.answered++;
      socket.write(text, 'utf8');
      socket.end();
      socket.resume();
      // A peer that never closes its side is not waited for beyond the request timeout.
      timer = setTimeout(() => socket.destroy(), requestTimeoutMs);
      return true;
    };

    const request = (line: Buffer): void => {
      state = 'handling';
      clearTimer();
      received = [];
      socket.pause(); // nothing more is needed from the peer
      const text = line.toString('utf8');
      const what = `${line.length} bytes${text.startsWith('OSSEC PASS: ') ? ', with password' : ''}`;
      Promise.resolve()
        .then(() => this.opts.handle(text, peer))
        .then(
          (reply) => {
            const outcome = answer(reply) ? 'answered' : 'not answered, the client left';
            log.debug(`Enrolment request from ${peer} (${what}) ${outcome}: ${describeAnswer(reply)}`);
          },
          (err: unknown) => {
            log.error(`Enrolment request from ${peer} (${what}) failed: ${err instanceof Error ? err.message : String(err)}`);
            answer(ENROLMENT_INTERNAL_ERROR_ANSWER);
          },
        )
        .catch((err: unknown) => {
          // e.g. an answer that is not a string: the client gets nothing rather than the server failing
          log.error(`Enrolment request from ${peer} could not be answered: ${err instanceof Error ? err.message : String(err)}`);
          socket.destroy();
        });
    };

    socket.on('data', (chunk: Buffer) => {
      if (state !== 'reading') return; // anything after the line is ignored
      const newline = chunk.indexOf(0x0a);
      const part = newline < 0 ? chunk : chunk.subarray(0, newline);
      size += part.length;
      if (size > ENROLMENT_MAX_LINE) {
        clearTimer();
        received = [];
        log.warning(`Enrolment request from ${peer} refused: longer than ${ENROLMENT_MAX_LINE} bytes.`);
        answer(ENROLMENT_INVALID_REQUEST_ANSWER);
        return;
      }
      received.push(part);
      if (newline >= 0) request(Buffer.concat(received, size));
    });

    socket.on('end', () => {
      if (state !== 'reading') return;
      if (size > 0) {
        request(Buffer.concat(received, size)); // an unterminated line is still a request
        return;
      }
      state = 'done';
      clearTimer();
      log.debug(`Enrolment connection from ${peer} closed without a request.`);
      socket.end();
    });
  }
}

/** The peer's address as agents are registered with it: IPv4 without the `::ffff:` mapping. */
export function peerAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped?.[1] ?? address;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** What may be logged of an answer: never the agent key. */
function describeAnswer(answer: string): string {
  const key = /^OSSEC K:'(\S+) (\S+) (\S+) /.exec(answer);
  if (key) return `key issued to agent ${key[1]} '${key[2]}' (IP ${key[3]})`;
  if (answer.startsWith('OSSEC K:')) return 'key issued';
  const text = answer.replace(/[\x00-\x1f\x7f]/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
