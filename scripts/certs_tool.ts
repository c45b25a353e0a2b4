#!/usr/bin/env node
/**
 * certs_tool: the brief's certificate tool, without openssl. Reads `config.yml`
 * (nodes.indexer / nodes.server / nodes.dashboard, each node with a name and ip or
 * dns) and writes into the output folder:
 *
 *   root-ca.pem + root-ca.key      the root CA              (--ca, -A)
 *   admin.pem + admin-key.pem      the admin client cert    (--admin, -A)
 *   <name>.pem + <name>-key.pem    one per node             (--servers, -A)
 *
 * Keys are PKCS#8 PEM, mode 0600; certificates 0644; every file is written atomically.
 *
 * The root CA is never replaced unless --overwrite-ca is given: when root-ca.pem and
 * root-ca.key already exist in the output folder, -A and --ca keep them and sign with
 * them (and say so). --admin and --servers sign with the CA in the output folder, or
 * with the one named by --ca-cert/--ca-key. With -A, --ca-cert/--ca-key also copies
 * that CA into the output folder, so the folder is a complete set.
 *
 * Every error in config.yml is printed as `ERROR: <file>:<line>: <message>` and the
 * tool exits 1 before writing anything. Usage errors exit 2.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { operatorCli } from './lib/cli.js';
import { apiEnvelope, fail, formatTable, printJson } from './lib/output.js';
import { formatCertConfigError, parseCertConfig, type CertNode } from '../runtime/certs/cert-config.js';
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CERT_FILE_MODE,
  KEY_FILE_MODE,
  createRootAuthority,
  filesFor,
  issueAdminCertificate,
  issueNodeCertificate,
  readAuthority,
  writeIssued,
  type Authority,
  type IssuedCertificate,
  type WrittenFile,
} from '../runtime/certs/cert-authority.js';
import { writeFileDurably } from '../runtime/storage/durable-file.js';

const OUT_DIR_MODE = 0o700;

const argv = await operatorCli('certs_tool',
  '$0 (-A | --ca | --admin | --servers) [--config FILE] [--out DIR] [--ca-cert FILE --ca-key FILE] [--overwrite-ca] [--json]')
  .option('all', { alias: 'A', type: 'boolean', default: false, describe: 'Root CA, admin certificate and every node certificate' })
  .option('ca', { type: 'boolean', default: false, describe: 'Only the root CA' })
  .option('admin', { type: 'boolean', default: false, describe: 'Only the admin certificate' })
  .option('servers', { type: 'boolean', default: false, describe: 'Only the node certificates (indexer, server, dashboard)' })
  .option('config', { type: 'string', default: 'config.yml', describe: 'The nodes file' })
  .option('out', { type: 'string', default: 'certificates', describe: 'Output folder' })
  .option('ca-cert', { type: 'string', describe: 'Sign with this existing root CA certificate (PEM)' })
  .option('ca-key', { type: 'string', describe: 'The private key of --ca-cert (PEM, unencrypted)' })
  .option('overwrite-ca', { type: 'boolean', default: false, describe: 'Replace root-ca.pem/root-ca.key in the output folder' })
  .hide('home') // shared by the operator CLIs; this tool works on --config and --out only
  .example('$0 -A', 'Root CA, admin and node certificates from ./config.yml into ./certificates')
  .example('$0 --servers --ca-cert root-ca.pem --ca-key root-ca.key', 'Node certificates signed by an existing root CA')
  .parseAsync();

function usage(message: string): never {
  process.stderr.write(`ERROR: Wrong arguments: ${message}\n`);
  process.exit(2);
}

const makeCa = argv.all || argv.ca;
const makeAdmin = argv.all || argv.admin;
const makeNodes = argv.all || argv.servers;
const signs = makeAdmin || makeNodes;
const external = argv.caCert !== undefined || argv.caKey !== undefined;

if (!makeCa && !signs) usage('choose what to make: -A/--all, --ca, --admin or --servers.');
if ((argv.caCert === undefined) !== (argv.caKey === undefined)) usage('--ca-cert and --ca-key go together.');
if (argv.ca && external) usage('--ca makes a new root CA and --ca-cert/--ca-key sign with an existing one: give one or the other.');
if (argv.overwriteCa && !makeCa) usage('--overwrite-ca goes with --ca or -A.');

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const outDir = argv.out;
const caCertPath = path.join(outDir, CA_CERT_FILE);
const caKeyPath = path.join(outDir, CA_KEY_FILE);

// 1. config.yml, when nodes are wanted: every error at once, nothing written.
let nodes: readonly CertNode[] = [];
if (makeNodes) {
  let text: string;
  try {
    text = await fs.readFile(argv.config, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    fail(code === 'ENOENT'
      ? `${argv.config} not found: write the nodes file or name it with --config.`
      : `Cannot read ${argv.config}: ${messageOf(err)}`);
  }
  const parsed = parseCertConfig(text);
  if (!parsed.ok) {
    for (const e of parsed.errors) process.stderr.write(`ERROR: ${formatCertConfigError(argv.config, e)}\n`);
    process.stderr.write(`ERROR: ${parsed.errors.length} error${parsed.errors.length === 1 ? '' : 's'} in ${argv.config}; nothing was written.\n`);
    process.exit(1);
  }
  nodes = parsed.config.nodes;
}

// 2. Which root CA signs, and whether the output folder's CA files change.
const [hasCert, hasKey] = await Promise.all([exists(caCertPath), exists(caKeyPath)]);
let authority: Authority | undefined;
let newCa: IssuedCertificate | undefined;
/** The external CA to copy into the output folder (-A with --ca-cert/--ca-key). */
let copyCa = false;
let replacedCa = false;
const notes: string[] = [];

if (external) {
  authority = await orFail(readAuthority(argv.caCert as string, argv.caKey as string));
  notes.push(`Signing with the root CA ${argv.caCert} (${authority.subject}).`);
  if (makeCa) {
    const present = hasCert ? await fingerprintOf(caCertPath) : undefined;
    const sameKey = hasKey ? await sameKeyAs(caKeyPath, authority.keyPem) : false;
    if (present === authority.fingerprint256 && sameKey) {
      notes.push(`${caCertPath} already holds this root CA; kept.`);
    } else if ((hasCert || hasKey) && !argv.overwriteCa) {
      fail(`${outDir} already holds another root CA (${hasCert ? caCertPath : caKeyPath}); it is not overwritten without --overwrite-ca.`);
    } else {
      copyCa = true;
      replacedCa = hasCert || hasKey;
    }
  } else if (hasCert && (await fingerprintOf(caCertPath)) !== authority.fingerprint256) {
    notes.push(`Note: ${caCertPath} is a different root CA; the new certificates chain to ${argv.caCert}.`);
  }
} else if (hasCert && hasKey && !argv.overwriteCa) {
  authority = await orFail(readAuthority(caCertPath, caKeyPath), makeCa ? '; --overwrite-ca makes a new root CA' : '');
  notes.push(makeCa
    ? `Using the existing root CA ${caCertPath} (${authority.subject}); it was not overwritten (--overwrite-ca makes a new one).`
    : `Signing with the root CA ${caCertPath} (${authority.subject}).`);
} else if (makeCa) {
  if ((hasCert || hasKey) && !argv.overwriteCa) {
    fail(`${outDir} holds ${hasCert ? CA_CERT_FILE : CA_KEY_FILE} without ${hasCert ? CA_KEY_FILE : CA_CERT_FILE}: restore it, or pass --overwrite-ca to make a new root CA.`);
  }
  const made = await createRootAuthority();
  authority = made.authority;
  newCa = made.issued;
  replacedCa = hasCert || hasKey;
} else {
  fail(`No root CA to sign with: ${outDir} has no ${hasCert ? CA_KEY_FILE : hasKey ? CA_CERT_FILE : `${CA_CERT_FILE} and ${CA_KEY_FILE}`}. Run with --ca (or -A) first, or pass --ca-cert and --ca-key.`);
}
const ca = authority;

// 3. Every certificate in memory first, then the files.
const issued: IssuedCertificate[] = [];
if (newCa) issued.push(newCa);
if (makeAdmin) issued.push(await issueAdminCertificate(ca));
if (makeNodes) issued.push(...await Promise.all(nodes.map((n) => issueNodeCertificate(ca, n))));

const written: { file: WrittenFile; cert: IssuedCertificate | Authority }[] = [];
try {
  await fs.mkdir(outDir, { recursive: true, mode: OUT_DIR_MODE });
  if (copyCa) {
    await writeFileDurably(caKeyPath, ca.keyPem, { mode: KEY_FILE_MODE });
    await writeFileDurably(caCertPath, ca.certPem, { mode: CERT_FILE_MODE });
    written.push({ file: { file: caCertPath, mode: CERT_FILE_MODE, kind: 'certificate' }, cert: ca });
    written.push({ file: { file: caKeyPath, mode: KEY_FILE_MODE, kind: 'private key' }, cert: ca });
  }
  for (const cert of issued) {
    for (const file of await writeIssued(outDir, cert)) written.push({ file, cert });
  }
} catch (err) {
  fail(messageOf(err));
}

if (replacedCa) {
  const stale = await staleLeaves(new Set(written.map((w) => path.basename(w.file.file))));
  notes.push(`The root CA in ${outDir} was replaced${stale.length ? `; ${stale.join(', ')} still chain to the old one: re-issue them (-A, --admin, --servers)` : ''}.`);
}

// 4. Report.
const sansOf = (c: IssuedCertificate | Authority): readonly string[] => ('sans' in c ? c.sans : []);
if (argv.json) {
  const items = written.map(({ file, cert }) => ({
    file: file.file,
    type: file.kind,
    subject: cert.subject,
    sans: sansOf(cert),
    not_before: cert.notBefore.toISOString(),
    not_after: cert.notAfter.toISOString(),
    mode: `0${file.mode.toString(8)}`,
  }));
  const message = [written.length ? `${written.length} files written to ${outDir}.` : `Nothing written to ${outDir}.`, ...notes].join(' ');
  printJson(apiEnvelope(items, message));
} else {
  for (const n of notes) process.stdout.write(`${n}\n`);
  if (written.length) {
    const rows = written.map(({ file, cert }) => [
      file.file,
      file.kind === 'certificate' ? 'certificate' : `private key (0${file.mode.toString(8)})`,
      cert.subject,
      file.kind === 'certificate' ? sansOf(cert).join(', ') : '',
      file.kind === 'certificate' ? cert.notAfter.toISOString().slice(0, 10) : '',
    ]);
    process.stdout.write(`${formatTable(['file', 'type', 'subject', 'sans', 'valid until'], rows)}\n`);
  } else {
    process.stdout.write(`Nothing written to ${outDir}.\n`);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

async function orFail<T>(p: Promise<T>, hint = ''): Promise<T> {
  try {
    return await p;
  } catch (err) {
    fail(`${messageOf(err)}${hint}`);
  }
}

async function fingerprintOf(file: string): Promise<string | undefined> {
  try {
    return new crypto.X509Certificate(await fs.readFile(file)).fingerprint256;
  } catch {
    return undefined;
  }
}

async function sameKeyAs(file: string, keyPem: string): Promise<boolean> {
  try {
    const spki = (pem: string | Buffer): Buffer => crypto.createPublicKey(crypto.createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
    return spki(await fs.readFile(file)).equals(spki(keyPem));
  } catch {
    return false;
  }
}

/** Certificates left in the output folder that this run did not write (nor the CA's). */
async function staleLeaves(writtenNames: ReadonlySet<string>): Promise<string[]> {
  const caFiles = filesFor({ kind: 'root-ca', name: '' });
  const entries = await fs.readdir(outDir).catch(() => [] as string[]);
  return entries
    .filter((f) => f.endsWith('.pem') && !f.endsWith('-key.pem') && f !== caFiles.cert && !writtenNames.has(f))
    .sort();
}
