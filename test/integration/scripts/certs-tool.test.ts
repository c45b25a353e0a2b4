/**
 * certs_tool as a process, on real files: what it writes is checked with Node's own
 * X509 parsing (chains, SANs, subject fields, validity, key usage), key files with
 * Node's key parsing; existing-CA mode; the CA kept on re-runs; bad configs report
 * their line and write nothing. One generated set is shared across the checks.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto, { X509Certificate, webcrypto } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { scriptPath, tempDir } from '../../harness/cluster.js';

const TOOL = scriptPath('certs_tool');
const DAY_MS = 86_400_000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const CONFIG = `nodes:
  # Wazuh indexer nodes
  indexer:
    - name: node-1
      ip: "10.0.0.1"
  server:
    - name: wazuh-1
      ip: [10.0.0.2, "fd00::2"]
      dns: wazuh-1.example.com
      node_type: master
    - name: wazuh-2
      dns: [wazuh-2.example.com, wazuh-2]
      node_type: worker
  dashboard:
    - name: dashboard
      ip: 10.0.0.4
      dns: dashboard.example.com
`;

/** Each node of CONFIG and the subjectAltName Node prints for it. */
const EXPECTED_NODES = [
  { name: 'node-1', san: 'IP Address:10.0.0.1' },
  { name: 'wazuh-1', san: 'IP Address:10.0.0.2, IP Address:FD00:0:0:0:0:0:0:2, DNS:wazuh-1.example.com' },
  { name: 'wazuh-2', san: 'DNS:wazuh-2.example.com, DNS:wazuh-2' },
  { name: 'dashboard', san: 'IP Address:10.0.0.4, DNS:dashboard.example.com' },
] as const;

const ALL_FILES = ['root-ca.pem', 'root-ca.key', 'admin.pem', 'admin-key.pem',
  ...EXPECTED_NODES.flatMap((n) => [`${n.name}.pem`, `${n.name}-key.pem`])].sort();

interface Run { code: number | null; stdout: string; stderr: string }

function run(args: readonly string[], cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TOOL, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function ok(r: Run): Run {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

const subjectOf = (cn: string): string => `C=US\nL=California\nO=Wazuh\nOU=Wazuh\nCN=${cn}`;

async function readCert(file: string): Promise<X509Certificate> {
  return new X509Certificate(await fs.readFile(file));
}

async function listing(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).sort();
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

async function modeOf(file: string): Promise<number> {
  return (await fs.stat(file)).mode & 0o777;
}

function spkiOf(key: crypto.KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** Snapshot of every file's bytes, to prove a run wrote nothing. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of await listing(dir)) out.set(f, (await fs.readFile(path.join(dir, f))).toString('base64'));
  return out;
}

const KEY_USAGE_NAMES = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement',
  'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'];

/**
 * The keyUsage extension (2.5.29.15) read straight from the DER, as Node's X509Certificate
 * exposes only the extended key usage: its criticality and the bits set.
 */
function keyUsageOf(cert: X509Certificate): { critical: boolean; usages: string[] } | undefined {
  return extension(cert, 0x0f, (value) => {
    assert.equal(value[0], 0x03, 'keyUsage is a BIT STRING');
    const length = value[1] ?? 0;
    const unused = value[2] ?? 0;
    const bits = value.subarray(3, 2 + length);
    return KEY_USAGE_NAMES.filter((_, bit) => bit < bits.length * 8 - unused && ((bits[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0);
  }, (critical, usages) => ({ critical, usages }));
}

/** basicConstraints (2.5.29.19): criticality and the CA flag. */
function basicConstraintsOf(cert: X509Certificate): { critical: boolean; ca: boolean } | undefined {
  return extension(cert, 0x13, (value) => {
    assert.equal(value[0], 0x30, 'basicConstraints is a SEQUENCE');
    return value[1] !== 0 && value[2] === 0x01 && value[4] === 0xff;
  }, (critical, ca) => ({ critical, ca }));
}

function extension<V, R>(cert: X509Certificate, lastOidByte: number, decode: (value: Buffer) => V, make: (critical: boolean, value: V) => R): R | undefined {
  const der = cert.raw;
  const oid = Buffer.from([0x06, 0x03, 0x55, 0x1d, lastOidByte]);
  const at = der.indexOf(oid);
  if (at < 0) return undefined;
  let i = at + oid.length;
  let critical = false;
  if (der[i] === 0x01) { // BOOLEAN critical
    critical = der[i + 2] === 0xff;
    i += 3;
  }
  assert.equal(der[i], 0x04, 'extension value is an OCTET STRING');
  return make(critical, decode(der.subarray(i + 2, i + 2 + (der[i + 1] ?? 0))));
}

/** A foreign root CA, made here with ECDSA P-256 and its own subject, valid one year. */
async function makeEcCa(dir: string): Promise<{ cert: string; key: string; x509: X509Certificate }> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  const provider = webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.create>[1];
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Acme Test Root, O=Acme',
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 365 * DAY_MS),
    signingAlgorithm: algorithm,
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  }, provider);
  const certFile = path.join(dir, 'acme-ca.pem');
  const keyFile = path.join(dir, 'acme-ca.key');
  const keyDer = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  await fs.writeFile(certFile, cert.toString('pem'));
  await fs.writeFile(keyFile, crypto.createPrivateKey({ key: keyDer, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }));
  return { cert: certFile, key: keyFile, x509: new X509Certificate(await fs.readFile(certFile)) };
}

let work: string;
/** The shared set: `certs_tool -A` run in `work` with the default --config and --out. */
let certs: string;
let firstRun: Run;
let ca: X509Certificate;
let startedAt: number;

before(async () => {
  work = await tempDir('certs');
  certs = path.join(work, 'certificates');
  await fs.writeFile(path.join(work, 'config.yml'), CONFIG);
  startedAt = Date.now();
  firstRun = await run(['-A'], work);
  ok(firstRun);
  ca = await readCert(path.join(certs, 'root-ca.pem'));
});

after(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

test('certs_tool -A - writes the root CA, the admin pair and one pair per node into ./certificates from ./config.yml', async () => {
  assert.deepEqual(await listing(certs), ALL_FILES, 'exactly these files, no temporary ones left');
  for (const f of ALL_FILES) assert.match(firstRun.stdout, new RegExp(`certificates/${f.replace('.', '\\.')}\\b`));
  assert.match(firstRun.stdout, /^FILE\s+TYPE\s+SUBJECT\s+SANS\s+VALID UNTIL/m);
  assert.match(firstRun.stdout, /certificates\/wazuh-1\.pem\s+certificate\s+C=US, L=California, O=Wazuh, OU=Wazuh, CN=wazuh-1\s+IP:10\.0\.0\.2, IP:fd00::2, DNS:wazuh-1\.example\.com/);
  assert.equal(firstRun.stderr, '');
});

test('certs_tool -A - the root CA is a self-signed CA for signing certificates, valid 10 years', () => {
  assert.equal(ca.ca, true);
  assert.equal(ca.subject, subjectOf('Wazuh Root CA'));
  assert.equal(ca.issuer, ca.subject);
  assert.ok(ca.checkIssued(ca), 'self-issued');
  assert.ok(ca.verify(ca.publicKey), 'self-signed');
  assert.deepEqual(basicConstraintsOf(ca), { critical: true, ca: true });
  assert.deepEqual(keyUsageOf(ca), { critical: true, usages: ['keyCertSign', 'cRLSign'] });
  assert.equal(ca.publicKey.asymmetricKeyType, 'rsa');
  assert.equal(ca.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  const from = Date.parse(ca.validFrom);
  const to = Date.parse(ca.validTo);
  assert.ok(from <= startedAt && from > startedAt - 2 * 3_600_000, `validFrom ${ca.validFrom}`);
  const years = (to - startedAt) / (365.25 * DAY_MS);
  assert.ok(years > 9.9 && years < 10.1, `valid ${years} years`);
});

test('certs_tool -A - node certificates chain to the CA and carry the subject, SANs, validity and usages', async () => {
  for (const { name, san } of EXPECTED_NODES) {
    const cert = await readCert(path.join(certs, `${name}.pem`));
    assert.ok(cert.verify(ca.publicKey), `${name}: signed by the CA`);
    assert.ok(cert.checkIssued(ca), `${name}: issued by the CA`);
    assert.equal(cert.issuer, ca.subject);
    assert.equal(cert.subject, subjectOf(name));
    assert.equal(cert.subjectAltName, san, `${name}: SANs`);
    assert.equal(cert.ca, false);
    assert.deepEqual(basicConstraintsOf(cert), { critical: true, ca: false });
    assert.deepEqual(keyUsageOf(cert), { critical: true, usages: ['digitalSignature', 'keyEncipherment'] }, `${name}: key usage`);
    assert.deepEqual([...(cert.keyUsage ?? [])].sort(), [SERVER_AUTH, CLIENT_AUTH], `${name}: serverAuth + clientAuth`);
    assert.ok(Date.parse(cert.validFrom) <= startedAt, `${name}: valid from now`);
    assert.ok(Date.parse(cert.validTo) > startedAt + 9 * 365 * DAY_MS, `${name}: valid years`);
    assert.ok(Date.parse(cert.validTo) <= Date.parse(ca.validTo), `${name}: not past the CA`);
    assert.notEqual(cert.serialNumber, ca.serialNumber);
  }
  const serials = await Promise.all(EXPECTED_NODES.map(async (n) => (await readCert(path.join(certs, `${n.name}.pem`))).serialNumber));
  assert.equal(new Set(serials).size, serials.length, 'serial numbers are unique');
  // The names a TLS client checks.
  const w1 = await readCert(path.join(certs, 'wazuh-1.pem'));
  assert.equal(w1.checkIP('10.0.0.2'), '10.0.0.2');
  assert.equal(w1.checkHost('wazuh-1.example.com'), 'wazuh-1.example.com');
  assert.equal(w1.checkHost('wazuh-2.example.com'), undefined);
});

test('certs_tool -A - the admin certificate is a client certificate for CN=admin', async () => {
  const admin = await readCert(path.join(certs, 'admin.pem'));
  assert.ok(admin.verify(ca.publicKey));
  assert.ok(admin.checkIssued(ca));
  assert.equal(admin.subject, subjectOf('admin'));
  assert.deepEqual(admin.keyUsage, [CLIENT_AUTH]);
  assert.equal(admin.subjectAltName, undefined);
  assert.equal(admin.ca, false);
});

test('certs_tool -A - keys are PKCS#8, 0600, and belong to their certificates; certificates 0644; folder 0700', async () => {
  assert.equal(await modeOf(certs), 0o700);
  const pairs = [['root-ca.pem', 'root-ca.key'], ['admin.pem', 'admin-key.pem'],
    ...EXPECTED_NODES.map((n) => [`${n.name}.pem`, `${n.name}-key.pem`])] as const;
  const publicKeys = new Set<string>();
  for (const [certFile, keyFile] of pairs) {
    assert.equal(await modeOf(path.join(certs, keyFile)), 0o600, keyFile);
    assert.equal(await modeOf(path.join(certs, certFile)), 0o644, certFile);
    const keyPem = await fs.readFile(path.join(certs, keyFile), 'utf8');
    assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/, `${keyFile} is PKCS#8 PEM`);
    const key = crypto.createPrivateKey(keyPem);
    const cert = await readCert(path.join(certs, certFile));
    assert.ok(spkiOf(crypto.createPublicKey(key)).equals(spkiOf(cert.publicKey)), `${keyFile} belongs to ${certFile}`);
    assert.ok(cert.checkPrivateKey(key));
    publicKeys.add(spkiOf(cert.publicKey).toString('base64'));
  }
  assert.equal(publicKeys.size, pairs.length, 'every certificate has its own key');
});

test('certs_tool - re-running keeps the root CA; --overwrite-ca replaces it and names the certificates left behind', async () => {
  const dir = path.join(work, 'rerun');
  await fs.cp(certs, dir, { recursive: true });
  const config = path.join(work, 'config.yml');
  const caBefore = await fs.readFile(path.join(dir, 'root-ca.pem'));
  const caKeyBefore = await fs.readFile(path.join(dir, 'root-ca.key'));
  const nodeBefore = await fs.readFile(path.join(dir, 'wazuh-1.pem'));

  const again = ok(await run(['-A', '--config', config, '--out', dir]));
  assert.match(again.stdout, /Using the existing root CA .*root-ca\.pem.*not overwritten.*--overwrite-ca/);
  assert.doesNotMatch(again.stdout, /root-ca\.(pem|key)\s+(certificate|private key)/, 'the CA is not listed as written');
  assert.ok((await fs.readFile(path.join(dir, 'root-ca.pem'))).equals(caBefore), 'root-ca.pem unchanged');
  assert.ok((await fs.readFile(path.join(dir, 'root-ca.key'))).equals(caKeyBefore), 'root-ca.key unchanged');
  const reissued = await readCert(path.join(dir, 'wazuh-1.pem'));
  assert.ok(!(await fs.readFile(path.join(dir, 'wazuh-1.pem'))).equals(nodeBefore), 'node certificates are re-issued');
  assert.ok(reissued.verify(ca.publicKey), 're-issued by the kept CA');

  const caOnly = ok(await run(['--ca', '--out', dir]));
  assert.match(caOnly.stdout, /existing root CA/);
  assert.ok((await fs.readFile(path.join(dir, 'root-ca.pem'))).equals(caBefore), '--ca alone keeps it too');

  const replaced = ok(await run(['--ca', '--overwrite-ca', '--out', dir]));
  const newCa = await readCert(path.join(dir, 'root-ca.pem'));
  assert.notEqual(newCa.fingerprint256, ca.fingerprint256);
  assert.equal(await modeOf(path.join(dir, 'root-ca.key')), 0o600);
  assert.ok(newCa.checkPrivateKey(crypto.createPrivateKey(await fs.readFile(path.join(dir, 'root-ca.key')))));
  assert.match(replaced.stdout, /replaced; admin\.pem, dashboard\.pem, node-1\.pem, wazuh-1\.pem, wazuh-2\.pem still chain to the old one/);
  assert.equal(reissued.verify(newCa.publicKey), false);
});

test('certs_tool - --ca-cert/--ca-key: --servers signs node certificates with that CA and writes only them', async () => {
  const dir = path.join(work, 'servers-only');
  const r = ok(await run(['--servers', '--config', path.join(work, 'config.yml'), '--out', dir,
    '--ca-cert', path.join(certs, 'root-ca.pem'), '--ca-key', path.join(certs, 'root-ca.key')]));
  assert.match(r.stdout, /Signing with the root CA .*root-ca\.pem/);
  assert.deepEqual(await listing(dir), EXPECTED_NODES.flatMap((n) => [`${n.name}.pem`, `${n.name}-key.pem`]).sort());
  for (const { name, san } of EXPECTED_NODES) {
    const cert = await readCert(path.join(dir, `${name}.pem`));
    assert.ok(cert.verify(ca.publicKey) && cert.checkIssued(ca), name);
    assert.equal(cert.subjectAltName, san);
    assert.equal(await modeOf(path.join(dir, `${name}-key.pem`)), 0o600);
  }
});

test('certs_tool - --ca-cert/--ca-key with -A: a foreign EC root CA signs everything and is copied in; validity stops at the CA', async () => {
  const acme = await makeEcCa(work);
  const dir = path.join(work, 'acme');
  const r = ok(await run(['-A', '--config', path.join(work, 'config.yml'), '--out', dir, '--ca-cert', acme.cert, '--ca-key', acme.key]));
  assert.deepEqual(await listing(dir), ALL_FILES);
  const copied = await readCert(path.join(dir, 'root-ca.pem'));
  assert.equal(copied.fingerprint256, acme.x509.fingerprint256, 'root-ca.pem is the given CA');
  assert.ok(copied.checkPrivateKey(crypto.createPrivateKey(await fs.readFile(path.join(dir, 'root-ca.key')))));
  assert.equal(await modeOf(path.join(dir, 'root-ca.key')), 0o600);
  for (const f of ['admin.pem', ...EXPECTED_NODES.map((n) => `${n.name}.pem`)]) {
    const cert = await readCert(path.join(dir, f));
    assert.ok(cert.verify(acme.x509.publicKey), `${f} signed by the given CA`);
    assert.ok(cert.checkIssued(acme.x509), `${f} issued by the given CA`);
    assert.equal(cert.issuer, 'CN=Acme Test Root\nO=Acme');
    assert.equal(cert.verify(ca.publicKey), false);
    assert.ok(Date.parse(cert.validTo) <= Date.parse(acme.x509.validTo), `${f} does not outlive its CA`);
  }
  assert.match(r.stdout, /Signing with the root CA .*acme-ca\.pem/);

  // The shared folder holds another CA: -A with this one refuses and changes nothing.
  const copy = path.join(work, 'acme-refused');
  await fs.cp(certs, copy, { recursive: true });
  const before = await snapshot(copy);
  const refused = await run(['-A', '--config', path.join(work, 'config.yml'), '--out', copy, '--ca-cert', acme.cert, '--ca-key', acme.key]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /already holds another root CA.*--overwrite-ca/);
  assert.deepEqual(await snapshot(copy), before);
});

test('certs_tool - --ca-cert/--ca-key that do not match, or are not a CA, are refused and nothing is written', async () => {
  const acmeKey = path.join(work, 'acme-ca.key');
  if (!(await exists(acmeKey))) await makeEcCa(work);
  const dir = path.join(work, 'refused');
  const mismatch = await run(['--admin', '--out', dir, '--ca-cert', path.join(certs, 'root-ca.pem'), '--ca-key', acmeKey]);
  assert.equal(mismatch.code, 1);
  assert.match(mismatch.stderr, /acme-ca\.key does not belong to .*root-ca\.pem/);
  const notCa = await run(['--admin', '--out', dir, '--ca-cert', path.join(certs, 'admin.pem'), '--ca-key', path.join(certs, 'admin-key.pem')]);
  assert.equal(notCa.code, 1);
  assert.match(notCa.stderr, /admin\.pem is not a CA certificate/);
  const missing = await run(['--admin', '--out', dir, '--ca-cert', path.join(work, 'nope.pem'), '--ca-key', acmeKey]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot read .*nope\.pem/);
  assert.equal(await exists(dir), false);
});

test('certs_tool - --ca then --admin; --servers without any CA is refused', async () => {
  const dir = path.join(work, 'steps');
  const noCa = await run(['--servers', '--config', path.join(work, 'config.yml'), '--out', dir]);
  assert.equal(noCa.code, 1);
  assert.match(noCa.stderr, /No root CA to sign with.*--ca.*--ca-cert and --ca-key/);
  assert.equal(await exists(dir), false, 'nothing written');

  ok(await run(['--ca', '--out', dir]));
  assert.deepEqual(await listing(dir), ['root-ca.key', 'root-ca.pem']);
  const admin = ok(await run(['--admin', '--out', dir]));
  assert.match(admin.stdout, /Signing with the root CA/);
  assert.deepEqual(await listing(dir), ['admin-key.pem', 'admin.pem', 'root-ca.key', 'root-ca.pem']);
  const stepCa = await readCert(path.join(dir, 'root-ca.pem'));
  assert.ok((await readCert(path.join(dir, 'admin.pem'))).verify(stepCa.publicKey));
});

test('certs_tool - bad configs: each error with its config.yml line, exit 1, nothing written', async () => {
  const cases = [
    { what: 'missing name', line: 5, pattern: /missing name/, text: 'nodes:\n  server:\n    - name: wazuh-1\n      ip: 10.0.0.1\n    - ip: 10.0.0.2\n' },
    { what: 'duplicate name', line: 6, pattern: /duplicate node name 'wazuh-1'.*line 3/, text: 'nodes:\n  indexer:\n    - name: wazuh-1\n      ip: 10.0.0.1\n  server:\n    - name: wazuh-1\n      ip: 10.0.0.2\n' },
    { what: 'bad IP', line: 4, pattern: /bad IP '10\.0\.0\.300'/, text: 'nodes:\n  server:\n    - name: wazuh-1\n      ip: 10.0.0.300\n' },
    { what: 'two masters', line: 7, pattern: /two masters/, text: 'nodes:\n  server:\n    - name: m1\n      ip: 10.0.0.1\n      node_type: master\n\n    - name: m2\n      ip: 10.0.0.2\n      node_type: master\n' },
    { what: 'not YAML', line: 2, pattern: /not valid YAML/, text: 'nodes:\n  server: [\n' },
  ];
  await Promise.all(cases.map(async (c, i) => {
    const dir = path.join(work, `bad-${i}`);
    await fs.mkdir(dir);
    const config = path.join(dir, 'config.yml');
    await fs.writeFile(config, c.text);
    const out = path.join(dir, 'certificates');
    const r = await run(['-A', '--config', config, '--out', out]);
    assert.equal(r.code, 1, `${c.what}: exit 1`);
    const lines = r.stderr.trim().split('\n');
    assert.ok(lines.some((l) => l.startsWith(`ERROR: ${config}:${c.line}: `) && c.pattern.test(l)), `${c.what}: line ${c.line}\n${r.stderr}`);
    assert.match(r.stderr, /nothing was written/);
    assert.equal(await exists(out), false, `${c.what}: nothing written`);
    assert.equal(r.stdout, '');
  }));

  // All at once, printed as config.yml:LINE when run from the config's folder; an existing set is untouched.
  const dir = path.join(work, 'bad-all');
  await fs.cp(certs, path.join(dir, 'certificates'), { recursive: true });
  await fs.writeFile(path.join(dir, 'config.yml'),
    'nodes:\n  server:\n    - ip: 10.0.0.1\n      node_type: worker\n    - name: a\n      ip: 1.2.3\n      node_type: master\n    - name: a\n      ip: 10.0.0.3\n      node_type: master\n');
  const before = await snapshot(path.join(dir, 'certificates'));
  const r = await run(['--servers'], dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^ERROR: config\.yml:3: missing name/m);
  assert.match(r.stderr, /^ERROR: config\.yml:6: bad IP '1\.2\.3'/m);
  assert.match(r.stderr, /^ERROR: config\.yml:8: duplicate node name 'a'/m);
  assert.match(r.stderr, /^ERROR: config\.yml:8: two masters/m);
  assert.match(r.stderr, /4 errors in config\.yml; nothing was written/);
  assert.deepEqual(await snapshot(path.join(dir, 'certificates')), before);

  const none = await run(['-A', '--config', path.join(work, 'no-such.yml'), '--out', path.join(work, 'none')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no-such\.yml not found/);
  assert.equal(await exists(path.join(work, 'none')), false);
});

test('certs_tool - --json lists every file written with its subject, SANs, dates and mode', async () => {
  const dir = path.join(work, 'json');
  const r = ok(await run(['--servers', '--json', '--config', path.join(work, 'config.yml'), '--out', dir,
    '--ca-cert', path.join(certs, 'root-ca.pem'), '--ca-key', path.join(certs, 'root-ca.key')]));
  const body = JSON.parse(r.stdout) as { error: number; message: string; data: { total_affected_items: number; affected_items: Array<Record<string, unknown>> } };
  assert.equal(body.error, 0);
  assert.equal(body.data.total_affected_items, EXPECTED_NODES.length * 2);
  assert.match(body.message, /8 files written to .*json\. Signing with the root CA/);
  const w1 = body.data.affected_items.find((i) => i['file'] === path.join(dir, 'wazuh-1.pem'));
  assert.deepEqual({ ...w1, not_before: undefined, not_after: undefined }, {
    file: path.join(dir, 'wazuh-1.pem'), type: 'certificate', subject: 'C=US, L=California, O=Wazuh, OU=Wazuh, CN=wazuh-1',
    sans: ['IP:10.0.0.2', 'IP:fd00::2', 'DNS:wazuh-1.example.com'], mode: '0644', not_before: undefined, not_after: undefined,
  });
  const cert = await readCert(path.join(dir, 'wazuh-1.pem'));
  assert.equal(Date.parse(String(w1?.['not_after'])), Date.parse(cert.validTo));
  const key = body.data.affected_items.find((i) => i['file'] === path.join(dir, 'wazuh-1-key.pem'));
  assert.equal(key?.['mode'], '0600');
  assert.equal(key?.['type'], 'private key');
});

test('certs_tool - usage errors exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /choose what to make/],
    [['--admin', '--ca-cert', 'x.pem'], /--ca-cert and --ca-key go together/],
    [['--ca', '--ca-cert', 'x.pem', '--ca-key', 'x.key'], /give one or the other/],
    [['--servers', '--overwrite-ca'], /--overwrite-ca goes with --ca or -A/],
    [['-A', '--frobnicate'], /Unknown argument: frobnicate/],
  ];
  await Promise.all(cases.map(async ([args, pattern]) => {
    const r = await run(args, work);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }));
});
