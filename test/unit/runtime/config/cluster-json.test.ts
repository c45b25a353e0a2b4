import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { compileClusterJson, readClusterJson } from '../../../../runtime/config/cluster-json.js';
import type { ClusterJsonResult } from '../../../../runtime/config/cluster-json.js';
import { DEFAULT_INTERVALS } from '../../../../runtime/config/defaults.js';
import type { ConfigIssue } from '../../../../runtime/config/types.js';

const FILE = '/var/ossec/etc/cluster.json';

function errorsOf(result: ClusterJsonResult): readonly ConfigIssue[] {
  assert.ok(!result.ok);
  return result.errors;
}

function issue(element: string, message: string): ConfigIssue {
  return { file: FILE, element, message };
}

describe('DEFAULT_INTERVALS', () => {
  it('holds the Wazuh 4.14 cluster.json defaults', () => {
    assert.deepEqual(DEFAULT_INTERVALS, {
      worker: {
        sync_integrity: 9,
        sync_agent_info: 10,
        sync_agent_groups: 30,
        timeout_agent_groups: 40,
        keep_alive: 60,
        connection_retry: 10,
        max_failed_keepalive_attempts: 2,
        agent_groups_mismatch_limit: 5,
      },
      master: {
        process_pool_size: 2,
        sync_agent_groups: 10,
        timeout_extra_valid: 40,
        recalculate_integrity: 8,
        timeout_agent_info: 40,
        agent_group_start_delay: 30,
        check_worker_lastkeepalive: 60,
        max_allowed_time_without_keepalive: 120,
        max_locked_integrity_time: 1000,
      },
      communication: {
        timeout_cluster_request: 20,
        timeout_dapi_request: 200,
        timeout_receiving_file: 120,
        max_zip_size: 1073741824,
        min_zip_size: 31457280,
        compress_level: 1,
        zip_limit_tolerance: 0.2,
        status_heartbeat: 5,
      },
    });
    assert.ok(Object.isFrozen(DEFAULT_INTERVALS) && Object.isFrozen(DEFAULT_INTERVALS.worker));
  });
});

describe('compileClusterJson: valid files', () => {
  it('gives the defaults for an empty object', () => {
    assert.deepEqual(compileClusterJson('{}', FILE), {
      ok: true,
      value: { intervals: DEFAULT_INTERVALS, faultInjection: false },
    });
  });

  it('overrides only the keys given, fractions included', () => {
    const text = JSON.stringify({
      intervals: {
        worker: { keep_alive: 0.2, max_failed_keepalive_attempts: 3 },
        master: { process_pool_size: 4 },
        communication: { compress_level: 0, zip_limit_tolerance: 1, status_heartbeat: 0.5 },
      },
      fault_injection: true,
    });
    assert.deepEqual(compileClusterJson(text, FILE), {
      ok: true,
      value: {
        intervals: {
          worker: { ...DEFAULT_INTERVALS.worker, keep_alive: 0.2, max_failed_keepalive_attempts: 3 },
          master: { ...DEFAULT_INTERVALS.master, process_pool_size: 4 },
          communication: {
            ...DEFAULT_INTERVALS.communication,
            compress_level: 0,
            zip_limit_tolerance: 1,
            status_heartbeat: 0.5,
          },
        },
        faultInjection: true,
      },
    });
  });

  it('accepts an intervals object with empty groups', () => {
    const result = compileClusterJson('{"intervals": {"worker": {}, "master": {}, "communication": {}}}', FILE);
    assert.ok(result.ok);
    assert.deepEqual(result.value.intervals, DEFAULT_INTERVALS);
  });
});

describe('compileClusterJson: invalid files', () => {
  it('names the JSON path of an unknown key', () => {
    assert.deepEqual(errorsOf(compileClusterJson('{"intervals": {"worker": {"keep_alve": 5}}}', FILE)), [
      issue(
        'intervals.worker.keep_alve',
        "Unknown key 'keep_alve'. Allowed keys: sync_integrity, sync_agent_info, sync_agent_groups, " +
          'timeout_agent_groups, keep_alive, connection_retry, max_failed_keepalive_attempts, agent_groups_mismatch_limit',
      ),
    ]);
  });

  it('rejects unknown keys at the top and in intervals, all at once', () => {
    assert.deepEqual(errorsOf(compileClusterJson('{"interval": {}, "intervals": {"client": {}}}', FILE)), [
      issue('intervals.client', "Unknown key 'client'. Allowed keys: worker, master, communication"),
      issue('interval', "Unknown key 'interval'. Allowed keys: intervals, fault_injection"),
    ]);
  });

  /** [JSON path, value, message]: the value is placed at the path in an otherwise empty document. */
  const cases: ReadonlyArray<readonly [string, unknown, string]> = [
    ['intervals.worker.keep_alive', '60', 'Expected a number of seconds (found "60")'],
    ['intervals.worker.keep_alive', 0, 'Expected a number of seconds greater than 0 (found 0)'],
    ['intervals.master.timeout_agent_info', -1, 'Expected a number of seconds greater than 0 (found -1)'],
    ['intervals.communication.status_heartbeat', true, 'Expected a number of seconds (found true)'],
    ['intervals.worker.max_failed_keepalive_attempts', 1.5, 'Expected a positive integer (found 1.5)'],
    ['intervals.worker.agent_groups_mismatch_limit', 0, 'Expected a positive integer (found 0)'],
    ['intervals.master.process_pool_size', null, 'Expected a positive integer (found null)'],
    ['intervals.communication.compress_level', 10, 'Expected an integer from 0 to 9 (found 10)'],
    ['intervals.communication.compress_level', -1, 'Expected an integer from 0 to 9 (found -1)'],
    ['intervals.communication.compress_level', 1.5, 'Expected an integer from 0 to 9 (found 1.5)'],
    ['intervals.communication.zip_limit_tolerance', 1.5, 'Expected a number from 0 to 1 (found 1.5)'],
    ['intervals.communication.max_zip_size', 0, 'Expected a positive integer number of bytes (found 0)'],
    ['intervals.worker', [], 'Expected an object (found [])'],
    ['intervals', 'fast', 'Expected an object (found "fast")'],
    ['fault_injection', 'yes', 'Expected true or false (found "yes")'],
  ];
  for (const [jsonPath, value, message] of cases) {
    const json = JSON.stringify(jsonPath.split('.').reduceRight<unknown>((inner, key) => ({ [key]: inner }), value));
    it(`${json} → ${message}`, () => {
      assert.deepEqual(errorsOf(compileClusterJson(json, FILE)), [issue(jsonPath, message)]);
    });
  }

  it('rejects a document that is not an object', () => {
    assert.deepEqual(errorsOf(compileClusterJson('[]', FILE)), [issue('', 'Expected an object (found [])')]);
  });

  it('reports invalid JSON with its line and column', () => {
    const errors = errorsOf(compileClusterJson('{\n  "fault_injection": true,\n}\n', FILE));
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.line, 3);
    assert.equal(errors[0]?.element, '');
    assert.match(errors[0]?.message ?? '', /^Invalid JSON: .* \(line 3, column 1\)$/);
  });

  it('reports an empty file as invalid JSON', () => {
    const errors = errorsOf(compileClusterJson('', FILE));
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /^Invalid JSON: /);
  });
});

describe('readClusterJson', () => {
  it('gives the defaults when the file is absent', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clusterd-cluster-json-'));
    try {
      assert.deepEqual(await readClusterJson(path.join(dir, 'cluster.json')), {
        ok: true,
        value: { intervals: DEFAULT_INTERVALS, faultInjection: false },
      });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('reads overrides from disk', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clusterd-cluster-json-'));
    try {
      const file = path.join(dir, 'cluster.json');
      await fs.writeFile(file, '{"intervals": {"worker": {"keep_alive": 2}}}');
      const result = await readClusterJson(file);
      assert.ok(result.ok);
      assert.equal(result.value.intervals.worker.keep_alive, 2);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a file that cannot be read', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clusterd-cluster-json-'));
    try {
      const file = path.join(dir, 'cluster.json');
      await fs.mkdir(file);
      const message = 'Error reading cluster configuration: EISDIR: illegal operation on a directory, read';
      assert.deepEqual(errorsOf(await readClusterJson(file)), [{ file, element: '', message }]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
