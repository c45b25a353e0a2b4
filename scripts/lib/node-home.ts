/**
 * Lays out a node's home folder as Wazuh does (etc/ossec.conf, logs/, var/run/),
 * for the lab and the tests.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export interface NodeHomeSpec {
  readonly cluster: string;
  readonly nodeName: string;
  readonly nodeType: 'master' | 'worker';
  readonly key: string;
  readonly port: number;
  readonly bindAddr: string;
  readonly masterAddress: string;
  readonly redisUrl?: string;
  /** `<auth><port>`: the enrolment port (default 1515). */
  readonly authPort?: number;
  /** `<remote><local_ip>`: where agent services listen (so several nodes can share a machine). */
  readonly localIp?: string;
  /** Written to etc/authd.pass, with `<use_password>yes`, when given. */
  readonly authPassword?: string;
  /** `<remote><port>` (1514) and `<protocol>` (tcp). */
  readonly remotePort?: number;
  readonly remoteProtocol?: string;
  /** `<global><agents_disconnection_time>`, e.g. `3s`. */
  readonly disconnectionTime?: string;
  /** `<cluster><ssl_ca>`, `<ssl_cert>`, `<ssl_key>`: mutual TLS on cluster links. */
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
  /**
   * A ruleset folder (decoders/ and rules/, as Wazuh's ruleset/ or rulesets/lab): the
   * node's `<ruleset>` reads it in place, then etc/decoders and etc/rules.
   */
  readonly ruleset?: string;
  /** Written to etc/cluster.json when given. */
  readonly clusterJson?: Readonly<Record<string, unknown>>;
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderOssecConf(spec: NodeHomeSpec): string {
  const redis = spec.redisUrl ? `\n    <redis_url>${escapeXml(spec.redisUrl)}</redis_url>` : '';
  const tls = spec.tls
    ? `\n    <ssl_ca>${escapeXml(spec.tls.ca)}</ssl_ca>\n    <ssl_cert>${escapeXml(spec.tls.cert)}</ssl_cert>\n    <ssl_key>${escapeXml(spec.tls.key)}</ssl_key>`
    : '';
  const password = spec.authPassword === undefined ? '' : '\n    <use_password>yes</use_password>';
  const auth = spec.authPort === undefined && !password ? '' : `
  <auth>${spec.authPort === undefined ? '' : `\n    <port>${spec.authPort}</port>`}${password}
  </auth>`;
  const remoteLines = [
    spec.localIp === undefined ? '' : `\n    <local_ip>${escapeXml(spec.localIp)}</local_ip>`,
    spec.remotePort === undefined ? '' : `\n    <port>${spec.remotePort}</port>`,
    spec.remoteProtocol === undefined ? '' : `\n    <protocol>${escapeXml(spec.remoteProtocol)}</protocol>`,
  ].join('');
  const remote = remoteLines === '' ? '' : `
  <remote>
    <connection>secure</connection>${remoteLines}
  </remote>`;
  const global = spec.disconnectionTime === undefined ? '' : `
  <global>
    <agents_disconnection_time>${escapeXml(spec.disconnectionTime)}</agents_disconnection_time>
  </global>`;
  const ruleset = spec.ruleset === undefined ? '' : `
  <ruleset>
    <decoder_dir>${escapeXml(spec.ruleset)}/decoders</decoder_dir>
    <rule_dir>${escapeXml(spec.ruleset)}/rules</rule_dir>
    <rule_exclude>0215-policy_rules.xml</rule_exclude>
    <decoder_dir>etc/decoders</decoder_dir>
    <rule_dir>etc/rules</rule_dir>
  </ruleset>`;
  return `<!-- clusterd node ${escapeXml(spec.nodeName)} -->
<ossec_config>
  <cluster>
    <name>${escapeXml(spec.cluster)}</name>
    <node_name>${escapeXml(spec.nodeName)}</node_name>
    <key>${spec.key}</key>
    <node_type>${spec.nodeType}</node_type>
    <port>${spec.port}</port>
    <bind_addr>${spec.bindAddr}</bind_addr>
    <nodes>
      <node>${escapeXml(spec.masterAddress)}</node>
    </nodes>
    <hidden>no</hidden>
    <disabled>no</disabled>${redis}${tls}
  </cluster>${auth}${remote}${global}${ruleset}
</ossec_config>
`;
}

export async function writeNodeHome(home: string, spec: NodeHomeSpec): Promise<void> {
  for (const dir of ['etc/shared/default', 'etc/rules', 'etc/decoders', 'etc/lists', 'logs', 'var/run', 'queue/db']) {
    await fs.mkdir(path.join(home, dir), { recursive: true });
  }
  await fs.writeFile(path.join(home, 'etc', 'ossec.conf'), renderOssecConf(spec), { mode: 0o640 });
  if (spec.authPassword !== undefined) await fs.writeFile(path.join(home, 'etc', 'authd.pass'), `${spec.authPassword}\n`, { mode: 0o640 });
  if (spec.clusterJson) await fs.writeFile(path.join(home, 'etc', 'cluster.json'), `${JSON.stringify(spec.clusterJson, null, 2)}\n`);
}
