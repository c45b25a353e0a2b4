/**
 * Fuzz targets of the analysis engine: decoder and rule files through the OS_XML parser
 * and the compilers (a load error is the documented refusal), and hostile PCRE2
 * patterns compiled and run on log lines (a PatternError is the refusal; a match that
 * runs past the hang limit is a hang). The V8 backtracking guard is on, as it is in
 * every process that loads a ruleset.
 */
import { compileDecoders, decodeEvent, decoderId, newDecoderState } from '../../engine/decoders/decoder-set.js';
import { compileRules, matchRules, newRuleState } from '../../engine/rules/rule-set.js';
import { compilePcre2 } from '../../engine/match/pcre2.js';
import { predecode } from '../../engine/predecode.js';
import { parseOsXml } from '../../engine/xml/os-xml.js';
import { PatternError, RulesetLoadError, type ByteString } from '../../engine/types.js';
import { guardRegExpBacktracking } from '../../runtime/analysis/regexp-guard.js';
import { Rng, hostileString, mutateText, randomText, type TextContext } from './generators.js';
import type { FuzzInput, FuzzTarget } from './targets.js';

guardRegExpBacktracking();

const asText = (input: FuzzInput): string => (typeof input === 'string' ? input : input.toString('latin1'));

const DECODERS = [
  `<decoder name="sshd">\n  <program_name>^sshd</program_name>\n</decoder>\n`,
  `<decoder name="sshd-fail">\n  <parent>sshd</parent>\n  <prematch>^Failed \\S+ </prematch>\n  <regex offset="after_prematch">^for (\\S+) from (\\S+) port (\\d+)</regex>\n  <order>user, srcip, srcport</order>\n</decoder>\n`,
  `<decoder name="json">\n  <prematch>^{\\s*"</prematch>\n  <plugin_decoder>JSON_Decoder</plugin_decoder>\n</decoder>\n`,
  `<decoder name="web">\n  <prematch type="pcre2">^\\d+\\.\\d+\\.\\d+\\.\\d+ - </prematch>\n  <regex type="pcre2">^(\\S+) - (\\S+) \\[[^\\]]*\\] "(\\w+) ([^"]*)" (\\d+)</regex>\n  <order>srcip, user, action, url, id</order>\n</decoder>\n`,
];

const RULES = `<var name="FREQ">4</var>
<group name="syslog,">
  <rule id="1" level="0" noalert="1">
    <category>syslog</category>
    <description>root</description>
  </rule>
  <rule id="100" level="3">
    <decoded_as>sshd</decoded_as>
    <match>Failed|failure</match>
    <description>sshd failure for $(user)</description>
  </rule>
  <rule id="101" level="10" frequency="$FREQ" timeframe="60">
    <if_matched_sid>100</if_matched_sid>
    <same_source_ip />
    <description>brute force</description>
  </rule>
  <rule id="102" level="5">
    <if_sid>100</if_sid>
    <field name="user" type="pcre2">^(?i)root$</field>
    <srcip>!10.0.0.0/8</srcip>
    <description>root</description>
    <group>pci_dss_10.2.4,</group>
  </rule>
</group>
`;

const LINES: readonly ByteString[] = [
  '1:stdin:Dec  7 22:03:27 host sshd[42]: Failed password for root from 18.18.18.18 port 4242 ssh2',
  '1:[001] (web01) 10.0.0.5->/var/log/auth.log:Dec  7 22:03:27 host sshd[42]: Failed password for admin from 10.1.1.1 port 22 ssh2',
  '1:stdin:{"srcip":"1.2.3.4","user":"x","data":{"a":[1,2.5,null,true]}}',
  '1:stdin:1.2.3.4 - bob [07/Dec/2026:22:03:27 +0000] "GET /index.html HTTP/1.1" 200',
];

const XML_TOKENS = ['<', '>', '</', '/>', '"', "'", '\\<', '&', '$FREQ', '$UNDEFINED', '<!--', '-->', '<var name="X">', 'type="pcre2"',
  'offset="after_regex"', '<parent>', '<order>', '(', ')', '\\', '|', '^', '$', '(?i)', '(?=', '*', '+', '{9999}', '<if_sid>', '<if_group>'];

function xmlContext(other: () => string, hugeMax: number): TextContext {
  return { other, dict: XML_TOKENS, hugeMax: Math.min(hugeMax, 8192) };
}

/** Every event through a compiled pair: nothing but a refusal may be thrown. */
function analyseAll(decoderXml: string, ruleXml: string): void {
  const decoders = compileDecoders([{ file: 'etc/decoders/fuzz.xml', nodes: parseOsXml(decoderXml, 'etc/decoders/fuzz.xml') }]);
  const { rules } = compileRules([{ file: 'etc/rules/fuzz.xml', nodes: parseOsXml(ruleXml, 'etc/rules/fuzz.xml') }], {
    decoderId: (name) => decoderId(decoders, name), lists: new Map(),
  });
  const decoderState = newDecoderState();
  const ruleState = newRuleState();
  for (const line of LINES) {
    const event = predecode(line, { managerHostname: 'fuzz' });
    decodeEvent(decoders, event, decoderState, 0);
    matchRules(rules, event, ruleState, { now: 0 });
  }
}

const isRefusal = (err: unknown): boolean => err instanceof RulesetLoadError || err instanceof PatternError;

function refusalsPass(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!isRefusal(err)) throw err;
  }
}

const decoderXml = (rng: Rng): string => DECODERS.filter(() => rng.chance(0.7)).join('') || (DECODERS[0] as string);

export const decoderXmlTarget: FuzzTarget = {
  name: 'decoder-xml',
  about: 'decoder files through OS_XML, compileDecoders and every event; RulesetLoadError/PatternError pass',
  sample: (rng = Rng.from('decoder-xml', 'sample')) => decoderXml(rng),
  generate: (rng, profile) => (rng.chance(0.05)
    ? randomText(rng, rng.size(2000))
    : mutateText(rng, decoderXml(rng), xmlContext(() => decoderXml(rng), profile.hugeMax))),
  run: (input) => refusalsPass(() => analyseAll(asText(input), RULES)),
};

export const ruleXmlTarget: FuzzTarget = {
  name: 'rule-xml',
  about: 'rule files through OS_XML, compileRules and the rule walk; RulesetLoadError/PatternError pass',
  sample: () => RULES,
  generate: (rng, profile) => (rng.chance(0.05)
    ? randomText(rng, rng.size(2000))
    : mutateText(rng, RULES, xmlContext(() => RULES, profile.hugeMax))),
  run: (input) => refusalsPass(() => analyseAll(DECODERS.join(''), asText(input))),
};

const PATTERN_SAMPLES = [
  '^(\\S+) from (\\S+) port (\\d+)$', '(?i)^(?:informational|low)$', '([^%]+)?%(FTD)-(\\d)-(\\d+): (.+)', '^\\w+:\\s(.+)',
  '(?=.*admin)(\\w+)', '^(?!^$).+$', '\\bsudo\\b.*COMMAND=(.*)', '(a|b)*c{2,5}[^\\]x]', '(?mUs)^select.*from$',
];
const PATTERN_TOKENS = ['(', ')', '(?:', '(?=', '(?!', '(?<=', '(?i)', '(?i:', '*', '+', '?', '{1,9}', '{,3}', '|', '^', '$', '.', '\\s', '\\S',
  '\\w', '\\d', '\\b', '[', ']', '[^', '\\', '\\N{U+202E}', '(*UTF)', '*+', '(?>', '\\1', '\\K'];
const HOSTILE_PATTERNS = ['(a+)+$', '(\\w+\\s?)+$', '(.*a){12}', '^(a|aa)+$', '(x+x+)+y', '(?:(?:a*)*)*b', '^(([a-z])+.)+[A-Z]([a-z])+$'];
const SUBJECTS: readonly string[] = [
  `${'a'.repeat(40)}!`, `${'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}`, 'Dec  7 22:03:27 host sshd[42]: Failed password for root from 1.2.3.4 port 22 ssh2',
  `%FTD-6-302014: ${'x'.repeat(1500)}`, `${'word '.repeat(300)}!`, '\u00e9\u00a0\r\n', '',
];

export const pcre2PatternTarget: FuzzTarget = {
  name: 'pcre2-pattern',
  about: 'hostile PCRE2 patterns compiled and run on log lines; PatternError passes; a run past the hang limit is a hang',
  sample: (rng = Rng.from('pcre2-pattern', 'sample')) => rng.pick(PATTERN_SAMPLES),
  generate: (rng, profile) => {
    if (rng.chance(0.2)) return rng.pick(HOSTILE_PATTERNS);
    if (rng.chance(0.05)) return hostileString(rng, 256);
    return mutateText(rng, rng.pick(PATTERN_SAMPLES), { other: () => rng.pick(PATTERN_SAMPLES), dict: PATTERN_TOKENS, hugeMax: Math.min(profile.hugeMax, 2048) });
  },
  run: (input) => refusalsPass(() => {
    const matcher = compilePcre2(asText(input));
    for (const s of SUBJECTS) {
      const m = matcher.exec(s);
      if (m !== null && (m.end < -1 || m.end >= s.length)) throw new Error(`end ${m.end} outside a subject of ${s.length} bytes`);
      matcher.test(s);
    }
  }),
};

export const ENGINE_TARGETS: readonly FuzzTarget[] = [decoderXmlTarget, ruleXmlTarget, pcre2PatternTarget];
