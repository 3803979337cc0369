// A 3-node Tide cluster for the benchmark, after test/helpers/tide-cluster.ts but with an
// environment for the nodes (the CPU profile hook) and the benchmark topic: RF=3 with the
// preferred leaders rotated over the nodes, ready once every partition has its full ISR and each
// leader serves a Fetch. Nodes log to files beside their data dirs; the logs are kept when asked.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createTopicsCodec } from '../src/protocol/messages/create-topics.ts';
import { defaultFetchRequest, defaultFetchRequestFetchPartition, defaultFetchRequestFetchTopic, fetchCodec } from '../src/protocol/messages/fetch.ts';
import { metadataCodec } from '../src/protocol/messages/metadata.ts';
import { ZERO_UUID } from '../src/protocol/reader.ts';
import { freePorts } from '../test/helpers/tide-cluster.ts';
import { makeTempDir, removeDir, startTide, stopTide, type TideProcess } from '../test/helpers/tide-process.ts';
import { BenchConnection } from './connection.ts';

const METADATA_VERSION = 12;
const READY_TIMEOUT_MS = 60_000;
const READY_RETRY_MS = 200;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const TOPIC_EXISTS = 36;

export interface BenchCluster {
  baseDir: string;
  nodes: Array<{ nodeId: number; process: TideProcess }>;
}

export interface BenchTopicLayout {
  /** Per partition, its leader's node id. */
  leaders: number[];
}

/** Starts `count` voters with ids 1..count. `args` go to every node. */
export async function startBenchCluster(count: number, args: string[], env: Record<string, string>): Promise<BenchCluster> {
  const baseDir = await makeTempDir('tide-bench-cluster-');
  const ports = await freePorts(count);
  const voters = ports.map((port, index) => `${index + 1}@127.0.0.1:${port}`).join(',');
  const started = await Promise.allSettled(ports.map((port, index) => startTide({
    dataDir: join(baseDir, `node-${index + 1}`),
    args: ['--node-id', String(index + 1), '--controllers', voters, '--controller-listen', `127.0.0.1:${port}`, ...args],
    env,
    startTimeoutMs: START_TIMEOUT_MS,
  })));
  const nodes = started.flatMap((result, index) => (result.status === 'fulfilled' ? [{ nodeId: index + 1, process: result.value }] : []));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    await stopBenchCluster({ baseDir, nodes }, true);
    throw new Error(`cluster did not start (logs in ${baseDir}): ${(failed.reason as Error).message}`);
  }
  return { baseDir, nodes };
}

/** SIGTERM to every node (so profiles get written); data removed, logs kept when `keepLogs`. */
export async function stopBenchCluster(cluster: BenchCluster, keepLogs: boolean): Promise<Array<number | null>> {
  const exits = await Promise.all(cluster.nodes.map((node) => stopTide(node.process, 'SIGTERM', STOP_TIMEOUT_MS)));
  if (keepLogs || exits.some((exit) => exit.code !== 0)) {
    for (const node of cluster.nodes) await rm(node.process.dataDir, { recursive: true, force: true });
  } else {
    await removeDir(cluster.baseDir);
  }
  return exits.map((exit) => exit.code);
}

export function portOf(cluster: BenchCluster, nodeId: number): number {
  const node = cluster.nodes.find((candidate) => candidate.nodeId === nodeId);
  if (!node) throw new Error(`no node ${nodeId}`);
  return node.process.kafkaPort;
}

/**
 * Creates `topic` with `partitions` partitions on every node (replicas rotated so that preferred
 * leaders spread evenly) and the given topic configs, then waits until each partition has a
 * leader and an ISR of all nodes, and each leader answers a Fetch for its partitions.
 */
export async function createBenchTopic(cluster: BenchCluster, topic: string, partitions: number, configs: Record<string, string>): Promise<BenchTopicLayout> {
  const ids = cluster.nodes.map((node) => node.nodeId);
  const connection = await BenchConnection.open(cluster.nodes[0]!.process.kafkaPort);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    let lastProblem = 'no attempt';
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      if (attempt > 0) await sleep(READY_RETRY_MS);
      const { body } = await connection.send(createTopicsCodec, 5, {
        topics: [{
          name: topic, numPartitions: -1, replicationFactor: -1,
          assignments: Array.from({ length: partitions }, (_, partition) => ({ partitionIndex: partition, brokerIds: ids.map((_, index) => ids[(partition + index) % ids.length]!) })),
          configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
        }],
        timeoutMs: 30_000,
        validateOnly: false,
      });
      const errorCode = body.topics[0]?.errorCode ?? -1;
      if (errorCode === 0 || errorCode === TOPIC_EXISTS) break;
      lastProblem = `CreateTopics error ${errorCode}: ${body.topics[0]?.errorMessage ?? ''}`;
      if (Date.now() + READY_RETRY_MS >= deadline) throw new Error(lastProblem);
    }
    for (let attempt = 0; ; attempt++) {
      const layout = await readyLayout(connection, topic, partitions, ids.length);
      if (typeof layout !== 'string' && await leadersServe(cluster, topic, layout)) return layout;
      lastProblem = typeof layout === 'string' ? layout : 'a leader does not serve Fetch yet';
      if (Date.now() >= deadline) throw new Error(`topic ${topic} not ready within ${READY_TIMEOUT_MS} ms: ${lastProblem}`);
      await sleep(READY_RETRY_MS);
    }
  } finally {
    connection.close();
  }
}

async function readyLayout(connection: BenchConnection, topic: string, partitions: number, replicas: number): Promise<BenchTopicLayout | string> {
  const { body } = await connection.send(metadataCodec, METADATA_VERSION, {
    topics: [{ name: topic, topicId: ZERO_UUID }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
  });
  const described = body.topics[0];
  if (!described || described.errorCode !== 0 || described.partitions.length !== partitions) return `metadata: topic error ${described?.errorCode}`;
  const leaders: number[] = [];
  for (const partition of [...described.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)) {
    if (partition.leaderId < 0 || partition.isrNodes.length !== replicas) return `partition ${partition.partitionIndex}: leader ${partition.leaderId}, ISR [${partition.isrNodes.join(',')}]`;
    leaders.push(partition.leaderId);
  }
  return { leaders };
}

async function leadersServe(cluster: BenchCluster, topic: string, layout: BenchTopicLayout): Promise<boolean> {
  for (const node of cluster.nodes) {
    const led = layout.leaders.flatMap((leader, partition) => (leader === node.nodeId ? [partition] : []));
    if (led.length === 0) continue;
    const connection = await BenchConnection.open(node.process.kafkaPort);
    try {
      const { body } = await connection.send(fetchCodec, 12, {
        ...defaultFetchRequest(),
        topics: [{ ...defaultFetchRequestFetchTopic(), topic, partitions: led.map((partition) => ({ ...defaultFetchRequestFetchPartition(), partition, partitionMaxBytes: 1024 })) }],
      });
      const answered = body.responses[0]?.partitions ?? [];
      if (body.errorCode !== 0 || answered.length !== led.length || answered.some((partition) => partition.errorCode !== 0)) return false;
    } finally {
      connection.close();
    }
  }
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
