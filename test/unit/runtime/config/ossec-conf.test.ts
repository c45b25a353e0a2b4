import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { compileOssecConf, readOssecConf } from '../../../../runtime/config/ossec-conf.js';
import type { OssecConf } from '../../../../runtime/config/ossec-conf.js';
import type { ClusterConfig, ConfigIssue } from '../../../../runtime/config/types.js';
import { DEFAULT_AGENT_SERVICES } from '../../../../runtime/config/ossec-agent-services.js';

const FILE = '/var/ossec/etc/ossec.conf';
const KEY = 'c98b62a9b6169ac5f67dae55ae4a9088';
const KEY_LINE = `<key>${KEY}</key>`;
const NODES_LINE = '<nodes><node>10.0.0.1</node></nodes>';

/** One `<cluster>` block: line 1 `<ossec_config>`, line 2 `<cluster>`, then one element per line from line 3. */
function conf(elements: readonly string[]): string {
  const body = elements.map((e) => `    ${e}`);
  return ['<ossec_config>', '  <cluster>', ...body, '  </cluster>', '</ossec_config>', ''].join('\n');
}

/** A valid block plus `extra` on line 5. */
function withElement(extra: string): string {
  return conf([KEY_LINE, NODES_LINE, extra]);
}

function enabledConfig(result: OssecConf): ClusterConfig {
  assert.deepEqual(result.errors, []);
  assert.ok(result.cluster?.kind === 'enabled');
  return result.cluster.config;
}

/** An issue in FILE; errors and warnings have the same shape. */
function issue(line: number, element: string, message: string): ConfigIssue {
  return { file: FILE, line, element, message };
}

const DEFAULT_CONFIG: ClusterConfig = {
  name: 'wazuh',
  nodeName: 'node01',
  nodeType: 'master',
  key: KEY,
  port: 1516,
  bindAddr: '0.0.0.0',
  nodes: ['10.0.0.1'],
  masterAddress: '10.0.0.1',
  hidden: false,
  redisUrl: null,
  tls: null,
  handshakesPerSource: 16,
};

describe('compileOssecConf: valid files', () => {
  it('fills defaults for a minimal block', () => {
    const result = compileOssecConf(conf([KEY_LINE, NODES_LINE]), FILE);
    assert.deepEqual(enabledConfig(result), DEFAULT_CONFIG);
    assert.deepEqual(result.warnings, []);
  });

  it('reads every field of a full block', () => {
    const text = conf([
      '<name>prod-cluster</name>',
      '<node_name>worker-01</node_name>',
      '<node_type>worker</node_type>',
      KEY_LINE,
      '<port>1517</port>',
      '<bind_addr>192.168.1.10</bind_addr>',
      '<nodes>',
      '  <node>master.example.com</node>',
      '</nodes>',
      '<hidden>yes</hidden>',
      '<disabled>no</disabled>',
      '<redis_url>redis://redis.example.com:6380/2</redis_url>',
      '<handshakes_per_source>0</handshakes_per_source>',
    ]);
    const result = compileOssecConf(text, FILE);
    assert.deepEqual(enabledConfig(result), {
      name: 'prod-cluster',
      nodeName: 'worker-01',
      nodeType: 'worker',
      key: KEY,
      port: 1517,
      bindAddr: '192.168.1.10',
      nodes: ['master.example.com'],
      masterAddress: 'master.example.com',
      hidden: true,
      redisUrl: 'redis://redis.example.com:6380/2',
      tls: null,
      handshakesPerSource: 0,
    });
    assert.deepEqual(result.warnings, []);
  });

  it('keeps a 32-digit numeric key as text', () => {
    const digits = '12345678901234567890123456789012';
    const config = enabledConfig(compileOssecConf(conf([`<key>${digits}</key>`, NODES_LINE]), FILE));
    assert.equal(config.key, digits);
  });

  it('accepts every allowed punctuation character in names, bare & included', () => {
    const name = `a!"#$%&'-.:=>?[\\]^_{|}~z`;
    const config = enabledConfig(compileOssecConf(withElement(`<node_name>${name}</node_name>`), FILE));
    assert.equal(config.nodeName, name);
  });

  it('accepts 127.0.0.1 as a node and ports 1025 and 65534', () => {
    const local = enabledConfig(compileOssecConf(conf([KEY_LINE, '<nodes><node>127.0.0.1</node></nodes>']), FILE));
    assert.equal(local.masterAddress, '127.0.0.1');
    assert.equal(enabledConfig(compileOssecConf(withElement('<port>1025</port>'), FILE)).port, 1025);
    assert.equal(enabledConfig(compileOssecConf(withElement('<port>65534</port>'), FILE)).port, 65534);
  });

  it('accepts IPv6 and host name bind addresses', () => {
    for (const addr of ['::', 'fe80::1', 'cluster.local', 'localhost']) {
      assert.equal(enabledConfig(compileOssecConf(withElement(`<bind_addr>${addr}</bind_addr>`), FILE)).bindAddr, addr);
    }
  });

  it('accepts redis://, rediss:// and unix:// redis URLs', () => {
    const urls = [
      'redis://localhost',
      'redis://10.0.0.5:6380/2',
      'rediss://redis.example.com:6380',
      'redis://[::1]:6379/0',
      'unix:///var/run/redis/redis.sock',
    ];
    for (const url of urls) {
      assert.equal(enabledConfig(compileOssecConf(withElement(`<redis_url>${url}</redis_url>`), FILE)).redisUrl, url);
    }
  });

  it('counts lines the same with CRLF line endings', () => {
    const text = withElement('<port>80</port>').replaceAll('\n', '\r\n');
    assert.deepEqual(compileOssecConf(text, FILE).errors, [
      issue(5, 'ossec_config/cluster/port', "Port must be higher than 1024 and lower than 65535 (found '80')"),
    ]);
  });
});

describe('compileOssecConf: a real-looking file', () => {
  const text = [
    /* 1 */ '<!--',
    /* 2 */ '  Wazuh - Manager - Default configuration',
    /* 3 */ '  <cluster><port>9</port></cluster>',
    /* 4 */ '-->',
    /* 5 */ '<ossec_config>',
    /* 6 */ '  <global>',
    /* 7 */ '    <jsonout_output>yes</jsonout_output>',
    /* 8 */ '    <email_notification>no</email_notification>',
    /* 9 */ '  </global>',
    /* 10 */ '  <remote>',
    /* 11 */ '    <connection>secure</connection>',
    /* 12 */ '    <port>1514</port>',
    /* 13 */ '    <protocol>tcp</protocol>',
    /* 14 */ '  </remote>',
    /* 15 */ '  <cluster>',
    /* 16 */ '    <name>wazuh</name>',
    /* 17 */ '    <node_name>master-node</node_name>',
    /* 18 */ `    ${KEY_LINE}`,
    /* 19 */ '    <!-- <port>1</port> -->',
    /* 20 */ '    <port>80</port>',
    /* 21 */ '    <nodes>',
    /* 22 */ '      <node>wazuh-master</node>',
    /* 23 */ '    </nodes>',
    /* 24 */ '  </cluster>',
    /* 25 */ '</ossec_config>',
    /* 26 */ '',
    /* 27 */ '<ossec_config>',
    /* 28 */ '  <auth>',
    /* 29 */ '    <port>1515</port>',
    /* 30 */ '  </auth>',
    /* 31 */ '  <wodle name="syscollector"><disabled>no</disabled></wodle>',
    /* 32 */ '  <ruleset><decoder_dir>ruleset/decoders</decoder_dir></ruleset>',
    /* 33 */ '  <localfile><full_command>netstat -tulpn | sort && uniq</full_command></localfile>',
    /* 34 */ '</ossec_config>',
    '',
  ].join('\n');

  it('reports the cluster port on its own line, not the remote or auth port', () => {
    const result = compileOssecConf(text, FILE);
    assert.equal(result.cluster, null);
    assert.deepEqual(result.errors, [
      issue(20, 'ossec_config/cluster/port', "Port must be higher than 1024 and lower than 65535 (found '80')"),
    ]);
  });

  it('compiles once the cluster port is fixed, ignoring foreign sections', () => {
    const config = enabledConfig(compileOssecConf(text.replace('<port>80</port>', '<port>1516</port>'), FILE));
    const master = 'wazuh-master';
    assert.deepEqual(config, { ...DEFAULT_CONFIG, nodeName: 'master-node', nodes: [master], masterAddress: master });
  });

  it('is absent when only foreign sections are present', () => {
    const result = compileOssecConf('<ossec_config>\n  <remote><port>1514</port></remote>\n</ossec_config>\n', FILE);
    assert.deepEqual(result, { cluster: { kind: 'disabled', reason: 'absent' }, agents: DEFAULT_AGENT_SERVICES, errors: [], warnings: [] });
  });
});

describe('compileOssecConf: several blocks', () => {
  it('overrides field by field, across roots', () => {
    const text = [
      '<ossec_config>',
      '  <cluster>',
      '    <name>first</name>',
      '    <port>1600</port>',
      `    ${KEY_LINE}`,
      '  </cluster>',
      '  <cluster><port>1601</port></cluster>',
      '</ossec_config>',
      '<ossec_config>',
      '  <cluster>',
      '    <nodes><node>10.9.9.9</node></nodes>',
      '    <port>1602</port>',
      '  </cluster>',
      '</ossec_config>',
    ].join('\n');
    const config = enabledConfig(compileOssecConf(text, FILE));
    assert.equal(config.name, 'first');
    assert.equal(config.port, 1602);
    assert.equal(config.key, KEY);
    assert.deepEqual(config.nodes, ['10.9.9.9']);
  });

  it('reports the element that won, inside its own block', () => {
    const text = [
      '<ossec_config><cluster><port>1600</port></cluster></ossec_config>',
      '<ossec_config>',
      '  <cluster>',
      `    ${KEY_LINE}`,
      `    ${NODES_LINE}`,
      '    <port>abc</port>',
      '  </cluster>',
      '</ossec_config>',
    ].join('\n');
    assert.deepEqual(compileOssecConf(text, FILE).errors, [
      issue(6, 'ossec_config/cluster/port', "Port has to be an integer (found 'abc')"),
    ]);
  });

  it('lets a later <disabled>no</disabled> enable an earlier disabled block', () => {
    const text = `<ossec_config><cluster><disabled>yes</disabled></cluster></ossec_config>\n${conf([
      '<disabled>no</disabled>',
      KEY_LINE,
      NODES_LINE,
    ])}`;
    assert.equal(compileOssecConf(text, FILE).cluster?.kind, 'enabled');
  });
});

describe('compileOssecConf: absent and disabled', () => {
  it('is absent without a <cluster> block', () => {
    assert.deepEqual(compileOssecConf('<ossec_config>\n</ossec_config>\n', FILE), {
      cluster: { kind: 'disabled', reason: 'absent' },
      agents: DEFAULT_AGENT_SERVICES,
      errors: [],
      warnings: [],
    });
  });

  it('is disabled by <disabled>yes</disabled>, without validating the other values', () => {
    const result = compileOssecConf(conf(['<disabled>yes</disabled>', '<port>80</port>']), FILE);
    assert.deepEqual(result, { cluster: { kind: 'disabled', reason: 'disabled' }, agents: DEFAULT_AGENT_SERVICES, errors: [], warnings: [] });
  });

  it('still rejects unknown elements in a disabled block', () => {
    const result = compileOssecConf(conf(['<disabled>yes</disabled>', '<colour>red</colour>']), FILE);
    assert.equal(result.cluster, null);
    assert.deepEqual(
      result.errors.map((e) => [e.line, e.element]),
      [[4, 'ossec_config/cluster/colour']],
    );
  });

  it('rejects a disabled value other than yes or no', () => {
    const result = compileOssecConf(withElement('<disabled>true</disabled>'), FILE);
    assert.equal(result.cluster, null);
    assert.deepEqual(result.errors, [
      issue(5, 'ossec_config/cluster/disabled', "Allowed values for 'disabled' field are 'yes' and 'no'. Found: 'true'"),
    ]);
  });
});

describe('compileOssecConf: invalid fields', () => {
  const allowedElements =
    'disabled, name, node_name, node_type, key, port, bind_addr, hidden, redis_url, ssl_ca, ssl_cert, ssl_key, handshakes_per_source, nodes, ' +
    'interval, socket_timeout, connection_timeout, haproxy_helper';
  const range = (port: string): string => `Port must be higher than 1024 and lower than 65535 (found '${port}')`;
  const bindAddr = (addr: string): string =>
    `Invalid bind_addr '${addr}': expected an IPv4 or IPv6 address or a host name`;
  /** [element, value, message]: `<element>value</element>` goes on line 5 of a valid block. */
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ['name', '', 'Cluster name is empty in configuration'],
    [
      'name',
      'my cluster',
      'Detected a not allowed character in cluster name: "my cluster". ' +
        `Characters allowed: letters, digits and !"#$%&'-.:<=>?[\\]^_{|}~`,
    ],
    ['node_name', '', 'Node name is empty in configuration'],
    ['node_type', 'boss', 'Invalid node type boss. Correct values are master and worker'],
    ['port', 'abc', "Port has to be an integer (found 'abc')"],
    ['port', '-1516', "Port has to be an integer (found '-1516')"],
    ['port', '1516.5', "Port has to be an integer (found '1516.5')"],
    ['port', '1024', range('1024')],
    ['port', '65535', range('65535')],
    ['bind_addr', '300.1.1.1', bindAddr('300.1.1.1')],
    ['bind_addr', 'not a host', bindAddr('not a host')],
    ['hidden', 'maybe', "Allowed values for 'hidden' field are 'yes' and 'no'. Found: 'maybe'"],
    ['color', 'blue', `Invalid element in the configuration: 'color'. Allowed elements: ${allowedElements}`],
  ];
  for (const [element, value, message] of cases) {
    it(`<${element}>${value}</${element}> → ${message}`, () => {
      const result = compileOssecConf(withElement(`<${element}>${value}</${element}>`), FILE);
      assert.equal(result.cluster, null);
      assert.deepEqual(result.errors, [issue(5, `ossec_config/cluster/${element}`, message)]);
    });
  }

  for (const ch of ['(', ')', '*', '+', ',', '/', ';', '@', '`', ' ']) {
    it(`rejects ${JSON.stringify(ch)} in node_name`, () => {
      const errors = compileOssecConf(withElement(`<node_name>a${ch}b</node_name>`), FILE).errors;
      assert.equal(errors.length, 1);
      assert.equal(errors[0]?.line, 5);
      assert.ok(errors[0]?.message.startsWith(`Detected a not allowed character in node name: "a${ch}b".`));
    });
  }

  it('rejects a missing key, on the <cluster> line', () => {
    assert.deepEqual(compileOssecConf(conf([NODES_LINE]), FILE).errors, [
      issue(2, 'ossec_config/cluster/key', 'Unspecified key'),
    ]);
  });

  it('rejects an empty key', () => {
    assert.deepEqual(compileOssecConf(conf(['<key></key>', NODES_LINE]), FILE).errors, [
      issue(3, 'ossec_config/cluster/key', 'Unspecified key'),
    ]);
  });

  for (const bad of ['a'.repeat(31), 'a'.repeat(33), `${'a'.repeat(31)}-`, `${'a'.repeat(31)}é`]) {
    it(`rejects a ${bad.length}-character key`, () => {
      assert.deepEqual(compileOssecConf(conf([`<key>${bad}</key>`, NODES_LINE]), FILE).errors, [
        issue(3, 'ossec_config/cluster/key', 'Key must be 32 characters long and only have alphanumeric characters'),
      ]);
    });
  }

  it('rejects the default NODE_IP when <nodes> is absent, on the <cluster> line', () => {
    assert.deepEqual(compileOssecConf(conf([KEY_LINE]), FILE).errors, [
      issue(2, 'ossec_config/cluster/nodes/node', 'Invalid elements in node fields: NODE_IP.'),
    ]);
  });

  for (const reserved of ['localhost', 'NODE_IP', '0.0.0.0', '127.0.1.1']) {
    it(`rejects node ${reserved}`, () => {
      const text = conf([KEY_LINE, '<nodes>', `  <node>${reserved}</node>`, '</nodes>']);
      assert.deepEqual(compileOssecConf(text, FILE).errors, [
        issue(5, 'ossec_config/cluster/nodes/node', `Invalid elements in node fields: ${reserved}.`),
      ]);
    });
  }

  it('lists every reserved node once, at the first one', () => {
    const nodes = ['10.0.0.1', 'localhost', 'NODE_IP', 'localhost'].map((n) => `  <node>${n}</node>`);
    const text = conf([KEY_LINE, '<nodes>', ...nodes, '</nodes>']);
    assert.deepEqual(compileOssecConf(text, FILE).errors, [
      issue(6, 'ossec_config/cluster/nodes/node', 'Invalid elements in node fields: localhost, NODE_IP.'),
    ]);
  });

  it('rejects an empty <nodes> and an empty <node>', () => {
    assert.deepEqual(compileOssecConf(conf([KEY_LINE, '<nodes></nodes>']), FILE).errors, [
      issue(4, 'ossec_config/cluster/nodes', "No node specified in 'nodes'"),
    ]);
    assert.deepEqual(compileOssecConf(conf([KEY_LINE, '<nodes><node></node></nodes>']), FILE).errors, [
      issue(4, 'ossec_config/cluster/nodes/node', 'Node address is empty'),
    ]);
  });

  it('rejects elements inside <nodes> other than <node>, and elements inside values', () => {
    const nodes = '<nodes><node>10.0.0.1</node><host>x</host></nodes>';
    const text = conf([KEY_LINE, nodes, '<port>', '  <value>1516</value>', '</port>']);
    assert.deepEqual(compileOssecConf(text, FILE).errors, [
      issue(4, 'ossec_config/cluster/nodes/host', "Invalid element in the configuration: 'host'. Allowed elements: node"),
      issue(5, 'ossec_config/cluster/port', "Port has to be an integer (found '')"),
      issue(6, 'ossec_config/cluster/port/value', "Invalid element in the configuration: 'value'. This element takes a value, not elements"),
    ]);
  });

  const badUrls = ['http://localhost', 'redis://', 'redis://host:99999', 'unix://relative.sock', 'redis://user:s3cr3t@host:99999'];
  for (const url of badUrls) {
    it(`rejects redis_url ${url} without quoting it`, () => {
      const errors = compileOssecConf(withElement(`<redis_url>${url}</redis_url>`), FILE).errors;
      assert.equal(errors.length, 1);
      const [e] = errors;
      assert.equal(e?.line, 5);
      assert.equal(e?.element, 'ossec_config/cluster/redis_url');
      assert.match(e?.message ?? '', /^Invalid redis_url: .+\. Expected redis:\/\/\[user:password@\]host\[:port\]\[\/db\], rediss:\/\/\.\.\. or unix:\/\/\/absolute\/path\.sock$/);
      assert.ok(!(e?.message ?? '').includes('s3cr3t'));
    });
  }

  it('accepts a redis_url with credentials', () => {
    const url = 'redis://clusterd:s3cr3t@redis.example.com:6380/1';
    assert.equal(enabledConfig(compileOssecConf(withElement(`<redis_url>${url}</redis_url>`), FILE)).redisUrl, url);
  });

  it('reports every error at once, in line order', () => {
    const text = conf(['<node_type>boss</node_type>', '<port>80</port>', '<hidden>maybe</hidden>', '<bogus/>']);
    assert.deepEqual(compileOssecConf(text, FILE).errors, [
      issue(2, 'ossec_config/cluster/nodes/node', 'Invalid elements in node fields: NODE_IP.'),
      issue(2, 'ossec_config/cluster/key', 'Unspecified key'),
      issue(3, 'ossec_config/cluster/node_type', 'Invalid node type boss. Correct values are master and worker'),
      issue(4, 'ossec_config/cluster/port', "Port must be higher than 1024 and lower than 65535 (found '80')"),
      issue(5, 'ossec_config/cluster/hidden', "Allowed values for 'hidden' field are 'yes' and 'no'. Found: 'maybe'"),
      issue(6, 'ossec_config/cluster/bogus', `Invalid element in the configuration: 'bogus'. Allowed elements: ${allowedElements}`),
    ]);
  });

  it('never quotes the key, whatever else is wrong', () => {
    const secret = 'S3cretKeyS3cretKeyS3cretKeyS3cre';
    const texts = [
      conf([`<key>${secret}X</key>`, NODES_LINE]),
      conf([`<key>${secret.slice(0, 31)}-</key>`]),
      conf([`<key>${secret}</key>`, '<port>80</port>', '<node_type>client</node_type>', '<name>a b</name>', '<x/>']),
      conf([`<key>${secret}</key>`, '<nodes><node>a</node><node>b</node></nodes>']),
    ];
    for (const text of texts) {
      const result = compileOssecConf(text, FILE);
      const issues = [...result.errors, ...result.warnings];
      assert.ok(issues.length > 0);
      for (const issue of issues) assert.ok(!JSON.stringify(issue).includes(secret.slice(0, 16)), issue.message);
    }
  });
});

describe('compileOssecConf: warnings', () => {
  it('turns client into worker with a warning', () => {
    const result = compileOssecConf(withElement('<node_type>client</node_type>'), FILE);
    assert.equal(enabledConfig(result).nodeType, 'worker');
    assert.deepEqual(result.warnings, [
      issue(5, 'ossec_config/cluster/node_type', "Deprecated node type 'client'. Using 'worker' instead."),
    ]);
  });

  it('uses the first of several nodes as master, with a warning', () => {
    const text = conf([KEY_LINE, '<nodes>', '  <node>10.0.0.2</node>', '  <node>10.0.0.3</node>', '</nodes>']);
    const result = compileOssecConf(text, FILE);
    const config = enabledConfig(result);
    assert.deepEqual(config.nodes, ['10.0.0.2', '10.0.0.3']);
    assert.equal(config.masterAddress, '10.0.0.2');
    assert.deepEqual(result.warnings, [
      {
        file: FILE,
        line: 4,
        element: 'ossec_config/cluster/nodes',
        message: 'Found more than one node in configuration. Only master node should be specified. Using 10.0.0.2 as master.',
      },
    ]);
  });

  it('accepts interval, socket_timeout, connection_timeout and haproxy_helper', () => {
    const text = conf([
      KEY_LINE,
      NODES_LINE,
      '<interval>2m</interval>',
      '<socket_timeout>10</socket_timeout>',
      '<connection_timeout>1</connection_timeout>',
      '<haproxy_helper><haproxy_disabled>no</haproxy_disabled></haproxy_helper>',
    ]);
    const result = compileOssecConf(text, FILE);
    assert.deepEqual(enabledConfig(result), DEFAULT_CONFIG);
    assert.deepEqual(result.warnings, [
      {
        file: FILE,
        line: 5,
        element: 'ossec_config/cluster/interval',
        message: 'Detected a deprecated configuration for cluster. Interval option is not longer available.',
      },
      {
        file: FILE,
        line: 8,
        element: 'ossec_config/cluster/haproxy_helper',
        message: 'clusterd does not implement the HAProxy helper; the haproxy_helper section is ignored.',
      },
    ]);
  });
});

describe('compileOssecConf: malformed XML', () => {
  it('reports a mismatched closing tag with its line', () => {
    const text = conf([KEY_LINE, NODES_LINE, '<port>1516</prot>']);
    const result = compileOssecConf(text, FILE);
    assert.equal(result.cluster, null);
    assert.deepEqual(result.errors, [
      issue(5, '', "Invalid XML: Expected closing tag 'port' (opened in line 5, col 5) instead of closing tag 'prot'."),
    ]);
  });

  it('reports an element left open at the end of the file', () => {
    const text = '<ossec_config>\n  <cluster>\n    <key>x</key>\n';
    assert.deepEqual(compileOssecConf(text, FILE).errors, [
      issue(4, '', "Invalid XML: Expected closing tag 'cluster' (opened in line 2, col 3) before the end of the file."),
    ]);
  });
});

describe('readOssecConf', () => {
  it('reads a file from disk', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clusterd-ossec-conf-'));
    try {
      const file = path.join(dir, 'ossec.conf');
      await fs.writeFile(file, withElement('<port>80</port>'));
      assert.deepEqual((await readOssecConf(file)).errors, [
        { file, line: 5, element: 'ossec_config/cluster/port', message: "Port must be higher than 1024 and lower than 65535 (found '80')" },
      ]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing file as an error', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clusterd-ossec-conf-'));
    try {
      const file = path.join(dir, 'ossec.conf');
      const result = await readOssecConf(file);
      assert.equal(result.cluster, null);
      assert.deepEqual(result.errors, [
        { file, element: '', message: `Error reading cluster configuration: ENOENT: no such file or directory, open '${file}'` },
      ]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('compileOssecConf: <auth> and <remote> for the agent services', () => {
  const services = (body: string) => compileOssecConf(`<ossec_config>\n${body}\n</ossec_config>\n`, FILE);

  it('takes Wazuh defaults when absent: port 1515, no password, force rules of one hour, every address', () => {
    assert.deepEqual(services('').agents, DEFAULT_AGENT_SERVICES);
    assert.equal(DEFAULT_AGENT_SERVICES.auth.port, 1515);
    assert.equal(DEFAULT_AGENT_SERVICES.localIp, null);
  });

  it('reads port, password, source IP, force rules and the secure remote local_ip', () => {
    const result = services([
      '  <auth><port>1600</port><use_password>yes</use_password><use_source_ip>yes</use_source_ip>',
      '    <handshakes_per_source>8</handshakes_per_source><force><enabled>no</enabled><key_mismatch>no</key_mismatch><disconnected_time>2h</disconnected_time><after_registration_time>30m</after_registration_time></force>',
      '    <ciphers>HIGH</ciphers></auth>',
      '  <remote><connection>syslog</connection><local_ip>10.0.0.9</local_ip></remote>',
      '  <remote><connection>secure</connection><local_ip>127.0.0.2</local_ip><port>1600</port><protocol>udp,TCP</protocol><handshakes_per_source>0</handshakes_per_source></remote>',
      '  <global><jsonout_output>yes</jsonout_output><agents_disconnection_time>20m</agents_disconnection_time></global>',
    ].join('\n'));
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.agents, {
      auth: {
        disabled: false, port: 1600, usePassword: true, useSourceIp: true, handshakesPerSource: 8,
        force: { enabled: false, keyMismatch: false, disconnectedTimeSeconds: 7200, afterRegistrationTimeSeconds: 1800 },
      },
      localIp: '127.0.0.2',
      remote: { port: 1600, tcp: true, udp: true, handshakesPerSource: 0 },
      disconnectionTimeSeconds: 1200,
    });
  });

  it('reports bad values with their line: port, yes/no, time, local_ip, unknown elements', () => {
    const result = services([
      '  <auth>',
      '    <port>99999</port>',
      '    <use_password>maybe</use_password>',
      '    <force><disconnected_time>soon</disconnected_time><bogus>1</bogus></force>',
      '    <nonsense/>',
      '  </auth>',
      '  <remote><local_ip>not-an-ip</local_ip><protocol>sctp</protocol></remote>',
      '  <global><agents_disconnection_time>0</agents_disconnection_time></global>',
    ].join('\n'));
    assert.deepEqual(result.errors.map((e) => [e.line, e.element]), [
      [3, 'ossec_config/auth/port'],
      [4, 'ossec_config/auth/use_password'],
      [5, 'ossec_config/auth/force/bogus'],
      [5, 'ossec_config/auth/force/disconnected_time'],
      [6, 'ossec_config/auth/nonsense'],
      [8, 'ossec_config/remote/local_ip'],
      [8, 'ossec_config/remote/protocol'],
      [9, 'ossec_config/global/agents_disconnection_time'],
    ]);
    assert.match(result.errors[0]?.message ?? '', /Invalid port '99999'/);
    assert.match(result.errors[5]?.message ?? '', /Invalid local_ip 'not-an-ip'/);
  });
});

describe('compileOssecConf: handshakes_per_source on every listener', () => {
  it('refuses what is not a count from 0 to a million, with its line, in <cluster>, <auth> and <remote>', () => {
    const text = conf([KEY_LINE, NODES_LINE, '<handshakes_per_source>-1</handshakes_per_source>']).replace(
      '</ossec_config>',
      '<auth><handshakes_per_source>lots</handshakes_per_source></auth>\n<remote><handshakes_per_source>1000001</handshakes_per_source></remote>\n</ossec_config>',
    );
    const result = compileOssecConf(text, FILE);
    assert.deepEqual(result.errors.map((e) => [e.element, e.message]), [
      ['ossec_config/cluster/handshakes_per_source', "Invalid handshakes_per_source '-1': expected 0 (no limit) to 1000000"],
      ['ossec_config/auth/handshakes_per_source', "Invalid handshakes_per_source 'lots': expected 0 (no limit) to 1000000"],
      ['ossec_config/remote/handshakes_per_source', "Invalid handshakes_per_source '1000001': expected 0 (no limit) to 1000000"],
    ]);
    assert.ok(result.errors.every((e) => typeof e.line === 'number'));
  });
});

describe('compileOssecConf: mutual TLS elements', () => {
  it('takes ssl_ca, ssl_cert and ssl_key together', () => {
    const config = enabledConfig(compileOssecConf(conf([KEY_LINE, NODES_LINE, '<ssl_ca>etc/certs/root-ca.pem</ssl_ca>', '<ssl_cert>etc/certs/master.pem</ssl_cert>', '<ssl_key>etc/certs/master-key.pem</ssl_key>']), FILE));
    assert.deepEqual(config.tls, { ca: 'etc/certs/root-ca.pem', cert: 'etc/certs/master.pem', key: 'etc/certs/master-key.pem' });
  });

  it('refuses half a setup, naming what is missing', () => {
    const result = compileOssecConf(conf([KEY_LINE, NODES_LINE, '<ssl_cert>etc/certs/master.pem</ssl_cert>']), FILE);
    assert.deepEqual(result.errors, [issue(5, 'ossec_config/cluster/ssl_cert', 'Mutual TLS needs ssl_ca, ssl_cert and ssl_key together')]);
  });
});
