import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeStatus } from '../../../../protocols/node-status.js';
import { parseRedisUrl, redactRedisUrl } from '../../../../runtime/redis/redis-url.js';
import {
  decodeStatusFields,
  encodeStatusFields,
  eventsChannel,
  isSignificantChange,
  nodeKey,
  nodesKey,
  sortStatuses,
} from '../../../../runtime/redis/status-bus.js';

const worker: NodeStatus = {
  cluster: 'wazuh',
  node: 'worker-1',
  type: 'worker',
  version: '4.9.0',
  address: '10.0.0.2',
  connected: true,
  lastKeepalive: '2024-05-01T10:00:00.000Z',
  workers: [],
  actorHealth: { actors: 12, restarts: 1, unhealthy: 0 },
  integrity: { revision: 3, files: 25, digest: 'ab'.repeat(32), lastSync: null },
  at: '2024-05-01T10:00:01.000Z',
};

const master: NodeStatus = {
  ...worker,
  node: 'master',
  type: 'master',
  lastKeepalive: null,
  workers: ['worker-1', 'worker-2'],
};

describe('status hash fields', () => {
  it('stores strings as is and everything else as JSON', () => {
    const fields = encodeStatusFields(master);
    assert.equal(fields['node'], 'master');
    assert.equal(fields['version'], '4.9.0');
    assert.equal(fields['connected'], 'true');
    assert.equal(fields['lastKeepalive'], 'null');
    assert.equal(fields['workers'], '["worker-1","worker-2"]');
    assert.deepEqual(JSON.parse(fields['actorHealth'] ?? ''), master.actorHealth);
  });

  it('round-trips workers and masters, with and without a keepalive', () => {
    assert.deepEqual(decodeStatusFields(encodeStatusFields(worker)), worker);
    assert.deepEqual(decodeStatusFields(encodeStatusFields(master)), master);
    assert.equal(encodeStatusFields(worker)['lastKeepalive'], worker.lastKeepalive);
  });

  it('keeps string fields that look like JSON as strings', () => {
    const odd: NodeStatus = { ...worker, version: '42', node: 'true', address: '["a"]' };
    assert.deepEqual(decodeStatusFields(encodeStatusFields(odd)), odd);
  });

  it('rejects empty, incomplete, extra and ill-typed hashes', () => {
    const fields = encodeStatusFields(worker);
    assert.equal(decodeStatusFields({}), null);
    const { actorHealth: _dropped, ...incomplete } = fields;
    assert.equal(decodeStatusFields(incomplete), null);
    assert.equal(decodeStatusFields({ ...fields, extra: '1' }), null);
    assert.equal(decodeStatusFields({ ...fields, connected: 'yes' }), null);
    assert.equal(decodeStatusFields({ ...fields, type: 'manager' }), null);
    assert.equal(decodeStatusFields({ ...fields, actorHealth: '{"actors":1' }), null);
  });
});

describe('isSignificantChange', () => {
  it('treats the first status as a change', () => {
    assert.equal(isSignificantChange(null, worker), true);
  });

  it('ignores at and lastKeepalive', () => {
    const later = { ...worker, at: '2024-05-01T10:05:00.000Z', lastKeepalive: '2024-05-01T10:04:59.000Z' };
    assert.equal(isSignificantChange(worker, later), false);
    assert.equal(isSignificantChange(worker, { ...worker }), false);
  });

  it('ignores key order in nested objects', () => {
    const reordered = { ...worker, actorHealth: { unhealthy: 0, restarts: 1, actors: 12 } };
    assert.equal(isSignificantChange(worker, reordered), false);
  });

  it('sees any other difference', () => {
    assert.equal(isSignificantChange(worker, { ...worker, connected: false }), true);
    assert.equal(isSignificantChange(worker, { ...worker, version: '4.9.1' }), true);
    assert.equal(isSignificantChange(worker, { ...worker, actorHealth: { ...worker.actorHealth, restarts: 2 } }), true);
    assert.equal(isSignificantChange(master, { ...master, workers: ['worker-1'] }), true);
  });
});

describe('sortStatuses', () => {
  it('puts the master first, then workers by name', () => {
    const w2 = { ...worker, node: 'worker-2' };
    const w10 = { ...worker, node: 'a-worker' };
    const sorted = sortStatuses([w2, worker, master, w10]).map((s) => s.node);
    assert.deepEqual(sorted, ['master', 'a-worker', 'worker-1', 'worker-2']);
  });
});

describe('keys', () => {
  it('share the cluster hash tag', () => {
    assert.equal(nodeKey('wazuh', 'worker-1'), 'clusterd:{wazuh}:node:worker-1');
    assert.equal(nodesKey('wazuh'), 'clusterd:{wazuh}:nodes');
    assert.equal(eventsChannel('wazuh'), 'clusterd:{wazuh}:events');
  });
});

describe('parseRedisUrl', () => {
  it('parses redis:// with host, port and db', () => {
    assert.deepEqual(parseRedisUrl('redis://localhost'), { host: 'localhost' });
    assert.deepEqual(parseRedisUrl('redis://10.0.0.5:6380'), { host: '10.0.0.5', port: 6380 });
    assert.deepEqual(parseRedisUrl('redis://redis.local:6379/3'), { host: 'redis.local', port: 6379, db: 3 });
    assert.deepEqual(parseRedisUrl('redis://[::1]:7000/'), { host: '::1', port: 7000 });
  });

  it('parses credentials, percent-decoded', () => {
    assert.deepEqual(parseRedisUrl('redis://:s%40cret@h'), { host: 'h', password: 's@cret' });
    assert.deepEqual(parseRedisUrl('redis://alice:pw@h:1/0'), { host: 'h', port: 1, db: 0, username: 'alice', password: 'pw' });
  });

  it('turns on TLS for rediss://', () => {
    assert.deepEqual(parseRedisUrl('rediss://cache:6380'), { host: 'cache', port: 6380, tls: {} });
  });

  it('parses unix:// socket paths', () => {
    assert.deepEqual(parseRedisUrl('unix:///var/run/redis/redis.sock'), { path: '/var/run/redis/redis.sock' });
  });

  it('names the bad part', () => {
    const cases: [string, RegExp][] = [
      ['http://localhost', /scheme/],
      ['localhost:6379', /scheme/],
      ['', /scheme/],
      ['redis:localhost', /scheme/],
      ['redis://', /host/],
      ['redis://bad host', /host/],
      ['redis://h:0', /port/],
      ['redis://h:65536', /port/],
      ['redis://h:abc', /port/],
      ['redis://h/x', /database/],
      ['redis://h/-1', /database/],
      ['redis://h?db=1', /query/],
      ['unix://relative/path.sock', /absolute/],
      ['unix://', /absolute/],
      ['redis://u:%zz@h', /password/],
    ];
    for (const [url, part] of cases) {
      assert.throws(() => parseRedisUrl(url), (err: Error) => part.test(err.message) && err.message.includes('Invalid Redis URL'), url);
    }
  });

  it('never echoes a password', () => {
    for (const url of ['redis://u:hunter2@h:notaport', 'redis://:hunter2@h/x', 'redis://u:hun/ter2@bad host', 'redis://u:hunter2%zz@h']) {
      assert.throws(() => parseRedisUrl(url), (err: Error) => !/hunter|ter2/.test(err.message), url);
    }
    assert.equal(redactRedisUrl('redis://u:p@ss@h:1/0'), 'redis://u:***@h:1/0');
    assert.equal(redactRedisUrl('redis://h:1/0'), 'redis://h:1/0');
  });
});
