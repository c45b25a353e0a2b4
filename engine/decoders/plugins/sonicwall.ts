/**
 * SonicWall_Decoder: pulls severity, category and message id, then source and destination,
 * out of a SonicWall syslog line with three fixed OS_Regex patterns, and retypes the event
 * from the message id (firewall pass/drop/close, ids, squid for proxy lines).
 */
import { compileExpression, type Expression } from '../../match/expression.js';
import type { PluginRun } from '../model.js';

const PRIORITY = 'pri=(\\d) c=(\\d+) m=(\\d+) ';
const ADDRESSES = 'src=(\\d+.\\d+.\\d+.\\d+):(\\d+):\\S+ dst=(\\d+.\\d+.\\d+.\\d+):(\\d+):';
const PROXY = 'result=(\\d+) dstname=(\\S+) arg=(\\S+)$';

interface Patterns {
  readonly priority: Expression;
  readonly addresses: Expression;
  readonly proxy: Expression;
}
let patterns: Patterns | undefined;

function compiled(): Patterns {
  patterns ??= {
    priority: compileExpression('osregex', PRIORITY),
    addresses: compileExpression('osregex', ADDRESSES),
    proxy: compileExpression('osregex', PROXY),
  };
  return patterns;
}

const PASS_IDS = new Set(['98', '597', '598']);
const DROP_IDS = new Set(['38', '36', '173', '174', '37']);

export function sonicWallDecoder(run: PluginRun): void {
  const { event } = run;
  const log = event.log;
  const { priority, addresses, proxy } = compiled();
  run.setType('syslog');
  const head = priority.exec(log);
  if (!head) return;
  const [severity = '', category = '', id = ''] = head.captures;
  event.fields.status = severity;
  event.fields.id = id;
  // Each later search starts on the previous end pointer itself, not after it.
  const hosts = addresses.exec(log, head.end);
  if (!hosts) return;
  const [srcip = '', srcport = '', dstip = '', dstport = ''] = hosts.captures;
  Object.assign(event.fields, { srcip, srcport, dstip, dstport });
  const rest = readProtocol(run, hosts.end);

  if (category.slice(0, 7) === '32') run.setType('ids');
  else if (PASS_IDS.has(id)) setAction(run, 'pass');
  else if (DROP_IDS.has(id)) setAction(run, 'drop');
  else if (id === '537') setAction(run, 'close');
  else if (id === '97') readProxy(run, proxy, rest);
}

/**
 * `proto=` after the next space: up to 6 bytes, stopping at '/' (the C's isValidChar
 * accepts every byte above 0x01). Returns where the proxy search goes on, -1 for nowhere.
 */
function readProtocol(run: PluginRun, from: number): number {
  const log = run.event.log;
  const space = log.indexOf(' ', from);
  if (space < 0) return -1;
  if (!log.startsWith('proto=', space + 1)) return space + 1;
  const start = space + 7;
  let i = start;
  while (i < log.length && i - start < 6 && log.charCodeAt(i) > 0x01 && log.charCodeAt(i) !== 0x2f) i++;
  run.event.fields.protocol = log.slice(start, i);
  return i;
}

function setAction(run: PluginRun, action: string): void {
  run.setType('firewall');
  run.event.fields.action = action;
}

/** Proxy lines: the HTTP result becomes the id and dstname + arg the url. */
function readProxy(run: PluginRun, proxy: Expression, from: number): void {
  run.setType('squid');
  if (from < 0) return;
  const match = proxy.exec(run.event.log, from);
  if (!match) return;
  const [result = '', host = '', path = ''] = match.captures;
  run.event.fields.id = result;
  run.event.fields.url = host + path;
}
