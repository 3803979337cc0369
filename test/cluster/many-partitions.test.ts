// Proves a 3-node cluster takes a topic of 1,000 partitions (RF 3) in its stride: every ISR fills
// up, every partition keeps its preferred leader, no broker is fenced and no internal connection is
// cut. Each new partition starts with ISR = [leader], so each leader asks the controller for ~670
// ISR changes at once. Before, the controller committed them one Raft entry at a time (~20 a
// second), heartbeats queued behind them until brokers were fenced, the internal listener closed
// the links carrying more than 256 requests, and a minute later all 1,000 partitions still had an
// ISR of one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { withClient } from '../../src/cli/client/tide-client.ts';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { createTopicsCodec } from '../../src/protocol/messages/create-topics.ts';
import { partitionsOn, stopTestCluster } from '../helpers/cluster-topics.ts';
import { bootstrapOf, eventually, startCluster, type TideCluster } from '../helpers/tide-cluster.ts';

const topic = 'wide';
const partitions = 1000;

let cluster: TideCluster;

before(async () => {
  cluster = await startCluster(3, ['--offsets.topic.num.partitions', '1']);
});

after(() => stopTestCluster(cluster));

test('1,000 new partitions on 3 nodes: every ISR fills, no leader moves, no broker is fenced', async () => {
  // Placed by the controller, as a user's CreateTopics is; retried while the brokers unfence.
  await eventually(`topic ${topic} created`, 30_000, () => withClient(bootstrapOf(cluster, 1), async (client) => {
    const { body } = await client.bootstrap.send(createTopicsCodec, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [{ name: 'min.insync.replicas', value: '2' }] }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const errorCode = body.topics[0]!.errorCode;
    return errorCode === ErrorCode.NONE || errorCode === ErrorCode.TOPIC_ALREADY_EXISTS ? true : undefined;
  }));

  const view = await eventually('every ISR has 3 members', 90_000, async () => {
    const current = await partitionsOn(cluster, 1, topic);
    return current.length === partitions && current.every((partition) => partition.isr.length === 3) ? current : undefined;
  }, 1000);
  assert.deepEqual(view.filter((partition) => partition.leader !== partition.replicas[0]).map((partition) => partition.partition), [], 'every partition on its preferred leader');
  for (const node of cluster.nodes.values()) {
    const log = await readFile(node.process!.logPath, 'utf8');
    for (const trouble of ['brokers fenced', 'too many requests in flight', 'cannot reach the active controller']) {
      assert.ok(!log.includes(trouble), `node ${node.nodeId} logged "${trouble}"`);
    }
  }
});
