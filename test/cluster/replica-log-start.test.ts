// Proves followers keep up with the leader's log start (3 real nodes):
// - A follower that was away while retention deleted everything it lacks (its log end is below the
//   leader's log start) empties its log, starts again at the leader's log start, catches up and
//   rejoins the ISR; after SIGKILL of the leader it serves every retained record at its offset.
//   Before, the leader answered OFFSET_OUT_OF_RANGE, the follower looked for a divergence, found
//   none and asked again from its own end, for ever: the replica never came back, silently.
// - DeleteRecords on the leader reaches the followers: after SIGKILL of the leader the new one
//   starts at the deleted-to offset. Before, the followers kept the deleted records and a failover
//   brought them back to consumers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { deleteRecordsCodec } from '../../src/protocol/messages/delete-records.ts';
import { defaultProduceRequest, produceCodec } from '../../src/protocol/messages/produce.ts';
import { buildRecordBatchSync } from '../../src/protocol/records.ts';
import { createTopic, partitionOn, stopTestCluster, waitFor } from '../helpers/cluster-topics.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { readPartition } from '../helpers/read-all.ts';
import { eventually, killNode, liveNodes, startCluster, startNode, stopNode, type TideCluster } from '../helpers/tide-cluster.ts';

const value = (offset: number) => `record-${offset}-`.padEnd(1000, 'r');

let cluster: TideCluster;

before(async () => {
  cluster = await startCluster(3, ['--offsets.topic.num.partitions', '1', '--min.insync.replicas', '1', '--log.retention.check.interval.ms', '300']);
});

after(() => stopTestCluster(cluster));

/** Every node runs (a test may have killed one). */
async function allNodesUp(): Promise<void> {
  const running = new Set(liveNodes(cluster).map((node) => node.nodeId));
  for (const nodeId of cluster.nodes.keys()) if (!running.has(nodeId)) await startNode(cluster, nodeId);
}

/** Produces records numbered from `from`, `perBatch` to a batch, acknowledged as `acks` asks. */
async function produce(nodeId: number, topic: string, from: number, count: number, perBatch: number, acks: number): Promise<void> {
  const client = await RawClient.connect(cluster.nodes.get(nodeId)!.process!.kafkaPort);
  try {
    for (let offset = from; offset < from + count; offset += perBatch) {
      const records = buildRecordBatchSync({ records: Array.from({ length: perBatch }, (_, index) => ({ value: value(offset + index) })) });
      const response = await client.send(produceCodec, 9, { ...defaultProduceRequest(), transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
      const answer = response.responses[0]!.partitionResponses[0]!;
      assert.equal(answer.errorCode, ErrorCode.NONE);
      assert.equal(Number(answer.baseOffset), offset, 'records land at the offsets they are numbered with');
    }
  } finally {
    client.close();
  }
}

/** The new leader serves exactly [start, end), each record at its offset. */
async function assertServes(nodeId: number, topic: string, start: number, end: number): Promise<void> {
  // Its view names it leader a moment before it serves as one (NOT_LEADER_OR_FOLLOWER meanwhile).
  const { records, highWatermark, logStartOffset } = await eventually(`node ${nodeId} serves ${topic}`, 30_000, () => readPartition(cluster.nodes.get(nodeId)!.process!.kafkaPort, topic, 0, { fromOffset: start }).catch(() => undefined));
  assert.deepEqual([logStartOffset, highWatermark], [start, end], `node ${nodeId}: log start and HW`);
  assert.deepEqual(records.map((record) => record.offset), Array.from({ length: end - start }, (_, index) => start + index));
  records.forEach((record) => assert.equal(record.value?.toString(), value(record.offset)));
}

test('a follower whose log ends below the leader\'s log start (retention) starts over there and rejoins the ISR', async () => {
  const topic = 'aged';
  await createTopic(cluster, topic, [1, 2], { configs: { 'segment.bytes': String(256 * 1024), 'retention.bytes': String(1024 * 1024) } });
  await waitFor(cluster, 1, topic, 'ISR [1, 2]', (view) => view.leader === 1 && view.isr.length === 2, 30_000);
  await produce(1, topic, 0, 200, 100, -1);

  assert.equal((await stopNode(cluster, 2)).code, 0);
  await waitFor(cluster, 1, topic, 'ISR [1]', (view) => view.isr.join() === '1', 30_000);
  const written = 4_000;
  await produce(1, topic, 200, written - 200, 100, 1);
  const trimmed = await waitFor(cluster, 1, topic, 'retention moved the log start past what node 2 has', (view) => (view.logStartOffset ?? 0) > 200, 30_000);

  await startNode(cluster, 2);
  await eventually('node 2 back in the ISR with the leader\'s log end', 60_000, async () => {
    const [leader, follower] = await Promise.all([partitionOn(cluster, 1, topic), partitionOn(cluster, 2, topic)]);
    return leader.isr.length === 2 && follower.logEndOffset === written ? true : undefined;
  });
  assert.equal((await partitionOn(cluster, 2, topic)).logStartOffset, trimmed.logStartOffset, 'node 2 starts where the leader does');

  await killNode(cluster, 1);
  await waitFor(cluster, 2, topic, 'node 2 leads', (view) => view.leader === 2, 30_000);
  await assertServes(2, topic, trimmed.logStartOffset!, written);
});

test('DeleteRecords on the leader reaches its followers: a failover does not bring deleted records back', async () => {
  await allNodesUp();
  const topic = 'trimmed';
  await createTopic(cluster, topic, [3, 2], { via: 3 });
  await waitFor(cluster, 3, topic, 'ISR [3, 2]', (view) => view.leader === 3 && view.isr.length === 2, 30_000);
  await produce(3, topic, 0, 100, 10, -1);

  const client = await RawClient.connect(cluster.nodes.get(3)!.process!.kafkaPort);
  try {
    const response = await client.send(deleteRecordsCodec, 2, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: 60 }] }], timeoutMs: 30_000 });
    const answer = response.topics[0]!.partitions[0]!;
    assert.deepEqual([answer.errorCode, Number(answer.lowWatermark)], [ErrorCode.NONE, 60]);
  } finally {
    client.close();
  }
  await waitFor(cluster, 2, topic, 'the follower\'s log starts at 60', (view) => view.logStartOffset === 60, 30_000);

  await killNode(cluster, 3);
  await waitFor(cluster, 2, topic, 'node 2 leads', (view) => view.leader === 2, 30_000);
  await assertServes(2, topic, 60, 100);
});

test('retention never deletes past the high watermark: records not yet on the ISR stay', async () => {
  await allNodesUp();
  const topic = 'held';
  await createTopic(cluster, topic, [1, 2], { configs: { 'segment.bytes': String(256 * 1024), 'retention.bytes': String(1024 * 1024) } });
  await waitFor(cluster, 1, topic, 'ISR [1, 2]', (view) => view.leader === 1 && view.isr.length === 2, 30_000);
  const follower = cluster.nodes.get(2)!.process!.child;
  follower.kill('SIGSTOP');
  try {
    const written = 4_000;
    await produce(1, topic, 0, written, 100, 1);
    // Node 2 stays in the ISR for replica.lag.time.max.ms (10 s), so the HW stays put meanwhile,
    // while retention (every 300 ms) finds ~4 MB against its 1 MiB.
    for (let probe = 0; probe < 10; probe++) {
      const view = await partitionOn(cluster, 1, topic);
      if (view.isr.length < 2) break;
      assert.ok((view.logStartOffset ?? 0) <= (view.highWatermark ?? 0), `log start ${view.logStartOffset} is past the HW ${view.highWatermark}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  } finally {
    follower.kill('SIGCONT');
  }
  await eventually('node 2 back in the ISR with the leader\'s log end', 60_000, async () => {
    const [leader, caughtUp] = await Promise.all([partitionOn(cluster, 1, topic), partitionOn(cluster, 2, topic)]);
    return leader.isr.length === 2 && caughtUp.logEndOffset === leader.logEndOffset ? true : undefined;
  });
});
