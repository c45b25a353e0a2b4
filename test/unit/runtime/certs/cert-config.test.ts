/**
 * The certificate tool's config.yml: the brief's shape parses; every mistake is
 * reported with its line, all at once.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { formatCertConfigError, parseCertConfig, type CertConfigError, type CertNode } from '../../../../runtime/certs/cert-config.js';

function nodesOf(text: string): readonly CertNode[] {
  const r = parseCertConfig(text);
  if (!r.ok) assert.fail(`expected a valid config, got:\n${r.errors.map((e) => `${e.line}: ${e.message}`).join('\n')}`);
  return r.config.nodes;
}

function errorsOf(text: string): readonly CertConfigError[] {
  const r = parseCertConfig(text);
  if (r.ok) assert.fail('expected errors, the config was accepted');
  return r.errors;
}

/** Asserts one error at `line` whose message matches `pattern`. */
function hasError(errors: readonly CertConfigError[], line: number, pattern: RegExp): void {
  const found = errors.some((e) => e.line === line && pattern.test(e.message));
  assert.ok(found, `no error at line ${line} matching ${String(pattern)}; got:\n${errors.map((e) => `${e.line}: ${e.message}`).join('\n')}`);
}

test('cert-config - the brief template with comments parses', () => {
  const nodes = nodesOf(`nodes:
  # Wazuh server nodes
  # If there is more than one Wazuh server
  # node, each one must have a node_type
  server:
    - name: wazuh-1
      ip: "192.168.1.10"
    #  node_type: master
    #- name: wazuh-2
    #  ip: "<WAZUH_MANAGER_IP>"
    #  node_type: worker
`);
  assert.deepEqual(nodes, [{ role: 'server', name: 'wazuh-1', ips: ['192.168.1.10'], dns: [], line: 6 }]);
});

test('cert-config - all three lists, ip and dns as a value or a list, in file order', () => {
  const nodes = nodesOf(`nodes:
  dashboard:
    - name: dashboard
      dns: Dash.Example.COM
  indexer:
    - name: node-1
      ip: 10.0.0.1
    - name: node-2
      ip: [10.0.0.2, 10.0.0.2, "fd00::2"]
      dns:
        - node-2.example.com
        - "*.idx.example.com"
  server:
    - name: wazuh-1
      ip: 10.0.0.3
      node_type: master
    - name: wazuh_2
      dns: wazuh-2.local
      node_type: worker
`);
  assert.deepEqual(nodes.map((n) => [n.role, n.name, n.line]), [
    ['dashboard', 'dashboard', 3],
    ['indexer', 'node-1', 6],
    ['indexer', 'node-2', 8],
    ['server', 'wazuh-1', 14],
    ['server', 'wazuh_2', 17],
  ]);
  assert.deepEqual(nodes[0]?.dns, ['dash.example.com']);
  assert.deepEqual(nodes[2]?.ips, ['10.0.0.2', 'fd00::2'], 'duplicates dropped');
  assert.deepEqual(nodes[2]?.dns, ['node-2.example.com', '*.idx.example.com']);
  assert.equal(nodes[3]?.nodeType, 'master');
  assert.equal(nodes[4]?.nodeType, 'worker');
  assert.equal(nodes[1]?.nodeType, undefined);
});

test('cert-config - empty lists are allowed next to others', () => {
  const nodes = nodesOf('nodes:\n  indexer:\n  dashboard: []\n  server:\n    - name: a\n      ip: 10.0.0.1\n');
  assert.equal(nodes.length, 1);
});

test('cert-config - missing name, at the entry line', () => {
  const errors = errorsOf('nodes:\n  server:\n    - ip: 10.0.0.1\n');
  hasError(errors, 3, /missing name/);
  hasError(errorsOf('nodes:\n  indexer:\n    - name:\n      ip: 10.0.0.1\n'), 3, /missing name/);
  hasError(errorsOf('nodes:\n  indexer:\n    - name: ""\n      ip: 10.0.0.1\n'), 3, /missing name/);
});

test('cert-config - duplicate names across lists, at the later line, naming the first', () => {
  const errors = errorsOf(`nodes:
  indexer:
    - name: wazuh-1
      ip: 10.0.0.1
  server:
    - name: other
      ip: 10.0.0.2
  dashboard:
    - name: Wazuh-1
      ip: 10.0.0.3
`);
  assert.equal(errors.length, 1);
  hasError(errors, 9, /duplicate node name 'Wazuh-1'.*line 3.*nodes\.indexer/);
});

test('cert-config - bad IPs, each at its own line; DNS names under ip get a hint', () => {
  const errors = errorsOf(`nodes:
  server:
    - name: a
      ip:
        - 10.0.0.1
        - 10.0.0.256
        - 10.0
        - wazuh.local
        - "fe80::1%eth0"
        - "<WAZUH_MANAGER_IP>"
`);
  assert.equal(errors.length, 5, JSON.stringify(errors));
  hasError(errors, 6, /bad IP '10\.0\.0\.256'/);
  hasError(errors, 7, /bad IP '10\.0'/);
  hasError(errors, 8, /bad IP 'wazuh\.local'.*DNS names go under dns/);
  hasError(errors, 9, /bad IP 'fe80::1%eth0'/);
  hasError(errors, 10, /bad IP '<WAZUH_MANAGER_IP>'/);
});

test('cert-config - bad DNS names; an IP under dns', () => {
  const errors = errorsOf('nodes:\n  server:\n    - name: a\n      dns: [bad_name.example.com, "-x.com", 10.1.1.1]\n');
  assert.equal(errors.length, 3);
  hasError(errors, 4, /bad DNS name 'bad_name\.example\.com'/);
  hasError(errors, 4, /bad DNS name '-x\.com'/);
  hasError(errors, 4, /'10\.1\.1\.1' in dns is an IP address: list it under ip/);
});

test('cert-config - a node with neither ip nor dns', () => {
  hasError(errorsOf('nodes:\n  dashboard:\n    - name: dash\n'), 3, /node 'dash' has no ip or dns/);
  hasError(errorsOf('nodes:\n  dashboard:\n    - name: dash\n      ip: []\n'), 4, /node 'dash' has no ip or dns/);
});

test('cert-config - two masters, at the second one', () => {
  const errors = errorsOf(`nodes:
  server:
    - name: m1
      ip: 10.0.0.1
      node_type: master
    - name: w1
      ip: 10.0.0.2
      node_type: worker
    - name: m2
      ip: 10.0.0.3
      node_type: master
`);
  assert.equal(errors.length, 1);
  hasError(errors, 9, /two masters: server node 'm2'.*'m1' \(line 3\)/);
});

test('cert-config - more than one server: each needs node_type, one of them master', () => {
  const errors = errorsOf('nodes:\n  server:\n    - name: a\n      ip: 10.0.0.1\n      node_type: master\n    - name: b\n      ip: 10.0.0.2\n');
  hasError(errors, 6, /server node 'b' has no node_type/);
  const none = errorsOf('nodes:\n  server:\n    - name: a\n      ip: 10.0.0.1\n      node_type: worker\n    - name: b\n      ip: 10.0.0.2\n      node_type: worker\n');
  hasError(none, 2, /no master among the server nodes/);
});

test('cert-config - bad node_type, and node_type outside server nodes', () => {
  hasError(errorsOf('nodes:\n  server:\n    - name: a\n      ip: 10.0.0.1\n      node_type: boss\n'), 5, /bad node_type 'boss': use master or worker/);
  hasError(errorsOf('nodes:\n  indexer:\n    - name: a\n      ip: 10.0.0.1\n      node_type: master\n'), 5,
    /unknown key 'node_type' in a nodes\.indexer entry.*belongs to server nodes/);
});

test('cert-config - unknown keys at every level', () => {
  const errors = errorsOf(`version: 2
nodes:
  server:
    - name: a
      ip: 10.0.0.1
      port: 1516
  filebeat:
    - name: b
`);
  assert.equal(errors.length, 3);
  hasError(errors, 1, /unknown key 'version' at the top level/);
  hasError(errors, 6, /unknown key 'port' in a nodes\.server entry/);
  hasError(errors, 7, /unknown key 'filebeat' under nodes \(allowed: indexer, server, dashboard\)/);
});

test('cert-config - names that are unsafe as file names or taken by the CA/admin files', () => {
  for (const [name, why] of [['../etc/passwd', /invalid name/], ['a b', /invalid name/], ['admin', /admin files/], ['Root-CA', /root-ca files/], ['-x', /invalid name/], ['x'.repeat(65), /invalid name/]] as const) {
    hasError(errorsOf(`nodes:\n  server:\n    - name: "${name}"\n      ip: 10.0.0.1\n`), 3, why);
  }
  hasError(errorsOf('nodes:\n  server:\n    - name: 42\n      ip: 10.0.0.1\n'), 3, /name must be text/);
});

test('cert-config - not YAML, empty, wrong shapes', () => {
  hasError(errorsOf('nodes:\n  server: [\n    - name: a\n'), 3, /not valid YAML/);
  hasError(errorsOf('nodes:\n  server:\n    - name: a\n      name: b\n      ip: 10.0.0.1\n'), 4, /not valid YAML.*unique/);
  hasError(errorsOf('a: 1\n---\nb: 2\n'), 2, /not valid YAML/);
  hasError(errorsOf(''), 1, /empty/);
  hasError(errorsOf('# only a comment\n'), 1, /empty/);
  hasError(errorsOf('- a\n- b\n'), 1, /top level must be a map/);
  hasError(errorsOf('other: 1\n'), 1, /missing 'nodes'/);
  hasError(errorsOf('nodes:\n'), 1, /no nodes/);
  hasError(errorsOf('nodes: [a]\n'), 1, /'nodes' must be a map/);
  hasError(errorsOf('nodes:\n  server: wazuh-1\n'), 2, /nodes\.server must be a list/);
  hasError(errorsOf('nodes:\n  server:\n    - wazuh-1\n'), 3, /must be a map with 'name'/);
  hasError(errorsOf('x: &a { name: a }\nnodes:\n  server:\n    - *a\n'), 4, /aliases are not supported/);
});

test('cert-config - every error at once, sorted by line', () => {
  const errors = errorsOf(`nodes:
  server:
    - ip: 10.0.0.1
      node_type: worker
    - name: dup
      ip: 300.0.0.1
      node_type: master
    - name: m2
      ip: 10.0.0.3
      node_type: master
  indexer:
    - name: dup
      ip: 10.0.0.4
`);
  assert.deepEqual(errors.map((e) => e.line), [3, 6, 8, 12]);
  hasError(errors, 3, /missing name/);
  hasError(errors, 6, /bad IP '300\.0\.0\.1'/);
  hasError(errors, 8, /two masters/);
  hasError(errors, 12, /duplicate node name 'dup'/);
});

test('cert-config - formatCertConfigError gives file:line: message', () => {
  assert.equal(formatCertConfigError('config.yml', { line: 7, message: 'bad IP' }), 'config.yml:7: bad IP');
});
