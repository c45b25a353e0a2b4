/**
 * DecodeEvent: picks the list by program name, takes the first top-level decoder whose
 * program_name and prematch match (no backtracking), selects a child, then runs the regex
 * (or plugin) chain from there, filling static and dynamic fields as it goes.
 */
import type { ByteString, EngineEvent, MatchResult } from '../types.js';
import { Accumulator } from './accumulator.js';
import { MAX_ORDER_FIELDS } from './compile.js';
import type { Decoder, DecoderSet, DecoderType, PluginRun, TopDecoder } from './model.js';

/** What decoding keeps between events of one session (logtest token or analysisd). */
export interface DecoderState {
  readonly accumulator: Accumulator;
  /** Rule ids the rule engine knows: OSSECAlert_Decoder only follows a forwarded alert to a known rule. */
  ruleExists: ((id: string) => boolean) | undefined;
  /** The last time given to decodeEvent (epoch milliseconds); used when a call gives none. */
  now: number;
}

export function newDecoderState(): DecoderState {
  return { accumulator: new Accumulator(), ruleExists: undefined, now: 0 };
}

/**
 * Decodes one pre-decoded event in place: `event.decoder` (left undefined when no
 * top-level decoder matches: Wazuh's NULL decoder, id 0, type syslog), `event.fields`,
 * `event.dynamic`. `now` (epoch milliseconds) only matters to the accumulator.
 */
export function decodeEvent(set: DecoderSet, event: EngineEvent, state: DecoderState, now?: number): void {
  if (now !== undefined) state.now = now;
  const program = event.programName;
  const list = program === undefined ? set.withoutProgramName : programCandidates(set, program);
  const log = event.log;
  for (const top of list) {
    const decoder = top.decoder;
    let afterTop = 0;
    if (decoder.prematch) {
      const match = decoder.prematch.exec(log, 0);
      if (!match) continue;
      afterTop = nextStart(match, log);
    }
    const walk = new FamilyWalk(event, decoder, afterTop, state.ruleExists);
    walk.run(top);
    const info = walk.type === undefined ? walk.selected.info : walk.selected.infoAs(walk.type);
    event.decoder = info;
    if (info.accumulate) state.accumulator.accumulate(event, info.name, Math.floor(state.now / 1000));
    return;
  }
}

/**
 * The top-level decoders whose program_name matches, in load order. A program_name test
 * depends on the program name alone, so the filtered list is remembered per name
 * (a bounded memo: a flood of distinct names only costs the C's linear scan).
 */
const programMemos = new WeakMap<DecoderSet, Map<ByteString, readonly TopDecoder[]>>();
const PROGRAM_MEMO_SIZE = 4096;

function programCandidates(set: DecoderSet, program: ByteString): readonly TopDecoder[] {
  let memo = programMemos.get(set);
  if (!memo) {
    memo = new Map();
    programMemos.set(set, memo);
  }
  let list = memo.get(program);
  if (!list) {
    list = set.withProgramName.filter((top) => top.decoder.programName!.test(program));
    if (memo.size >= PROGRAM_MEMO_SIZE) memo.clear();
    memo.set(program, list);
  }
  return list;
}

/** The C end pointer points at the last byte of a match; the next stage starts one later, never past the end. */
function nextStart(match: MatchResult, log: ByteString): number {
  return match.end < log.length ? match.end + 1 : log.length;
}

/** One top-level decoder's family on one event: the child choice, then the regex chain. */
class FamilyWalk implements PluginRun {
  selected: Decoder;
  afterParent: number | undefined = undefined;
  afterPrematch: number;
  type: DecoderType | undefined = undefined;
  private afterChild = 0;
  private afterRegex: number | undefined = undefined;

  constructor(
    readonly event: EngineEvent,
    top: Decoder,
    private readonly afterTop: number,
    readonly ruleExists: ((id: string) => boolean) | undefined,
  ) {
    this.selected = top;
    this.afterPrematch = afterTop;
  }

  setType(type: DecoderType): void {
    this.type = type;
  }

  run(top: TopDecoder): void {
    const children = top.children;
    if (children.length === 0) {
      this.chain(top.decoder, children, -1);
      return;
    }
    const first = this.chooseChild(children);
    if (first >= 0) this.chain(children[first]!, children, first);
  }

  /**
   * The first child whose prematch matches, or the first without one. A failing
   * chain head skips its whole chain. -1: none, the event keeps the parent, no fields.
   */
  private chooseChild(children: readonly Decoder[]): number {
    const log = this.event.log;
    let i = 0;
    while (i < children.length) {
      const child = children[i]!;
      if (!child.prematch) {
        this.afterChild = this.afterTop;
        return i;
      }
      const match = child.prematch.exec(log, child.prematchAfterParent ? this.afterTop : 0);
      if (match) {
        this.afterChild = nextStart(match, log);
        this.selected = child;
        this.afterParent = this.afterTop;
        this.afterPrematch = this.afterChild;
        return i;
      }
      if (child.getNext) {
        do i++; while (i < children.length && children[i]!.getNext);
      }
      i++;
    }
    return -1;
  }

  /** Runs `node` and, while a node says get_next, the child after it in load order. */
  private chain(node: Decoder, children: readonly Decoder[], index: number): void {
    const event = this.event;
    for (;;) {
      if (node.plugin) {
        node.plugin(this);
      } else if (node.regex) {
        const match = node.regex.exec(event.log, this.regexStart(node));
        if (match) {
          this.afterRegex = nextStart(match, event.log);
          if (event.dynamic.length >= MAX_ORDER_FIELDS) return;
          applyOrder(node, match.captures, event);
        } else if (!node.getNext) {
          return;
        }
      } else {
        return;
      }
      if (!node.getNext) return;
      const next = children[++index];
      if (!next) return;
      node = next;
    }
  }

  private regexStart(node: Decoder): number {
    switch (node.regexOffset) {
      case 'after_parent': return this.afterTop;
      case 'after_prematch': return this.afterChild;
      case 'after_regex': return this.afterRegex ?? this.afterChild;
      default: return 0;
    }
  }
}

/** Captures to `<order>` by position; captures beyond the order are dropped. */
function applyOrder(node: Decoder, captures: readonly ByteString[], event: EngineEvent): void {
  const count = Math.min(captures.length, node.orderStatic.length);
  for (let i = 0; i < count; i++) {
    const field = node.orderStatic[i];
    if (field !== undefined) event.fields[field] = captures[i]!;
    else if (event.dynamic.length < MAX_ORDER_FIELDS) event.dynamic.push({ name: node.orderDynamic[i]!, value: captures[i]! });
  }
}
