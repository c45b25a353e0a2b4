/**
 * The certificate tool's `config.yml`, shaped like the one operators know from the
 * product brief:
 *
 *     nodes:
 *       indexer:
 *         - name: node-1
 *           ip: 10.0.0.1
 *       server:
 *         - name: wazuh-1
 *           ip: [10.0.0.2, fd00::2]
 *           dns: wazuh-1.example.com
 *           node_type: master
 *       dashboard:
 *         - name: dashboard
 *           dns: [dash.example.com]
 *
 * `ip` and `dns` take one value or a list; every node needs at least one of them, and
 * they become the node certificate's subject alternative names. `ip` holds IP
 * addresses only (DNS names go under `dns`). `node_type` (master|worker) belongs to
 * server nodes; with more than one server node each needs one, and exactly one is the
 * master. Node names are unique across the three lists and name the node's files
 * (`<name>.pem`, `<name>-key.pem`), so they are restricted to a file-safe alphabet.
 *
 * Pure: text in, nodes or every error (with its 1-based line) out.
 */
import net from 'node:net';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';

export const NODE_ROLES = ['indexer', 'server', 'dashboard'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];
export type ServerNodeType = 'master' | 'worker';

export interface CertNode {
  readonly role: NodeRole;
  readonly name: string;
  /** IP addresses (v4 or v6, canonical as written), without duplicates. */
  readonly ips: readonly string[];
  /** DNS names, lower-cased, without duplicates. */
  readonly dns: readonly string[];
  /** Server nodes only, when given. */
  readonly nodeType?: ServerNodeType;
  /** Line of the node's entry in the file. */
  readonly line: number;
}

export interface CertConfig {
  /** Every node, in file order. */
  readonly nodes: readonly CertNode[];
}

export interface CertConfigError {
  /** 1-based line in config.yml. */
  readonly line: number;
  readonly message: string;
}

export type CertConfigResult =
  | { readonly ok: true; readonly config: CertConfig }
  | { readonly ok: false; readonly errors: readonly CertConfigError[] };

/** Names that would collide with the CA's and the admin's files. */
export const RESERVED_NODE_NAMES: readonly string[] = ['root-ca', 'admin'];

/** Letters, digits, dot, dash, underscore; starts with a letter or digit; fits a CN (64). */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const NODE_KEYS: Record<NodeRole, readonly string[]> = {
  indexer: ['name', 'ip', 'dns'],
  server: ['name', 'ip', 'dns', 'node_type'],
  dashboard: ['name', 'ip', 'dns'],
};

/** `file:line: message`, the form the tool prints each error in. */
export function formatCertConfigError(file: string, error: CertConfigError): string {
  return `${file}:${error.line}: ${error.message}`;
}

/** Parses and checks a config.yml text; returns the nodes, or every error found. */
export function parseCertConfig(text: string): CertConfigResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors: CertConfigError[] = [];
  const lineAt = (offset: number): number => lines.linePos(Math.max(0, Math.min(offset, text.length))).line;
  const lineOf = (node: unknown, fallback: number): number => {
    const range = typeof node === 'object' && node !== null && 'range' in node ? (node as YamlNode).range : undefined;
    return range ? lineAt(range[0]) : fallback;
  };
  const error = (line: number, message: string): void => { errors.push({ line, message }); };

  if (doc.errors.length > 0) {
    // An error at the end of the input (an unclosed bracket) points at the last line with text.
    const lastLine = Math.max(1, lineAt(text.trimEnd().length));
    for (const e of doc.errors) error(Math.min(lineAt(e.pos[0]), lastLine), `not valid YAML: ${e.message}`);
    return { ok: false, errors: sortErrors(errors) };
  }

  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === undefined))) {
    error(1, "the file is empty: it needs a 'nodes' map with 'indexer', 'server' or 'dashboard' lists");
    return { ok: false, errors };
  }
  if (!isMap(root)) {
    error(lineOf(root, 1), "the top level must be a map with a 'nodes' key");
    return { ok: false, errors };
  }

  let nodesValue: YamlNode | null | undefined;
  let nodesLine = lineOf(root, 1);
  for (const pair of root.items) {
    const key = keyText(pair);
    const line = lineOf(pair.key, nodesLine);
    if (key === 'nodes') {
      nodesValue = pair.value as YamlNode | null;
      nodesLine = line;
    } else {
      error(line, `unknown key '${key}' at the top level (allowed: nodes)`);
    }
  }
  if (nodesValue === undefined) {
    error(nodesLine, "missing 'nodes': list the nodes under nodes.indexer, nodes.server and nodes.dashboard");
    return { ok: false, errors: sortErrors(errors) };
  }

  const nodes: CertNode[] = [];
  const lists = new Map<NodeRole, { items: YamlNode[]; line: number }>();
  if (isAlias(nodesValue)) {
    error(lineOf(nodesValue, nodesLine), "YAML aliases are not supported in config.yml");
  } else if (nodesValue !== null && !isNullScalar(nodesValue)) {
    if (!isMap(nodesValue)) {
      error(lineOf(nodesValue, nodesLine), "'nodes' must be a map of 'indexer', 'server' and 'dashboard' lists");
    } else {
      for (const pair of nodesValue.items) {
        const key = keyText(pair);
        const line = lineOf(pair.key, nodesLine);
        if (!(NODE_ROLES as readonly string[]).includes(key)) {
          error(line, `unknown key '${key}' under nodes (allowed: ${NODE_ROLES.join(', ')})`);
          continue;
        }
        const value = pair.value as YamlNode | null;
        if (value === null || isNullScalar(value)) { lists.set(key as NodeRole, { items: [], line }); continue; }
        if (isAlias(value)) { error(lineOf(value, line), 'YAML aliases are not supported in config.yml'); continue; }
        if (!isSeq(value)) { error(lineOf(value, line), `nodes.${key} must be a list of nodes ('- name: ...')`); continue; }
        lists.set(key as NodeRole, { items: value.items as YamlNode[], line });
      }
    }
  }

  // Entries with errors of their own still take part in the checks across nodes, so one
  // run reports a duplicate name or a second master even next to a bad IP.
  const entries: Entry[] = [];
  for (const role of NODE_ROLES) {
    const list = lists.get(role);
    if (!list) continue;
    for (const item of list.items) {
      const entry = checkNode(role, item, list.line);
      if (entry) entries.push(entry);
    }
  }
  const seen = new Map<string, Entry>();
  for (const entry of [...entries].sort((a, b) => a.line - b.line)) {
    if (entry.name === undefined) continue;
    const first = seen.get(entry.name.toLowerCase());
    if (first) {
      error(entry.line, `duplicate node name '${entry.name}' (already used at line ${first.line} in nodes.${first.role}); names must be unique across all lists`);
      continue;
    }
    seen.set(entry.name.toLowerCase(), entry);
    if (entry.node) nodes.push(entry.node);
  }
  checkServerTypes(entries.filter((e) => e.role === 'server'), lists.get('server')?.line ?? nodesLine, error);

  if (errors.length === 0 && nodes.length === 0) {
    error(nodesLine, "no nodes: list at least one node under nodes.indexer, nodes.server or nodes.dashboard");
  }
  if (errors.length > 0) return { ok: false, errors: sortErrors(errors) };
  return { ok: true, config: { nodes } };

  function checkNode(role: NodeRole, item: YamlNode, listLine: number): Entry | undefined {
    const line = lineOf(item, listLine);
    if (isAlias(item)) { error(line, 'YAML aliases are not supported in config.yml'); return undefined; }
    if (!isMap(item)) { error(line, `each entry of nodes.${role} must be a map with 'name' and 'ip' or 'dns'`); return undefined; }
    const before = errors.length;
    const fields = new Map<string, { value: YamlNode | null; line: number }>();
    for (const pair of (item as YAMLMap).items) {
      const key = keyText(pair);
      const keyLine = lineOf(pair.key, line);
      if (!NODE_KEYS[role].includes(key)) {
        const hint = key === 'node_type' ? ' (node_type belongs to server nodes)' : '';
        error(keyLine, `unknown key '${key}' in a nodes.${role} entry (allowed: ${NODE_KEYS[role].join(', ')})${hint}`);
        continue;
      }
      fields.set(key, { value: pair.value as YamlNode | null, line: keyLine });
    }

    let name: string | undefined;
    const nameField = fields.get('name');
    if (!nameField || nameField.value === null || isNullScalar(nameField.value)) {
      error(nameField?.line ?? line, `missing name: each entry of nodes.${role} needs a 'name'`);
    } else if (!isScalar(nameField.value) || typeof nameField.value.value !== 'string') {
      error(nameField.line, `name must be text (quote it if it looks like a number)`);
    } else {
      const candidate = nameField.value.value.trim();
      if (candidate === '') {
        error(nameField.line, `missing name: each entry of nodes.${role} needs a 'name'`);
      } else if (!NODE_NAME.test(candidate)) {
        error(nameField.line, `invalid name '${candidate}': use up to 64 letters, digits, '.', '-' or '_', starting with a letter or digit`);
      } else if (RESERVED_NODE_NAMES.includes(candidate.toLowerCase())) {
        error(nameField.line, `invalid name '${candidate}': it would overwrite the ${candidate.toLowerCase()} files`);
      } else {
        name = candidate;
      }
    }

    const ips = collectValues(fields.get('ip'), 'ip', (v) => isIpAddress(v) ? undefined
      : `bad IP '${v}' in ip: not an IPv4 or IPv6 address${looksLikeDns(v) ? ' (DNS names go under dns)' : ''}`);
    const dns = collectValues(fields.get('dns'), 'dns', (v) => dnsProblem(v)).map((d) => d.toLowerCase());
    if (!fields.has('ip') && !fields.has('dns')) {
      error(line, `${name ? `node '${name}'` : 'node'} has no ip or dns: its certificate needs at least one address`);
    } else if (ips.length === 0 && dns.length === 0 && errors.length === before) {
      error(fields.get('ip')?.line ?? fields.get('dns')?.line ?? line, `${name ? `node '${name}'` : 'node'} has no ip or dns: its certificate needs at least one address`);
    }

    let nodeType: ServerNodeType | undefined;
    const typeField = fields.get('node_type');
    if (typeField) {
      const v = typeField.value;
      const text = v && isScalar(v) ? v.value : undefined;
      if (text === 'master' || text === 'worker') nodeType = text;
      else error(typeField.line, `bad node_type '${scalarText(v)}': use master or worker`);
    }

    const entry: Entry = { role, line, typeGiven: typeField !== undefined, ...(name !== undefined ? { name } : {}), ...(nodeType ? { nodeType } : {}) };
    if (errors.length > before || name === undefined) return entry;
    return { ...entry, node: { role, name, ips: unique(ips), dns: unique(dns), ...(nodeType ? { nodeType } : {}), line } };
  }

  function collectValues(field: { value: YamlNode | null; line: number } | undefined, key: string,
    problem: (v: string) => string | undefined): string[] {
    if (!field) return [];
    const { value } = field;
    if (value === null || isNullScalar(value)) return [];
    if (isAlias(value)) { error(lineOf(value, field.line), 'YAML aliases are not supported in config.yml'); return []; }
    const items: YamlNode[] = isSeq(value) ? (value.items as YamlNode[]) : [value];
    const out: string[] = [];
    for (const item of items) {
      const itemLine = lineOf(item, field.line);
      if (!isScalar(item) || typeof item.value !== 'string') {
        const shown = isScalar(item) ? scalarText(item) : '(not a single value)';
        error(itemLine, key === 'ip'
          ? `bad IP '${shown}' in ip: not an IPv4 or IPv6 address`
          : `bad DNS name '${shown}' in dns: quote it or write a host name`);
        continue;
      }
      const text = item.value.trim();
      const why = problem(text);
      if (why) error(itemLine, why);
      else out.push(text);
    }
    return out;
  }
}

/** One list entry as far as it could be read; `node` only when it had no error. */
interface Entry {
  readonly role: NodeRole;
  readonly line: number;
  readonly name?: string;
  readonly nodeType?: ServerNodeType;
  readonly typeGiven: boolean;
  readonly node?: CertNode;
}

function checkServerTypes(servers: readonly Entry[], listLine: number, error: (line: number, message: string) => void): void {
  const label = (e: Entry): string => (e.name !== undefined ? `server node '${e.name}'` : `the server entry at line ${e.line}`);
  const masters = servers.filter((s) => s.nodeType === 'master');
  const [first, ...extras] = masters;
  for (const extra of first ? extras : []) {
    error(extra.line, `two masters: ${label(extra)} is node_type master but ${label(first as Entry)} (line ${first?.line}) already is; a cluster has one master`);
  }
  if (servers.length > 1) {
    for (const s of servers) {
      if (!s.typeGiven) error(s.line, `${label(s)} has no node_type: with more than one server node each needs node_type master or worker`);
    }
    if (masters.length === 0 && servers.every((s) => s.nodeType !== undefined)) {
      error(listLine, 'no master among the server nodes: exactly one needs node_type master');
    }
  }
}

function keyText(pair: Pair): string {
  const key = pair.key;
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function isNullScalar(node: YamlNode): boolean {
  return isScalar(node) && (node.value === null || node.value === undefined);
}

function scalarText(node: YamlNode | null | undefined): string {
  if (node === null || node === undefined) return '';
  if (isScalar(node)) return node.source !== undefined ? String(node.source) : String(node.value);
  return '(not a single value)';
}

/** IPv4 or IPv6 as a certificate can hold it: no zone index (`%eth0`). */
export function isIpAddress(v: string): boolean {
  return net.isIP(v) !== 0 && !v.includes('%');
}

function looksLikeDns(v: string): boolean {
  return dnsProblem(v) === undefined;
}

/** Host names: dot-separated labels of letters, digits and dashes; `*.` may lead. */
function dnsProblem(v: string): string | undefined {
  const bad = (why: string): string => `bad DNS name '${v}' in dns: ${why}`;
  if (v === '') return bad('empty');
  if (net.isIP(v) !== 0) return `'${v}' in dns is an IP address: list it under ip`;
  const name = v.endsWith('.') ? v.slice(0, -1) : v;
  if (name.length > 253) return bad('longer than 253 characters');
  const labels = name.toLowerCase().split('.');
  const rest = labels[0] === '*' && labels.length > 1 ? labels.slice(1) : labels;
  if (!rest.every((l) => DNS_LABEL.test(l))) return bad('use letters, digits and dashes in dot-separated labels of up to 63 characters');
  if (/^[0-9]+$/.test(rest[rest.length - 1] ?? '')) return bad('the last label cannot be all digits');
  return undefined;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function sortErrors(errors: readonly CertConfigError[]): CertConfigError[] {
  return errors.map((e, i) => ({ e, i })).sort((a, b) => a.e.line - b.e.line || a.i - b.i).map(({ e }) => e);
}
