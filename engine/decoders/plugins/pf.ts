/**
 * PF_Decoder: OpenBSD pf log lines (`rule 2/(match) pass in on xl0: 1.2.3.4.5 > 6.7.8.9.10: ...`)
 * to action, addresses, ports and protocol. Fields found before the first surprise stay set.
 */
import type { ByteString } from '../../types.js';
import type { PluginRun } from '../model.js';

export function pfDecoder(run: PluginRun): void {
  const fields = run.event.fields;
  const log = run.event.log;
  const paren = log.indexOf(')');
  if (paren < 0 || log.charCodeAt(paren + 1) !== 0x20) return;
  let at = paren + 2;
  const verb = log.charCodeAt(at);
  if (verb === 0x70) fields.action = 'pass';
  else if (verb === 0x62) fields.action = 'block';
  else return;

  const colon = log.indexOf(':', at);
  if (colon < 0 || log.charCodeAt(colon + 1) !== 0x20) return;
  at = colon + 2;
  const space = log.indexOf(' ', at);
  if (space < 0) return;
  setAddress(run, 'srcip', 'srcport', log.slice(at, space));
  if (log.charCodeAt(space + 1) !== 0x3e || log.charCodeAt(space + 2) !== 0x20) return;
  at = space + 3;
  const end = log.indexOf(':', at);
  if (end < 0) return;
  setAddress(run, 'dstip', 'dstport', log.slice(at, end));

  // The protocol is read from the first non-space byte after that colon.
  let i = end + 1;
  while (log.charCodeAt(i) === 0x20) i++;
  if (i >= log.length) return;
  const c = log.charCodeAt(i);
  fields.protocol = c === 0x75 ? 'UDP' : c === 0x69 ? 'ICMP' : 'TCP';
}

/** `a.b.c.d.port`: the text after the fourth dot is the port. */
function setAddress(run: PluginRun, ip: 'srcip' | 'dstip', port: 'srcport' | 'dstport', address: ByteString): void {
  let dot = -1;
  for (let n = 0; n < 4; n++) {
    dot = address.indexOf('.', dot + 1);
    if (dot < 0) {
      run.event.fields[ip] = address;
      return;
    }
  }
  run.event.fields[ip] = address.slice(0, dot);
  run.event.fields[port] = address.slice(dot + 1);
}
