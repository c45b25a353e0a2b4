import assert from 'node:assert/strict';
import test from 'node:test';
import { ClusterCatalogue } from '../../../protocols/cluster-messages.js';
import { decodePayload, encodePayload, envelope } from '../../../protocols/envelope.js';
import { HandshakeRejectedError, describeReject } from '../../../protocols/errors.js';
import {
  MasterHandshake, WorkerHandshake, admissionCheck, newNonce, proofFor, transcript, verifyProof,
  type ChallengeBody, type HelloBody, type LocalIdentity, type ProofBody, type Rejection,
} from '../../../protocols/handshake.js';
import { CLUSTERD_VERSION, PROTOCOL_VERSION } from '../../../protocols/version.js';

const KEY = 'c98b62a9b6169ac5f67dae55ae4a9088';
const OTHER_KEY = 'ffffffffffffffffffffffffffffffff';

const master: LocalIdentity = { cluster: 'wazuh', node: 'master-node', version: CLUSTERD_VERSION, key: KEY };
const worker: LocalIdentity = { cluster: 'wazuh', node: 'worker-1', version: CLUSTERD_VERSION, key: KEY };

function isRejection(x: object): x is Rejection {
  return 'reject' in x;
}

function challengeOf(r: { readonly challenge: ChallengeBody } | Rejection): ChallengeBody {
  if (isRejection(r)) assert.fail(`unexpected rejection ${r.reject}: ${r.detail}`);
  return r.challenge;
}

function proofOf(r: { readonly proof: ProofBody } | Rejection): ProofBody {
  if (isRejection(r)) assert.fail(`unexpected rejection ${r.reject}: ${r.detail}`);
  return r.proof;
}

function rejected(r: object, code: string): void {
  assert.ok(isRejection(r), `expected rejection '${code}', got ${JSON.stringify(Object.keys(r))}`);
  assert.equal(r.reject, code);
  assert.equal(typeof r.detail, 'string');
}

/** Carries a body over the wire as the runtime does: msgpack, then schema validation. */
function overWire<T extends 'hello' | 'challenge' | 'proof'>(type: T, body: HelloBody | ChallengeBody | ProofBody): never {
  const f = ClusterCatalogue.parse(decodePayload(encodePayload(envelope(type, 1, body as never))));
  assert.equal(f.type, type);
  return f.body as never;
}

/** One complete successful handshake, returning every message. */
function handshake(): { hello: HelloBody; challenge: ChallengeBody; proof: ProofBody; m: MasterHandshake; w: WorkerHandshake } {
  const w = new WorkerHandshake(worker);
  const m = new MasterHandshake(master);
  const hello = w.hello();
  const challenge = challengeOf(m.onHello(hello));
  const proof = proofOf(w.onChallenge(challenge));
  const done = m.onProof(proof);
  assert.ok(!isRejection(done));
  return { hello, challenge, proof, m, w };
}

test('handshake - happy path ends with the master holding the worker hello', () => {
  const w = new WorkerHandshake(worker);
  const m = new MasterHandshake(master);
  assert.equal(m.authenticated, undefined);
  assert.equal(w.master, undefined);
  const hello = w.hello();
  assert.equal(hello.protocol, PROTOCOL_VERSION);
  assert.equal(hello.nodeType, 'worker');
  assert.equal(hello.cluster, 'wazuh');
  assert.equal(hello.node, 'worker-1');
  assert.equal(hello.nonce.length, 32);
  const challenge = challengeOf(m.onHello(hello));
  assert.equal(challenge.node, 'master-node');
  assert.equal(m.authenticated, undefined, 'not authenticated before the proof');
  const proof = proofOf(w.onChallenge(challenge));
  assert.equal(w.master, 'master-node');
  const done = m.onProof(proof);
  if (isRejection(done)) assert.fail(`rejected: ${done.reject}`);
  assert.deepEqual(done.worker, hello);
  assert.deepEqual(m.authenticated, hello);
  assert.equal(admissionCheck(master, done.worker), null);
});

test('handshake - happy path with every message carried over msgpack and the schema', () => {
  const w = new WorkerHandshake(worker);
  const m = new MasterHandshake(master);
  const challenge = challengeOf(m.onHello(overWire('hello', w.hello())));
  const proof = proofOf(w.onChallenge(overWire('challenge', challenge)));
  const done = m.onProof(overWire('proof', proof));
  if (isRejection(done)) assert.fail(`rejected: ${done.reject}`);
  assert.equal(done.worker.node, 'worker-1');
});

test('handshake - nonces are fresh 32-byte values', () => {
  const a = newNonce();
  const b = newNonce();
  assert.equal(a.length, 32);
  assert.notDeepEqual(Buffer.from(a), Buffer.from(b));
  assert.notDeepEqual(Buffer.from(new WorkerHandshake(worker).hello().nonce), Buffer.from(new WorkerHandshake(worker).hello().nonce));
});

test('handshake - a worker with the wrong key is refused by the master with bad-key', () => {
  const wrong: LocalIdentity = { ...worker, key: OTHER_KEY };
  const w = new WorkerHandshake(wrong);
  const nonce = newNonce();
  const m = new MasterHandshake(master, nonce);
  // A master with the worker's (wrong) key and the same nonce gets the worker to answer.
  const accomplice = new MasterHandshake({ ...master, key: OTHER_KEY }, nonce);
  const hello = w.hello();
  const real = challengeOf(m.onHello(hello));
  const fake = challengeOf(accomplice.onHello(hello));
  assert.deepEqual(Buffer.from(real.nonce), Buffer.from(fake.nonce));
  const proof = proofOf(w.onChallenge(fake));
  rejected(m.onProof(proof), 'bad-key');
  assert.equal(m.authenticated, undefined);
});

test('handshake - a worker given a challenge from a master with another key rejects bad-key', () => {
  const w = new WorkerHandshake(worker);
  const m = new MasterHandshake({ ...master, key: OTHER_KEY });
  const challenge = challengeOf(m.onHello(w.hello()));
  rejected(w.onChallenge(challenge), 'bad-key');
  assert.equal(w.master, undefined);
});

test('handshake - replay of a recorded worker hello and proof against a fresh master is refused', () => {
  const recorded = handshake();
  const fresh = new MasterHandshake(master);
  const challenge = challengeOf(fresh.onHello(recorded.hello));
  assert.notDeepEqual(Buffer.from(challenge.nonce), Buffer.from(recorded.challenge.nonce));
  rejected(fresh.onProof(recorded.proof), 'bad-key');
  assert.equal(fresh.authenticated, undefined);
});

test('handshake - replay of a recorded master challenge to a fresh worker is refused', () => {
  const recorded = handshake();
  const fresh = new WorkerHandshake(worker);
  rejected(fresh.onChallenge(recorded.challenge), 'bad-key');
  assert.equal(fresh.master, undefined);
});

test('handshake - reflection: a worker proof made with role master fails', () => {
  const w = new WorkerHandshake(worker);
  const m = new MasterHandshake(master);
  const hello = w.hello();
  const challenge = challengeOf(m.onHello(hello));
  const t = transcript(hello, challenge.node, challenge.nonce);
  const asMaster = proofFor(KEY, 'master', t);
  // The master's own proof is exactly that: reflecting it back must fail.
  assert.deepEqual(Buffer.from(challenge.proof), asMaster);
  rejected(m.onProof({ proof: asMaster }), 'bad-key');
  assert.equal(verifyProof(KEY, 'worker', t, proofFor(KEY, 'worker', t)), true);
  assert.equal(verifyProof(KEY, 'worker', t, asMaster), false);
  assert.equal(verifyProof(KEY, 'worker', t, proofFor(KEY, 'worker', t).subarray(0, 31)), false);
});

test('handshake - reflection: a master challenge whose proof was made with role worker fails', () => {
  const w = new WorkerHandshake(worker);
  const hello = w.hello();
  const mNonce = newNonce();
  const t = transcript(hello, master.node, mNonce);
  rejected(w.onChallenge({ node: master.node, nonce: mNonce, proof: proofFor(KEY, 'worker', t) }), 'bad-key');
});

test('handshake - protocol version mismatch is refused with protocol-version', () => {
  const m = new MasterHandshake(master);
  const hello = { ...new WorkerHandshake(worker).hello(), protocol: PROTOCOL_VERSION + 1 };
  rejected(m.onHello(hello), 'protocol-version');
  rejected(m.onProof({ proof: new Uint8Array(32) }), 'out-of-order');
});

test('handshake - proof before hello is out-of-order', () => {
  const m = new MasterHandshake(master);
  rejected(m.onProof({ proof: new Uint8Array(32) }), 'out-of-order');
  // The failed handshake stays failed.
  rejected(m.onHello(new WorkerHandshake(worker).hello()), 'out-of-order');
});

test('handshake - hello twice is out-of-order', () => {
  const w = new WorkerHandshake(worker);
  const m = new MasterHandshake(master);
  challengeOf(m.onHello(w.hello()));
  rejected(m.onHello(w.hello()), 'out-of-order');
  const proof = proofOf(w.onChallenge(challengeOf(new MasterHandshake(master).onHello(w.hello()))));
  rejected(m.onProof(proof), 'out-of-order');
  assert.equal(m.authenticated, undefined);
});

test('handshake - a second proof after success is out-of-order', () => {
  const { m, proof } = handshake();
  rejected(m.onProof(proof), 'out-of-order');
  assert.equal(m.authenticated, undefined);
});

test('handshake - admissionCheck', () => {
  const hello = new WorkerHandshake(worker).hello();
  assert.equal(admissionCheck(master, hello), null);
  rejected(admissionCheck(master, { ...hello, cluster: 'other' }) ?? {}, 'cluster-name');
  rejected(admissionCheck(master, { ...hello, version: '9.9.9' }) ?? {}, 'version');
  rejected(admissionCheck(master, { ...hello, nodeType: 'master' }) ?? {}, 'node-type');
  rejected(admissionCheck(master, { ...hello, node: master.node }) ?? {}, 'master-name');
  const byName = admissionCheck(master, { ...hello, node: master.node });
  assert.equal(byName?.detail, master.node);
  assert.match(admissionCheck(master, { ...hello, cluster: 'other' })?.detail ?? '', /other/);
});

test('handshake - transcript differs when any field differs', () => {
  const hello = new WorkerHandshake(worker).hello();
  const mNonce = newNonce();
  const base = transcript(hello, 'master-node', mNonce);
  assert.deepEqual(transcript({ ...hello }, 'master-node', Buffer.from(mNonce)), base, 'deterministic');
  const variants: [string, Buffer][] = [
    ['protocol', transcript({ ...hello, protocol: hello.protocol + 1 }, 'master-node', mNonce)],
    ['cluster', transcript({ ...hello, cluster: 'wazuh2' }, 'master-node', mNonce)],
    ['node', transcript({ ...hello, node: 'worker-2' }, 'master-node', mNonce)],
    ['node type', transcript({ ...hello, nodeType: 'master' }, 'master-node', mNonce)],
    ['version', transcript({ ...hello, version: '9.9.9' }, 'master-node', mNonce)],
    ['master node', transcript(hello, 'master-nodf', mNonce)],
    ['worker nonce', transcript({ ...hello, nonce: newNonce() }, 'master-node', mNonce)],
    ['master nonce', transcript(hello, 'master-node', newNonce())],
    ['swapped nonces', transcript({ ...hello, nonce: mNonce }, 'master-node', hello.nonce)],
  ];
  for (const [what, t] of variants) {
    assert.notDeepEqual(t, base, `${what} changes the transcript`);
    assert.notDeepEqual(proofFor(KEY, 'worker', t), proofFor(KEY, 'worker', base), `${what} changes the proof`);
  }
});

test('handshake - transcript fields are length-prefixed', () => {
  const hello = new WorkerHandshake(worker).hello();
  const n = newNonce();
  assert.notDeepEqual(
    transcript({ ...hello, cluster: 'ab', node: 'c' }, 'm', n),
    transcript({ ...hello, cluster: 'a', node: 'bc' }, 'm', n),
  );
  assert.notDeepEqual(
    transcript({ ...hello, node: 'ab' }, 'c', n),
    transcript({ ...hello, node: 'a' }, 'bc', n),
  );
  assert.notDeepEqual(
    transcript({ ...hello, cluster: 'x', node: 'master' }, 'node', n),
    transcript({ ...hello, cluster: 'x', node: 'mast' }, 'ernode', n),
  );
});

test('handshake - proofs and handshake messages never contain the key bytes', () => {
  const { hello, challenge, proof } = handshake();
  const key = Buffer.from(KEY);
  const keyHead = key.subarray(0, 16);
  const keyTail = key.subarray(16);
  const wire = [
    Buffer.from(challenge.proof), Buffer.from(proof.proof),
    encodePayload(envelope('hello', 1, hello)), encodePayload(envelope('challenge', 2, challenge)), encodePayload(envelope('proof', 3, proof)),
  ];
  for (const bytes of wire) {
    assert.equal(bytes.includes(key), false);
    assert.equal(bytes.includes(keyHead), false);
    assert.equal(bytes.includes(keyTail), false);
    assert.equal(bytes.includes(Buffer.from(KEY, 'hex')), false);
  }
  assert.equal(challenge.proof.length, 32);
  assert.equal(proof.proof.length, 32);
});

test('handshake - describeReject formats like Wazuh', () => {
  assert.equal(describeReject('cluster-name', 'detail'), 'Error 3030 - Worker does not belong to the same cluster: detail');
  assert.equal(describeReject('cluster-name'), 'Error 3030 - Worker does not belong to the same cluster');
  assert.equal(describeReject('master-name', 'master-node'), 'Error 3029 - Connected worker with same name as the master: master-node');
  assert.equal(describeReject('protocol-version', 'x'), 'Unsupported cluster protocol version: x');
  const err = new HandshakeRejectedError('version', 'worker runs 1, master runs 2');
  assert.equal(err.message, 'Error 3031 - Worker and master versions are not the same: worker runs 1, master runs 2');
  assert.equal(err.code, 'version');
  assert.equal(new HandshakeRejectedError('timeout', '').message, 'Handshake not completed in time');
});
