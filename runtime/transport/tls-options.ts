/**
 * Optional TLS for the cluster link. With none configured the link is plain TCP and
 * the handshake's key proof is the only protection (certificates come later).
 */
import type { SecureContextOptions } from 'node:tls';

export interface LinkTlsOptions {
  readonly ca: SecureContextOptions['ca'];
  readonly cert: SecureContextOptions['cert'];
  readonly key: SecureContextOptions['key'];
}
