/**
 * The optional DIR/etc/cluster.json: partial overrides of Wazuh's cluster.json
 * `intervals`, plus our `fault_injection` switch. Strict: unknown keys are errors.
 */
import fs from 'node:fs/promises';
import { z } from 'zod';
import { DEFAULT_FAULT_INJECTION, DEFAULT_INTERVALS } from './defaults.js';
import type { ConfigIssue, Intervals } from './types.js';

export interface ClusterJson {
  readonly intervals: Intervals;
  readonly faultInjection: boolean;
}

export type ClusterJsonResult =
  | { readonly ok: true; readonly value: ClusterJson }
  | { readonly ok: false; readonly errors: readonly ConfigIssue[] };

const object = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape, { error: 'Expected an object' });
const seconds = z
  .number({ error: 'Expected a number of seconds' })
  .positive({ error: 'Expected a number of seconds greater than 0' })
  .optional();
const count = z
  .number({ error: 'Expected a positive integer' })
  .int({ error: 'Expected a positive integer' })
  .positive({ error: 'Expected a positive integer' })
  .optional();
const bytes = z
  .number({ error: 'Expected a positive integer number of bytes' })
  .int({ error: 'Expected a positive integer number of bytes' })
  .positive({ error: 'Expected a positive integer number of bytes' })
  .optional();

const ClusterJsonSchema = object({
  intervals: object({
    worker: object({
      sync_integrity: seconds,
      sync_agent_info: seconds,
      sync_agent_groups: seconds,
      timeout_agent_groups: seconds,
      keep_alive: seconds,
      connection_retry: seconds,
      max_failed_keepalive_attempts: count,
      agent_groups_mismatch_limit: count,
    }).optional(),
    master: object({
      process_pool_size: count,
      sync_agent_groups: seconds,
      timeout_extra_valid: seconds,
      recalculate_integrity: seconds,
      timeout_agent_info: seconds,
      agent_group_start_delay: seconds,
      check_worker_lastkeepalive: seconds,
      max_allowed_time_without_keepalive: seconds,
      max_locked_integrity_time: seconds,
    }).optional(),
    communication: object({
      timeout_cluster_request: seconds,
      timeout_dapi_request: seconds,
      timeout_receiving_file: seconds,
      max_zip_size: bytes,
      min_zip_size: bytes,
      compress_level: z
        .number({ error: 'Expected an integer from 0 to 9' })
        .int({ error: 'Expected an integer from 0 to 9' })
        .min(0, { error: 'Expected an integer from 0 to 9' })
        .max(9, { error: 'Expected an integer from 0 to 9' })
        .optional(),
      zip_limit_tolerance: z
        .number({ error: 'Expected a number from 0 to 1' })
        .min(0, { error: 'Expected a number from 0 to 1' })
        .max(1, { error: 'Expected a number from 0 to 1' })
        .optional(),
      status_heartbeat: seconds,
    }).optional(),
  }).optional(),
  fault_injection: z.boolean({ error: 'Expected true or false' }).optional(),
});

/** Compiles the text of a cluster.json; `file` only labels the issues. */
export function compileClusterJson(text: string, file: string): ClusterJsonResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { ok: false, errors: [jsonSyntaxIssue(text, file, err)] };
  }
  const parsed = ClusterJsonSchema.safeParse(data);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.flatMap((i) => schemaIssues(i, data, file)) };
  }
  const intervals = parsed.data.intervals;
  return {
    ok: true,
    value: {
      intervals: {
        worker: { ...DEFAULT_INTERVALS.worker, ...intervals?.worker },
        master: { ...DEFAULT_INTERVALS.master, ...intervals?.master },
        communication: { ...DEFAULT_INTERVALS.communication, ...intervals?.communication },
      },
      faultInjection: parsed.data.fault_injection ?? DEFAULT_FAULT_INJECTION,
    },
  };
}

/** Reads and compiles `file`; an absent file means all defaults. */
export async function readClusterJson(file: string): Promise<ClusterJsonResult> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return compileClusterJson('{}', file);
    const message = `Error reading cluster configuration: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, errors: [{ file, element: '', message }] };
  }
  return compileClusterJson(text, file);
}

function jsonSyntaxIssue(text: string, file: string, err: unknown): ConfigIssue {
  const cause = err instanceof Error ? err.message : String(err);
  const where = syntaxErrorLocation(text, cause);
  // Our own "(line, column)" replaces the one newer V8 versions append.
  const reason = cause.replace(/\s*\(line \d+ column \d+\)/, '');
  if (where === null) return { file, element: '', message: `Invalid JSON: ${reason}` };
  const message = `Invalid JSON: ${reason} (line ${where.line}, column ${where.column})`;
  return { file, line: where.line, element: '', message };
}

/** V8 reports a character offset ("at position N"); newer ones also give line and column. */
function syntaxErrorLocation(text: string, cause: string): { line: number; column: number } | null {
  const lineColumn = /\(line (\d+) column (\d+)\)/.exec(cause);
  if (lineColumn !== null) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const position = /at position (\d+)/.exec(cause);
  if (position === null) return null;
  const before = text.slice(0, Number(position[1]));
  const lastNewline = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: before.length - lastNewline };
}

/** cluster.json with every key at its default: lists the keys allowed at a path. */
const DEFAULTS_DOCUMENT = { intervals: DEFAULT_INTERVALS, fault_injection: DEFAULT_FAULT_INJECTION };

function jsonPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const key of path) {
    value = typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;
  }
  return value;
}

/** One issue per offending key, named by its dotted JSON path. */
function schemaIssues(issue: z.core.$ZodIssue, data: unknown, file: string): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    const parent = valueAt(DEFAULTS_DOCUMENT, issue.path);
    const allowed = typeof parent === 'object' && parent !== null ? Object.keys(parent).join(', ') : '';
    return issue.keys.map((key) => ({
      file,
      element: jsonPath([...issue.path, key]),
      message: `Unknown key '${key}'. Allowed keys: ${allowed}`,
    }));
  }
  const found = JSON.stringify(valueAt(data, issue.path));
  return [{ file, element: jsonPath(issue.path), message: `${issue.message} (found ${found})` }];
}
