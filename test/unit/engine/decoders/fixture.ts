/** Shared by the decoder tests: decoder XML text to a DecoderSet, a log line to a decoded event. */
import { compileDecoders, decodeEvent, newDecoderState, type DecoderSet, type DecoderState } from '../../../../engine/decoders/decoder-set.js';
import { parseOsXml } from '../../../../engine/xml/os-xml.js';
import { toBytes, type EngineEvent } from '../../../../engine/types.js';

/** Compiles decoder files given as [name, text] pairs, in that order. */
export function loadFiles(...files: [string, string][]): DecoderSet {
  return compileDecoders(files.map(([file, text]) => ({ file, nodes: parseOsXml(toBytes(text), file) })));
}

export function load(xml: string): DecoderSet {
  return loadFiles(['test_decoders.xml', xml]);
}

/** An event as pre-decoding leaves it: `log` is the message after the header. */
export function eventOf(log: string, programName?: string, hostname = 'host'): EngineEvent {
  const bytes = toBytes(log);
  return {
    queue: '1', location: 'stdin', fullLog: bytes, log: bytes, agentId: '000', hostname,
    ...(programName !== undefined ? { programName: toBytes(programName) } : {}),
    fields: {}, dynamic: [],
  };
}

export function decode(set: DecoderSet, log: string, programName?: string, state: DecoderState = newDecoderState()): EngineEvent {
  const event = eventOf(log, programName);
  decodeEvent(set, event, state);
  return event;
}

/** Name, static and dynamic fields of a decoded event in one comparable object. */
export function summary(event: EngineEvent): { decoder?: string; parent?: string; fields: Record<string, string>; dynamic: [string, string][] } {
  return {
    ...(event.decoder ? { decoder: event.decoder.name } : {}),
    ...(event.decoder?.parent !== undefined ? { parent: event.decoder.parent } : {}),
    fields: { ...event.fields } as Record<string, string>,
    dynamic: event.dynamic.map((f) => [f.name, f.value]),
  };
}
