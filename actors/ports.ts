/**
 * What actors need from the runtime, declared by the actors themselves. The runtime
 * implements these (FramedLink, the cluster client, the file scanner); actors never
 * see a socket.
 */
import type { ClusterBody, ClusterFrame, ClusterType, NodeInfo } from '../protocols/cluster-messages.js';

/** An authenticated master–worker link. */
export interface PeerLink {
  readonly remoteAddress: string;
  readonly closed: boolean;
  send<T extends ClusterType>(type: T, body: ClusterBody<T>): number;
  /** Sends and waits until the socket drains: for bulk streams. */
  sendPaced<T extends ClusterType>(type: T, body: ClusterBody<T>): Promise<void>;
  reply<T extends ClusterType>(to: { readonly id: number }, type: T, body: ClusterBody<T>): void;
  request<T extends ClusterType>(type: T, body: ClusterBody<T>, timeoutMs?: number): Promise<ClusterFrame>;
  /** Routes inbound non-reply frames; the socket pauses while `busy()` is true. */
  attach(handler: (frame: ClusterFrame) => void, busy?: () => boolean): void;
  onClose(handler: (reason: string) => void): void;
  close(reason: string): void;
}

export interface AdmittedWorker {
  readonly info: NodeInfo;
  readonly link: PeerLink;
}

/** Mailbox depth above which an actor's link stops reading from its socket. */
export const MAILBOX_HIGH_WATER = 512;
