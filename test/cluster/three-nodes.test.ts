// Proves a 3-node Tide cluster of real processes works as one: every node reports the same three
// brokers and the same active controller; a topic (RF=3, 6 partitions) created through node 2 shows
// on every node with replicas on three distinct brokers and two leaderships per node; kafkajs
// produces through any bootstrap node and the data reads back from each partition's leader;
// SIGKILL of the active controller hands control to another node and CreateTopics works again
// (the time is printed); the killed node restarts from its data dir and rejoins; a fourth node
// that is not a voter (an observer) receives the metadata.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { withClient } from '../../src/cli/client/tide-client.ts';
import { createTopicsCodec } from '../../src/protocol/messages/create-topics.ts';
import type { MetadataResponse } from '../../src/protocol/messages/metadata.ts';
import { readPartition } from '../helpers/read-all.ts';
import { addObserver, bootstrapOf, eventually, killNode, liveNodes, startCluster, startNode, stopCluster, type TideCluster } from '../helpers/tide-cluster.ts';

let cluster: TideCluster;

before(async () => {
  // Three __consumer_offsets partitions: placement balances leaders over all topics, so with one
  // offsets leadership per node the 6-partition topic gets exactly two per node, created before or after.
  cluster = await startCluster(3, ['--offsets.topic.num.partitions', '3']);
});

after(async () => {
  // KEEP_CLUSTER_DATA=1 keeps the data dirs and node logs for a look after a failure.
  if (cluster) await stopCluster(cluster, process.env.KEEP_CLUSTER_DATA === '1');
  if (cluster && process.env.KEEP_CLUSTER_DATA === '1') console.log(`cluster data and logs kept in ${cluster.baseDir}`);
});

function metadataOf(nodeId: number, topics: string[] | null = null): Promise<MetadataResponse> {
  return withClient(bootstrapOf(cluster, nodeId), (client) => client.metadata(topics));
}

/** Waits until every given node reports `brokerCount` brokers and one agreed controller; returns it. */
async function converged(nodeIds: number[], brokerCount: number): Promise<number> {
  return eventually(`nodes ${nodeIds.join(',')} agree on ${brokerCount} brokers and a controller`, 30_000, async () => {
    const views = await Promise.all(nodeIds.map((id) => metadataOf(id)));
    const controller = views[0]!.controllerId;
    const agreed = views.every((view) => view.brokers.length === brokerCount && view.controllerId === controller && controller > 0);
    return agreed ? controller : undefined;
  });
}

async function createTopicThrough(nodeId: number, name: string, partitions: number, replicationFactor: number): Promise<{ errorCode: number; errorMessage: string | null }> {
  return withClient(bootstrapOf(cluster, nodeId), async (client) => {
    const { body } = await client.bootstrap.send(createTopicsCodec, {
      topics: [{ name, numPartitions: partitions, replicationFactor, assignments: [], configs: [] }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const result = body.topics[0]!;
    return { errorCode: result.errorCode, errorMessage: result.errorMessage };
  });
}

test('all three nodes report three brokers and the same controller', async () => {
  const controller = await converged([1, 2, 3], 3);
  assert.ok([1, 2, 3].includes(controller));
  const view = await metadataOf(1);
  assert.deepEqual(view.brokers.map((broker) => broker.nodeId).sort(), [1, 2, 3]);
  for (const id of [2, 3]) assert.equal((await metadataOf(id)).clusterId, view.clusterId, 'one cluster id everywhere');
  // Every node exports the quorum's term and exactly one says it is the active controller.
  let active = 0;
  for (const id of [1, 2, 3]) {
    const text = await (await fetch(`http://127.0.0.1:${cluster.nodes.get(id)!.process!.httpPort}/metrics`)).text();
    const term = Number(/^tide_raft_term\{[^}]*\} (\d+)/m.exec(text)?.[1]);
    assert.ok(term >= 1, `node ${id} reports raft term ${term}`);
    active += Number(/^tide_controller_active\{[^}]*\} (\d+)/m.exec(text)?.[1]);
  }
  assert.equal(active, 1, 'one active controller');
});

test('a topic created through node 2 is placed over three brokers with balanced leaders and is visible everywhere', async () => {
  const created = await createTopicThrough(2, 'orders', 6, 3);
  assert.equal(created.errorCode, 0, created.errorMessage ?? '');
  // Answered after node 2 applied it; the others apply it within moments.
  const views = await eventually('every node sees orders', 10_000, async () => {
    const all = await Promise.all([1, 2, 3].map((id) => metadataOf(id, ['orders'])));
    return all.every((view) => view.topics[0]?.errorCode === 0 && view.topics[0].partitions.length === 6) ? all : undefined;
  });
  const partitions = views[0]!.topics[0]!.partitions;
  for (const view of views) assert.deepEqual(view.topics[0]!.partitions.map((p) => [p.partitionIndex, p.leaderId, p.replicaNodes]), partitions.map((p) => [p.partitionIndex, p.leaderId, p.replicaNodes]));
  const leadersPerNode = new Map<number, number>();
  for (const partition of partitions) {
    assert.equal(new Set(partition.replicaNodes).size, 3, `partition ${partition.partitionIndex} has replicas on three distinct brokers: ${partition.replicaNodes}`);
    assert.ok(partition.replicaNodes.includes(partition.leaderId));
    leadersPerNode.set(partition.leaderId, (leadersPerNode.get(partition.leaderId) ?? 0) + 1);
  }
  assert.deepEqual([...leadersPerNode.entries()].sort(), [[1, 2], [2, 2], [3, 2]], 'each node leads two partitions');
});

test('kafkajs produces through any bootstrap node and the data reads back from the leaders', async (t) => {
  for (const bootstrapNode of [1, 3]) {
    // Retries are logged so a failure shows what the broker answered. Idempotent: a retry after an
    // answer lost to a leadership move (e.g. a node briefly fenced on a loaded machine) may not
    // store the batch twice; a plain producer is at-least-once, as with Kafka.
    const kafka = new Kafka({
      clientId: `cluster-test-${bootstrapNode}`, brokers: [bootstrapOf(cluster, bootstrapNode)], retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
      logLevel: logLevel.ERROR, logCreator: () => ({ namespace, level, log }) => { if (level <= logLevel.ERROR) t.diagnostic(`kafkajs ${namespace}: ${log.message} ${JSON.stringify(log)}`); },
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      await producer.send({
        topic: 'orders',
        // acks=all: consumers read only below the high watermark, which an acks=1 answer may precede.
        acks: -1,
        messages: Array.from({ length: 6 }, (_, partition) => ({ partition, key: `k${partition}`, value: `via-${bootstrapNode}-p${partition}` })),
      });
    } finally {
      await producer.disconnect();
    }
  }
  const view = await metadataOf(2, ['orders']);
  for (const partition of view.topics[0]!.partitions) {
    const leaderPort = view.brokers.find((broker) => broker.nodeId === partition.leaderId)!.port;
    const { records } = await readPartition(leaderPort, 'orders', partition.partitionIndex);
    assert.deepEqual(records.map((record) => record.value?.toString()), [`via-1-p${partition.partitionIndex}`, `via-3-p${partition.partitionIndex}`]);
  }
});

test('SIGKILL of the active controller: another node takes over and CreateTopics works again; the node rejoins after a restart', async () => {
  const oldController = await converged([1, 2, 3], 3);
  const survivors = [1, 2, 3].filter((id) => id !== oldController);
  const killedAtMs = Date.now();
  await killNode(cluster, oldController);
  const attempts: string[] = [];
  await eventually('CreateTopics after the controller was killed', 30_000, async () => {
    const result = await createTopicThrough(survivors[0]!, 'after-failover', 2, 2);
    attempts.push(String(result.errorCode));
    return result.errorCode === 0 ? true : undefined;
  }, 100);
  const failoverMs = Date.now() - killedAtMs;
  console.log(`controller failover: node ${oldController} killed, CreateTopics succeeded after ${failoverMs} ms (attempt results ${attempts.join(',')})`);
  const newController = (await metadataOf(survivors[0]!)).controllerId;
  assert.ok(survivors.includes(newController), `controller ${newController} is a surviving node`);
  // The dead broker is fenced after its session: the survivors report two brokers.
  await converged(survivors, 2);

  await startNode(cluster, oldController);
  await converged([1, 2, 3], 3);
  const rejoined = await metadataOf(oldController, ['orders', 'after-failover']);
  assert.deepEqual(rejoined.topics.map((topic) => [topic.name, topic.errorCode, topic.partitions.length]), [['orders', 0, 6], ['after-failover', 0, 2]]);
});

test('a fourth node outside the voter list follows the metadata as an observer', async () => {
  await addObserver(cluster, 4);
  const controller = await converged([1, 2, 3, 4], 4);
  assert.ok([1, 2, 3].includes(controller), 'the observer is never the controller');
  const view = await metadataOf(4, ['orders']);
  assert.equal(view.topics[0]!.partitions.length, 6);
  assert.equal(liveNodes(cluster).length, 4);
});
