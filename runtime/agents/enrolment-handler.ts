/**
 * One enrolment request, start to end: the line is parsed and checked where it
 * arrived (password, syntax, name, groups syntax), the master decides (locally, or
 * over the cluster link from a worker), and the agent gets its key only once this
 * node holds it too, so the agent's first connection here is accepted.
 */
import type { EnrolmentOutcome, ForwardedEnrolment } from '../../protocols/registry.js';
import { CANNOT_REACH_MASTER, errorAnswer, keyAnswer, parseEnrolmentLine } from '../../protocols/enrolment.js';
import type { Logger } from '../logger.js';

export interface EnrolmentHandlerDeps {
  /** The contents of etc/authd.pass when `<use_password>yes`, else null. */
  readonly password: string | null;
  readonly useSourceIp: boolean;
  /** The master's decision; rejects when the master cannot be reached. */
  readonly decide: (request: ForwardedEnrolment) => Promise<EnrolmentOutcome>;
  /** Resolves once this node's registry holds `revision` (true), or gave up waiting (false). */
  readonly holds: (revision: number) => Promise<boolean>;
  readonly log: Logger;
}

export function enrolmentHandler(deps: EnrolmentHandlerDeps): (line: string, peer: string) => Promise<string> {
  return async (line, peer) => {
    const parsed = parseEnrolmentLine(line, deps.password);
    if (!parsed.ok) {
      deps.log.info(`Enrolment request from ${peer} refused: ${parsed.error}`);
      return errorAnswer(parsed.error);
    }
    const { request } = parsed;
    const ip = request.ip === 'src' ? peer : request.ip ?? (deps.useSourceIp ? peer : 'any');
    const forwarded: ForwardedEnrolment = { name: request.name, ip, groups: request.groups, keyHash: request.keyHash, version: request.version };
    let outcome: EnrolmentOutcome;
    try {
      outcome = await deps.decide(forwarded);
    } catch (err) {
      deps.log.error(`Could not communicate with master to enrol '${request.name}': ${(err as Error).message}`);
      return CANNOT_REACH_MASTER;
    }
    if (!outcome.ok) return errorAnswer(outcome.error);
    if (!(await deps.holds(outcome.revision))) {
      deps.log.warning(`Agent '${outcome.agent.name}' enrolled, but this node has not received its key yet; it may be refused here for a moment.`);
    }
    const { agent } = outcome;
    return keyAnswer(agent.id, agent.name, agent.ip, agent.key);
  };
}
