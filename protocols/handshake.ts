/**
 * The handshake of the master–worker link, as pure state machines; the runtime
 * only moves their frames.
 *
 *   worker → hello     {protocol, cluster, node, nodeType, version, nonceW}
 *   master → challenge {node, nonceM, proofM}     proofM = HMAC(key, "master" ‖ transcript)
 *   worker → proof     {proofW}                   proofW = HMAC(key, "worker" ‖ transcript)
 *   master → welcome | reject
 *
 * The transcript binds both fresh nonces, both names and every hello field, so the key never crosses
 * the wire, a recorded handshake cannot be replayed (the other side's nonce is new),
 * and a proof cannot be reflected (the role is part of the MAC).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClusterBody } from './cluster-messages.js';
import type { RejectCode } from './errors.js';
import { PROTOCOL_VERSION } from './version.js';

export type HelloBody = ClusterBody<'hello'>;
export type ChallengeBody = ClusterBody<'challenge'>;
export type ProofBody = ClusterBody<'proof'>;

export interface LocalIdentity {
  readonly cluster: string;
  readonly node: string;
  readonly version: string;
  /** The 32-character cluster key; used only as an HMAC key. */
  readonly key: string;
}

export type Role = 'master' | 'worker';

export function newNonce(): Uint8Array {
  return randomBytes(32);
}

/** Length-prefixed fields, so no two different transcripts serialise alike. */
export function transcript(hello: HelloBody, masterNode: string, masterNonce: Uint8Array): Buffer {
  // Every hello field is bound, so nobody in the middle can change the version or type it claims.
  const fields = [
    Buffer.from(`clusterd/handshake/${hello.protocol}`), Buffer.from(hello.cluster), Buffer.from(hello.node),
    Buffer.from(hello.nodeType), Buffer.from(hello.version),
    Buffer.from(masterNode), Buffer.from(hello.nonce), Buffer.from(masterNonce),
  ];
  return Buffer.concat(fields.flatMap((f) => {
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(f.length);
    return [len, f];
  }));
}

export function proofFor(key: string, role: Role, t: Buffer): Buffer {
  return createHmac('sha256', key).update(role).update(t).digest();
}

export function verifyProof(key: string, role: Role, t: Buffer, proof: Uint8Array): boolean {
  const expected = proofFor(key, role, t);
  return proof.length === expected.length && timingSafeEqual(expected, proof);
}

export type Rejection = { readonly reject: RejectCode; readonly detail: string };

/** The master's side. One instance per incoming connection. */
export class MasterHandshake {
  private stage: 'await-hello' | 'await-proof' | 'authenticated' | 'failed' = 'await-hello';
  private hello: HelloBody | undefined;
  private t: Buffer | undefined;

  constructor(private readonly self: LocalIdentity, private readonly nonce: Uint8Array = newNonce()) {}

  get authenticated(): HelloBody | undefined {
    return this.stage === 'authenticated' ? this.hello : undefined;
  }

  onHello(hello: HelloBody): { readonly challenge: ChallengeBody } | Rejection {
    if (this.stage !== 'await-hello') return this.fail('out-of-order', 'hello received twice');
    if (hello.protocol !== PROTOCOL_VERSION) {
      return this.fail('protocol-version', `worker speaks protocol ${hello.protocol}, master speaks ${PROTOCOL_VERSION}`);
    }
    this.hello = hello;
    this.t = transcript(hello, this.self.node, this.nonce);
    this.stage = 'await-proof';
    return { challenge: { node: this.self.node, nonce: this.nonce, proof: proofFor(this.self.key, 'master', this.t) } };
  }

  /** On success the worker is authenticated; `admissionCheck` and the name checks come next. */
  onProof(proof: ProofBody): { readonly worker: HelloBody } | Rejection {
    if (this.stage !== 'await-proof' || !this.hello || !this.t) return this.fail('out-of-order', 'proof before hello');
    if (!verifyProof(this.self.key, 'worker', this.t, proof.proof)) {
      return this.fail('bad-key', `key proof of worker '${this.hello.node}' did not verify`);
    }
    this.stage = 'authenticated';
    return { worker: this.hello };
  }

  private fail(reject: RejectCode, detail: string): Rejection {
    this.stage = 'failed';
    return { reject, detail };
  }
}

/** What the master checks of an authenticated worker before the name lookup. */
export function admissionCheck(self: LocalIdentity, hello: HelloBody): Rejection | null {
  if (hello.nodeType !== 'worker') return { reject: 'node-type', detail: `'${hello.node}' is configured as ${hello.nodeType}` };
  if (hello.cluster !== self.cluster) {
    return { reject: 'cluster-name', detail: `worker is in cluster '${hello.cluster}', master in '${self.cluster}'` };
  }
  if (hello.version !== self.version) {
    return { reject: 'version', detail: `worker runs ${hello.version}, master runs ${self.version}` };
  }
  if (hello.node === self.node) return { reject: 'master-name', detail: hello.node };
  return null;
}

/** The worker's side. One instance per connection attempt. */
export class WorkerHandshake {
  private readonly helloBody: HelloBody;
  private masterNode: string | undefined;

  constructor(private readonly self: LocalIdentity, nonce: Uint8Array = newNonce()) {
    this.helloBody = {
      protocol: PROTOCOL_VERSION, cluster: self.cluster, node: self.node, nodeType: 'worker', version: self.version, nonce,
    };
  }

  hello(): HelloBody {
    return this.helloBody;
  }

  /** The master's name, once its challenge verified. */
  get master(): string | undefined {
    return this.masterNode;
  }

  onChallenge(c: ChallengeBody): { readonly proof: ProofBody } | Rejection {
    const t = transcript(this.helloBody, c.node, c.nonce);
    if (!verifyProof(this.self.key, 'master', t, c.proof)) {
      return { reject: 'bad-key', detail: `key proof of master '${c.node}' did not verify` };
    }
    this.masterNode = c.node;
    return { proof: { proof: proofFor(this.self.key, 'worker', t) } };
  }
}
