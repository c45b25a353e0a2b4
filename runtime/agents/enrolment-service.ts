/**
 * The enrolment service of a node (Wazuh's authd on `<auth><port>`, TLS): its
 * certificate (etc/sslmanager.cert/.key, created on first start as Wazuh's installer
 * does), its password (etc/authd.pass when `<use_password>yes`), and the listener.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { NodeConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import type { EnrolmentOutcome, ForwardedEnrolment } from '../../protocols/registry.js';
import { ensureManagerCertificate } from './manager-certificate.js';
import { EnrolmentServer } from './enrolment-server.js';
import { enrolmentHandler } from './enrolment-handler.js';
import { writeFileDurably } from '../storage/durable-file.js';

/** Who decides on an enrolment, and when this node may answer it: the node's role. */
export interface EnrolmentServiceDeps {
  decide(request: ForwardedEnrolment): Promise<EnrolmentOutcome>;
  /** Resolves true once this node's registry holds the change of `revision`. */
  holds(revision: number): Promise<boolean>;
}

/** A client gets this long to finish TLS, and then to send its line. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_CONNECTIONS = 1024;

/** With the node's own certificate (mutual TLS configured), agents that check the manager see the cluster's CA. */
export async function startEnrolmentService(config: NodeConfig, deps: EnrolmentServiceDeps, logger: Logger, nodeCert: { readonly cert: string; readonly key: string } | null): Promise<EnrolmentServer> {
  const { auth, localIp } = config.agents;
  const log = logger.task('Enrolment');
  const { cert, key } = nodeCert ?? await managerCertificate(config.home, log);
  const password = auth.usePassword ? await authPassword(config.home, log) : null;
  const server = new EnrolmentServer({
    host: localIp ?? '0.0.0.0',
    port: auth.port,
    cert,
    key,
    handle: enrolmentHandler({ password, useSourceIp: auth.useSourceIp, decide: (request) => deps.decide(request), holds: (revision) => deps.holds(revision), log }),
    log,
    handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    maxConnections: MAX_CONNECTIONS,
    handshakesPerSource: auth.handshakesPerSource,
  });
  await server.start();
  log.info(`Accepting enrolment requests on ${localIp ?? '0.0.0.0'}:${server.port}${password ? ' (password required)' : ''}.`);
  return server;
}

async function managerCertificate(home: string, log: Logger): Promise<{ cert: string; key: string }> {
  const { cert, key, created } = await ensureManagerCertificate(home);
  if (created) log.info('Created a self-signed certificate for the enrolment service (etc/sslmanager.cert, etc/sslmanager.key).');
  return { cert, key };
}

/** etc/authd.pass holds the password; without one, a random one is written there (never logged). */
async function authPassword(home: string, log: Logger): Promise<string> {
  const file = path.join(home, 'etc', 'authd.pass');
  try {
    const text = (await fs.readFile(file, 'utf8')).split('\n')[0]?.trim() ?? '';
    if (text !== '') return text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`Cannot read ${file}: ${(err as Error).message}`);
  }
  const generated = randomBytes(16).toString('hex');
  await writeFileDurably(file, `${generated}\n`, { mode: 0o640 });
  log.info(`Random password chosen for agent authentication; it is stored in ${file}.`);
  return generated;
}
