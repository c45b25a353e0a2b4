#!/usr/bin/env node
/**
 * Actor inspector: the actor tree of a running node with each actor's figures
 * (messages handled, mailbox depth, restarts, last error, state summary).
 */
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { controlRequest } from '../runtime/control/control-client.js';
import type { ControlBody } from '../protocols/control-messages.js';
import { fail, formatTable, printJson } from './lib/output.js';

const argv = await yargs(hideBin(process.argv))
  .scriptName('actors')
  .usage('$0 --home DIR [--json] | --crash PATH')
  .option('home', { type: 'string', default: '/var/ossec', describe: 'Node home folder' })
  .option('json', { type: 'boolean', default: false, describe: 'Machine-readable output' })
  .option('crash', { type: 'string', describe: 'Test only: make the actor at PATH crash (needs fault_injection in etc/cluster.json)' })
  .strict()
  .fail((msg, err, y) => {
    process.stderr.write(`ERROR: ${msg ?? err?.message}\n\n${y.help()}\n`);
    process.exit(2);
  })
  .parseAsync();

type Figures = ControlBody<'actors'>['actors'][number];

const summaryText = (s: Figures['summary']): string =>
  Object.entries(s).map(([k, v]) => `${k}=${v === null ? '-' : String(v)}`).join(' ');

function treeRows(actors: readonly Figures[]): string[][] {
  const byParent = new Map<string | null, Figures[]>();
  for (const a of actors) byParent.set(a.parent, [...(byParent.get(a.parent) ?? []), a]);
  const rows: string[][] = [];
  const visit = (parent: string | null, depth: number): void => {
    for (const a of (byParent.get(parent) ?? []).sort((x, y) => x.path.localeCompare(y.path))) {
      rows.push([
        `${'  '.repeat(depth)}${a.name}`, a.status, String(a.handled), String(a.mailbox), String(a.restarts),
        a.lastError ? `${a.lastError.at} ${a.lastError.message}` : '-', summaryText(a.summary),
      ]);
      visit(a.path, depth + 1);
    }
  };
  visit(null, 0);
  return rows;
}

try {
  const home = path.resolve(argv.home);
  if (argv.crash !== undefined) {
    const answer = await controlRequest(home, 'crash-actor', { path: argv.crash });
    if (answer.type !== 'done') fail(answer.type === 'error' ? answer.body.message : `unexpected answer '${answer.type}'`);
    process.stdout.write(`${answer.body.detail}\n`);
  } else {
    const answer = await controlRequest(home, 'list-actors', {});
    if (answer.type !== 'actors') fail(answer.type === 'error' ? answer.body.message : `unexpected answer '${answer.type}'`);
    if (argv.json) printJson(answer.body);
    else {
      process.stdout.write(`Actors of node ${answer.body.node}:\n`);
      process.stdout.write(`${formatTable(['Actor', 'Status', 'Handled', 'Mailbox', 'Restarts', 'Last error', 'State'], treeRows(answer.body.actors))}\n`);
    }
  }
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
