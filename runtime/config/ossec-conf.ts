/**
 * Reads ossec.conf the way Wazuh 4.14 does for the cluster: every `<ossec_config>`
 * root is read, sections that are not ours are ignored, and each section we use is
 * compiled by its own function from the list of its blocks (later blocks override
 * earlier ones, element by element): `<cluster>`, and `<auth>`/`<remote>` for the
 * agent-facing services.
 */
import fs from 'node:fs/promises';
import { isIP } from 'node:net';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { CLUSTER_DEFAULTS } from './defaults.js';
import { parseRedisUrl, RedisUrlError } from '../redis/redis-url.js';
import type { AgentServices, ClusterConfig, ConfigIssue, NodeType } from './types.js';
import { compileAgentServices, DEFAULT_AGENT_SERVICES } from './ossec-agent-services.js';
import { checkHandshakesPerSource, invalidElement, Issues, rejectChildren, type Position, type XmlElement } from './xml-fields.js';

export type ClusterSection =
  | { readonly kind: 'enabled'; readonly config: ClusterConfig }
  | { readonly kind: 'disabled'; readonly reason: 'absent' | 'disabled' };

export interface OssecConf {
  /** Null when `errors` is not empty. */
  readonly cluster: ClusterSection | null;
  readonly agents: AgentServices;
  readonly errors: readonly ConfigIssue[];
  readonly warnings: readonly ConfigIssue[];
}

const ROOT = 'ossec_config';

/** Compiles the text of an ossec.conf; `file` only labels the issues. */
export function compileOssecConf(text: string, file: string): OssecConf {
  const issues = new Issues(file);
  const roots = parseXml(text, issues);
  const cluster = roots === null ? null : compileCluster(sections(roots, 'cluster'), issues);
  const section = (name: string): XmlElement[] => (roots === null ? [] : sections(roots, name));
  const agents = compileAgentServices(section('auth'), section('remote'), section('global'), issues);
  const byLine = (a: ConfigIssue, b: ConfigIssue): number => (a.line ?? 0) - (b.line ?? 0);
  return {
    cluster: issues.errors.length > 0 ? null : cluster,
    agents,
    errors: issues.errors.sort(byLine),
    warnings: issues.warnings.sort(byLine),
  };
}

/** Reads and compiles `file`; a missing or unreadable file is an error. */
export async function readOssecConf(file: string): Promise<OssecConf> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const message = `Error reading cluster configuration: ${err instanceof Error ? err.message : String(err)}`;
    return { cluster: null, agents: DEFAULT_AGENT_SERVICES, errors: [{ file, element: '', message }], warnings: [] };
  }
  return compileOssecConf(text, file);
}

// ---- XML ----

/** Wraps the roots in one element, on the same line so validator line numbers hold. */
const SYNTHETIC_ROOT = 'clusterd-document';

const parser = new XMLParser({
  preserveOrder: true, // repeated elements stay in document order
  captureMetaData: true, // start offsets, for line numbers
  parseTagValue: false, // a 32-digit key must stay text
  processEntities: false, // Wazuh takes text as written
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

const META = XMLParser.getMetaDataSymbol() as symbol;

function parseXml(text: string, issues: Issues): XmlElement[] | null {
  // The parser silently accepts mismatched closing tags, so validate first.
  const wrapped = `<${SYNTHETIC_ROOT}>${escapeBareAmpersands(text)}</${SYNTHETIC_ROOT}>`;
  const valid = XMLValidator.validate(wrapped);
  if (valid !== true) {
    const message = valid.err.msg.replace(`instead of closing tag '${SYNTHETIC_ROOT}'`, 'before the end of the file');
    issues.error({ path: '', line: valid.err.line }, `Invalid XML: ${message}`);
    return null;
  }
  const output: unknown = parser.parse(text);
  return toElements(output, '', lineLocator(text));
}

/** Wazuh's XML reader takes a bare '&' as text; the validator would reject it. */
function escapeBareAmpersands(text: string): string {
  return text.replace(/&(?![A-Za-z][\w.-]*;|#\d+;|#x[0-9A-Fa-f]+;)/g, '&amp;');
}

function lineLocator(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid;
    }
    return lo + 1;
  };
}

/** Turns the parser's ordered output into elements with paths and lines. */
function toElements(nodes: unknown, parentPath: string, lineAt: (offset: number) => number): XmlElement[] {
  if (!Array.isArray(nodes)) return [];
  const elements: XmlElement[] = [];
  for (const node of nodes) {
    if (typeof node !== 'object' || node === null) continue;
    const name = Object.keys(node).find((k) => k !== '#text' && k !== ':@');
    if (name === undefined) continue;
    const content: unknown = Reflect.get(node, name);
    const path = parentPath === '' ? name : `${parentPath}/${name}`;
    elements.push({
      name,
      path,
      line: lineAt(startOffset(node)),
      text: textOf(content),
      children: toElements(content, path, lineAt),
    });
  }
  return elements;
}

function startOffset(node: object): number {
  const meta: unknown = Reflect.get(node, META);
  return typeof meta === 'object' && meta !== null && 'startIndex' in meta && typeof meta.startIndex === 'number'
    ? meta.startIndex
    : 0;
}

function textOf(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content
    .map((n: unknown) => (typeof n === 'object' && n !== null && '#text' in n ? String(n['#text']) : ''))
    .join('');
}

/** All blocks of one section, across every `<ossec_config>` root, in document order. */
function sections(roots: readonly XmlElement[], name: string): XmlElement[] {
  return roots.filter((r) => r.name === ROOT).flatMap((r) => r.children.filter((c) => c.name === name));
}

// ---- <cluster> ----

const CLUSTER_PATH = `${ROOT}/cluster`;
const CLUSTER_LEAVES = [
  'disabled', 'name', 'node_name', 'node_type', 'key', 'port', 'bind_addr', 'hidden', 'redis_url', 'ssl_ca', 'ssl_cert', 'ssl_key',
  'handshakes_per_source',
] as const;
type ClusterLeaf = (typeof CLUSTER_LEAVES)[number];
type DefaultedLeaf = Exclude<ClusterLeaf, 'redis_url' | 'ssl_ca' | 'ssl_cert' | 'ssl_key'>;

/** Wazuh elements we accept and ignore; the message, if any, is logged as a warning. */
const CLUSTER_IGNORED: ReadonlyMap<string, string | null> = new Map([
  ['interval', 'Detected a deprecated configuration for cluster. Interval option is not longer available.'],
  ['socket_timeout', null],
  ['connection_timeout', null],
  ['haproxy_helper', 'clusterd does not implement the HAProxy helper; the haproxy_helper section is ignored.'],
]);
const CLUSTER_ELEMENTS = [...CLUSTER_LEAVES, 'nodes', ...CLUSTER_IGNORED.keys()];
const RESERVED_NODES = new Set(['localhost', 'NODE_IP', '0.0.0.0', '127.0.1.1']);

/** The elements in effect: the last occurrence of each, across all blocks. */
interface ClusterElements {
  /** The first block: where absent elements are reported. */
  readonly block: XmlElement;
  readonly leaves: ReadonlyMap<ClusterLeaf, XmlElement>;
  readonly nodes: XmlElement | undefined;
}

/** A value as written, or its default, with where to report it. */
interface Setting {
  readonly text: string;
  readonly at: Position;
}

function compileCluster(blocks: readonly XmlElement[], issues: Issues): ClusterSection {
  const block = blocks[0];
  if (block === undefined) return { kind: 'disabled', reason: 'absent' };
  const found = collectCluster(block, blocks, issues);
  // Like Wazuh, a disabled cluster's other values are not validated.
  if (checkYesNo(setting(found, 'disabled'), 'disabled', issues)) return { kind: 'disabled', reason: 'disabled' };
  const nodes = checkNodes(found, issues);
  const handshakes = setting(found, 'handshakes_per_source');
  const config: ClusterConfig = {
    name: checkName(setting(found, 'name'), 'Cluster name', issues),
    nodeName: checkName(setting(found, 'node_name'), 'Node name', issues),
    nodeType: checkNodeType(setting(found, 'node_type'), issues),
    key: checkKey(setting(found, 'key'), issues),
    port: checkPort(setting(found, 'port'), issues),
    bindAddr: checkBindAddr(setting(found, 'bind_addr'), issues),
    nodes,
    masterAddress: nodes[0] ?? '',
    hidden: checkYesNo(setting(found, 'hidden'), 'hidden', issues),
    redisUrl: checkRedisUrl(found.leaves.get('redis_url'), issues),
    tls: checkTls(found, issues),
    handshakesPerSource: checkHandshakesPerSource(handshakes.text, handshakes.at, issues),
  };
  return { kind: 'enabled', config };
}

function isClusterLeaf(name: string): name is ClusterLeaf {
  return (CLUSTER_LEAVES as readonly string[]).includes(name);
}

function collectCluster(block: XmlElement, blocks: readonly XmlElement[], issues: Issues): ClusterElements {
  const leaves = new Map<ClusterLeaf, XmlElement>();
  let nodes: XmlElement | undefined;
  for (const el of blocks.flatMap((b) => b.children)) {
    if (isClusterLeaf(el.name)) {
      rejectChildren(el, issues);
      leaves.set(el.name, el);
    } else if (el.name === 'nodes') {
      nodes = el;
    } else if (CLUSTER_IGNORED.has(el.name)) {
      const warning = CLUSTER_IGNORED.get(el.name);
      if (warning) issues.warning(el, warning);
    } else {
      issues.error(el, invalidElement(el.name, CLUSTER_ELEMENTS));
    }
  }
  return { block, leaves, nodes };
}

function setting(found: ClusterElements, leaf: DefaultedLeaf): Setting {
  const el = found.leaves.get(leaf);
  if (el !== undefined) return { text: el.text, at: el };
  return { text: CLUSTER_DEFAULTS[leaf], at: { path: `${CLUSTER_PATH}/${leaf}`, line: found.block.line } };
}

function checkYesNo(s: Setting, field: string, issues: Issues): boolean {
  if (s.text === 'yes' || s.text === 'no') return s.text === 'yes';
  issues.error(s.at, `Allowed values for '${field}' field are 'yes' and 'no'. Found: '${s.text}'`);
  return false;
}

/** Wazuh's C_VALID: letters, digits and printable punctuation but space ( ) * + , / ; @ `. */
const NAME_PUNCTUATION = `!"#$%&'-.:<=>?[\\]^_{|}~`;
const NAME_CHARS = /^[A-Za-z0-9!"#$%&'\-.:<=>?[\\\]^_{|}~]+$/;

function checkName(s: Setting, noun: 'Cluster name' | 'Node name', issues: Issues): string {
  if (s.text === '') {
    issues.error(s.at, `${noun} is empty in configuration`);
  } else if (!NAME_CHARS.test(s.text)) {
    issues.error(
      s.at,
      `Detected a not allowed character in ${noun.toLowerCase()}: "${s.text}". ` +
        `Characters allowed: letters, digits and ${NAME_PUNCTUATION}`,
    );
  }
  return s.text;
}

function checkNodeType(s: Setting, issues: Issues): NodeType {
  if (s.text === 'master' || s.text === 'worker') return s.text;
  if (s.text === 'client') {
    issues.warning(s.at, "Deprecated node type 'client'. Using 'worker' instead.");
    return 'worker';
  }
  issues.error(s.at, `Invalid node type ${s.text}. Correct values are master and worker`);
  return 'master';
}

/** The key is a secret: no message may quote it. */
function checkKey(s: Setting, issues: Issues): string {
  if (s.text === '') issues.error(s.at, 'Unspecified key');
  else if (!/^\w{32}$/.test(s.text)) {
    issues.error(s.at, 'Key must be 32 characters long and only have alphanumeric characters');
  }
  return s.text;
}

function checkPort(s: Setting, issues: Issues): number {
  if (!/^\d+$/.test(s.text)) {
    issues.error(s.at, `Port has to be an integer (found '${s.text}')`);
    return Number.NaN;
  }
  const port = Number(s.text);
  if (!(port > 1024 && port < 65535)) {
    issues.error(s.at, `Port must be higher than 1024 and lower than 65535 (found '${s.text}')`);
  }
  return port;
}

const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);

function isHost(value: string): boolean {
  if (isIP(value) !== 0) return true;
  // All-digit dotted names are bad IPv4 addresses, not host names.
  return HOST_NAME.test(value) && !/^[\d.]+$/.test(value);
}


function checkBindAddr(s: Setting, issues: Issues): string {
  if (!isHost(s.text)) {
    issues.error(s.at, `Invalid bind_addr '${s.text}': expected an IPv4 or IPv6 address or a host name`);
  }
  return s.text;
}

function checkNodes(found: ClusterElements, issues: Issues): string[] {
  const entries = nodeEntries(found, issues);
  const reserved = [...new Set(entries.map((e) => e.text).filter((t) => RESERVED_NODES.has(t)))];
  const firstReserved = entries.find((e) => RESERVED_NODES.has(e.text));
  if (firstReserved !== undefined) {
    issues.error(firstReserved.at, `Invalid elements in node fields: ${reserved.join(', ')}.`);
  }
  for (const empty of entries.filter((e) => e.text === '')) issues.error(empty.at, 'Node address is empty');
  const first = entries[0];
  if (found.nodes !== undefined && first === undefined) {
    issues.error(found.nodes, "No node specified in 'nodes'");
  }
  if (found.nodes !== undefined && first !== undefined && entries.length > 1) {
    issues.warning(
      found.nodes,
      `Found more than one node in configuration. Only master node should be specified. Using ${first.text} as master.`,
    );
  }
  return entries.map((e) => e.text);
}

function nodeEntries(found: ClusterElements, issues: Issues): Setting[] {
  if (found.nodes === undefined) {
    const at = { path: `${CLUSTER_PATH}/nodes/node`, line: found.block.line };
    return CLUSTER_DEFAULTS.nodes.map((text) => ({ text, at }));
  }
  const entries: Setting[] = [];
  for (const child of found.nodes.children) {
    if (child.name !== 'node') {
      issues.error(child, invalidElement(child.name, ['node']));
      continue;
    }
    rejectChildren(child, issues);
    entries.push({ text: child.text, at: child });
  }
  return entries;
}

/** The URL is not quoted back: a malformed one may carry a password. */
function checkRedisUrl(el: XmlElement | undefined, issues: Issues): string | null {
  if (el === undefined) return null;
  try {
    parseRedisUrl(el.text);
  } catch (err) {
    const problem = err instanceof RedisUrlError ? err.problem : 'unreadable';
    issues.error(el, `Invalid redis_url: ${problem}. Expected redis://[user:password@]host[:port][/db], rediss://... or unix:///absolute/path.sock`);
  }
  return el.text;
}

/** All three certificate elements, or none: half a TLS setup is a mistake, not a choice. */
function checkTls(found: ClusterElements, issues: Issues): ClusterConfig['tls'] {
  const ca = found.leaves.get('ssl_ca');
  const cert = found.leaves.get('ssl_cert');
  const key = found.leaves.get('ssl_key');
  const given = [ca, cert, key].filter((e) => e !== undefined);
  if (given.length === 0) return null;
  for (const el of given) if (el.text === '') issues.error(el, `${el.name} is empty: expected the path of a PEM file`);
  if (!ca || !cert || !key) {
    issues.error(given[0] ?? found.block, 'Mutual TLS needs ssl_ca, ssl_cert and ssl_key together');
    return null;
  }
  return { ca: ca.text, cert: cert.text, key: key.text };
}
