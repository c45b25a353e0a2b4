/** Loads the configuration of `clusterd --home DIR`: etc/ossec.conf and the optional etc/cluster.json. */
import path from 'node:path';
import { readClusterJson } from './cluster-json.js';
import { readOssecConf } from './ossec-conf.js';
import type { ConfigIssue, ConfigLoadResult } from './types.js';

export async function loadNodeConfig(home: string): Promise<ConfigLoadResult> {
  const absoluteHome = path.resolve(home);
  const ossecConfPath = path.join(absoluteHome, 'etc', 'ossec.conf');
  const [ossec, clusterJson] = await Promise.all([
    readOssecConf(ossecConfPath),
    readClusterJson(path.join(absoluteHome, 'etc', 'cluster.json')),
  ]);
  const warnings = ossec.warnings;
  const errors = [...ossec.errors, ...(clusterJson.ok ? [] : clusterJson.errors)];
  if (ossec.cluster === null || !clusterJson.ok) {
    return deepFreeze({ kind: 'invalid', errors, warnings });
  }
  if (ossec.cluster.kind === 'disabled') {
    return deepFreeze({ kind: 'disabled', reason: ossec.cluster.reason, warnings });
  }
  const config = {
    home: absoluteHome,
    ossecConfPath,
    cluster: ossec.cluster.config,
    agents: ossec.agents,
    intervals: clusterJson.value.intervals,
    faultInjection: clusterJson.value.faultInjection,
  };
  return deepFreeze({ kind: 'enabled', config, warnings });
}

/** `file:line: element: message`, leaving out what is unknown. */
export function formatConfigIssue(i: ConfigIssue): string {
  const where = i.line === undefined ? i.file : `${i.file}:${i.line}`;
  return i.element === '' ? `${where}: ${i.message}` : `${where}: ${i.element}: ${i.message}`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
