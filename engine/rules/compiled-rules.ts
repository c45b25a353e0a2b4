/**
 * `<compiled_rule>`: the built-in predicates Wazuh ships (src/analysisd/compiled_rules),
 * re-expressed from their documented behaviour. Each says whether the rule may match.
 */
import type { EngineEvent } from '../types.js';

export type CompiledPredicate = (event: EngineEvent) => boolean;

const CRAWLER_PREFIXES = ['66.249.', '72.14.', '209.85.', '65.55.', '207.46.', '74.6.', '72.30.', '67.195.'];

/** Passes when either user is missing or both are equal. */
function compSrcuserDstuser(event: EngineEvent): boolean {
  const { srcuser, dstuser } = event.fields;
  return srcuser === undefined || dstuser === undefined || srcuser === dstuser;
}

function checkIdSize(event: EngineEvent): boolean {
  const id = event.fields.id;
  return id !== undefined && id.length >= 10;
}

/** Old Windows logs: the "Target Account Name" and "Caller User Name" values differ. */
function compMswinTargetuserCalleruserDiff(event: EngineEvent): boolean {
  const log = event.log;
  const targetAt = log.indexOf('Target Account Name');
  const callerAt = log.indexOf('Caller User Name');
  if (targetAt < 0 || callerAt < 0) return false;
  let t = log.indexOf(':', targetAt);
  let c = log.indexOf(':', callerAt);
  if (t < 0 || c < 0) return false;
  t++;
  c++;
  while (t < log.length) {
    const tc = log[t];
    if (tc !== log[c]) return true;
    if (tc === '\t' || (tc === ' ' && log[t + 1] === ' ')) break;
    t++;
    c++;
  }
  return false;
}

/** A GET/POST without a query string: no need to run the attack rules. */
function isSimpleHttpRequest(event: EngineEvent): boolean {
  const url = event.fields.url;
  if (url === undefined) return false;
  return url === '/' || !url.includes('?');
}

/** The log starts with the address of a well-known search-engine crawler. */
function isValidCrawler(event: EngineEvent): boolean {
  return CRAWLER_PREFIXES.some((prefix) => event.log.startsWith(prefix));
}

export const COMPILED_RULES: ReadonlyMap<string, CompiledPredicate> = new Map([
  ['comp_srcuser_dstuser', compSrcuserDstuser],
  ['check_id_size', checkIdSize],
  ['comp_mswin_targetuser_calleruser_diff', compMswinTargetuserCalleruserDiff],
  ['is_simple_http_request', isSimpleHttpRequest],
  ['is_valid_crawler', isValidCrawler],
]);
