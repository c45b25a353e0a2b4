/**
 * The merged.mg format: the manager's builder (renderMerged) against the agent's
 * reader (unmerge), and the multigroup header.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import test from 'node:test';
import { agentConfSumOf, multigroupHash, renderMerged, unmerge, type SharedFile } from '../../../protocols/merged-mg.js';

test('merged-mg - renderMerged: header, size lines, content without extra newline', () => {
  const out = renderMerged('g', [
    { name: 'b.txt', content: Buffer.from('no newline') },
    { name: 'a.txt', content: Buffer.from('é\n') },
    { name: 'empty', content: Buffer.alloc(0) },
  ]);
  assert.equal(out.toString('utf8'), '#g\n!10 b.txt\nno newline!3 a.txt\né\n!0 empty\n');
});

test('merged-mg - multigroupHash is the first 8 hex chars of sha256 of the CSV', () => {
  assert.equal(multigroupHash('a,b'), createHash('sha256').update('a,b').digest('hex').slice(0, 8));
  assert.match(multigroupHash('default,web'), /^[0-9a-f]{8}$/);
  assert.notEqual(multigroupHash('a,b'), multigroupHash('b,a'));
});

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** Contents that a naive line reader would get wrong: entry-like lines, no final newline, empty, binary-ish. */
const FILES: SharedFile[] = [
  { name: 'ar.conf', content: Buffer.from('restart-wazuh0 - restart-wazuh - 0\n') },
  { name: 'agent.conf', content: Buffer.from('<agent_config>\n!12 fake.txt\n#not a header\n</agent_config>\n') },
  { name: 'no-newline.txt', content: Buffer.from('last line without newline') },
  { name: 'empty', content: Buffer.alloc(0) },
  { name: 'sub/dir/file.txt', content: Buffer.from([0x01, 0x0a, 0x21, 0x0a, 0xff, 0xfe]) },
  { name: 'name with spaces.txt', content: Buffer.from('\n\n\n') },
];

test('merged-mg round trip - what renderMerged builds, unmerge splits into the same files in the same order', () => {
  const merged = renderMerged('default', FILES);
  const files = unmerge(merged);
  assert.deepEqual(files.map((f) => f.name), FILES.map((f) => f.name));
  files.forEach((f, i) => assert.deepEqual(f.content, FILES[i]?.content, f.name));
  // and back: the same files under the same header give the same bytes
  assert.deepEqual(renderMerged('default', files), merged);
});

test('merged-mg round trip - a multigroup bundle, and a bundle without files', () => {
  const merged = renderMerged(multigroupHash('default,web'), FILES.slice(1, 3));
  assert.deepEqual(unmerge(merged), FILES.slice(1, 3).map((f) => ({ name: f.name, content: f.content })));
  assert.deepEqual(unmerge(renderMerged('g', [])), []);
});

test("merged-mg round trip - the agent's agent.conf checksum is the md5 of the file the manager put in", () => {
  const conf = FILES[1] as SharedFile;
  assert.equal(agentConfSumOf(renderMerged('g', FILES)), md5(conf.content));
  assert.equal(agentConfSumOf(renderMerged('g', FILES.filter((f) => f.name !== 'agent.conf'))), null);
});
