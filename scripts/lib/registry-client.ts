/**
 * The registry commands of manage_agents, agent_groups and cluster_control -a: sent
 * over the node's control socket (a worker forwards them to its master); a refusal
 * ends the CLI with the registry's own words.
 */
import { controlRequest } from '../../runtime/control/control-client.js';
import type { RegistryCommand, RegistryResult } from '../../protocols/registry.js';
import { fail } from './output.js';

export async function registryRequest(home: string, command: RegistryCommand): Promise<RegistryResult> {
  let answer;
  try {
    answer = await controlRequest(home, 'registry', { command });
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  if (answer.type === 'error') fail(answer.body.message);
  if (answer.type !== 'registry-result') fail(`unexpected answer '${answer.type}'`);
  const { outcome } = answer.body;
  if (!outcome.ok) fail(outcome.error.text);
  return outcome.result;
}

/** `001`, `1` or `1000`: Wazuh ids are decimal strings of up to 8 digits. */
export function parseAgentId(value: unknown, flag: string): number | string {
  const text = String(value ?? '');
  if (!/^\d{1,8}$/.test(text) || Number(text) === 0) return `${flag}: '${text}' is not an agent ID (1 to 8 digits, not 000)`;
  return Number(text);
}
