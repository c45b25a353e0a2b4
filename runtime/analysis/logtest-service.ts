/**
 * The node's logtest service: Wazuh's logtest socket at <home>/queue/sockets/logtest,
 * configured by ossec.conf's `<rule_test>`, each session analysing with the ruleset as
 * it is on disk when the session opens.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readAnalysisConf, type RuleTestConf } from '../../engine/ruleset/config.js';
import type { Logger } from '../logger.js';
import { LogtestServer, logtestSocketPath } from '../logtest/logtest-server.js';
import { EngineLogtestBackend } from './logtest-backend.js';
import { RulesetLoader } from './ruleset-loader.js';

/** `<rule_test>` as the node starts with it; null when a bad value keeps logtest off (7304). */
async function ruleTestConf(home: string, log: Logger): Promise<RuleTestConf | null> {
  const text = await fs.readFile(path.join(home, 'etc', 'ossec.conf'), 'latin1');
  let conf: RuleTestConf;
  try {
    conf = readAnalysisConf(text, 'etc/ossec.conf').ruleTest;
  } catch (err) {
    log.error(`(7304): Invalid wazuh-logtest configuration: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
  for (const warning of conf.warnings) log.warning(warning);
  if (conf.error) {
    log.error(`(7304): Invalid wazuh-logtest configuration: ${conf.error.message}`);
    return null;
  }
  return conf;
}

/** Starts the logtest socket; null when ossec.conf disables it or holds a bad `<rule_test>`. */
export async function startLogtestService(home: string, log: Logger): Promise<LogtestServer | null> {
  const logtestLog = log.tagged('wazuh-logtest');
  const conf = await ruleTestConf(home, logtestLog);
  if (conf === null) return null;
  const server = new LogtestServer({
    socketPath: logtestSocketPath(home),
    backend: new EngineLogtestBackend(new RulesetLoader(home), os.hostname(), logtestLog),
    log: logtestLog,
    config: {
      enabled: conf.enabled,
      threads: conf.threads === 'auto' ? os.cpus().length : conf.threads,
      maxSessions: conf.maxSessions,
      sessionTimeout: conf.sessionTimeout,
    },
  });
  return (await server.start()) ? server : null;
}
