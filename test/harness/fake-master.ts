/**
 * A scripted master speaking the real cluster protocol over real TCP: it completes
 * the handshake with the cluster key, answers keepalives, and answers a worker's
 * integrity check with whatever plan and file chunks a test gives it. Used to send
 * a real worker process what no honest master would.
 */
import net from 'node:net';
import { FramedLink } from '../../runtime/transport/framed-link.js';
import { ClusterCatalogue, CLUSTER_MAX_FRAME_BYTES, type ClusterBodies, type ClusterBody, type ClusterFrame } from '../../protocols/cluster-messages.js';
import { MasterHandshake, admissionCheck } from '../../protocols/handshake.js';
import { CLUSTERD_VERSION } from '../../protocols/version.js';

export interface FakeMasterScript {
  /** The plan to answer the worker's next integrity check with (syncId is filled in). */
  plan(): Omit<ClusterBody<'integrity-plan'>, 'syncId'>;
  /** The chunks to stream once the worker accepted the plan. */
  chunks(syncId: string): Omit<ClusterBody<'sync-data'>, 'syncId'>[];
}

export class FakeMaster {
  readonly received: ClusterFrame[] = [];
  private server: net.Server | undefined;
  private readonly links = new Set<FramedLink<ClusterBodies>>();
  /** Links past the handshake: only these may be sent notices. */
  private readonly welcomed = new Set<FramedLink<ClusterBodies>>();
  private script: FakeMasterScript | null = null;
  private seq = 0;

  constructor(private readonly key: string, private readonly cluster = 'wazuh', readonly name = 'fake-master') {}

  async listen(): Promise<number> {
    const server = net.createServer((socket) => this.onConnection(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return (server.address() as net.AddressInfo).port;
  }

  /** Arms the next integrity check. */
  arm(script: FakeMasterScript): void {
    this.script = script;
  }

  /** Sends a manifest change notice to every connected worker; returns how many. */
  notify(): number {
    for (const l of this.welcomed) l.send('integrity-notice', { revision: ++this.seq, digest: 'f'.repeat(64) });
    return this.welcomed.size;
  }

  frames<T extends ClusterFrame['type']>(type: T): Extract<ClusterFrame, { type: T }>[] {
    return this.received.filter((f): f is Extract<ClusterFrame, { type: T }> => f.type === type);
  }

  async close(): Promise<void> {
    for (const l of this.links) l.close('test over');
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private onConnection(socket: net.Socket): void {
    const link = new FramedLink<ClusterBodies>(socket, { catalogue: ClusterCatalogue, maxFrameBytes: CLUSTER_MAX_FRAME_BYTES, requestTimeoutMs: 5000 });
    this.links.add(link);
    link.onClose(() => { this.links.delete(link); this.welcomed.delete(link); });
    void this.handshake(link).catch(() => link.close('handshake failed'));
  }

  private async handshake(link: FramedLink<ClusterBodies>): Promise<void> {
    const self = { cluster: this.cluster, node: this.name, version: CLUSTERD_VERSION, key: this.key };
    const hs = new MasterHandshake(self);
    const hello = await link.nextFrame(5000);
    if (hello.type !== 'hello') throw new Error('expected hello');
    const challenge = hs.onHello(hello.body);
    if ('reject' in challenge) throw new Error(challenge.detail);
    link.send('challenge', challenge.challenge);
    const proof = await link.nextFrame(5000);
    if (proof.type !== 'proof') throw new Error('expected proof');
    const proven = hs.onProof(proof.body);
    if ('reject' in proven || admissionCheck(self, proven.worker)) throw new Error('worker refused');
    link.send('welcome', { master: { name: this.name, type: 'master', version: CLUSTERD_VERSION, address: '127.0.0.1' }, address: '127.0.0.1' });
    link.attach((frame) => this.onFrame(link, frame));
    this.welcomed.add(link);
  }

  private onFrame(link: FramedLink<ClusterBodies>, frame: ClusterFrame): void {
    this.received.push(frame);
    switch (frame.type) {
      case 'keepalive':
        link.reply(frame, 'keepalive-ack', { at: Date.now() });
        return;
      case 'integrity-check': {
        const script = this.script;
        if (!script) {
          link.reply(frame, 'integrity-result', { status: 'in-sync', revision: 1, files: frame.body.files });
          return;
        }
        this.script = null;
        const syncId = (++this.seq).toString(16).padStart(16, '0');
        this.pending.set(syncId, script);
        link.reply(frame, 'integrity-plan', { syncId, ...script.plan() });
        return;
      }
      case 'sync-start': {
        const script = this.pending.get(frame.body.syncId);
        if (!script || !frame.body.accept) return;
        void (async () => {
          for (const c of script.chunks(frame.body.syncId)) await link.sendPaced('sync-data', { syncId: frame.body.syncId, ...c });
          link.send('sync-end', { syncId: frame.body.syncId, ok: true });
        })().catch(() => undefined);
        return;
      }
      default:
        return;
    }
  }

  private readonly pending = new Map<string, FakeMasterScript>();
}
