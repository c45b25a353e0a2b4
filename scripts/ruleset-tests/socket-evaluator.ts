/** Evaluates a suite run over the logtest socket, as wazuh-logtest -U does: one session per run. */
import { LogtestCliRequests, readCliReply, unitTripleOf } from '../../protocols/logtest/client.js';
import { pyStr } from '../../protocols/logtest/python-view.js';
import { logtestRequest } from '../../runtime/logtest/logtest-client.js';
import type { Evaluate } from './runner.js';
import type { Triple } from './ini.js';

const bytesOf = (text: string): Buffer => Buffer.from(text, 'latin1');

export function socketEvaluator(socketPath: string): Evaluate {
  return async (events) => {
    const requests = new LogtestCliRequests('stdin');
    let token = '';
    let last: Triple | undefined;
    for (const event of events) {
      const reply = readCliReply(await logtestRequest(socketPath, bytesOf(requests.logProcessing(Buffer.from(event, 'utf8').toString('latin1'), token, false))));
      if (reply.kind === 'error') {
        last = ['', '', ''];
        continue;
      }
      token = reply.token;
      const [rule, level, decoder] = unitTripleOf(reply.data);
      last = [pyStr(rule), pyStr(level), pyStr(decoder)];
    }
    if (token !== '') await logtestRequest(socketPath, bytesOf(requests.removeSession(token)));
    return last;
  };
}
