/**
 * What every certificate this node makes shares: loading @peculiar/x509 (with the
 * Reflect metadata it needs) only when a certificate has to be made, Node's webcrypto
 * as its provider, serial numbers, PEM encoding, and the self-signed generator call.
 */
import crypto, { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

export type X509Provider = Parameters<typeof X509.X509CertificateGenerator.create>[1];

/** @peculiar/x509 needs the Reflect metadata API loaded first; both load on first use. */
export async function loadX509(): Promise<typeof X509> {
  await import('reflect-metadata');
  return import('@peculiar/x509');
}

export function webcryptoProvider(): X509Provider {
  return webcrypto as unknown as X509Provider;
}

/** 16 random bytes, high bit clear so the DER integer stays positive, never zero-led. */
export function randomSerial(): string {
  const bytes = crypto.randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

export function toPem(der: Buffer, label: string): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export async function exportPkcs8(key: webcrypto.CryptoKey): Promise<string> {
  return toPem(Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key)), 'PRIVATE KEY');
}

export function pemOf(cert: X509.X509Certificate): string {
  return toPem(Buffer.from(cert.rawData), 'CERTIFICATE');
}

export interface SelfSignedParams {
  /** The subject (and issuer), as @peculiar/x509 takes it: a string or a JSON name. */
  readonly name: X509.X509CertificateCreateSelfSignedParams['name'];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly signingAlgorithm: X509.X509CertificateCreateSelfSignedParams['signingAlgorithm'];
  readonly keys: webcrypto.CryptoKeyPair;
  readonly extensions: X509.Extension[];
}

/** A self-signed certificate with a fresh random serial. */
export async function createSelfSigned(x509: typeof X509, p: SelfSignedParams): Promise<X509.X509Certificate> {
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: p.name,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    signingAlgorithm: p.signingAlgorithm,
    keys: p.keys as unknown as X509.X509CertificateCreateSelfSignedParams['keys'],
    extensions: p.extensions,
  }, webcryptoProvider());
}
