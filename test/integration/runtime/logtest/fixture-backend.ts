/**
 * A small real LogtestBackend for tests of the server and the CLI: no ruleset, a fixed
 * alert shaped like the engine's, chosen by words in the event:
 *   nodecoder - no decoder matched: `decoder:{}`, no rule
 *   level0    - rule 1 at level 0 (its output leaves `level` out, as alerts.json does)
 *   ignored   - rule 5712 matched inside its ignore window (suppressed)
 *   high      - rule 5763 at level 12
 *   fail      - the pre-decoder refuses it: no output, a 1106 error
 *   throw     - process() throws
 *   wait      - process() waits until the test calls release()
 *   otherwise - rule 5710, level 5, decoder sshd
 * Each session counts the events it saw (`firedtimes`), which shows state is kept per session.
 */
import type { LogtestBackend, LogtestEventInput, LogtestResult, LogtestSession, OpenedSession } from '../../../../runtime/logtest/backend.js';
import { JsonObject } from '../../../../protocols/cjson.js';
import type { LogtestMessage } from '../../../../protocols/logtest/messages.js';

export interface FixtureOptions {
  /** `<alerts><log_alert_level>` of every new session. */
  logAlertLevel?: number;
}

export class FixtureBackend implements LogtestBackend {
  opened = 0;
  closed = 0;
  /** The next openSession fails with these loader messages (then the option clears). */
  failNextOpen: LogtestMessage[] | null = null;
  /** Loader warnings every new session reports. */
  loaderWarnings: LogtestMessage[] = [];
  /** Inputs every session received, in order. */
  readonly inputs: LogtestEventInput[] = [];
  private gate: { promise: Promise<void>; release: () => void } = openGate();

  constructor(private readonly opts: FixtureOptions = {}) {}

  openSession(): Promise<OpenedSession> {
    const failure = this.failNextOpen;
    this.failNextOpen = null;
    if (failure) return Promise.resolve({ error: failure });
    this.opened++;
    return Promise.resolve({ session: new FixtureSession(this, this.opts.logAlertLevel ?? 0), messages: this.loaderWarnings });
  }

  /** Lets every `wait` event waiting now finish. */
  release(): void {
    this.gate.release();
    this.gate = openGate();
  }

  waitGate(): Promise<void> {
    return this.gate.promise;
  }
}

function openGate(): { promise: Promise<void>; release: () => void } {
  let release = (): void => undefined;
  const promise = new Promise<void>((resolve) => { release = resolve; });
  return { promise, release };
}

class FixtureSession implements LogtestSession {
  private events = 0;

  constructor(private readonly backend: FixtureBackend, readonly logAlertLevel: number) {}

  async process(input: LogtestEventInput): Promise<LogtestResult> {
    this.backend.inputs.push(input);
    const event = input.event;
    if (event.includes('wait')) await this.backend.waitGate();
    if (event.includes('throw')) throw new Error('fixture failure');
    if (event.includes('fail')) return { output: null, rule: null, messages: [{ level: 'error', text: '(1106): String not correctly formatted.' }] };
    this.events++;
    const debug = input.rulesDebug ? { rulesDebug: ['Trying rule: 1 - Generic template for all syslog rules.', '*Rule 1 matched', '*Trying child rules'] } : {};
    const base = (rule: JsonObject | null, decoder: JsonObject): JsonObject => {
      const out = new JsonObject([['timestamp', '2024-01-01T00:00:00.000+0000']]);
      if (rule) out.add('rule', rule);
      out.add('agent', new JsonObject([['id', '000'], ['name', 'manager']]));
      out.add('manager', new JsonObject([['name', 'manager']]));
      out.add('id', '1704067200.1');
      out.add('full_log', event);
      out.add('predecoder', new JsonObject([['program_name', 'sshd'], ['timestamp', 'Oct 15 21:07:56'], ['hostname', 'linux-agent']]));
      out.add('decoder', decoder);
      if (decoder.size > 0) out.add('data', new JsonObject([['srcip', '18.18.18.18'], ['srcport', '48928'], ['srcuser', 'blimey']]));
      out.add('location', input.location);
      return out;
    };
    const rule = (id: string, level: number | null, description: string): JsonObject => {
      const r = new JsonObject();
      if (level !== null) r.add('level', level);
      r.add('description', description).add('id', id).add('firedtimes', this.events).add('mail', false).add('groups', ['syslog', 'sshd']);
      return r;
    };
    const sshd = new JsonObject([['parent', 'sshd'], ['name', 'sshd']]);
    if (event.includes('nodecoder')) return { output: base(null, new JsonObject()), rule: null, messages: [], ...debug };
    if (event.includes('level0')) return { output: base(rule('1', null, 'Generic template'), sshd), rule: { level: 0, suppressed: false }, messages: [], ...debug };
    if (event.includes('ignored')) return { output: base(rule('5712', 10, 'brute force'), sshd), rule: { level: 10, suppressed: true }, messages: [], ...debug };
    if (event.includes('high')) return { output: base(rule('5763', 12, 'sshd: brute force'), sshd), rule: { level: 12, suppressed: false }, messages: [], ...debug };
    return { output: base(rule('5710', 5, 'sshd: Attempt to login using a non-existent user'), sshd), rule: { level: 5, suppressed: false }, messages: [], ...debug };
  }

  close(): void {
    this.backend.closed++;
  }
}
