/**
 * The parts of ossec.conf the analysis engine reads, as Wazuh 4.14 reads them
 * (config/rules-config.c, alerts-config.c, cluster-config.c, logtest-config.c, and
 * analysisd's and logtest's readers around them):
 *  - only root elements named exactly `ossec_config` count, every one of them, in order;
 *    `$VAR`s are not substituted (Wazuh reads ossec.conf without them);
 *  - a section with no child element is refused: a logtest session then fails (7311),
 *    and analysisd itself refuses most such sections;
 *  - `<ruleset>`: each block is kept apart because a later block that yields files
 *    replaces, not extends, what earlier blocks yielded (see ruleset/files.ts);
 *  - `<alerts>`: the last `log_alert_level` wins; when none is given analysisd uses 1 and a
 *    logtest session 0;
 *  - `<cluster>`: whether alerts carry `cluster {name, node}`;
 *  - `<rule_test>`: logtest's own settings; a bad value only disables logtest (7304), so it
 *    is reported in `ruleTest.error` instead of thrown.
 * Element names compare case-sensitively (strcmp), attribute names case-insensitively.
 * Sections the engine does not need are not checked (Wazuh refuses unknown ones).
 */
import { RulesetLoadError, type XmlNode } from '../types.js';
import { asciiLower, parseOsXml } from '../xml/os-xml.js';

/** Where a `<decoder_dir>`/`<rule_dir>` points and which names it takes (an OS_Regex on "dir/name"). */
export interface RulesetDirectory {
  readonly path: string;
  readonly pattern: string;
  readonly line: number;
}

/** One `<ruleset>` block, with Wazuh's defaults applied. */
export interface RulesetBlock {
  readonly line: number;
  /** `<decoder_include>` paths as Wazuh stores them: a bare name gets `ruleset/decoders/`. */
  readonly decoderIncludes: readonly string[];
  /** `<rule_include>` paths: a bare name gets `ruleset/rules/`. */
  readonly ruleIncludes: readonly string[];
  /** `<list>` paths as written (rules name them the same way, with or without `.cdb`). */
  readonly lists: readonly string[];
  /** Excludes match a directory entry by basename or by "dir/name". */
  readonly decoderExcludes: readonly string[];
  readonly ruleExcludes: readonly string[];
  /** In order; `ruleset/decoders` (pattern `.xml$`) when the block names none. */
  readonly decoderDirs: readonly RulesetDirectory[];
  /** In order; `ruleset/rules` (pattern `.xml$`) when the block names none. */
  readonly ruleDirs: readonly RulesetDirectory[];
}

export interface ClusterConf {
  /** Some `<cluster>` block was read. */
  readonly configured: boolean;
  /** `<name>`; alerts say `wazuh` when it is not set. */
  readonly name: string | undefined;
  readonly nodeName: string | undefined;
  readonly nodeType: string | undefined;
  /** The last block said `<disabled>yes</disabled>`. */
  readonly disabled: boolean;
  /**
   * analysisd's "hide cluster info": true without a cluster block; each block resets it,
   * `<hidden>` sets it, `<disabled>yes` forces it.
   */
  readonly hidden: boolean;
}

export interface RuleTestConf {
  readonly enabled: boolean;
  /** `auto` is the CPU count, and is not capped. */
  readonly threads: number | 'auto';
  readonly maxSessions: number;
  /** Seconds. */
  readonly sessionTimeout: number;
  /** Cap warnings as Wazuh logs them ("(7000): ..."). */
  readonly warnings: readonly string[];
  /** An invalid value: Wazuh does not start logtest at all (7304); the other fields are then moot. */
  readonly error?: RulesetLoadError;
}

export interface AnalysisConf {
  readonly file: string;
  /** Every `<ruleset>` block in document order. */
  readonly rulesets: readonly RulesetBlock[];
  /** The level an alert needs: configured, or each reader's default. */
  readonly logAlertLevel: { readonly analysisd: number; readonly logtest: number };
  /** `<log_alert_level>` / `<email_alert_level>` as configured (last wins), if at all. */
  readonly alerts: { readonly logAlertLevel: number | undefined; readonly emailAlertLevel: number | undefined };
  readonly cluster: ClusterConf;
  /** What alerts (and logtest output) carry as `cluster`, or undefined when hidden. */
  readonly alertCluster: { readonly name: string; readonly node?: string } | undefined;
  readonly ruleTest: RuleTestConf;
}

export const DEFAULT_DECODER_DIR = 'ruleset/decoders';
export const DEFAULT_RULE_DIR = 'ruleset/rules';
export const DEFAULT_DIR_PATTERN = '.xml$';
/** analysisd's level when no `<log_alert_level>` is configured. */
export const ANALYSISD_DEFAULT_LOG_ALERT_LEVEL = 1;
/** A logtest session's level when no `<log_alert_level>` is configured (its config starts zeroed). */
export const LOGTEST_DEFAULT_LOG_ALERT_LEVEL = 0;

const LOGTEST_THREADS = 1;
const LOGTEST_THREADS_CAP = 128;
const LOGTEST_SESSIONS = 64;
const LOGTEST_SESSIONS_CAP = 500;
const LOGTEST_TIMEOUT = 900;
const LOGTEST_TIMEOUT_CAP = 31_536_000;

/** The block Wazuh uses when a reader has no `<ruleset>` at all (analysisd only). */
export function defaultRulesetBlock(): RulesetBlock {
  return {
    line: 0, decoderIncludes: [], ruleIncludes: [], lists: [], decoderExcludes: [], ruleExcludes: [],
    decoderDirs: [{ path: DEFAULT_DECODER_DIR, pattern: DEFAULT_DIR_PATTERN, line: 0 }],
    ruleDirs: [{ path: DEFAULT_RULE_DIR, pattern: DEFAULT_DIR_PATTERN, line: 0 }],
  };
}

/** Reads ossec.conf. Throws RulesetLoadError (an OsXmlError for XML faults). */
export function readAnalysisConf(text: string, file = 'etc/ossec.conf'): AnalysisConf {
  const roots = parseOsXml(text, file, { variables: false });
  if (roots.length === 0) throw new RulesetLoadError(file, 1, 'ossec_config', 'no configuration block in the file');
  const state = new ConfState(file);
  for (const root of roots) {
    if (root.name !== 'ossec_config') continue;
    for (const section of root.children) state.section(section);
  }
  return state.result();
}

class ConfState {
  private readonly rulesets: RulesetBlock[] = [];
  private logAlertLevel: number | undefined;
  private emailAlertLevel: number | undefined;
  private cluster: ClusterConf = {
    configured: false, name: undefined, nodeName: undefined, nodeType: undefined, disabled: false, hidden: true,
  };
  private ruleTest: RuleTestConf = {
    enabled: true, threads: LOGTEST_THREADS, maxSessions: LOGTEST_SESSIONS, sessionTimeout: LOGTEST_TIMEOUT, warnings: [],
  };

  constructor(private readonly file: string) {}

  section(section: XmlNode): void {
    if (section.children.length === 0) {
      throw this.error(section, `empty <${section.name}> section (Wazuh refuses a section without child elements)`);
    }
    switch (section.name) {
      case 'ruleset': this.rulesets.push(this.ruleset(section)); break;
      case 'alerts': this.alerts(section); break;
      case 'cluster': this.readCluster(section); break;
      case 'rule_test': if (this.ruleTest.error === undefined) this.readRuleTest(section); break;
      default: break;
    }
  }

  result(): AnalysisConf {
    const { cluster } = this;
    const alertCluster = cluster.hidden ? undefined : {
      name: cluster.name ?? 'wazuh',
      ...(cluster.nodeName === undefined ? {} : { node: cluster.nodeName }),
    };
    return {
      file: this.file,
      rulesets: this.rulesets,
      logAlertLevel: {
        analysisd: this.logAlertLevel ?? ANALYSISD_DEFAULT_LOG_ALERT_LEVEL,
        logtest: this.logAlertLevel ?? LOGTEST_DEFAULT_LOG_ALERT_LEVEL,
      },
      alerts: { logAlertLevel: this.logAlertLevel, emailAlertLevel: this.emailAlertLevel },
      cluster,
      alertCluster,
      ruleTest: this.ruleTest,
    };
  }

  private ruleset(section: XmlNode): RulesetBlock {
    const decoderIncludes: string[] = [];
    const ruleIncludes: string[] = [];
    const lists: string[] = [];
    const decoderExcludes: string[] = [];
    const ruleExcludes: string[] = [];
    const decoderDirs: RulesetDirectory[] = [];
    const ruleDirs: RulesetDirectory[] = [];
    for (const option of section.children) {
      const value = option.text;
      switch (option.name) {
        case 'decoder_include': decoderIncludes.push(value.includes('/') ? value : `${DEFAULT_DECODER_DIR}/${value}`); break;
        case 'rule_include': ruleIncludes.push(value.includes('/') ? value : `${DEFAULT_RULE_DIR}/${value}`); break;
        case 'list': lists.push(value); break;
        case 'decoder_exclude': decoderExcludes.push(value); break;
        case 'rule_exclude': ruleExcludes.push(value); break;
        case 'decoder_dir': decoderDirs.push(this.directory(option)); break;
        case 'rule_dir': ruleDirs.push(this.directory(option)); break;
        default: throw this.error(option, `<${option.name}> is not a <ruleset> option`);
      }
    }
    const block = defaultRulesetBlock();
    return {
      line: section.line, decoderIncludes, ruleIncludes, lists, decoderExcludes, ruleExcludes,
      decoderDirs: decoderDirs.length > 0 ? decoderDirs : block.decoderDirs.map((dir) => ({ ...dir, line: section.line })),
      ruleDirs: ruleDirs.length > 0 ? ruleDirs : block.ruleDirs.map((dir) => ({ ...dir, line: section.line })),
    };
  }

  /** A directory keeps `.xml$` without attributes; with attributes it needs a `pattern` (the last one counts). */
  private directory(option: XmlNode): RulesetDirectory {
    let pattern: string | undefined = option.attributes.length === 0 ? DEFAULT_DIR_PATTERN : undefined;
    for (const [name, value] of option.attributes) if (asciiLower(name) === 'pattern') pattern = value;
    if (pattern === undefined) throw this.error(option, `<${option.name}> has attributes but no pattern`);
    return { path: option.text, pattern, line: option.line };
  }

  private alerts(section: XmlNode): void {
    for (const option of section.children) {
      if (option.name !== 'log_alert_level' && option.name !== 'email_alert_level') {
        throw this.error(option, `<${option.name}> is not an <alerts> option`);
      }
      if (!/^[0-9]+$/.test(option.text)) throw this.error(option, `'${option.text}' is not a level (digits only)`);
      const level = cByte(option.text);
      if (option.name === 'log_alert_level') this.logAlertLevel = level;
      else this.emailAlertLevel = level;
    }
  }

  private readCluster(section: XmlNode): void {
    let { name, nodeName, nodeType } = this.cluster;
    let hidden = false;
    let disabled = false;
    for (const option of section.children) {
      const value = option.text;
      switch (option.name) {
        case 'name': name = this.clusterWord(option, 'cluster name'); break;
        case 'node_name': nodeName = this.clusterWord(option, 'node name'); break;
        case 'node_type':
          if (!['master', 'worker', 'client'].includes(value)) throw this.error(option, `node type '${value}' is not master or worker`);
          nodeType = value;
          break;
        case 'disabled': disabled = this.yesNo(option); break;
        case 'hidden': hidden = this.yesNo(option); break;
        case 'haproxy_helper': this.haproxyHelper(option); break;
        case 'key': case 'socket_timeout': case 'connection_timeout': case 'interval':
        case 'nodes': case 'port': case 'bind_addr':
          break;
        default: throw this.error(option, `<${option.name}> is not a <cluster> option`);
      }
    }
    this.cluster = { configured: true, name, nodeName, nodeType, disabled, hidden: hidden || disabled };
  }

  /** Names may hold only these bytes (no space, `(`, `)`, `*`, `+`, `,`, `/`, `@` or backquote). */
  private clusterWord(option: XmlNode, what: string): string {
    if (option.text === '') throw this.error(option, `${what} is empty`);
    if (!/^[!"#$%&'\-.0-9:<=>?A-Z[\\\]^_a-z{|}~]+$/.test(option.text)) {
      throw this.error(option, `${what} '${option.text}' holds a character Wazuh does not allow`);
    }
    return option.text;
  }

  private haproxyHelper(helper: XmlNode): void {
    const known = new Set([
      'haproxy_disabled', 'frequency', 'haproxy_address', 'haproxy_port', 'haproxy_protocol', 'haproxy_user',
      'haproxy_password', 'haproxy_cert', 'client_cert', 'client_cert_key', 'client_cert_password', 'haproxy_backend',
      'haproxy_resolver', 'excluded_nodes', 'agent_chunk_size', 'agent_reconnection_time',
      'agent_reconnection_stability_time', 'imbalance_tolerance', 'remove_disconnected_node_after',
    ]);
    for (const option of helper.children) {
      if (!known.has(option.name)) throw this.error(option, `<${option.name}> is not a <haproxy_helper> option`);
      if (option.name === 'haproxy_disabled') this.yesNo(option);
      if (option.name === 'haproxy_protocol' && option.text !== 'http' && option.text !== 'https') {
        throw this.error(option, `haproxy_protocol '${option.text}' is not http or https`);
      }
      // Wazuh checks the helper's own text here, not the option's: whitespace passes.
      const needsText = ['haproxy_address', 'haproxy_user', 'haproxy_password'].includes(option.name);
      if (needsText && helper.text === '') throw this.error(option, `<${option.name}> is missing`);
    }
  }

  private readRuleTest(section: XmlNode): void {
    let { enabled, threads, maxSessions, sessionTimeout } = this.ruleTest;
    const warnings = [...this.ruleTest.warnings];
    for (const option of section.children) {
      const value = option.text;
      const invalid = (): RulesetLoadError => this.error(option, `invalid value '${value}' for <${option.name}>`);
      switch (option.name) {
        case 'enabled':
          if (value !== 'yes' && value !== 'no') return this.disableLogtest(invalid());
          enabled = value === 'yes';
          break;
        case 'threads': {
          if (value === 'auto') {
            threads = 'auto';
            break;
          }
          const count = cCount(value);
          if (count === undefined) return this.disableLogtest(invalid());
          if (count > LOGTEST_THREADS_CAP) {
            warnings.push(`(7000): Number of logtest threads too high. Only creates ${LOGTEST_THREADS_CAP} threads`);
          }
          threads = Math.min(count, LOGTEST_THREADS_CAP);
          break;
        }
        case 'max_sessions': {
          const count = cCount(value);
          if (count === undefined) return this.disableLogtest(invalid());
          if (count > LOGTEST_SESSIONS_CAP) {
            warnings.push(`(7001): Number of maximum users connected in logtest too high. Only allows ${LOGTEST_SESSIONS_CAP} users`);
          }
          maxSessions = Math.min(count, LOGTEST_SESSIONS_CAP);
          break;
        }
        case 'session_timeout': {
          const seconds = parseTimeValue(value);
          if (seconds <= 0) return this.disableLogtest(invalid());
          if (seconds > LOGTEST_TIMEOUT_CAP) {
            warnings.push(`(7002): Number of maximum user timeouts in logtest too high. Only allows ${LOGTEST_TIMEOUT_CAP}s maximum timeouts`);
          }
          sessionTimeout = Math.min(seconds, LOGTEST_TIMEOUT_CAP);
          break;
        }
        default: return this.disableLogtest(this.error(option, `<${option.name}> is not a <rule_test> option`));
      }
    }
    this.ruleTest = { enabled, threads, maxSessions, sessionTimeout, warnings };
  }

  private disableLogtest(error: RulesetLoadError): void {
    this.ruleTest = { ...this.ruleTest, error };
  }

  private yesNo(option: XmlNode): boolean {
    if (option.text !== 'yes' && option.text !== 'no') {
      throw this.error(option, `<${option.name}> must be yes or no, not '${option.text}'`);
    }
    return option.text === 'yes';
  }

  private error(node: XmlNode, reason: string): RulesetLoadError {
    return new RulesetLoadError(this.file, node.line, node.name, reason);
  }
}

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

/** C strtol(text, &end, 10): the value (clamped as glibc does) and what follows the number. */
function cStrtol(text: string): { value: bigint; rest: string; overflow: boolean } {
  const match = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/.exec(text);
  if (match === null) return { value: 0n, rest: text, overflow: false };
  let value = BigInt(match[2] as string);
  if (match[1] === '-') value = -value;
  const overflow = value > LONG_MAX || value < LONG_MIN;
  if (value > LONG_MAX) value = LONG_MAX;
  if (value < LONG_MIN) value = LONG_MIN;
  return { value, rest: text.slice(match[0].length), overflow };
}

/** `threads`/`max_sessions`: a whole strtol number in 0..65534 ('' reads as 0, as in Wazuh). */
function cCount(text: string): number | undefined {
  const { value, rest } = cStrtol(text);
  return value < 0n || value > 65534n || rest !== '' ? undefined : Number(value);
}

/** (u_int8_t) atoi(digits): the low byte of the (clamped) number. */
function cByte(digits: string): number {
  const { value } = cStrtol(digits);
  return Number(value & 0xffn);
}

const TIME_UNITS: ReadonlyMap<string, bigint> = new Map([['', 1n], ['s', 1n], ['m', 60n], ['h', 3600n], ['d', 86400n], ['w', 604800n]]);

/**
 * Wazuh's time values (w_parse_time): a number, then nothing or one of s m h d w; bytes
 * after the unit are ignored ("15mins" is 900). -1 when invalid or negative.
 */
export function parseTimeValue(text: string): number {
  const { value, rest, overflow } = cStrtol(text);
  if (value < 0n || overflow) return -1;
  const unit = TIME_UNITS.get(rest.slice(0, 1));
  if (unit === undefined) return -1;
  const seconds = BigInt.asIntN(64, value * unit);
  return seconds >= 0n ? Number(seconds) : -1;
}
