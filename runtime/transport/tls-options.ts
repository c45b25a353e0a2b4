/**
 * Optional mutual TLS for the cluster link. With none configured the link is plain
 * TCP and the handshake's key proof is the only protection. With it, both sides
 * verify the peer's chain to the CA, and that its certificate names the node it
 * claims in the handshake (CN or a SAN); the key proof stays on top.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import tls, { type SecureContextOptions } from 'node:tls';

export interface LinkTlsOptions {
  readonly ca: SecureContextOptions['ca'];
  readonly cert: SecureContextOptions['cert'];
  readonly key: SecureContextOptions['key'];
}

/** PEM texts, as loaded from the files `<cluster>` names. */
export interface PemTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Reads the PEM files `<cluster>` names (relative paths from the home); an unreadable one is named in the error. */
export async function loadLinkTls(home: string, files: PemTls): Promise<PemTls> {
  const read = async (element: string, file: string): Promise<string> => {
    const full = path.resolve(home, file);
    try {
      return await fs.readFile(full, 'utf8');
    } catch (err) {
      throw new Error(`<cluster><${element}>: cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const [ca, cert, key] = await Promise.all([read('ssl_ca', files.ca), read('ssl_cert', files.cert), read('ssl_key', files.key)]);
  // Fails here, naming the problem, rather than at the first connection.
  tls.createSecureContext({ ca, cert, key });
  return { ca, cert, key };
}

/** The names a TLS peer's certificate carries (CN, DNS and IP SANs); null on a plain TCP socket. */
export function peerCertificateNames(socket: unknown): string[] | null {
  if (!(socket instanceof tls.TLSSocket)) return null;
  const cert = socket.getPeerCertificate();
  const names: string[] = [];
  const cn = cert.subject?.CN as string | string[] | undefined;
  if (Array.isArray(cn)) names.push(...cn);
  else if (typeof cn === 'string') names.push(cn);
  for (const part of (cert.subjectaltname ?? '').split(', ')) {
    const m = /^(?:DNS|IP Address):(.+)$/.exec(part);
    if (m?.[1]) names.push(m[1]);
  }
  return names;
}

/** Null when the certificate names the node (or there is no TLS); otherwise why not. */
export function certificateMismatch(names: readonly string[] | null, node: string): string | null {
  if (names === null || names.includes(node)) return null;
  return `the certificate names ${names.length ? names.join(', ') : 'nothing'}, but the peer says it is '${node}'`;
}
