/**
 * The enrolment service's TLS identity: `etc/sslmanager.cert` and `etc/sslmanager.key`,
 * as on a real manager. Agents do not verify it by default, so a self-signed pair made
 * on first start is enough; an operator may drop in their own pair instead.
 */
import crypto, { webcrypto } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createSelfSigned, exportPkcs8, loadX509 } from '../certs/x509.js';
import { writeFileDurably } from '../storage/durable-file.js';

export interface ManagerCertificate {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
  /** True when this call generated (and wrote) the pair. */
  readonly created: boolean;
}

export const MANAGER_CERT_FILE = 'sslmanager.cert';
export const MANAGER_KEY_FILE = 'sslmanager.key';

const SUBJECT = 'C=US, ST=California, CN=wazuh';
const VALIDITY_YEARS = 10;
const KEY_MODE = 0o600;
const CERT_MODE = 0o640;
const ETC_MODE = 0o750;

/**
 * Returns the manager's certificate and key from `<home>/etc`, generating a
 * self-signed pair when either file is missing (both are then replaced).
 * Throws, naming the file, when a file exists but does not parse, or when the key
 * does not belong to the certificate.
 */
export async function ensureManagerCertificate(home: string): Promise<ManagerCertificate> {
  const etc = path.join(home, 'etc');
  const certFile = path.join(etc, MANAGER_CERT_FILE);
  const keyFile = path.join(etc, MANAGER_KEY_FILE);
  const [cert, key] = await Promise.all([readIfPresent(certFile), readIfPresent(keyFile)]);
  if (cert !== undefined && key !== undefined) {
    checkPair(cert, certFile, key, keyFile);
    return { cert, key, created: false };
  }
  const made = await generateSelfSigned();
  await fs.mkdir(etc, { recursive: true, mode: ETC_MODE });
  // Key first: a crash between the two leaves a lone key, which the next call replaces.
  await writeFileDurably(keyFile, made.key, { mode: KEY_MODE });
  await writeFileDurably(certFile, made.cert, { mode: CERT_MODE });
  return { ...made, created: true };
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Cannot read ${file}: ${(err as Error).message}`);
  }
}

function checkPair(cert: string, certFile: string, key: string, keyFile: string): void {
  let parsedCert: crypto.X509Certificate;
  let parsedKey: crypto.KeyObject;
  try {
    parsedCert = new crypto.X509Certificate(cert);
  } catch (err) {
    throw new Error(`Invalid manager certificate ${certFile}: ${(err as Error).message}`);
  }
  try {
    parsedKey = crypto.createPrivateKey(key);
  } catch (err) {
    throw new Error(`Invalid manager private key ${keyFile}: ${(err as Error).message}`);
  }
  if (!parsedCert.checkPrivateKey(parsedKey)) {
    throw new Error(`Manager private key ${keyFile} does not match the certificate ${certFile}`);
  }
}

async function generateSelfSigned(): Promise<{ cert: string; key: string }> {
  const x509 = await loadX509();
  // ECDSA P-256: every TLS 1.2+ agent accepts it, and a handshake costs the server a
  // fraction of an RSA-2048 one, which matters when a fleet enrols at once.
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = new Date();
  // An hour early, so a peer whose clock is a little behind does not see it as not yet valid.
  const notBefore = new Date(now.getTime() - 3_600_000);
  const notAfter = new Date(now);
  notAfter.setFullYear(notAfter.getFullYear() + VALIDITY_YEARS);
  const certificate = await createSelfSigned(x509, {
    name: SUBJECT,
    notBefore,
    notAfter,
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
    ],
  });
  const pem = certificate.toString('pem');
  return { cert: pem.endsWith('\n') ? pem : `${pem}\n`, key: await exportPkcs8(keys.privateKey) };
}
