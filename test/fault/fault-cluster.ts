// N real Tide nodes (every one a voter) whose every connection goes through one FaultProxy:
//   kafka-i  -> node i's Kafka listener (node i advertises this link, so clients and the other
//               nodes' replica fetchers reach it only here);
//   ctrl-i   -> node i's internal listener (every voter entry names this link).
// Node i opens its own connections from 127.0.1.i (outbound.local.host); clients connect from
// 127.0.0.1. A mode set on kafka-j / ctrl-j `from` 127.0.1.i therefore cuts exactly i -> j, which
// is what partitions are built from: isolate a node, split off a minority with the clients on
// either side, one-way cuts, black-holes, slow links. Observation (who leads, is the ISR full) uses
// each node's own HTTP port directly, never the proxy.
import { FaultProxy, type LinkMode } from '../../src/chaos/fault-proxy.ts';
import { freePorts } from '../helpers/tide-cluster.ts';
import { FaultNode, type FaultNodeOptions } from './fault-node.ts';
import { sleep } from './workload.ts';

export const CLIENT_HOST = '127.0.0.1';

export interface FaultClusterOptions {
  nodes: number;
  flush: 'sync' | 'async';
  powerLossMode?: boolean;
  /** A tmpfs of this size as every node's data dir (root only), for full-disk episodes. */
  tmpfsBytes?: number;
  /** Every node started with the fsync-failure and slow-disk hooks (FaultNode.diskHooks). */
  diskHooks?: boolean;
  extraArgs?: string[];
}

export interface PartitionView { partition: number; leader: number; leaderEpoch: number; isr: number[]; highWatermark: number | null; logEndOffset: number | null }

const HTTP_TIMEOUT_MS = 2000;

export class FaultCluster {
  readonly proxy = new FaultProxy();
  readonly nodes = new Map<number, FaultNode>();

  private constructor(readonly size: number) {}

  static async create(options: FaultClusterOptions): Promise<FaultCluster> {
    if (!(options.nodes >= 2 && options.nodes <= 9)) throw new RangeError('a fault cluster has 2..9 nodes');
    const cluster = new FaultCluster(options.nodes);
    try {
      const ids = Array.from({ length: options.nodes }, (_, index) => index + 1);
      const controllerPorts = await freePorts(options.nodes);
      const controllerLinks = new Map<number, number>();
      for (const id of ids) controllerLinks.set(id, await cluster.proxy.addLink(`ctrl-${id}`, controllerPorts[id - 1]!));
      const voters = ids.map((id) => `${id}@127.0.0.1:${controllerLinks.get(id)}`).join(',');
      for (const id of ids) {
        const nodeOptions: FaultNodeOptions = {
          flush: options.flush, proxy: cluster.proxy, linkName: `kafka-${id}`,
          ...(options.powerLossMode === true ? { powerLossMode: true } : {}),
          ...(options.tmpfsBytes !== undefined ? { tmpfsBytes: options.tmpfsBytes } : {}),
          ...(options.diskHooks === true ? { diskHooks: true } : {}),
          ...(options.extraArgs ? { extraArgs: options.extraArgs } : {}),
          cluster: { nodeId: id, voters, controllerPort: controllerPorts[id - 1]!, outboundHost: FaultCluster.hostOf(id) },
        };
        cluster.nodes.set(id, await FaultNode.create(nodeOptions));
      }
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /** The loopback address node `id` opens its connections from. */
  static hostOf(id: number): string {
    return `127.0.1.${id}`;
  }

  get ids(): number[] {
    return [...this.nodes.keys()];
  }

  node(id: number): FaultNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Every node's proxied Kafka address, comma-separated (what clients bootstrap from). */
  get bootstrap(): string {
    return this.ids.map((id) => this.node(id).bootstrap).join(',');
  }

  /** Proxied Kafka ports in node order. */
  get clientPorts(): number[] {
    return this.ids.map((id) => this.node(id).port);
  }

  async startAll(): Promise<void> {
    await Promise.all([...this.nodes.values()].filter((node) => !node.running).map((node) => node.start()));
  }

  /** SIGTERM every node (one after another, as an operator would), then start them all again. */
  async restartAll(): Promise<void> {
    for (const node of this.nodes.values()) if (node.running) await node.terminate(20_000);
    await this.startAll();
  }

  // ------------------------------------------------------------------ network faults

  /** Sets the mode of the connections `from` opens to `to` (both its Kafka and its internal listener). */
  setPath(from: number, to: number, mode: LinkMode): void {
    for (const link of [`kafka-${to}`, `ctrl-${to}`]) this.proxy.setMode(link, mode, { from: FaultCluster.hostOf(from) });
  }

  /** No traffic at all between `a` and `b` (`mode` cut or blackhole), in both directions. */
  sever(a: number, b: number, mode: 'cut' | 'blackhole' = 'cut'): void {
    this.setPath(a, b, { kind: mode });
    this.setPath(b, a, { kind: mode });
  }

  /** Nothing `from` sends reaches `to`; what `to` sends reaches `from`. */
  dropOneWay(from: number, to: number): void {
    this.setPath(from, to, { kind: 'one-way', drop: 'to-target' }); // requests on from's connections
    this.setPath(to, from, { kind: 'one-way', drop: 'to-client' }); // answers on to's connections
  }

  /** `id` cut off from every other node; clients still reach it. */
  isolate(id: number, mode: 'cut' | 'blackhole' = 'cut'): void {
    for (const other of this.ids) if (other !== id) this.sever(id, other, mode);
  }

  /** Clients' connections to node `id` only. */
  setClientPath(id: number, mode: LinkMode): void {
    this.proxy.setMode(`kafka-${id}`, mode, { from: CLIENT_HOST });
  }

  /** Every node-to-node and client link of `id` delayed (both directions of each connection). */
  slowNode(id: number, delayMs: number, jitterMs: number): void {
    for (const other of this.ids) {
      if (other === id) continue;
      this.setPath(id, other, { kind: 'delay', delayMs, jitterMs });
      this.setPath(other, id, { kind: 'delay', delayMs, jitterMs });
    }
  }

  heal(): void {
    this.proxy.healAll();
  }

  // ------------------------------------------------------------------ observation (direct HTTP)

  private async getJson<T>(id: number, path: string): Promise<T | null> {
    const port = this.node(id).httpPort;
    if (port === null) return null;
    try {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
      if (!response.ok) return null;
      return await response.json() as T;
    } catch {
      return null; // down, frozen or busy: the caller asks another node
    }
  }

  /** `id`'s view of the topic's partitions, or null if it cannot answer now. */
  async partitionsOn(id: number, topic: string): Promise<PartitionView[] | null> {
    const body = await this.getJson<{ partitionDetails: PartitionView[] }>(id, `/api/v1/topics/${encodeURIComponent(topic)}`);
    return body?.partitionDetails ?? null;
  }

  /** The leader of `topic`-`partition` as the first node that answers sees it; null if unknown. */
  async leaderOf(topic: string, partition: number): Promise<number | null> {
    for (const id of this.ids) {
      const views = await this.partitionsOn(id, topic);
      const leader = views?.find((view) => view.partition === partition)?.leader;
      if (leader !== undefined && leader >= 0) return leader;
    }
    return null;
  }

  /** The active controller as the first node that answers sees it; null if unknown. */
  async controllerId(): Promise<number | null> {
    for (const id of this.ids) {
      const body = await this.getJson<{ controllerId?: number }>(id, '/api/v1/cluster/quorum');
      if (body?.controllerId !== undefined && body.controllerId >= 0) return body.controllerId;
    }
    return null;
  }

  /**
   * Waits until every running node reports every partition of `topic` with a leader and all
   * `size` replicas in the ISR. Returns false after `timeoutMs` (the caller reports it; it is
   * unavailability, not a verdict).
   */
  async waitForFullIsr(topic: string, size: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      let healthy = true;
      for (const id of this.ids) {
        if (!this.node(id).running) return false;
        const views = await this.partitionsOn(id, topic);
        if (views === null || views.length === 0 || !views.every((view) => view.leader >= 0 && view.isr.length === size)) {
          healthy = false;
          break;
        }
      }
      if (healthy) return true;
      await sleep(250);
    }
    return false;
  }

  async destroy(keepFiles = false): Promise<void> {
    for (const node of this.nodes.values()) {
      // A frozen node must run again to die cleanly and release its files.
      if (node.running) node.process!.child.kill('SIGCONT');
      await node.destroy(keepFiles).catch(() => {});
    }
    await this.proxy.close();
  }
}
