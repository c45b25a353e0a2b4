/**
 * `<auth>` and `<remote>` of ossec.conf, as far as the agent services of a cluster
 * node use them: the enrolment port, password and replacement rules, and the local
 * address the services bind to (so several nodes can share one machine).
 */
import { isIP } from 'node:net';
import { checkHandshakesPerSource, invalidElement, rejectChildren, type Issues, type XmlElement } from './xml-fields.js';
import type { AgentServices } from './types.js';

export const DEFAULT_AGENT_SERVICES: AgentServices = Object.freeze({
  auth: Object.freeze({
    disabled: false,
    port: 1515,
    usePassword: false,
    useSourceIp: false,
    // A quarter of the service's 1024 connections: a load balancer's burst of enrolments passes, one address cannot take them all.
    handshakesPerSource: 256,
    force: Object.freeze({ enabled: true, keyMismatch: true, disconnectedTimeSeconds: 3600, afterRegistrationTimeSeconds: 3600 }),
  }),
  localIp: null,
  // Counted only until an agent's first message, so a load balancer's thousands of agents pass.
  remote: Object.freeze({ port: 1514, tcp: true, udp: false, handshakesPerSource: 256 }),
  disconnectionTimeSeconds: 900,
});

const AUTH_LEAVES = ['disabled', 'port', 'use_password', 'use_source_ip', 'handshakes_per_source'] as const;
const FORCE_LEAVES = ['enabled', 'key_mismatch', 'disconnected_time', 'after_registration_time'] as const;
/** Wazuh `<auth>` elements that change nothing here (TLS policy comes with certificates). */
const AUTH_IGNORED = new Set([
  'remote_enrollment', 'purge', 'ciphers', 'ssl_verify_host', 'ssl_manager_cert', 'ssl_manager_key', 'ssl_auto_negotiate',
  'ssl_agent_ca', 'limit_maxagents', 'key_request', 'agents', 'force_insert', 'force_time',
]);

export function compileAgentServices(auth: readonly XmlElement[], remote: readonly XmlElement[], global: readonly XmlElement[], issues: Issues): AgentServices {
  return {
    auth: compileAuth(auth, issues),
    localIp: compileLocalIp(remote, issues),
    remote: compileRemote(remote, issues),
    disconnectionTimeSeconds: compileDisconnectionTime(global, issues),
  };
}

/** The secure block's port and protocols (Wazuh: `tcp`, `udp` or `tcp,udp`; default tcp). */
function compileRemote(blocks: readonly XmlElement[], issues: Issues): AgentServices['remote'] {
  let remote = DEFAULT_AGENT_SERVICES.remote;
  for (const block of blocks) {
    if ((block.children.find((c) => c.name === 'connection')?.text ?? 'secure') !== 'secure') continue;
    const port = block.children.find((c) => c.name === 'port');
    const protocol = block.children.find((c) => c.name === 'protocol');
    const handshakes = block.children.find((c) => c.name === 'handshakes_per_source');
    const names = protocol ? protocol.text.toLowerCase().split(',').map((p) => p.trim()) : ['tcp'];
    if (protocol && (names.length === 0 || names.some((p) => p !== 'tcp' && p !== 'udp'))) {
      issues.error(protocol, `Invalid protocol '${protocol.text}': expected tcp, udp or tcp,udp`);
    }
    remote = {
      port: port ? checkServicePort(port, issues) : remote.port,
      tcp: names.includes('tcp'),
      udp: names.includes('udp'),
      handshakesPerSource: handshakes ? checkHandshakesPerSource(handshakes.text, handshakes, issues) : remote.handshakesPerSource,
    };
  }
  return remote;
}

/** `<global>` holds much else of Wazuh's; only this value concerns the cluster. */
function compileDisconnectionTime(blocks: readonly XmlElement[], issues: Issues): number {
  let seconds = DEFAULT_AGENT_SERVICES.disconnectionTimeSeconds;
  for (const el of blocks.flatMap((b) => b.children).filter((c) => c.name === 'agents_disconnection_time')) {
    const value = checkTime(el, issues);
    if (value < 1) issues.error(el, `Invalid agents_disconnection_time '${el.text}': at least 1 second`);
    else seconds = value;
  }
  return seconds;
}

function compileAuth(blocks: readonly XmlElement[], issues: Issues): AgentServices['auth'] {
  const d = DEFAULT_AGENT_SERVICES.auth;
  const leaves = new Map<string, XmlElement>();
  const force = new Map<string, XmlElement>();
  for (const el of blocks.flatMap((b) => b.children)) {
    if ((AUTH_LEAVES as readonly string[]).includes(el.name)) {
      rejectChildren(el, issues);
      leaves.set(el.name, el);
    } else if (el.name === 'force') {
      collectForce(el, force, issues);
    } else if (!AUTH_IGNORED.has(el.name)) {
      issues.error(el, invalidElement(el.name, [...AUTH_LEAVES, 'force', ...AUTH_IGNORED]));
    }
  }
  const yesNo = (el: XmlElement | undefined, fallback: boolean): boolean => (el === undefined ? fallback : checkYesNo(el, issues));
  const time = (el: XmlElement | undefined, fallback: number): number => (el === undefined ? fallback : checkTime(el, issues));
  return {
    disabled: yesNo(leaves.get('disabled'), d.disabled),
    port: leaves.has('port') ? checkServicePort(leaves.get('port') as XmlElement, issues) : d.port,
    usePassword: yesNo(leaves.get('use_password'), d.usePassword),
    useSourceIp: yesNo(leaves.get('use_source_ip'), d.useSourceIp),
    handshakesPerSource: leaves.has('handshakes_per_source') ? checkHandshakesPerSource((leaves.get('handshakes_per_source') as XmlElement).text, leaves.get('handshakes_per_source') as XmlElement, issues) : d.handshakesPerSource,
    force: {
      enabled: yesNo(force.get('enabled'), d.force.enabled),
      keyMismatch: yesNo(force.get('key_mismatch'), d.force.keyMismatch),
      disconnectedTimeSeconds: time(force.get('disconnected_time'), d.force.disconnectedTimeSeconds),
      afterRegistrationTimeSeconds: time(force.get('after_registration_time'), d.force.afterRegistrationTimeSeconds),
    },
  };
}

function collectForce(el: XmlElement, into: Map<string, XmlElement>, issues: Issues): void {
  for (const child of el.children) {
    if (!(FORCE_LEAVES as readonly string[]).includes(child.name)) {
      issues.error(child, invalidElement(child.name, FORCE_LEAVES));
      continue;
    }
    rejectChildren(child, issues);
    into.set(child.name, child);
  }
}

/** The secure `<remote>` block's local_ip; syslog blocks listen elsewhere. */
function compileLocalIp(blocks: readonly XmlElement[], issues: Issues): string | null {
  let localIp: string | null = null;
  for (const block of blocks) {
    const connection = block.children.find((c) => c.name === 'connection')?.text ?? 'secure';
    const el = block.children.find((c) => c.name === 'local_ip');
    if (connection !== 'secure' || el === undefined) continue;
    if (isIP(el.text) === 0) issues.error(el, `Invalid local_ip '${el.text}': expected an IPv4 or IPv6 address`);
    else localIp = el.text;
  }
  return localIp;
}

function checkYesNo(el: XmlElement, issues: Issues): boolean {
  if (el.text === 'yes' || el.text === 'no') return el.text === 'yes';
  issues.error(el, `Allowed values for '${el.name}' field are 'yes' and 'no'. Found: '${el.text}'`);
  return false;
}

function checkServicePort(el: XmlElement, issues: Issues): number {
  const port = /^\d+$/.test(el.text) ? Number(el.text) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) issues.error(el, `Invalid port '${el.text}': expected 1 to 65535`);
  return port;
}

const TIME_UNITS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Wazuh time values: a number with an optional s, m, h, d or w suffix. */
function checkTime(el: XmlElement, issues: Issues): number {
  const m = /^(\d+)([smhdw]?)$/.exec(el.text);
  if (!m) {
    issues.error(el, `Invalid time '${el.text}': expected a number with an optional s, m, h, d or w suffix`);
    return 0;
  }
  return Number(m[1]) * (TIME_UNITS[m[2] ?? ''] ?? 1);
}
