/**
 * The certificates of the brief's certificate tool, made in-process with @peculiar/x509
 * and Node's webcrypto (no openssl binary):
 *
 * - a root CA: RSA-2048, SHA-256, basicConstraints CA (critical), keyCertSign + cRLSign,
 *   valid 10 years;
 * - the admin certificate: CN=admin, clientAuth, signed by the CA;
 * - a node certificate per node: CN=<name>, the node's IPs and DNS names as subject
 *   alternative names, serverAuth + clientAuth, digitalSignature + keyEncipherment,
 *   signed by the CA.
 *
 * Subjects are the brief's: C=US, L=California, O=Wazuh, OU=Wazuh, CN=<name>. Leaf
 * certificates are valid 10 years like the brief's tool, but never past the CA's own
 * expiry. Every validity starts an hour early, so a peer whose clock is a little
 * behind does not see a fresh certificate as not yet valid.
 *
 * An existing root CA (RSA, or EC P-256/P-384/P-521) can be loaded to sign new
 * certificates. Keys are PKCS#8 PEM; files are written atomically, keys 0600 and
 * certificates 0644.
 */
import crypto, { webcrypto } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type * as X509 from '@peculiar/x509';
import { writeFileDurably } from '../storage/durable-file.js';
import { createSelfSigned, exportPkcs8, loadX509, pemOf, randomSerial, toPem, webcryptoProvider } from './x509.js';

export const CA_CERT_FILE = 'root-ca.pem';
export const CA_KEY_FILE = 'root-ca.key';
export const ADMIN_CERT_FILE = 'admin.pem';
export const ADMIN_KEY_FILE = 'admin-key.pem';
export const ADMIN_NAME = 'admin';
export const CA_COMMON_NAME = 'Wazuh Root CA';

export const KEY_FILE_MODE = 0o600;
export const CERT_FILE_MODE = 0o644;

/** 10 years, as the brief's tool (3650 days). */
export const CA_VALIDITY_DAYS = 3650;
/** Leaf certificates: also 10 years, cut to the CA's own expiry. */
export const LEAF_VALIDITY_DAYS = 3650;

const DAY_MS = 86_400_000;
const CLOCK_SKEW_MS = 3_600_000;
const RSA_KEY: webcrypto.RsaHashedKeyGenParams = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };

/** The brief's subject fields, in its order. */
export const SUBJECT_FIELDS = { C: 'US', L: 'California', O: 'Wazuh', OU: 'Wazuh' } as const;

/** A CA able to sign: its certificate and private key. */
export interface Authority {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 fingerprint of the certificate, `AB:CD:...`. */
  readonly fingerprint256: string;
  readonly cert: X509.X509Certificate;
  readonly signingKey: SigningKey;
  readonly signingAlgorithm: SigningAlgorithm;
}

/** The key and algorithm types as @peculiar/x509 takes them. */
export type SigningKey = X509.X509CertificateCreateWithKeyParams['signingKey'];
export type SigningAlgorithm = NonNullable<X509.X509CertificateCreateParamsBase['signingAlgorithm']>;

export type CertificateKind = 'root-ca' | 'admin' | 'node';

/** A certificate and its key, made in memory, not yet written. */
export interface IssuedCertificate {
  readonly kind: CertificateKind;
  /** CN: the node name, `admin`, or the CA's name. */
  readonly name: string;
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  /** `C=US, L=California, O=Wazuh, OU=Wazuh, CN=...`. */
  readonly subject: string;
  /** `IP:10.0.0.1`, `DNS:host.example.com`, in the certificate's order. */
  readonly sans: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface NodeIdentity {
  readonly name: string;
  readonly ips: readonly string[];
  readonly dns: readonly string[];
}

export interface IssueOptions {
  /** Defaults to the current time. */
  readonly now?: Date;
  readonly validityDays?: number;
}

export interface WrittenFile {
  readonly file: string;
  readonly mode: number;
  readonly kind: 'certificate' | 'private key';
}

/** The file names of a node's pair in the output folder. */
export function nodeFiles(name: string): { cert: string; key: string } {
  return { cert: `${name}.pem`, key: `${name}-key.pem` };
}

/** The file names of any certificate's pair. */
export function filesFor(issued: Pick<IssuedCertificate, 'kind' | 'name'>): { cert: string; key: string } {
  if (issued.kind === 'root-ca') return { cert: CA_CERT_FILE, key: CA_KEY_FILE };
  if (issued.kind === 'admin') return { cert: ADMIN_CERT_FILE, key: ADMIN_KEY_FILE };
  return nodeFiles(issued.name);
}

/** `C=US, L=California, O=Wazuh, OU=Wazuh, CN=<cn>`. */
export function subjectFor(cn: string): string {
  const escaped = cn.replace(/([,+"\\<>;=#])/g, '\\$1');
  return `C=${SUBJECT_FIELDS.C}, L=${SUBJECT_FIELDS.L}, O=${SUBJECT_FIELDS.O}, OU=${SUBJECT_FIELDS.OU}, CN=${escaped}`;
}

/** Makes a new self-signed root CA (RSA-2048, SHA-256). */
export async function createRootAuthority(opts: IssueOptions = {}): Promise<{ authority: Authority; issued: IssuedCertificate }> {
  const x509 = await loadX509();
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  const notAfter = new Date(now.getTime() + (opts.validityDays ?? CA_VALIDITY_DAYS) * DAY_MS);
  const keys = await generateRsaKeys();
  const cert = await createSelfSigned(x509, {
    name: jsonName(CA_COMMON_NAME),
    notBefore,
    notAfter,
    signingAlgorithm: RSA_KEY,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as SigningKey, false, webcryptoProvider()),
    ],
  });
  const certPem = pemOf(cert);
  const keyPem = await exportPkcs8(keys.privateKey);
  const authority: Authority = {
    certPem,
    keyPem,
    subject: subjectFor(CA_COMMON_NAME),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    fingerprint256: new crypto.X509Certificate(certPem).fingerprint256,
    cert,
    signingKey: keys.privateKey as unknown as SigningKey,
    signingAlgorithm: RSA_KEY,
  };
  return {
    authority,
    issued: { kind: 'root-ca', name: CA_COMMON_NAME, certPem, keyPem, subject: authority.subject, sans: [], notBefore: cert.notBefore, notAfter: cert.notAfter },
  };
}

/**
 * Loads an existing root CA from its PEM certificate and private key. Throws, naming
 * `certLabel`/`keyLabel`, when the certificate does not parse, is not a CA, cannot
 * sign certificates, is expired, or when the key does not parse, is encrypted, is of
 * an unsupported type, or does not belong to the certificate.
 */
export async function loadAuthority(certPem: string, keyPem: string, certLabel = 'CA certificate', keyLabel = 'CA key', now = new Date()): Promise<Authority> {
  let nodeCert: crypto.X509Certificate;
  try {
    nodeCert = new crypto.X509Certificate(certPem);
  } catch (err) {
    throw new Error(`${certLabel} is not a PEM certificate: ${messageOf(err)}`);
  }
  if (!nodeCert.ca) throw new Error(`${certLabel} is not a CA certificate (basicConstraints CA is not set)`);
  const notBefore = new Date(nodeCert.validFrom);
  const notAfter = new Date(nodeCert.validTo);
  if (notAfter.getTime() <= now.getTime()) throw new Error(`${certLabel} expired on ${notAfter.toISOString()}`);
  if (notBefore.getTime() > now.getTime()) throw new Error(`${certLabel} is not valid before ${notBefore.toISOString()}`);

  let keyObject: crypto.KeyObject;
  try {
    keyObject = crypto.createPrivateKey(keyPem);
  } catch (err) {
    const msg = messageOf(err);
    if (/passphrase/i.test(msg)) throw new Error(`${keyLabel} is encrypted; give an unencrypted PEM key`);
    throw new Error(`${keyLabel} is not a PEM private key: ${msg}`);
  }
  if (!nodeCert.checkPrivateKey(keyObject)) throw new Error(`${keyLabel} does not belong to ${certLabel}`);

  const { importAlgorithm, signingAlgorithm } = signingAlgorithmFor(keyObject, keyLabel);
  const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
  const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, importAlgorithm, true, ['sign']) as unknown as SigningKey;

  const x509 = await loadX509();
  const cert = new x509.X509Certificate(nodeCert.raw);
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  if (usage && (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new Error(`${certLabel} may not sign certificates (its key usage lacks keyCertSign)`);
  }
  return {
    certPem: pemOf(cert),
    keyPem: toPem(pkcs8, 'PRIVATE KEY'),
    subject: nodeCert.subject.split('\n').join(', '),
    notBefore,
    notAfter,
    fingerprint256: nodeCert.fingerprint256,
    cert,
    signingKey,
    signingAlgorithm,
  };
}

/** Reads and loads a root CA from two files; errors name the files. */
export async function readAuthority(certFile: string, keyFile: string): Promise<Authority> {
  const [certPem, keyPem] = await Promise.all([readText(certFile), readText(keyFile)]);
  return loadAuthority(certPem, keyPem, certFile, keyFile);
}

/** The admin client certificate: CN=admin, clientAuth. */
export async function issueAdminCertificate(ca: Authority, opts: IssueOptions = {}): Promise<IssuedCertificate> {
  const x509 = await loadX509();
  return issueLeaf(ca, 'admin', ADMIN_NAME, [], [], [x509.ExtendedKeyUsage.clientAuth], opts);
}

/** A node certificate: CN=<name>, its IPs and DNS names as SANs, serverAuth + clientAuth. */
export async function issueNodeCertificate(ca: Authority, node: NodeIdentity, opts: IssueOptions = {}): Promise<IssuedCertificate> {
  if (node.ips.length === 0 && node.dns.length === 0) throw new Error(`node ${node.name} has no IP or DNS name`);
  const x509 = await loadX509();
  const names: X509.JsonGeneralName[] = [
    ...node.ips.map((ip) => ({ type: 'ip' as const, value: sanIp(ip) })),
    ...node.dns.map((dns) => ({ type: 'dns' as const, value: dns })),
  ];
  const shown = [...node.ips.map((ip) => `IP:${ip}`), ...node.dns.map((dns) => `DNS:${dns}`)];
  return issueLeaf(ca, 'node', node.name, names, shown, [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], opts);
}

async function issueLeaf(ca: Authority, kind: 'admin' | 'node', cn: string, sans: readonly X509.JsonGeneralName[], shownSans: readonly string[],
  usages: readonly string[], opts: IssueOptions): Promise<IssuedCertificate> {
  const x509 = await loadX509();
  const provider = webcryptoProvider();
  const now = opts.now ?? new Date();
  const notBefore = new Date(Math.max(now.getTime() - CLOCK_SKEW_MS, ca.notBefore.getTime()));
  const wanted = now.getTime() + (opts.validityDays ?? LEAF_VALIDITY_DAYS) * DAY_MS;
  const notAfter = new Date(Math.min(wanted, ca.notAfter.getTime()));
  const keys = await generateRsaKeys();
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([...usages], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as SigningKey, false, provider),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false, provider),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension([...sans], false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: jsonName(cn),
    issuer: ca.cert.subjectName,
    notBefore,
    notAfter,
    signingAlgorithm: ca.signingAlgorithm,
    publicKey: keys.publicKey as unknown as SigningKey,
    signingKey: ca.signingKey,
    extensions,
  }, provider);
  return {
    kind,
    name: cn,
    certPem: pemOf(cert),
    keyPem: await exportPkcs8(keys.privateKey),
    subject: subjectFor(cn),
    sans: [...shownSans],
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/**
 * Writes a certificate and its key into `dir` (key first, 0600; then the certificate,
 * 0644), each atomically. Returns the files written.
 */
export async function writeIssued(dir: string, issued: IssuedCertificate): Promise<WrittenFile[]> {
  const names = filesFor(issued);
  const keyFile = path.join(dir, names.key);
  const certFile = path.join(dir, names.cert);
  await writeFileDurably(keyFile, issued.keyPem, { mode: KEY_FILE_MODE });
  await writeFileDurably(certFile, issued.certPem, { mode: CERT_FILE_MODE });
  return [
    { file: certFile, mode: CERT_FILE_MODE, kind: 'certificate' },
    { file: keyFile, mode: KEY_FILE_MODE, kind: 'private key' },
  ];
}

/**
 * An IP as the SAN encoder reads it: IPv4 dotted quad as is; IPv6 expanded to eight
 * hex groups (the encoder mis-reads `::` in some forms and embedded IPv4 tails).
 */
export function sanIp(ip: string): string {
  const family = net.isIP(ip);
  if (family === 4) return ip;
  if (family !== 6 || ip.includes('%')) throw new Error(`not an IP address: ${ip}`);
  let text = ip;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const b = tail.split('.').map(Number);
    const hi = (((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16);
    const lo = (((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const [left = '', right] = text.split('::');
  const head = left === '' ? [] : left.split(':');
  const rest = right === undefined || right === '' ? [] : right.split(':');
  const zeros = right === undefined ? [] : Array<string>(8 - head.length - rest.length).fill('0');
  return [...head, ...zeros, ...rest].map((g) => parseInt(g, 16).toString(16)).join(':');
}

/**
 * @peculiar/x509 needs the Reflect metadata API loaded first; both load on first use.
 */
async function generateRsaKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(RSA_KEY, true, ['sign', 'verify']);
}

function signingAlgorithmFor(key: crypto.KeyObject, keyLabel: string): {
  importAlgorithm: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
  signingAlgorithm: SigningAlgorithm;
} {
  if (key.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { importAlgorithm: algorithm, signingAlgorithm: algorithm };
  }
  if (key.asymmetricKeyType === 'ec') {
    const curves: Record<string, { namedCurve: string; hash: string }> = {
      prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
      secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
      secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
    };
    const curve = curves[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (curve) {
      return { importAlgorithm: { name: 'ECDSA', namedCurve: curve.namedCurve }, signingAlgorithm: { name: 'ECDSA', hash: curve.hash } };
    }
    throw new Error(`${keyLabel} is on an unsupported curve (${key.asymmetricKeyDetails?.namedCurve ?? 'unknown'}); use P-256, P-384 or P-521`);
  }
  throw new Error(`${keyLabel} is a ${key.asymmetricKeyType ?? 'unknown'} key; an RSA or EC CA key is needed`);
}

function jsonName(cn: string): X509.JsonName {
  return [{ C: [SUBJECT_FIELDS.C] }, { L: [SUBJECT_FIELDS.L] }, { O: [SUBJECT_FIELDS.O] }, { OU: [SUBJECT_FIELDS.OU] }, { CN: [cn] }];
}

/** 16 random bytes, high bit clear so the DER integer stays positive, never zero-led. */
async function readText(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`Cannot read ${file}: ${messageOf(err)}`);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
