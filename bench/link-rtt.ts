/**
 * Request/reply round trips over the cluster link (framing, msgpack, schema checks,
 * correlation) against a baseline of raw TCP echo round trips on the same loopback,
 * measured in the same run. Prints one JSON line.
 */
import net from 'node:net';
import { FramedLink } from '../runtime/transport/framed-link.js';
import { ClusterCatalogue, CLUSTER_MAX_FRAME_BYTES, type ClusterBodies } from '../protocols/cluster-messages.js';

const ROUNDS = Number(process.env['ROUNDS'] ?? 20_000);

async function pair(): Promise<{ a: net.Socket; b: net.Socket; close(): void }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const a = net.connect(port, '127.0.0.1');
  await new Promise((r) => a.once('connect', r));
  const b = await accepted;
  a.setNoDelay(true);
  b.setNoDelay(true);
  return { a, b, close: () => { a.destroy(); b.destroy(); server.close(); } };
}

async function rawEcho(): Promise<number> {
  const { a, b, close } = await pair();
  b.on('data', (d) => b.write(d));
  const msg = Buffer.alloc(40, 1);
  const t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    const got = new Promise((r) => a.once('data', r));
    a.write(msg);
    await got;
  }
  const ms = performance.now() - t0;
  close();
  return ms;
}

async function linkKeepalive(): Promise<number> {
  const { a, b, close } = await pair();
  const opts = { catalogue: ClusterCatalogue, maxFrameBytes: CLUSTER_MAX_FRAME_BYTES, requestTimeoutMs: 5000 };
  const worker = new FramedLink<ClusterBodies>(a, opts);
  const master = new FramedLink<ClusterBodies>(b, opts);
  master.attach((f) => { if (f.type === 'keepalive') master.reply(f, 'keepalive-ack', { at: Date.now() }); });
  const t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) await worker.request('keepalive', { sentAt: Date.now() });
  const ms = performance.now() - t0;
  close();
  return ms;
}

// Warm up both paths, then measure.
await rawEcho();
await linkKeepalive();
const baselineMs = await rawEcho();
const linkMs = await linkKeepalive();
const usPer = (ms: number): number => Number(((ms * 1000) / ROUNDS).toFixed(2));
process.stdout.write(`${JSON.stringify({
  bench: 'link-rtt', rounds: ROUNDS,
  value: usPer(linkMs), unit: 'us/request',
  baseline: { name: 'raw TCP echo of 40 bytes', value: usPer(baselineMs), unit: 'us/round-trip' },
  ratio: Number((linkMs / baselineMs).toFixed(2)),
  requestsPerSecond: Math.round(ROUNDS / (linkMs / 1000)),
})}\n`);
