/**
 * What the rule walk remembers between events, per session (logtest token) or per node:
 * Wazuh's event memory (one global list, one list per if_matched_sid target, one per
 * if_matched_group rule), the firedtimes counters, `ignore` timestamps, the first-time-
 * seen store, the ignore-key store and the check_diff outputs.
 */
import type { ByteString, EngineEvent } from '../types.js';
import type { RuleSet } from './model.js';

/** One remembered event; `matched` is the level of the last stateful rule that consumed it. */
export class EventRecord {
  matched = 0;
  alive = true;
  private geo?: [ByteString | undefined, ByteString | undefined];

  constructor(
    readonly event: EngineEvent,
    readonly time: number,
    readonly decoderType: string,
  ) {}

  /** The location rules see (pre-decoding already took an agent's "[id] " off). */
  get location(): ByteString {
    return this.event.location;
  }

  geoip(resolve: ((ip: ByteString) => ByteString | undefined) | undefined, which: 0 | 1): ByteString | undefined {
    if (!resolve) return undefined;
    if (!this.geo) {
      const { srcip, dstip } = this.event.fields;
      this.geo = [srcip === undefined ? undefined : resolve(srcip), dstip === undefined ? undefined : resolve(dstip)];
    }
    return this.geo[which];
  }
}

/** Oldest-first list with cheap removal at the old end. */
export class Timeline {
  private items: EventRecord[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(record: EventRecord): void {
    while (this.head < this.items.length && !this.items[this.head]!.alive) this.head++;
    this.compact();
    this.items.push(record);
  }

  oldest(): EventRecord | undefined {
    return this.items[this.head];
  }

  shift(): EventRecord | undefined {
    const record = this.items[this.head];
    if (record) this.head++;
    this.compact();
    return record;
  }

  /** The k-th newest record (0 = newest); searches stop at the first evicted one. */
  at(fromNewest: number): EventRecord | undefined {
    const i = this.items.length - 1 - fromNewest;
    return i >= this.head ? this.items[i] : undefined;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

export interface RuleStateOptions {
  /** Events kept in the global memory (analysisd's memory_size, default 8192). */
  readonly memorySize?: number;
  /** analysisd.fts_list_size (default 32). */
  readonly ftsListSize?: number;
  /** analysisd.fts_min_size_for_str (default 14). */
  readonly ftsMinSizeForString?: number;
}

export class RuleState {
  /** The ruleset this state was first used with: indexes below are its rule indexes. */
  ruleSet: RuleSet | undefined;
  readonly firedtimes: number[] = [];
  /** When each rule's current `ignore` window opened (ms); undefined when none is open. */
  readonly timeIgnored: (number | undefined)[] = [];
  readonly sidLists: (Timeline | undefined)[] = [];
  readonly groupLists: (Timeline | undefined)[] = [];
  readonly events = new Timeline();
  readonly ftsStore = new Set<string>();
  readonly ftsRecent: string[] = [];
  readonly ignoredKeys = new Set<string>();
  readonly diffs = new Map<string, ByteString>();
  readonly memorySize: number;
  readonly ftsListSize: number;
  readonly ftsMinSizeForString: number;

  constructor(options: RuleStateOptions = {}) {
    this.memorySize = options.memorySize ?? 8192;
    this.ftsListSize = options.ftsListSize ?? 32;
    this.ftsMinSizeForString = options.ftsMinSizeForString ?? 14;
  }

  bind(ruleSet: RuleSet): void {
    if (this.ruleSet === ruleSet) return;
    if (this.ruleSet !== undefined) throw new Error('a RuleState serves one RuleSet: make a new state after a reload');
    this.ruleSet = ruleSet;
    for (let i = 0; i < ruleSet.rules.length; i++) this.firedtimes.push(0);
  }

  sidList(ruleIndex: number): Timeline {
    let list = this.sidLists[ruleIndex];
    if (!list) this.sidLists[ruleIndex] = list = new Timeline();
    return list;
  }

  groupList(listId: number): Timeline {
    let list = this.groupLists[listId];
    if (!list) this.groupLists[listId] = list = new Timeline();
    return list;
  }

  /**
   * Adds to the global memory; past memorySize Wazuh drops at least the 10 oldest and
   * any older than `maxFrequency` seconds (it compares a frequency with seconds).
   */
  remember(record: EventRecord, maxFrequency: number): void {
    this.events.push(record);
    if (this.events.size <= this.memorySize) return;
    let dropped = 0;
    for (;;) {
      const oldest = this.events.oldest();
      if (!oldest || oldest === record) break;
      if (dropped >= 10 && record.time - oldest.time <= maxFrequency * 1000) break;
      oldest.alive = false;
      this.events.shift();
      dropped++;
    }
  }
}

export function newRuleState(options?: RuleStateOptions): RuleState {
  return new RuleState(options);
}
