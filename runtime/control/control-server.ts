/**
 * The node's local control socket (`var/run/cluster.sock`), readable by its owner
 * only. Every CLI talks to the node through it.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { ControlCatalogue, CONTROL_MAX_FRAME_BYTES, type ControlBodies, type ControlFrame, type ControlType, type ControlBody } from '../../protocols/control-messages.js';
import { FramedLink } from '../transport/framed-link.js';

export type ControlAnswer = { [T in ControlType]: { readonly type: T; readonly body: ControlBody<T> } }[ControlType];
export type ControlHandler = (request: ControlFrame) => Promise<ControlAnswer>;

export const controlSocketPath = (home: string): string => path.join(home, 'var', 'run', 'cluster.sock');

export class ControlServer {
  private server: net.Server | undefined;
  private readonly links = new Set<FramedLink<ControlBodies>>();

  constructor(private readonly socketPath: string, private readonly handle: ControlHandler, private readonly log: Logger) {}

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
    this.log.tagged('Local Server').info(`Serving on ${this.socketPath}`);
  }

  async stop(): Promise<void> {
    for (const l of this.links) l.close('node stopping');
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private onConnection(socket: net.Socket): void {
    const link = new FramedLink(socket, {
      catalogue: ControlCatalogue,
      maxFrameBytes: CONTROL_MAX_FRAME_BYTES,
      requestTimeoutMs: 5000,
      onProtocolError: (err) => this.log.tagged('Local Server').error(`Refused control request: ${err.message}`),
    });
    this.links.add(link);
    link.onClose(() => this.links.delete(link));
    link.attach((frame) => {
      this.handle(frame).then(
        (answer) => { if (!link.closed) link.reply(frame, answer.type, answer.body); },
        (err: Error) => { if (!link.closed) link.reply(frame, 'error', { code: 'failed', message: err.message }); },
      );
    });
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
