/**
 * Mutual TLS between real clusterd processes, with certificates made by our own
 * certs_tool: the cluster forms; a worker holding another node's certificate, or one
 * signed by another CA, is refused and logged; the healthy peers keep serving.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeCluster, listedNodes, runCli, waitFor, tempDir } from '../harness/cluster.js';
import { enrol, issuedKey } from '../harness/agents.js';

const CONFIG = `nodes:
  server:
    - name: master
      ip: 127.0.0.1
      node_type: master
    - name: worker1
      ip: 127.0.0.1
      node_type: worker
    - name: worker2
      ip: 127.0.0.1
      node_type: worker
`;

async function certificates(dir: string): Promise<string> {
  fs.writeFileSync(path.join(dir, 'config.yml'), CONFIG);
  const out = path.join(dir, 'certificates');
  const r = await runCli('certs_tool', ['-A', '--config', path.join(dir, 'config.yml'), '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

const tlsOf = (certs: string, node: string): { ca: string; cert: string; key: string } =>
  ({ ca: path.join(certs, 'root-ca.pem'), cert: path.join(certs, `${node}.pem`), key: path.join(certs, `${node}-key.pem`) });

test('mutual TLS - the cluster forms over verified certificates; another node\'s certificate or another CA is refused', async (t) => {
  const dir = await tempDir('mtls-certs');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const good = await certificates(dir);
  const otherDir = path.join(dir, 'other');
  fs.mkdirSync(otherDir);
  const foreign = await certificates(otherDir);

  const c = await makeCluster('mtls', { workers: 0, master: { tls: tlsOf(good, 'master') } });
  t.after(() => c.stopAll());
  const master = c.master;
  const w1 = await c.addNode('worker1', 'worker', { tls: tlsOf(good, 'worker1') });
  const impostor = await c.addNode('worker2', 'worker', { tls: tlsOf(good, 'worker1') });
  const stranger = await c.addNode('worker3', 'worker', { tls: { ...tlsOf(foreign, 'worker2'), ca: tlsOf(good, 'master').ca } });
  await master.start();
  await w1.start();
  await waitFor(async () => (await listedNodes(master)).includes('worker1'), 'worker1 to join over mutual TLS');
  assert.doesNotMatch(await master.log(), /Cluster links are not encrypted/);

  await impostor.start();
  await master.waitForLog(/The peer certificate does not name the node it claims to be: the certificate names worker1, 127\.0\.0\.1, but the peer says it is 'worker2'/);
  await stranger.start();
  await waitFor(async () => /Could not connect to master/.test(await stranger.log()), 'the stranger to be refused');
  await master.waitForLog(/Refused a TLS connection/);
  assert.deepEqual(await listedNodes(master), ['master', 'worker1']);

  // The healthy worker still serves: an agent enrols through it.
  assert.equal(issuedKey(await enrol(w1.authPort, "OSSEC A:'mtls-agent'")).name, 'mtls-agent');
});
