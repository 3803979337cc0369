// What the cluster tests share about single-partition topics on a real TideCluster: create one
// with an explicit assignment, read partition 0 as a node's HTTP API reports it, poll that view
// until a condition holds, and stop the cluster afterwards (KEEP_CLUSTER_DATA=1 keeps its data and
// logs for a post-mortem). Every wait takes its timeout from the caller: the tests differ on purpose.
import { withClient } from '../../src/cli/client/tide-client.ts';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { createTopicsCodec } from '../../src/protocol/messages/create-topics.ts';
import { bootstrapOf, eventually, liveNodes, stopCluster, type TideCluster } from './tide-cluster.ts';

/** Partition 0 of a topic as one node sees it (GET /api/v1/topics/<topic>, partitionDetails[0]). */
export interface PartitionView {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  logStartOffset: number | null;
  highWatermark: number | null;
  logEndOffset: number | null;
}

export async function partitionOn(cluster: TideCluster, nodeId: number, topic: string): Promise<PartitionView> {
  return (await partitionsOn(cluster, nodeId, topic))[0]!;
}

/** Every partition of a topic as one node sees it, in partition order. */
export async function partitionsOn(cluster: TideCluster, nodeId: number, topic: string): Promise<PartitionView[]> {
  const port = cluster.nodes.get(nodeId)!.process!.httpPort;
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/topics/${topic}`);
  if (!response.ok) throw new Error(`GET topic ${topic} on node ${nodeId}: ${response.status}`);
  const body = await response.json() as { partitionDetails: PartitionView[] };
  return body.partitionDetails;
}

export interface CreateTopicOptions {
  /** Topic configs, e.g. { 'unclean.leader.election.enable': 'true' }. */
  configs?: Record<string, string>;
  /** The node to send CreateTopics to; the first live node when not given. */
  via?: number;
  /** Partitions, each on `replicas` (default 1). */
  partitions?: number;
}

/**
 * Creates `name` with one partition (or `options.partitions`) on `replicas` (the first is the preferred leader), retrying
 * for up to 30 s while the cluster settles; a topic that already exists counts as created (a
 * retry after a lost answer).
 */
export async function createTopic(cluster: TideCluster, name: string, replicas: number[], options: CreateTopicOptions = {}): Promise<void> {
  const configs = Object.entries(options.configs ?? {}).map(([key, value]) => ({ name: key, value }));
  await eventually(`topic ${name} created`, 30_000, () => withClient(bootstrapOf(cluster, options.via ?? liveNodes(cluster)[0]!.nodeId), async (client) => {
    const { body } = await client.bootstrap.send(createTopicsCodec, {
      topics: [{ name, numPartitions: -1, replicationFactor: -1, assignments: Array.from({ length: options.partitions ?? 1 }, (_, partitionIndex) => ({ partitionIndex, brokerIds: replicas })), configs }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const errorCode = body.topics[0]!.errorCode;
    return errorCode === ErrorCode.NONE || errorCode === ErrorCode.TOPIC_ALREADY_EXISTS ? true : undefined;
  }));
}

function pollView(cluster: TideCluster, viaNode: number, topic: string, description: string, condition: (view: PartitionView) => boolean, timeoutMs: number): Promise<PartitionView> {
  return eventually(description, timeoutMs, async () => {
    const view = await partitionOn(cluster, viaNode, topic);
    return condition(view) ? view : undefined;
  });
}

/** The view from `viaNode` once `condition` holds. */
export function waitFor(cluster: TideCluster, viaNode: number, topic: string, what: string, condition: (view: PartitionView) => boolean, timeoutMs: number): Promise<PartitionView> {
  return pollView(cluster, viaNode, topic, `${topic}: ${what}`, condition, timeoutMs);
}

/** The view from `viaNode` once the partition has a leader and an ISR of exactly `size`. */
export function waitForIsr(cluster: TideCluster, topic: string, size: number, viaNode: number, timeoutMs: number): Promise<PartitionView> {
  return pollView(cluster, viaNode, topic, `ISR of ${topic} has ${size} members`, (view) => view.isr.length === size && view.leader >= 0, timeoutMs);
}

/** The first view, asking every live node in turn, that has a leader and satisfies `condition`. */
export function waitForPartition(cluster: TideCluster, topic: string, condition: (view: PartitionView) => boolean, timeoutMs: number): Promise<PartitionView> {
  return eventually(`${topic}: expected state`, timeoutMs, async () => {
    for (const node of liveNodes(cluster)) {
      const view = await partitionOn(cluster, node.nodeId, topic).catch(() => null);
      if (view && view.leader >= 0 && condition(view)) return view;
    }
    return undefined;
  });
}

/** For `after`: stops the cluster (if it started); with KEEP_CLUSTER_DATA=1 keeps its data and logs and says where. */
export async function stopTestCluster(cluster: TideCluster | undefined): Promise<void> {
  if (!cluster) return;
  const keep = process.env['KEEP_CLUSTER_DATA'] === '1';
  await stopCluster(cluster, keep);
  if (keep) console.log(`cluster data and logs kept in ${cluster.baseDir}`);
}
