/**
 * Output shared by the operator CLIs: Wazuh's borderless tables for people, Wazuh's
 * API envelope for scripts (--json), and `ERROR: ...` with a non-zero exit.
 */
import Table from 'cli-table3';

/** Upper-case headers, columns as wide as their longest cell plus two, no borders. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const chars = Object.fromEntries(
    ['top', 'top-mid', 'top-left', 'top-right', 'bottom', 'bottom-mid', 'bottom-left', 'bottom-right', 'left', 'left-mid', 'mid', 'mid-mid', 'right', 'right-mid', 'middle']
      .map((k) => [k, '']),
  );
  const table = new Table({ head: headers.map((h) => h.toUpperCase()), chars, style: { head: [], border: [], 'padding-left': 0, 'padding-right': 2 } });
  for (const r of rows) table.push([...r]);
  return table.toString().split('\n').map((l) => l.trimEnd()).join('\n');
}

export interface AffectedItems<T> {
  readonly data: { readonly affected_items: readonly T[]; readonly total_affected_items: number; readonly total_failed_items: number; readonly failed_items: readonly unknown[] };
  readonly message: string;
  readonly error: number;
}

export function apiEnvelope<T>(items: readonly T[], message: string): AffectedItems<T> {
  return { data: { affected_items: items, total_affected_items: items.length, total_failed_items: 0, failed_items: [] }, message, error: 0 };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function fail(message: string, code = 1): never {
  process.stderr.write(`ERROR: ${message}\n`);
  process.exit(code);
}
