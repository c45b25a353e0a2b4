import assert from 'node:assert/strict';
import test from 'node:test';
import { ClusterCatalogue } from '../../../protocols/cluster-messages.js';
import { ControlCatalogue } from '../../../protocols/control-messages.js';
import { Packr } from 'msgpackr';
import { decodePayload, encodePayload, envelope } from '../../../protocols/envelope.js';
import { FrameError } from '../../../protocols/errors.js';

const nonce = (n = 32, fill = 0xab): Uint8Array => new Uint8Array(n).fill(fill);

const helloBody = {
  protocol: 1, cluster: 'wazuh', node: 'worker-1', nodeType: 'worker' as const, version: '0.1.0', nonce: nonce(),
};

const node = { name: 'worker-1', type: 'worker' as const, version: '0.1.0', address: '10.0.0.2' };

function wire(value: unknown): unknown {
  return decodePayload(encodePayload(value));
}

/** Asserts a FrameError with `code`, and returns it for further checks. */
function frameError(fn: () => unknown, code: string): FrameError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof FrameError, `expected a FrameError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

function rejectCluster(raw: unknown): FrameError {
  return frameError(() => ClusterCatalogue.parse(raw), 'invalid-message');
}

test('envelope - round trip of a valid cluster frame through msgpack', () => {
  const frame = envelope<typeof ClusterCatalogue.bodies, 'hello'>('hello', 7, helloBody);
  const parsed = ClusterCatalogue.parse(wire(frame));
  assert.equal(parsed.type, 'hello');
  assert.equal(parsed.v, 1);
  assert.equal(parsed.id, 7);
  assert.equal(Object.hasOwn(parsed, 're'), false);
  if (parsed.type !== 'hello') throw new Error('unreachable');
  const { nonce: got, ...rest } = parsed.body;
  const { nonce: sent, ...expected } = helloBody;
  assert.deepEqual(rest, expected);
  assert.ok(got instanceof Uint8Array);
  assert.deepEqual(Buffer.from(got), Buffer.from(sent));
});

test('envelope - round trip of a reply frame keeps re', () => {
  const frame = envelope<typeof ClusterCatalogue.bodies, 'nodes'>('nodes', 9, { nodes: [node] }, 4);
  const parsed = ClusterCatalogue.parse(wire(frame));
  assert.deepEqual(parsed, { v: 1, type: 'nodes', id: 9, re: 4, body: { nodes: [node] } });
});

test('envelope - round trip of control frames', () => {
  const req = envelope<typeof ControlCatalogue.bodies, 'crash-actor'>('crash-actor', 1, { path: '/clusterd/master/coordinator' });
  assert.deepEqual(ControlCatalogue.parse(wire(req)), req);
  const rep = envelope<typeof ControlCatalogue.bodies, 'error'>('error', 2, { code: 'refused', message: 'no fault injection' }, 1);
  assert.deepEqual(ControlCatalogue.parse(wire(rep)), rep);
  const nodes = envelope<typeof ControlCatalogue.bodies, 'nodes'>('nodes', 3, { nodes: [node] }, 2);
  assert.deepEqual(ControlCatalogue.parse(wire(nodes)), nodes);
});

test('envelope - decodePayload of truncated msgpack throws undecodable', () => {
  const p = encodePayload(envelope<typeof ClusterCatalogue.bodies, 'hello'>('hello', 1, helloBody));
  for (let i = 0; i < p.length; i++) {
    frameError(() => decodePayload(p.subarray(0, i)), 'undecodable');
  }
});

test('envelope - decodePayload with trailing bytes throws undecodable', () => {
  const p = encodePayload({ v: 1, type: 'ping', id: 1, body: {} });
  frameError(() => decodePayload(Buffer.concat([p, Buffer.from([0xc0])])), 'undecodable');
  frameError(() => decodePayload(Buffer.concat([p, p])), 'undecodable');
});

test('envelope - 200 KB of nested arrays throws undecodable, no RangeError escapes', () => {
  const deep = Buffer.concat([Buffer.alloc(200 * 1024, 0x91), Buffer.from([0xc0])]);
  frameError(() => decodePayload(deep), 'undecodable');
  const deepMaps = Buffer.concat([Buffer.from('81a161'.repeat(70_000), 'hex'), Buffer.from([0xc0])]);
  frameError(() => decodePayload(deepMaps), 'undecodable');
  // The decoder is still usable afterwards.
  assert.deepEqual(decodePayload(encodePayload({ a: [1, 2] })), { a: [1, 2] });
});

test('envelope - a msgpack map decodes to a plain object and a bin to a Uint8Array', () => {
  const decoded = decodePayload(encodePayload(new Map<string, unknown>([['a', 1], ['b', new Uint8Array([1, 2, 3])]])));
  assert.ok(!(decoded instanceof Map));
  assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  const obj = decoded as { a: unknown; b: unknown };
  assert.equal(obj.a, 1);
  assert.ok(obj.b instanceof Uint8Array);
  assert.deepEqual([...obj.b], [1, 2, 3]);
  // Raw bytes: fixmap {"k": bin8 [9]}
  const raw = decodePayload(Buffer.from([0x81, 0xa1, 0x6b, 0xc4, 0x01, 0x09])) as { k: unknown };
  assert.equal(Object.getPrototypeOf(raw), Object.prototype);
  assert.ok(raw.k instanceof Uint8Array);
  assert.deepEqual([...raw.k], [9]);
});

test('envelope - a __proto__ key in a body does not pollute Object.prototype', () => {
  const body = JSON.parse('{"__proto__": {"polluted": "yes"}, "code": "x", "message": "y"}') as unknown;
  const payload = encodePayload({ v: 1, type: 'error', id: 5, body });
  assert.ok(payload.includes(Buffer.from('__proto__')), 'the key really is on the wire');
  const decoded = decodePayload(payload) as { body: Record<string, unknown> };
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.equal(Object.getPrototypeOf(decoded.body), Object.prototype);
  assert.equal((decoded.body as { polluted?: unknown }).polluted, undefined);
  const err = rejectCluster(decoded);
  assert.equal(err.frameId, 5);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
});

test('envelope - parse rejects a missing envelope key', () => {
  const base = { v: 1, type: 'ping', id: 1, body: {} };
  for (const key of ['v', 'type', 'id', 'body'] as const) {
    const raw: Record<string, unknown> = { ...base };
    delete raw[key];
    rejectCluster(raw);
  }
});

test('envelope - parse rejects an extra envelope key', () => {
  const err = rejectCluster({ v: 1, type: 'ping', id: 1, body: {}, extra: true });
  assert.match(err.message, /extra/);
});

test('envelope - parse rejects envelopes that are not objects', () => {
  for (const raw of [null, undefined, 1, 'ping', [], [1, 'ping', 1, {}]]) rejectCluster(raw);
});

test('envelope - parse rejects v != 1', () => {
  for (const v of [0, 2, '1', null]) rejectCluster({ v, type: 'ping', id: 1, body: {} });
});

test('envelope - parse rejects a non-integer, negative or too large id', () => {
  for (const id of [1.5, -1, 2 ** 32, '1', null, Number.NaN]) {
    const err = rejectCluster({ v: 1, type: 'ping', id, body: {} });
    assert.match(err.message, /id/);
  }
  for (const re of [1.5, -1, '3']) rejectCluster({ v: 1, type: 'ping', id: 1, re, body: {} });
  // The extremes are valid.
  assert.equal(ClusterCatalogue.parse({ v: 1, type: 'ping', id: 0, body: {} }).id, 0);
  assert.equal(ClusterCatalogue.parse({ v: 1, type: 'ping', id: 0xffff_ffff, body: {} }).id, 0xffff_ffff);
});

test('envelope - parse rejects an unknown type and the error carries the frameId', () => {
  const err = rejectCluster({ v: 1, type: 'no-such-type', id: 42, body: {} });
  assert.equal(err.frameId, 42);
  assert.match(err.message, /no-such-type/);
  // Inherited property names are not message types.
  for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    assert.equal(rejectCluster({ v: 1, type, id: 3, body: {} }).frameId, 3);
  }
  // A control type is unknown to the cluster catalogue and vice versa.
  assert.equal(rejectCluster({ v: 1, type: 'list-nodes', id: 8, body: {} }).frameId, 8);
  const ctl = frameError(() => ControlCatalogue.parse({ v: 1, type: 'hello', id: 9, body: helloBody }), 'invalid-message');
  assert.equal(ctl.frameId, 9);
});

test('envelope - an invalid envelope carries no frameId', () => {
  assert.equal(rejectCluster({ v: 2, type: 'ping', id: 4, body: {} }).frameId, undefined);
});

test('envelope - parse rejects a body with an extra key (strict)', () => {
  const err = rejectCluster({ v: 1, type: 'ping', id: 11, body: { extra: 1 } });
  assert.equal(err.frameId, 11);
  assert.match(err.message, /extra/);
  rejectCluster({ v: 1, type: 'hello', id: 1, body: { ...helloBody, admin: true } });
  rejectCluster({ v: 1, type: 'nodes', id: 1, body: { nodes: [{ ...node, role: 'admin' }] } });
  frameError(() => ControlCatalogue.parse({ v: 1, type: 'list-nodes', id: 1, body: { all: true } }), 'invalid-message');
});

test('envelope - parse rejects a body with a wrong type', () => {
  const err = rejectCluster({ v: 1, type: 'keepalive', id: 12, body: { sentAt: 'now' } });
  assert.equal(err.frameId, 12);
  assert.match(err.message, /body\.sentAt/);
  rejectCluster({ v: 1, type: 'ping', id: 1, body: null });
  rejectCluster({ v: 1, type: 'ping', id: 1, body: [] });
  rejectCluster({ v: 1, type: 'reject', id: 1, body: { code: 'not-a-code', detail: '' } });
  rejectCluster({ v: 1, type: 'hello', id: 1, body: { ...helloBody, nodeType: 'admin' } });
  rejectCluster({ v: 1, type: 'hello', id: 1, body: { ...helloBody, nonce: 'a'.repeat(32) } });
});

test('envelope - a hello whose nonce is 31 bytes is refused, naming body.nonce', () => {
  const err = rejectCluster(wire({ v: 1, type: 'hello', id: 13, body: { ...helloBody, nonce: nonce(31) } }));
  assert.equal(err.frameId, 13);
  assert.match(err.message, /body\.nonce/);
  rejectCluster(wire({ v: 1, type: 'hello', id: 13, body: { ...helloBody, nonce: nonce(33) } }));
  rejectCluster(wire({ v: 1, type: 'proof', id: 13, body: { proof: nonce(0) } }));
});

test('envelope - a node name with a space is refused, naming the path', () => {
  const hello = rejectCluster({ v: 1, type: 'hello', id: 1, body: { ...helloBody, node: 'worker 1' } });
  assert.match(hello.message, /body\.node\b/);
  const nodes = rejectCluster({ v: 1, type: 'nodes', id: 2, body: { nodes: [{ ...node, name: 'bad name' }] } });
  assert.match(nodes.message, /body\.nodes\[0\]\.name/);
  const second = rejectCluster({ v: 1, type: 'nodes', id: 2, body: { nodes: [node, { ...node, name: '' }] } });
  assert.match(second.message, /body\.nodes\[1\]\.name/);
  rejectCluster({ v: 1, type: 'hello', id: 1, body: { ...helloBody, cluster: 'wa\tzuh' } });
  rejectCluster({ v: 1, type: 'hello', id: 1, body: { ...helloBody, node: 'x'.repeat(129) } });
});

test('envelope - a frame of junk lists is refused at its first bad item, not with an issue per item (fuzz cases)', () => {
  // test/fuzz found this frame (cluster-envelope, seed 1, case 20786): 12 MB, 130,686 junk items per list.
  // Reporting every bad item took 1.7 s and 500 MB; a frame is refused on its first problem.
  const n = 130_686;
  const body = {
    syncId: '0931263e831b4109', revision: 73, files: 26, deferred: 0, bytes: 412_416,
    create: new Array(n).fill({}),
    update: new Array(n).fill({ path: 'etc/shared/default/agent.conf', md5: '52ebc90534abc11cbc52f2b23db84533' }),
    delete: new Array(n).fill({}),
    tooLarge: new Array(n).fill({}),
  };
  const err = rejectCluster(wire({ v: 1, type: 'integrity-plan', id: 103_007, body }));
  assert.equal(err.frameId, 103_007);
  assert.equal(err.message, "invalid 'integrity-plan' message: body.create[0].path: Invalid input: expected string, received undefined");
  // And the 2 MB frame of 2,000,000 empty agents that ran a node out of heap (control-envelope, seed 1, case 51251, in small).
  const agents = rejectCluster(wire({ v: 1, type: 'registry-result', id: 4, body: { outcome: { ok: true, result: { kind: 'agents', unassigned: 0, agents: new Array(2_000_000).fill({}) } } } }));
  assert.equal(agents.message, "invalid 'registry-result' message: body.outcome.result.agents[0].id: Invalid input: expected number, received undefined");

  const entry = (i: number) => ({ path: `etc/shared/default/f${i}.txt`, md5: 'a'.repeat(32), size: i });
  const late = rejectCluster({ v: 1, type: 'integrity-check', id: 1, body: { digest: 'a'.repeat(64), files: 2, entries: [...Array.from({ length: 1500 }, (_, i) => entry(i)), { ...entry(0), size: -1 }] } });
  assert.match(late.message, /body\.entries\[1500\]\.size/);
  const valid = Array.from({ length: 2500 }, (_, i) => entry(i));
  const ok = ClusterCatalogue.parse(wire({ v: 1, type: 'integrity-plan', id: 2, body: { ...body, create: valid, update: [], delete: ['etc/shared/x'], tooLarge: [] } }));
  assert.deepEqual(ok.type === 'integrity-plan' ? ok.body.create : null, valid);
});

test('envelope - lists that are short by nature are bounded: a junk actor list is refused at its length (fuzz case)', () => {
  // test/fuzz (control-envelope, seed 1648153847, case 3276): 12.8 MB, 65,536 actors, 210 ms to validate item by item.
  const actor = { path: '/master/integrity', parent: '/master', name: 'integrity', status: 'stopped', handled: 837, mailbox: 0, restarts: 0, lastError: null, summary: {} };
  const frame = (n: number) => wire({ v: 1, type: 'actors', id: 2, body: { node: 'master', actors: new Array(n).fill(actor) } });
  assert.equal(ControlCatalogue.parse(frame(10_000)).type, 'actors');
  const err = frameError(() => ControlCatalogue.parse(frame(65_536)), 'invalid-message');
  assert.match(err.message, /body\.actors: Too big: expected array to have <=10000 items/);
});

test('envelope - bytes only where the protocol carries bytes: nonces, proofs, sync data (fuzz case)', () => {
  // A 4 MB byte string as a 'ping' body was walked as an object of 4 million keys: 1.7 s, 500 MB.
  const ping = rejectCluster(wire({ v: 1, type: 'ping', id: 5, body: Buffer.alloc(4_000_000) }));
  assert.equal(ping.frameId, 5);
  assert.match(ping.message, /bytes as the body/);
  // control-envelope, seed 1, case 51251: 130,064 small byte strings as the agents of a registry-result (10 s, 1.8 GB).
  const list = frameError(() => ControlCatalogue.parse(wire({ v: 1, type: 'registry-result', id: 6, body: { outcome: { ok: true, result: { kind: 'agents', unassigned: 3, agents: new Array(130_064).fill(Buffer.alloc(48)) } } } })), 'invalid-message');
  assert.match(list.message, /bytes in a list/);
  assert.match(rejectCluster(wire({ v: 1, type: 'welcome', id: 7, body: { master: Buffer.alloc(64), address: 'x' } })).message, /bytes in 'master'/);
  frameError(() => ClusterCatalogue.parse(wire(Buffer.alloc(1000))), 'invalid-message');
  // Where bytes belong they still pass.
  assert.equal(ClusterCatalogue.parse(wire({ v: 1, type: 'hello', id: 1, body: helloBody })).type, 'hello');
  assert.equal(ClusterCatalogue.parse(wire({ v: 1, type: 'proof', id: 1, body: { proof: nonce() } })).type, 'proof');
  const chunk = { syncId: '0123456789abcdef', path: 'etc/shared/default/agent.conf', offset: 0, rawSize: 3, data: Buffer.from('abc'), last: true };
  assert.equal(ClusterCatalogue.parse(wire({ v: 1, type: 'sync-data', id: 1, body: chunk })).type, 'sync-data');
});

test('envelope - structured-clone references are not decoded: no graph bigger than its frame (fuzz case)', () => {
  // 129 KB pointing 10,000 times at one object of 10,000 keys: zod walked 100 million keys (26 s, 1.7 GB).
  const big: Record<string, number> = {};
  for (let i = 0; i < 100; i++) big[`k${i}`] = 0;
  const refs = new Packr({ structuredClone: true, useRecords: false }).pack({ v: 1, type: 'nodes', id: 1, body: { nodes: new Array(100).fill(big) } });
  frameError(() => decodePayload(refs), 'undecodable');
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  frameError(() => decodePayload(new Packr({ structuredClone: true }).pack({ v: 1, type: 'ping', id: 1, body: cyclic })), 'undecodable');
});

test('envelope - an object of many unknown keys is refused with a message of bounded length', () => {
  const keys: Record<string, number> = {};
  for (let i = 0; i < 60_000; i++) keys[`key-${i}`] = i;
  const err = rejectCluster(wire({ v: 1, type: 'ping', id: 1, body: keys }));
  assert.ok(err.message.length < 500, `a message of ${err.message.length} characters`);
});
