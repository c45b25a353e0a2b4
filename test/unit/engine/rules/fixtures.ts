/**
 * Hand-built rule files and events for the rule engine tests (no decoder needed): rule
 * XML goes through the OS_XML reader, events are EngineEvents written field by field.
 */
import type { CdbList, DecoderInfo, EngineEvent, StaticField } from '../../../../engine/types.js';
import { parseOsXml } from '../../../../engine/xml/os-xml.js';
import { compileRules, type CompiledRules, type RuleCompileContext } from '../../../../engine/rules/rule-set.js';

/** Category roots as 0010-rules_config.xml declares them. */
export const ROOTS = `
<group name="syslog,"><rule id="1" level="0" noalert="1"><category>syslog</category><description>syslog root</description></rule></group>
<group name="firewall,"><rule id="2" level="0" noalert="1"><category>firewall</category><description>firewall root</description></rule></group>
<group name="ids,"><rule id="3" level="0" noalert="1"><category>ids</category><description>ids root</description></rule></group>
<group name="web-log,"><rule id="4" level="0" noalert="1"><category>web-log</category><description>web root</description></rule></group>
`;

export const DECODER_IDS: Readonly<Record<string, number>> = { sshd: 1, web: 2, fw: 3, snort: 4, json: 5 };

export const DECODERS: Readonly<Record<string, DecoderInfo>> = {
  sshd: { name: 'sshd', id: 1, type: 'syslog' },
  web: { name: 'web-accesslog', id: 2, type: 'web-log' },
  fw: { name: 'iptables', id: 3, type: 'firewall' },
  snort: { name: 'snort', id: 4, type: 'ids', fts: ['name', 'id', 'srcip'] },
  json: { name: 'json', id: 5, type: 'syslog' },
};

export interface Load {
  readonly lists?: ReadonlyMap<string, CdbList>;
  readonly context?: Partial<RuleCompileContext>;
  readonly withRoots?: boolean;
}

/** Compiles the roots plus `xml` (one file, test.xml), or several files. */
export function load(xml: string | readonly string[], options: Load = {}): CompiledRules {
  const texts = typeof xml === 'string' ? [xml] : xml;
  const files = texts.map((text, i) => ({ file: `test${i}.xml`, nodes: parseOsXml(text, `test${i}.xml`) }));
  if (options.withRoots !== false) files.unshift({ file: 'roots.xml', nodes: parseOsXml(ROOTS, 'roots.xml') });
  return compileRules(files, {
    decoderId: (name) => DECODER_IDS[name],
    lists: options.lists ?? new Map(),
    ...options.context,
  });
}

export interface EventInit {
  readonly log?: string;
  readonly decoder?: keyof typeof DECODERS | DecoderInfo;
  readonly agentId?: string;
  readonly location?: string;
  readonly hostname?: string;
  readonly programName?: string;
  readonly fields?: Partial<Record<StaticField, string>>;
  readonly dynamic?: Record<string, string>;
}

export function event(init: EventInit = {}): EngineEvent {
  const log = init.log ?? 'a log line';
  const decoder = typeof init.decoder === 'string' ? DECODERS[init.decoder] : init.decoder;
  return {
    queue: '1',
    location: init.location ?? 'stdin',
    fullLog: `Jan  1 00:00:00 host ${log}`,
    log,
    agentId: init.agentId ?? '000',
    hostname: init.hostname ?? 'host',
    ...(init.programName !== undefined ? { programName: init.programName } : {}),
    ...(decoder ? { decoder } : {}),
    fields: { ...init.fields },
    dynamic: Object.entries(init.dynamic ?? {}).map(([name, value]) => ({ name, value })),
  };
}

/** `<group name="test,">` around rule elements. */
export const group = (rules: string, name = 'test,'): string => `<group name="${name}">${rules}</group>`;
