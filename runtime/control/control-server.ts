/**
 * The node's local control socket (`var/run/cluster.sock`), readable by its owner
 * only. Every CLI talks to the node through it: one short request per connection
 * (control-client.ts), so connections are few and brief. A client that connects and
 * says nothing, or trickles bytes that never make a whole request, is cut; so is
 * any connection beyond a fixed number.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { ControlCatalogue, CONTROL_MAX_FRAME_BYTES, type ControlBodies, type ControlFrame, type ControlType, type ControlBody } from '../../protocols/control-messages.js';
import { FramedLink } from '../transport/framed-link.js';
import { RefusalWarnings } from '../transport/per-source-limit.js';

export type ControlAnswer = { [T in ControlType]: { readonly type: T; readonly body: ControlBody<T> } }[ControlType];
export type ControlHandler = (request: ControlFrame) => Promise<ControlAnswer>;

export const controlSocketPath = (home: string): string => path.join(home, 'var', 'run', 'cluster.sock');

/**
 * CLIs hold one connection for one request, so even scripts running many CLIs at once
 * stay far below this; a local process opening more only wants to exhaust descriptors
 * and memory (each link may buffer up to CONTROL_MAX_FRAME_BYTES).
 */
export const CONTROL_MAX_CONNECTIONS = 64;
/** A CLI sends its request right after connecting; 30 s leaves room for a loaded host. */
export const CONTROL_IDLE_MS = 30_000;

export interface ControlServerOptions {
  /** A connection with no request in flight that brings no whole frame for this long is closed. */
  readonly idleMs?: number;
}

/** One accepted connection: the idle clock runs only while no request is in flight. */
interface ControlConnection {
  readonly link: FramedLink<ControlBodies>;
  inFlight: number;
  idleTimer: NodeJS.Timeout | undefined;
}

export class ControlServer {
  private server: net.Server | undefined;
  private readonly connections = new Set<ControlConnection>();
  private readonly idleMs: number;
  private readonly refusals = new RefusalWarnings();

  constructor(
    private readonly socketPath: string,
    private readonly handle: ControlHandler,
    private readonly log: Logger,
    opts: ControlServerOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? CONTROL_IDLE_MS;
  }

  async start(): Promise<void> {
    await fs.mkdir(path.dirname(this.socketPath), { recursive: true, mode: 0o750 });
    await removeStaleSocket(this.socketPath);
    const server = net.createServer((socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    await fs.chmod(this.socketPath, 0o600);
    this.server = server;
    this.localLog.info(`Serving on ${this.socketPath}`);
  }

  async stop(): Promise<void> {
    for (const c of this.connections) {
      clearTimeout(c.idleTimer);
      c.link.close('node stopping');
    }
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private get localLog(): Logger {
    return this.log.tagged('Local Server');
  }

  private onConnection(socket: net.Socket): void {
    if (this.connections.size >= CONTROL_MAX_CONNECTIONS) {
      this.refuse(socket);
      return;
    }
    const link = new FramedLink(socket, {
      catalogue: ControlCatalogue,
      maxFrameBytes: CONTROL_MAX_FRAME_BYTES,
      requestTimeoutMs: 5000,
      onProtocolError: (err) => this.localLog.error(`Refused control request: ${err.message}`),
    });
    const conn: ControlConnection = { link, inFlight: 0, idleTimer: undefined };
    this.connections.add(conn);
    link.onClose(() => {
      clearTimeout(conn.idleTimer);
      this.connections.delete(conn);
    });
    this.armIdle(conn);
    link.attach((frame) => this.serve(conn, frame));
  }

  /** Only whole, valid requests stop the idle clock: bytes alone (a trickle) do not. */
  private serve(conn: ControlConnection, frame: ControlFrame): void {
    clearTimeout(conn.idleTimer);
    conn.idleTimer = undefined;
    conn.inFlight += 1;
    const { link } = conn;
    // Built this way, a handler that throws instead of rejecting still settles (and frees the connection's clock).
    new Promise<ControlAnswer>((resolve) => resolve(this.handle(frame)))
      .then(
        (answer) => { if (!link.closed) link.reply(frame, answer.type, answer.body); },
        (err: Error) => { if (!link.closed) link.reply(frame, 'error', { code: 'failed', message: err.message }); },
      )
      .finally(() => {
        conn.inFlight -= 1;
        // The clock restarts from the answer, however long the request took.
        if (conn.inFlight === 0) this.armIdle(conn);
      });
  }

  private armIdle(conn: ControlConnection): void {
    if (conn.link.closed) return;
    clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(() => {
      this.localLog.debug(`Closing an idle control connection: no whole request for ${this.idleMs} ms.`);
      conn.link.close('idle');
    }, this.idleMs);
    // Never what keeps a process alive: stopping the node must not wait for idle clients.
    conn.idleTimer.unref();
  }

  private refuse(socket: net.Socket): void {
    socket.on('error', () => undefined);
    socket.destroy();
    // Every local client is the same source: one warning per interval for all of them.
    this.refusals.report(this.localLog, 'warning', 'local', `Too many control connections (limit ${CONTROL_MAX_CONNECTIONS}): refused one`);
  }
}

/** A socket file nobody answers on is left over from a crash; one that answers means another node runs here. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  const answers = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => { probe.destroy(); resolve(true); });
    probe.once('error', () => resolve(false));
  });
  if (answers) throw new Error(`another clusterd is already running here (its control socket ${socketPath} answers)`);
  await fs.rm(socketPath, { force: true });
}
