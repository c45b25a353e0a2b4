/**
 * docker-compose.yml describes the lab: Redis, a master and two workers, each node
 * starting scripts that exist. Where a compose tool is installed, it must accept it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const file = path.join(repo, 'docker-compose.yml');

interface Service { command?: string[]; image?: string; build?: string }

test('docker-compose - the lab has redis, a master and two workers that run our scripts', () => {
  const doc = parse(fs.readFileSync(file, 'utf8'), { merge: true }) as { services: Record<string, Service> };
  assert.deepEqual(Object.keys(doc.services).sort(), ['master', 'redis', 'worker1', 'worker2']);
  const types: string[] = [];
  for (const name of ['master', 'worker1', 'worker2']) {
    const cmd = (doc.services[name]?.command ?? []).join(' ');
    for (const script of cmd.matchAll(/dist\/scripts\/([\w-]+)\.js/g)) {
      assert.ok(fs.existsSync(path.join(repo, 'scripts', `${script[1]}.ts`)), `${name} runs missing script ${script[1]}`);
    }
    types.push(/--type (\w+)/.exec(cmd)?.[1] ?? '?');
    assert.match(cmd, /--redis-url redis:\/\/redis:6379/);
  }
  assert.deepEqual(types, ['master', 'worker', 'worker']);
  assert.ok(fs.existsSync(path.join(repo, 'Dockerfile')));
});

test('docker-compose - an installed compose tool accepts the file', () => {
  const installed = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { encoding: 'utf8' }).status === 0;
  const tools: [string, string[]][] = [];
  if (installed('docker', ['compose', 'version'])) tools.push(['docker', ['compose', '-f', file, 'config', '-q']]);
  if (installed('docker-compose', ['version'])) tools.push(['docker-compose', ['-f', file, 'config', '-q']]);
  for (const [cmd, args] of tools) {
    const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: repo });
    assert.equal(r.status, 0, `${cmd} config: ${r.stderr}`);
  }
});
