// Proves a cluster with flush=async comes back from every node crashing at once (SIGKILL of all
// three, as a host crash that keeps the page cache, or kill -9 of every process): each partition's
// last in-sync replica stays in the ISR and leads with what it holds, so every partition (the
// consumer offsets' too) gets a leader again, every record acknowledged before the crash is served
// once and in order, a consumer group reads them all, and acks=all works again. Before, that
// replica reported the data a crash with flush=async may have cost it, left the ISR like the
// others, and every partition stayed offline until an unclean election: FindCoordinator answered
// COORDINATOR_NOT_AVAILABLE for good. The fault harness's `cluster-kill` and `cluster-power-loss`
// kinds run the same crash under load (docs/fault-testing.md).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { createTopic, partitionsOn, stopTestCluster } from '../helpers/cluster-topics.ts';
import { readPartition } from '../helpers/read-all.ts';
import { bootstrapOf, eventually, killNode, startCluster, startNode, type TideCluster } from '../helpers/tide-cluster.ts';

const topic = 'crashed';
const partitions = 3;
let cluster: TideCluster;

before(async () => {
  cluster = await startCluster(3, ['--log.flush', 'async', '--min.insync.replicas', '2', '--offsets.topic.num.partitions', '1']);
});

after(() => stopTestCluster(cluster));

function kafka(): Kafka {
  return new Kafka({ clientId: 'whole-cluster-crash', brokers: [1, 2, 3].map((id) => bootstrapOf(cluster, id)), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
}

async function produce(values: string[]): Promise<void> {
  const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (const value of values) {
      await producer.send({ topic, acks: -1, messages: [{ partition: Number(value.split('-')[1]) % partitions, value }] });
    }
  } finally {
    await producer.disconnect();
  }
}

test('every node SIGKILLed at once with flush=async: every partition leads again with every acknowledged record', async () => {
  await createTopic(cluster, topic, [1, 2, 3], { partitions });
  const before = Array.from({ length: 150 }, (_, n) => `v-${n}`);
  await produce(before);

  await Promise.all([1, 2, 3].map((id) => killNode(cluster, id)));
  await Promise.all([1, 2, 3].map((id) => startNode(cluster, id)));

  const views = await eventually('every partition of the topic has a leader again', 60_000, async () => {
    const seen = await partitionsOn(cluster, 1, topic);
    return seen.every((view) => view.leader >= 0) ? seen : undefined;
  });
  for (const view of views) {
    const expected = before.filter((value) => Number(value.split('-')[1]) % partitions === view.partition);
    const served = await eventually(`${topic}-${view.partition} served up to HW ${expected.length}`, 30_000, async () => {
      const leader = (await partitionsOn(cluster, 1, topic))[view.partition]!.leader;
      if (leader < 0) throw new Error(`${topic}-${view.partition} has no leader`);
      const read = await readPartition(cluster.nodes.get(leader)!.process!.kafkaPort, topic, view.partition).catch(() => undefined);
      return read !== undefined && read.highWatermark >= expected.length ? read : undefined;
    });
    assert.deepEqual(served.records.map((record) => record.value?.toString()), expected, `${topic}-${view.partition}: every acknowledged record, once, in order (SIGKILL keeps the page cache)`);
  }

  // The group coordinator's partition is back too: a consumer group reads everything.
  const consumer = kafka().consumer({ groupId: 'after-crash', sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const consumed = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { consumed.add(message.value?.toString() ?? ''); } });
    await eventually('the group consumed every record', 60_000, async () => (consumed.size >= before.length ? true : undefined));
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual([...consumed].sort(), [...before].sort());

  await produce(['v-1000', 'v-1001', 'v-1002']);
});
