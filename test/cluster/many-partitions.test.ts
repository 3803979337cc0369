// Proves a 3-node cluster takes a topic of 1,000 partitions (RF 3) in its stride: every ISR fills
// up, every partition keeps its preferred leader, no broker is fenced and no internal connection is
// cut. Each new partition starts with ISR = [leader], so each leader asks the controller for ~670
// ISR changes at once. Before, the controller committed them one Raft entry at a time (~20 a
// second), heartbeats queued behind them until brokers were fenced, the internal listener closed
// the links carrying more than 256 requests, and a minute later all 1,000 partitions still had an
// ISR of one. And a node leading a third of them stops cleanly on SIGTERM, also once restarted and
// given its leaderships back: they move, and the process exits. Before, after a restart, a follower
// connection opened while the node stopped kept the process alive until the leader dropped it as
// idle, 10 minutes later.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { createTopicsCodec } from '../../src/protocol/messages/create-topics.ts';
import { partitionsOn, stopTestCluster } from '../helpers/cluster-topics.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { eventually, startCluster, startNode, stopNode, type TideCluster } from '../helpers/tide-cluster.ts';

const topic = 'wide';
const partitions = 1000;

let cluster: TideCluster;

before(async () => {
  // Preferred leaders are given back within a second or so of rejoining (default: every 30 s).
  cluster = await startCluster(3, ['--offsets.topic.num.partitions', '1', '--leader.imbalance.check.interval.seconds', '1']);
});

after(() => stopTestCluster(cluster));

const logOf = (nodeId: number) => readFile(cluster.nodes.get(nodeId)!.process!.logPath, 'utf8');

test('1,000 new partitions on 3 nodes: every ISR fills, no leader moves, no broker is fenced', async () => {
  // Only what the nodes log from here on counts (start-up may wait for a controller).
  const logStarts = new Map(await Promise.all([...cluster.nodes.keys()].map(async (nodeId) => [nodeId, (await logOf(nodeId)).length] as const)));
  // Placed by the controller, as a user's CreateTopics is; retried while the brokers unfence. The
  // answer waits for this node to open 1,000 partitions (a few fsyncs each, three nodes on one
  // disk, other tests beside): long, on this machine, so the client waits long.
  await eventually(`topic ${topic} created`, 180_000, async () => {
    const client = await RawClient.connect(cluster.nodes.get(1)!.process!.kafkaPort);
    try {
      const response = await client.send(createTopicsCodec, 5, {
        topics: [{ name: topic, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [{ name: 'min.insync.replicas', value: '2' }] }],
        timeoutMs: 120_000,
        validateOnly: false,
      }, 150_000);
      const errorCode = response.topics[0]!.errorCode;
      return errorCode === ErrorCode.NONE || errorCode === ErrorCode.TOPIC_ALREADY_EXISTS ? true : undefined;
    } finally {
      client.close();
    }
  }, 1000);

  const view = await eventually('every ISR has 3 members', 90_000, async () => {
    const current = await partitionsOn(cluster, 1, topic);
    return current.length === partitions && current.every((partition) => partition.isr.length === 3) ? current : undefined;
  }, 1000);
  assert.deepEqual(view.filter((partition) => partition.leader !== partition.replicas[0]).map((partition) => partition.partition), [], 'every partition on its preferred leader');
  for (const [nodeId, start] of logStarts) {
    const log = (await logOf(nodeId)).slice(start);
    for (const trouble of ['brokers fenced', 'too many requests in flight', 'cannot reach the active controller']) {
      assert.ok(!log.includes(trouble), `node ${nodeId} logged "${trouble}"`);
    }
  }
});

test('SIGTERM of a node leading a third of them, fresh or after a restart: leaderships move, the process exits by itself', async () => {
  const ledBy = async (nodeId: number) => (await partitionsOn(cluster, 1, topic)).filter((partition) => partition.leader === nodeId).length;
  for (const round of ['as created', 'restarted and given its leaderships back']) {
    const led = await ledBy(2);
    assert.ok(led > 250, `${round}: node 2 leads ${led} partitions`);
    assert.deepEqual(await stopNode(cluster, 2), { code: 0, signal: null }, `${round}: exited by itself within 20 s (not killed)`);
    assert.doesNotMatch(await logOf(2), /still running after the node stopped/, `${round}: nothing left open once stopped`);
    const after = await partitionsOn(cluster, 1, topic);
    assert.deepEqual(after.filter((partition) => partition.leader === 2 || partition.leader < 0).map((partition) => partition.partition), [], `${round}: every leadership moved to a live node`);
    await startNode(cluster, 2);
    await eventually('node 2 back in every ISR and leading its preferred partitions', 120_000, async () => {
      const current = await partitionsOn(cluster, 1, topic);
      return current.every((partition) => partition.isr.length === 3 && partition.leader === partition.replicas[0]) ? true : undefined;
    }, 1000);
  }
});
