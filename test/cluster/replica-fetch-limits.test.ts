// Proves a follower catches up when more of its partitions are behind than one fetch answer holds
// (3 real nodes; 8 partitions on nodes 1 and 2, led by 1; node 2 stopped while ~6 MB of 1 MB
// batches go into each): restarted, node 2 rejoins the ISR of all 8 with the leader's log end, and
// after SIGKILL of node 1 it leads them with every acknowledged record once, in order. Before, the
// leader answered 4 MiB for each of the first four partitions and then at least one batch for every
// later one, the answer passed what the follower takes (fetch.max.bytes + 1 MiB), and the follower
// asked again for the same answer for ever: the partitions never came back into the ISR.
// And a batch larger than a fetch answer's limit (20 MiB, on a topic whose max.message.bytes allows
// it) reaches every replica: acks=all acknowledges it and the ISR stays whole. Before, the follower
// refused any answer above fetch.max.bytes + 1 MiB, so such a batch never left its leader.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { defaultProduceRequest, produceCodec } from '../../src/protocol/messages/produce.ts';
import { buildRecordBatchSync } from '../../src/protocol/records.ts';
import { createTopic, partitionOn, partitionsOn, stopTestCluster } from '../helpers/cluster-topics.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { readPartition } from '../helpers/read-all.ts';
import { eventually, killNode, startCluster, startNode, stopNode, type TideCluster } from '../helpers/tide-cluster.ts';

const topic = 'wide';
const partitions = 8;
const batchesPerPartition = 6;
const recordsPerBatch = 900;
const messageMaxBytes = 1_048_588;
const value = (partition: number, batch: number, index: number) => `${partition}-${batch}-${index}-`.padEnd(1100, 'x');

let cluster: TideCluster;

before(async () => {
  cluster = await startCluster(3, ['--offsets.topic.num.partitions', '1', '--min.insync.replicas', '1']);
});

after(() => stopTestCluster(cluster));

const details = (nodeId: number) => partitionsOn(cluster, nodeId, topic);

test('a follower behind on more partitions than one fetch answer carries catches up on all of them', async () => {
  await createTopic(cluster, topic, [1, 2], { partitions });
  await eventually('every partition led by node 1 with ISR [1, 2]', 30_000, async () => {
    const view = await details(1);
    return view.length === partitions && view.every((detail) => detail.leader === 1 && detail.isr.length === 2) ? true : undefined;
  });

  assert.equal((await stopNode(cluster, 2)).code, 0);
  await eventually('node 2 left every ISR', 30_000, async () => ((await details(1)).every((detail) => detail.isr.join() === '1') ? true : undefined));

  const client = await RawClient.connect(cluster.nodes.get(1)!.process!.kafkaPort);
  try {
    for (let batch = 0; batch < batchesPerPartition; batch++) {
      for (let partition = 0; partition < partitions; partition++) {
        const records = buildRecordBatchSync({ records: Array.from({ length: recordsPerBatch }, (_, index) => ({ value: value(partition, batch, index) })) });
        assert.ok(records.length > 900_000 && records.length < messageMaxBytes, `batch of ${records.length} bytes`);
        const response = await client.send(produceCodec, 9, { ...defaultProduceRequest(), transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
        assert.equal(response.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
      }
    }
  } finally {
    client.close();
  }
  const leaderView = await details(1);
  const written = batchesPerPartition * recordsPerBatch;
  leaderView.forEach((detail, partition) => assert.equal(detail.logEndOffset, written, `partition ${partition} on the leader`));

  await startNode(cluster, 2);
  await eventually('node 2 back in every ISR with the leader\'s log end', 60_000, async () => {
    const [leader, follower] = await Promise.all([details(1), details(2)]);
    return leader.every((detail) => detail.isr.length === 2) && follower.every((detail) => detail.logEndOffset === written) ? true : undefined;
  });

  await killNode(cluster, 1);
  await eventually('node 2 leads every partition', 30_000, async () => ((await details(2)).every((detail) => detail.leader === 2) ? true : undefined));
  for (let partition = 0; partition < partitions; partition++) {
    const { records, highWatermark } = await readPartition(cluster.nodes.get(2)!.process!.kafkaPort, topic, partition);
    assert.equal(highWatermark, written, `partition ${partition} HW on the new leader`);
    const expected: string[] = [];
    for (let batch = 0; batch < batchesPerPartition; batch++) for (let index = 0; index < recordsPerBatch; index++) expected.push(value(partition, batch, index));
    assert.deepEqual(records.map((record) => record.value?.toString()), expected, `partition ${partition}: every acknowledged record once, in order`);
    assert.deepEqual(records.map((record) => record.offset), expected.map((_, offset) => offset));
  }
});

test('a batch larger than one fetch answer (20 MiB) is replicated to every ISR member and acknowledged', async () => {
  const big = 'big-batches';
  await createTopic(cluster, big, [3, 2], { via: 3, configs: { 'max.message.bytes': String(24 * 1024 * 1024), 'min.insync.replicas': '2' } });
  const partitionOf = (nodeId: number) => partitionOn(cluster, nodeId, big);
  await eventually('ISR [3, 2]', 30_000, async () => ((await partitionOf(3)).isr.length === 2 ? true : undefined));

  const records = buildRecordBatchSync({ records: Array.from({ length: 20 }, (_, index) => ({ value: `${index}-`.padEnd(1024 * 1024, 'y') })) });
  assert.ok(records.length > 20 * 1024 * 1024, `one batch of ${records.length} bytes`);
  const client = await RawClient.connect(cluster.nodes.get(3)!.process!.kafkaPort);
  try {
    const response = await client.send(produceCodec, 9, { ...defaultProduceRequest(), transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: big, partitionData: [{ index: 0, records }] }] }, 60_000);
    assert.equal(response.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE, 'acks=all acknowledged');
  } finally {
    client.close();
  }
  const [leader, follower] = await Promise.all([partitionOf(3), partitionOf(2)]);
  assert.deepEqual([leader.isr.length, leader.highWatermark, follower.logEndOffset], [2, 20, 20]);
});
