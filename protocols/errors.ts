/**
 * Errors that cross the protocol boundary. Each has a stable code, so both sides
 * can log the same reason and tests can assert it.
 */
export type FrameErrorCode = 'frame-too-large' | 'bad-magic' | 'bad-format' | 'undecodable' | 'invalid-message';

export class FrameError extends Error {
  /** `frameId`: the id of a well-formed envelope whose type or body was refused. */
  constructor(readonly code: FrameErrorCode, message: string, readonly frameId?: number) {
    super(message);
    this.name = 'FrameError';
  }
}

/**
 * Why a handshake was refused. Numbers are Wazuh's cluster error codes where one
 * exists, so operators can search for them.
 */
export const RejectReasons = {
  'protocol-version': { wazuh: null, text: 'Unsupported cluster protocol version' },
  'bad-key': { wazuh: 3025, text: 'Could not verify the key proof. Check the cluster key is the same in every node\'s ossec.conf' },
  'cluster-name': { wazuh: 3030, text: 'Worker does not belong to the same cluster' },
  'version': { wazuh: 3031, text: 'Worker and master versions are not the same' },
  'duplicate-name': { wazuh: 3028, text: 'Worker node ID already exists' },
  'master-name': { wazuh: 3029, text: 'Connected worker with same name as the master' },
  'node-type': { wazuh: null, text: 'Only worker nodes can connect to the master' },
  'timeout': { wazuh: null, text: 'Handshake not completed in time' },
  'out-of-order': { wazuh: null, text: 'Unexpected message during the handshake' },
  'shutting-down': { wazuh: null, text: 'The master is shutting down' },
  'certificate': { wazuh: null, text: 'The peer certificate does not name the node it claims to be' },
} as const;

export type RejectCode = keyof typeof RejectReasons;
export const REJECT_CODES = Object.keys(RejectReasons) as [RejectCode, ...RejectCode[]];

/** `Error 3030 - Worker does not belong to the same cluster: detail`, as Wazuh prints errors. */
export function describeReject(code: RejectCode, detail?: string): string {
  const r = RejectReasons[code];
  const head = r.wazuh === null ? r.text : `Error ${r.wazuh} - ${r.text}`;
  return detail ? `${head}: ${detail}` : head;
}

export class HandshakeRejectedError extends Error {
  constructor(readonly code: RejectCode, readonly detail: string) {
    super(describeReject(code, detail || undefined));
    this.name = 'HandshakeRejectedError';
  }
}

/** A request answered with an `error` frame, or never answered. */
export class RequestError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'RequestError';
  }
}
