/**
 * One request over a node's control socket, for the CLIs.
 */
import net from 'node:net';
import { ControlCatalogue, CONTROL_MAX_FRAME_BYTES, type ControlFrame, type ControlType, type ControlBody } from '../../protocols/control-messages.js';
import { RequestError } from '../../protocols/errors.js';
import { FramedLink } from '../transport/framed-link.js';
import { controlSocketPath } from './control-server.js';

export class ClusterNotRunningError extends Error {
  constructor(readonly socketPath: string, cause: string) {
    super(`Cluster is not running (no node answers on ${socketPath}: ${cause})`);
    this.name = 'ClusterNotRunningError';
  }
}

export async function controlRequest<T extends ControlType>(home: string, type: T, body: ControlBody<T>, timeoutMs = 30_000): Promise<ControlFrame> {
  const socketPath = controlSocketPath(home);
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) => reject(new ClusterNotRunningError(socketPath, err.code ?? err.message)));
  });
  const link = new FramedLink(socket, { catalogue: ControlCatalogue, maxFrameBytes: CONTROL_MAX_FRAME_BYTES, requestTimeoutMs: timeoutMs });
  try {
    return await link.request(type, body);
  } catch (err) {
    if (err instanceof RequestError && err.code === 'link-closed') throw new ClusterNotRunningError(socketPath, err.message);
    throw err;
  } finally {
    link.close('done');
  }
}
