/** Compiled configuration of one clusterd node: every default resolved, frozen. */

export type NodeType = 'master' | 'worker';

/** The `<cluster>` block of ossec.conf after validation. */
export interface ClusterConfig {
  readonly name: string;
  readonly nodeName: string;
  readonly nodeType: NodeType;
  /** Exactly 32 word characters; never logged. */
  readonly key: string;
  readonly port: number;
  readonly bindAddr: string;
  /** `<nodes><node>` entries as written; only the first is used. */
  readonly nodes: readonly string[];
  /** nodes[0]: where a worker connects, and the address the master reports for itself. */
  readonly masterAddress: string;
  readonly hidden: boolean;
  /** `<redis_url>`: redis://host:port[/db], rediss://..., or unix:///path/to.sock; null = no Redis. */
  readonly redisUrl: string | null;
  /** `<ssl_ca>`, `<ssl_cert>`, `<ssl_key>`: mutual TLS on cluster links (paths, relative ones from the home); null = key proof only. */
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string } | null;
  /** `<handshakes_per_source>`: connections from one address still in the handshake; 0 = no limit. */
  readonly handshakesPerSource: number;
}

/** Intervals and limits in seconds (bytes for sizes), shaped like Wazuh's cluster.json `intervals`. */
export interface Intervals {
  readonly worker: {
    readonly sync_integrity: number;
    readonly sync_agent_info: number;
    readonly sync_agent_groups: number;
    readonly timeout_agent_groups: number;
    readonly keep_alive: number;
    readonly connection_retry: number;
    readonly max_failed_keepalive_attempts: number;
    readonly agent_groups_mismatch_limit: number;
  };
  readonly master: {
    readonly process_pool_size: number;
    readonly sync_agent_groups: number;
    readonly timeout_extra_valid: number;
    readonly recalculate_integrity: number;
    readonly timeout_agent_info: number;
    readonly agent_group_start_delay: number;
    readonly check_worker_lastkeepalive: number;
    readonly max_allowed_time_without_keepalive: number;
    readonly max_locked_integrity_time: number;
  };
  readonly communication: {
    readonly timeout_cluster_request: number;
    readonly timeout_dapi_request: number;
    readonly timeout_receiving_file: number;
    readonly max_zip_size: number;
    readonly min_zip_size: number;
    readonly compress_level: number;
    readonly zip_limit_tolerance: number;
    /** Ours: period of the node status heartbeat published to Redis (the hash TTL is 3x this). */
    readonly status_heartbeat: number;
  };
}

export interface NodeConfig {
  readonly home: string;
  readonly ossecConfPath: string;
  readonly cluster: ClusterConfig;
  readonly intervals: Intervals;
  readonly agents: AgentServices;
  /** cluster.json `fault_injection`: enables the test-only control commands (crash an actor). */
  readonly faultInjection: boolean;
}

/** One problem in a configuration file: where and what. */
export interface ConfigIssue {
  readonly file: string;
  /** 1-based line, when known. */
  readonly line?: number;
  /** Element path, e.g. `ossec_config/cluster/port`, or JSON path `intervals.worker.keep_alive`. */
  readonly element: string;
  readonly message: string;
}

export type ConfigLoadResult =
  | { readonly kind: 'enabled'; readonly config: NodeConfig; readonly warnings: readonly ConfigIssue[] }
  | { readonly kind: 'disabled'; readonly reason: 'absent' | 'disabled'; readonly warnings: readonly ConfigIssue[] }
  | { readonly kind: 'invalid'; readonly errors: readonly ConfigIssue[]; readonly warnings: readonly ConfigIssue[] };

/** `<auth>`: the enrolment service (wazuh-authd), and `<remote>`'s address for agent services. */
export interface AgentServices {
  readonly auth: {
    /** `<auth><disabled>yes` turns the enrolment service off on this node. */
    readonly disabled: boolean;
    readonly port: number;
    readonly usePassword: boolean;
    /** Store the connection's source address when the agent sends no IP. */
    readonly useSourceIp: boolean;
    /** `<handshakes_per_source>`: open enrolment connections from one address; 0 = no limit. */
    readonly handshakesPerSource: number;
    /** Replacement of an existing agent with the same name or IP (Wazuh's `<force>`). */
    readonly force: {
      readonly enabled: boolean;
      readonly keyMismatch: boolean;
      readonly disconnectedTimeSeconds: number;
      readonly afterRegistrationTimeSeconds: number;
    };
  };
  /** `<remote><local_ip>`: where agent services listen; null = every address. */
  readonly localIp: string | null;
  /** The secure `<remote>` block: agent messaging. */
  readonly remote: {
    readonly port: number;
    readonly tcp: boolean;
    readonly udp: boolean;
    /** `<handshakes_per_source>`: TCP connections from one address that have not yet brought a message; 0 = no limit. */
    readonly handshakesPerSource: number;
  };
  /** `<global><agents_disconnection_time>`: an agent silent this long is disconnected. */
  readonly disconnectionTimeSeconds: number;
}
