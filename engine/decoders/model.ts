/**
 * The compiled decoder tree and the contract between the decode walk and the plugin
 * decoders. Built by compile.ts, walked by decode.ts; nothing here runs by itself.
 */
import type { ByteString, DecoderInfo, EngineEvent, StaticField } from '../types.js';
import type { Expression } from '../match/expression.js';

/** Where a `<regex>` starts: the whole log, or after the parent / own prematch / previous regex. */
export type RegexOffset = 'none' | 'after_parent' | 'after_prematch' | 'after_regex';
/** Where a plugin reads from; `after_regex` is accepted at load time but gives the plugin no input. */
export type PluginOffset = RegexOffset;

/** The decoder categories of `<type>` (and of the plugins that retype an event). */
export type DecoderType =
  | 'syslog' | 'firewall' | 'ids' | 'web-log' | 'squid' | 'windows' | 'host-information' | 'ossec'
  | 'ossec-alert';

/** One plugin decoder execution: what the C passes in `lf` besides the event itself. */
export interface PluginRun {
  readonly event: EngineEvent;
  /** The decoder the event reports (C `lf->decoder_info`): offsets and JSON options come from it. */
  readonly selected: Decoder;
  /** Start of the text after the parent's prematch, set only when a child prematch matched. */
  readonly afterParent: number | undefined;
  /** Start of the text after the selected decoder's prematch. */
  readonly afterPrematch: number | undefined;
  /** Rule ids known to the rule engine (OSSECAlert_Decoder looks the forwarded rule up). */
  readonly ruleExists: ((id: string) => boolean) | undefined;
  /** Changes the category of this event only (SonicWall, OSSECAlert retype it). */
  setType(type: DecoderType): void;
}

export type PluginDecoder = (run: PluginRun) => void;

/** How `<json_null_field>` and `<json_array_structure>` render JSON nulls and arrays. */
export interface JsonOptions {
  readonly nullAs: 'string' | 'discard';
  readonly arrayAs: 'array' | 'csv';
}

/** One `<decoder>` entry, compiled. A child may be shared by several same-named parents. */
export class Decoder {
  /** Set at load time on every earlier same-named sibling: the regex chain goes on to the next child. */
  getNext = false;
  /** What an event decoded by this decoder reports; set once all files are loaded. */
  info: DecoderInfo;
  private readonly retyped = new Map<DecoderType, DecoderInfo>();

  constructor(
    readonly name: ByteString,
    readonly file: string,
    readonly line: number,
    readonly parent: ByteString | undefined,
    readonly programName: Expression | undefined,
    readonly prematch: Expression | undefined,
    readonly prematchAfterParent: boolean,
    readonly regex: Expression | undefined,
    readonly regexOffset: RegexOffset,
    /** `<order>` by capture position: a static field, or undefined where orderDynamic has the name. */
    readonly orderStatic: readonly (StaticField | undefined)[],
    readonly orderDynamic: readonly (string | undefined)[],
    readonly plugin: PluginDecoder | undefined,
    readonly pluginOffset: PluginOffset,
    readonly useOwnName: boolean,
    readonly json: JsonOptions,
    readonly type: DecoderType,
    /**
     * The FTS key's parts in the C order: 'name', then id, dstuser, srcuser, srcip, dstip,
     * data, system_name, location when chosen, then dynamic fields by order position.
     * Undefined without `<fts>`.
     */
    readonly fts: readonly string[] | undefined,
    readonly ftscomment: string | undefined,
    readonly accumulate: boolean,
  ) {
    this.info = { name, id: 0, type };
  }

  /** The same report with another category, cached: plugins retype per event. */
  infoAs(type: DecoderType): DecoderInfo {
    if (type === this.info.type) return this.info;
    let info = this.retyped.get(type);
    if (!info) {
      info = { ...this.info, type };
      this.retyped.set(type, info);
    }
    return info;
  }
}

/** A top-level decoder and, in load order, every child attached to it. */
export interface TopDecoder {
  readonly decoder: Decoder;
  readonly children: readonly Decoder[];
}

/** A load-time problem the C only logs: the decoder still loads with a default. */
export interface LoadWarning {
  readonly file: string;
  readonly line: number;
  readonly element: string;
  readonly message: string;
}

/** Every loaded decoder, ready for decodeEvent and for the rules' `decoded_as`. */
export interface DecoderSet {
  /** Top-level decoders with `<program_name>`: tried when pre-decoding found a program name. */
  readonly withProgramName: readonly TopDecoder[];
  /** Top-level decoders without it: tried when there is no program name. */
  readonly withoutProgramName: readonly TopDecoder[];
  /** Decoder id by name (XML names and the internal decoders), as `decoded_as` resolves them. */
  readonly ids: ReadonlyMap<string, number>;
  /** Number of `<decoder>` entries loaded. */
  readonly count: number;
  readonly warnings: readonly LoadWarning[];
}
