/** Values used when ossec.conf or cluster.json leave a setting out. */
import type { Intervals } from './types.js';

/**
 * Wazuh 4.14 cluster.json `intervals` defaults (seconds; bytes for zip sizes),
 * plus our `communication.status_heartbeat`.
 */
export const DEFAULT_INTERVALS: Intervals = Object.freeze({
  worker: Object.freeze({
    sync_integrity: 9,
    sync_agent_info: 10,
    sync_agent_groups: 30,
    timeout_agent_groups: 40,
    keep_alive: 60,
    connection_retry: 10,
    max_failed_keepalive_attempts: 2,
    agent_groups_mismatch_limit: 5,
  }),
  master: Object.freeze({
    process_pool_size: 2,
    sync_agent_groups: 10,
    timeout_extra_valid: 40,
    recalculate_integrity: 8,
    timeout_agent_info: 40,
    agent_group_start_delay: 30,
    check_worker_lastkeepalive: 60,
    max_allowed_time_without_keepalive: 120,
    max_locked_integrity_time: 1000,
  }),
  communication: Object.freeze({
    timeout_cluster_request: 20,
    timeout_dapi_request: 200,
    timeout_receiving_file: 120,
    max_zip_size: 1073741824,
    min_zip_size: 31457280,
    compress_level: 1,
    zip_limit_tolerance: 0.2,
    status_heartbeat: 5,
  }),
});

/** cluster.json `fault_injection` when absent. */
export const DEFAULT_FAULT_INJECTION = false;

/**
 * `<cluster>` values when an element is absent, kept as text like Wazuh's
 * cluster_default_configuration so they go through the same validation as written
 * values (the `nodes` default and the empty key are deliberately invalid).
 */
export const CLUSTER_DEFAULTS = Object.freeze({
  disabled: 'no',
  name: 'wazuh',
  node_name: 'node01',
  node_type: 'master',
  key: '',
  port: '1516',
  bind_addr: '0.0.0.0',
  hidden: 'no',
  // A worker holds one link; a few more cover reconnects and several nodes behind one NAT.
  handshakes_per_source: '16',
  nodes: Object.freeze(['NODE_IP']),
});
