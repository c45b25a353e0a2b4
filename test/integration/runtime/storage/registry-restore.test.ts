import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepareRegistry } from '../../../../runtime/storage/registry-restore.js';
import { RegistryDb } from '../../../../runtime/storage/registry-db.js';
import { createLogger, MemorySink } from '../../../../runtime/logger.js';

const KEY1 = 'a'.repeat(64);
const KEY2 = 'b'.repeat(64);

function home(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterd-restore-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(root: string, rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text);
}

test('registry restore - a Wazuh home becomes the registry on first start, and only then', async (t) => {
  const h = home(t);
  write(h, 'etc/client.keys', [
    `001 web01 any ${KEY1}`,
    `002 db01 10.0.0.2 ${KEY2}`,
    `003 !retired any ${'c'.repeat(64)}`,
    '# a comment',
    `004 bad name here`,
    '',
  ].join('\n'));
  write(h, 'etc/shared/dbs/agent.conf', '<agent_config/>\n');
  write(h, 'queue/agent-groups/002', 'dbs,nosuch\n');
  write(h, 'queue/agents-timestamp', '001 web01 any 2024-01-02 03:04:05\n');
  const sink = new MemorySink();
  let db = RegistryDb.open(path.join(h, 'queue', 'db', 'global.db'), 'master');
  t.after(() => db.close());
  await prepareRegistry(h, db, createLogger(sink, 'Master'));

  assert.deepEqual(db.agents().map((a) => [a.id, a.name, a.ip, a.groups]), [
    [1, 'web01', 'any', ['default']],
    [2, 'db01', '10.0.0.2', ['dbs']],
  ]);
  assert.equal(db.agentById(1)?.registeredAt, Date.parse('2024-01-02T03:04:05Z'));
  assert.equal(db.nextAgentId(), 4, 'the removed agent 003 keeps its id');
  assert.deepEqual(db.groups().map((g) => g.name), ['dbs', 'default']);
  assert.equal(fs.readFileSync(path.join(h, 'etc/client.keys'), 'utf8'), `001 web01 any ${KEY1}\n002 db01 10.0.0.2 ${KEY2}\n`);
  assert.ok(fs.existsSync(path.join(h, 'etc/shared/default/agent.conf')));
  assert.ok(fs.existsSync(path.join(h, 'etc/shared/dbs/merged.mg')));
  assert.ok(fs.existsSync(path.join(h, 'etc/shared/default/merged.mg')));
  const log = sink.lines.join('\n');
  assert.match(log, /client\.keys:5: .*not imported/);
  assert.match(log, /Registry created from the existing home: 2 agents/);

  // A later start takes the registry as it is, and rewrites client.keys from it.
  write(h, 'etc/client.keys', `009 intruder any ${KEY1}\n`);
  const before = db.revision;
  db.close();
  db = RegistryDb.open(path.join(h, 'queue', 'db', 'global.db'), 'master');
  await prepareRegistry(h, db, createLogger(new MemorySink(), 'Master'));
  assert.equal(db.revision, before);
  assert.equal(fs.readFileSync(path.join(h, 'etc/client.keys'), 'utf8'), `001 web01 any ${KEY1}\n002 db01 10.0.0.2 ${KEY2}\n`);
});

test('registry restore - an empty home gets the default group and an empty client.keys', async (t) => {
  const h = home(t);
  const db = RegistryDb.open(path.join(h, 'queue', 'db', 'global.db'), 'master');
  t.after(() => db.close());
  await prepareRegistry(h, db, createLogger(new MemorySink(), 'Master'));
  assert.deepEqual(db.groups(), [{ name: 'default', agents: 0 }]);
  assert.equal(fs.readFileSync(path.join(h, 'etc/client.keys'), 'utf8'), '');
  assert.equal(fs.statSync(path.join(h, 'etc/client.keys')).mode & 0o777, 0o640);
});
