// Proves, on a real 3-node cluster (RF 3, min.insync.replicas 2), what a failover must not take
// back or move backwards:
// - a topic's min.insync.replicas raised above its ISR with AlterConfigs refuses the very next
//   acks=all produce with NOT_ENOUGH_REPLICAS, in the same leader epoch (no leader change needed);
// - every node writes its replicas' high watermarks to replication-offset-checkpoint;
// - a new leader persists its leader epoch in leader-epoch-checkpoint before writing anything, and
//   ListOffsets(latest) never goes backwards across the failover;
// - an offset commit is answered only once the __consumer_offsets ISR has it: committed with kafkajs,
//   it survives SIGKILL of the coordinator; with the coordinator's followers frozen (SIGSTOP) it
//   is not acknowledged (without the fix it was), and after the coordinator is killed the new one
//   never returns less than the last acknowledged offset.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { offsetCommitCodec } from '../../src/protocol/messages/offset-commit.ts';
import { defaultProduceRequest, produceCodec } from '../../src/protocol/messages/produce.ts';
import { buildRecordBatchSync } from '../../src/protocol/records.ts';
import { HighWatermarkSampler } from '../fault/workload.ts';
import { createTopic, partitionOn, stopTestCluster, waitForPartition, type PartitionView } from '../helpers/cluster-topics.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { bootstrapOf, eventually, killNode, liveNodes, startCluster, startNode, type TideCluster } from '../helpers/tide-cluster.ts';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;
const offsetsTopic = '__consumer_offsets';
let cluster: TideCluster;

before(async () => {
  cluster = await startCluster(3, [
    // The commit timeout stays well below the lag limit: frozen followers must not be shrunk out
    // of the ISR (with ISR = [coordinator], killing it would leave the partition offline).
    '--replica.lag.time.max.ms', '15000', '--offsets.topic.num.partitions', '1', '--min.insync.replicas', '2',
    '--offsets.commit.timeout.ms', '2000', '--replica.high.watermark.checkpoint.interval.ms', '200',
    // Leadership stays where failover put it, so the test knows which node coordinates.
    '--auto.leader.rebalance.enable', 'false',
  ]);
});

after(() => stopTestCluster(cluster));

async function topicId(nodeId: number, topic: string): Promise<string> {
  const port = cluster.nodes.get(nodeId)!.process!.httpPort;
  const body = await (await fetch(`http://127.0.0.1:${port}/api/v1/topics/${topic}`)).json() as { topicId?: string; id?: string };
  const id = body.topicId ?? body.id;
  if (typeof id !== 'string') throw new Error(`no topic id for ${topic} in ${JSON.stringify(body).slice(0, 200)}`);
  return id;
}

function kafkaFor(nodeIds: number[]): InstanceType<typeof Kafka> {
  return new Kafka({
    clientId: 'commit-durability', brokers: nodeIds.map((id) => bootstrapOf(cluster, id)), logLevel: logLevel.NOTHING,
    retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

async function rawProduce(nodeId: number, topic: string, acks: number, value: string): Promise<number> {
  const client = await RawClient.connect(cluster.nodes.get(nodeId)!.process!.kafkaPort);
  try {
    const records = buildRecordBatchSync({ records: [{ value }] });
    const response = await client.send(produceCodec, 9, { ...defaultProduceRequest(), transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
    return response.responses[0]!.partitionResponses[0]!.errorCode;
  } finally {
    client.close();
  }
}

async function restartIfDown(nodeId: number): Promise<void> {
  if (!liveNodes(cluster).some((node) => node.nodeId === nodeId)) await startNode(cluster, nodeId);
}

test('min.insync.replicas raised above the ISR refuses the next acks=all produce without a leader change', async () => {
  const topic = 'live-min-isr';
  await createTopic(cluster, topic, [1, 2, 3]);
  const before = await waitForPartition(cluster, topic, (view) => view.isr.length === 3, 40_000);
  assert.equal(await rawProduce(before.leader, topic, -1, 'first'), ErrorCode.NONE);
  const admin = kafkaFor([1, 2, 3]).admin();
  await admin.connect();
  try {
    const setMinIsr = (value: string) => admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'min.insync.replicas', value }] }] });
    await setMinIsr('4');
    // The change reaches the leader through the metadata log: the next produce after that is refused.
    const refused = await eventually('acks=all refused', 20_000, async () => {
      const code = await rawProduce(before.leader, topic, -1, 'refused');
      return code === ErrorCode.NOT_ENOUGH_REPLICAS ? code : undefined;
    }, 100);
    assert.equal(refused, ErrorCode.NOT_ENOUGH_REPLICAS);
    assert.equal(await rawProduce(before.leader, topic, 1, 'acks-1'), ErrorCode.NONE, 'acks=1 ignores the minimum');
    const during = await partitionOn(cluster, before.leader, topic);
    assert.deepEqual([during.leader, during.leaderEpoch], [before.leader, before.leaderEpoch], 'same leader, same leader epoch');
    await setMinIsr('2');
    await eventually('acks=all accepted again', 20_000, async () => (await rawProduce(before.leader, topic, -1, 'again')) === ErrorCode.NONE ? true : undefined, 100);
  } finally {
    await admin.disconnect();
  }
});

test('high watermarks are checkpointed; a new leader persists its epoch before any write and ListOffsets never goes back', async () => {
  const topic = 'epoch-first';
  await createTopic(cluster, topic, [1, 2, 3]);
  const start = await waitForPartition(cluster, topic, (view) => view.isr.length === 3, 40_000);
  for (let index = 0; index < 5; index++) assert.equal(await rawProduce(start.leader, topic, -1, `m-${index}`), ErrorCode.NONE);
  const id = await topicId(start.leader, topic);
  // Every replica learns HW 5 (followers from their next fetch) and checkpoints it.
  for (const nodeId of [1, 2, 3]) {
    await eventually(`node ${nodeId} checkpointed HW 5`, 20_000, async () => {
      const text = await readFile(join(cluster.nodes.get(nodeId)!.dataDir, 'replication-offset-checkpoint'), 'utf8').catch(() => '');
      return text.split('\n').includes(`${id} 0 5`) ? true : undefined;
    });
  }

  const sampler = new HighWatermarkSampler([1, 2, 3].map((nodeId) => cluster.nodes.get(nodeId)!.process!.kafkaPort), topic, 1, 50);
  sampler.start();
  try {
    await killNode(cluster, start.leader);
    const next = await waitForPartition(cluster, topic, (view) => view.leader !== start.leader && view.leaderEpoch > start.leaderEpoch, 40_000);
    // Nothing was produced since: the epoch is on disk all the same, starting at the log end.
    const epochFile = join(cluster.nodes.get(next.leader)!.dataDir, `${topic}-0`, 'leader-epoch-checkpoint');
    const lines = await eventually('the new epoch is in leader-epoch-checkpoint', 10_000, async () => {
      const text = await readFile(epochFile, 'utf8');
      return text.split('\n').includes(`${next.leaderEpoch} 5`) ? text : undefined;
    });
    assert.ok(lines.split('\n').includes(`${next.leaderEpoch} 5`));
    assert.equal((await partitionOn(cluster, next.leader, topic)).logEndOffset, 5, 'nothing written in the new epoch');
    await restartIfDown(start.leader);
    await waitForPartition(cluster, topic, (view) => view.isr.length === 3, 60_000);
    assert.equal(await rawProduce(next.leader, topic, -1, 'after'), ErrorCode.NONE);
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await sampler.stop();
  }
  const values = sampler.samples.map((sample) => sample.highWatermark);
  assert.ok(values.length > 0, 'ListOffsets answered at least once');
  for (let index = 1; index < values.length; index++) assert.ok(values[index]! >= values[index - 1]!, `ListOffsets went back: ${values.join(',')}`);
  assert.equal(values[0], 5);
  assert.equal(values.at(-1), 6);
});

/** The newest view (highest leader epoch) any live node has of __consumer_offsets-0, once its ISR is whole. */
async function coordinatorView(): Promise<PartitionView> {
  return eventually('__consumer_offsets-0 with a full ISR', 60_000, async () => {
    const views = await Promise.all(liveNodes(cluster).map((node) => partitionOn(cluster, node.nodeId, offsetsTopic).catch(() => null)));
    const newest = views.filter((view): view is PartitionView => view !== null).sort((a, b) => b.leaderEpoch - a.leaderEpoch)[0];
    return newest && newest.leader >= 0 && newest.isr.length === 3 ? newest : undefined;
  });
}

async function rawCommit(nodeId: number, groupId: string, topic: string, offset: number): Promise<number> {
  const client = await RawClient.connect(cluster.nodes.get(nodeId)!.process!.kafkaPort);
  try {
    const response = await client.send(offsetCommitCodec, 8, {
      groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: '' }] }],
    }, 20_000);
    return response.topics[0]!.partitions[0]!.errorCode;
  } finally {
    client.close();
  }
}

async function fetchCommitted(groupId: string, topic: string): Promise<string> {
  const admin = kafkaFor(liveNodes(cluster).map((node) => node.nodeId)).admin();
  await admin.connect();
  try {
    const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return fetched!.partitions.find((partition) => partition.partition === 0)!.offset;
  } finally {
    await admin.disconnect();
  }
}

test('offset commits are answered once replicated: a coordinator failover returns the acknowledged offsets', async () => {
  const topic = 'committed';
  const groupId = 'durable-group';
  await createTopic(cluster, topic, [1, 2, 3]);
  await waitForPartition(cluster, topic, (view) => view.isr.length === 3, 40_000);
  // The group's coordinator: the leader of the only __consumer_offsets partition.
  await eventually('the offsets topic exists', 30_000, async () => (await fetchCommitted('warm-up', topic)) !== undefined ? true : undefined, 500);
  const first = await coordinatorView();

  // kafkajs commits; the coordinator dies at once; the new one has the commit.
  const admin = kafkaFor([1, 2, 3]).admin();
  await admin.connect();
  try {
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '7' }] });
  } finally {
    await admin.disconnect();
  }
  await killNode(cluster, first.leader);
  await waitForPartition(cluster, offsetsTopic, (view) => view.leader !== first.leader && view.leaderEpoch > first.leaderEpoch, 40_000);
  assert.equal(await eventually('committed offset from the new coordinator', 30_000, () => fetchCommitted(groupId, topic), 300), '7');
  await restartIfDown(first.leader);

  // The coordinator's followers freeze: a commit cannot reach them, so it must not be acknowledged.
  // (Another group: kafkajs' setOffsets ran a consumer in the first, which a failover can bring
  // back as a member until its session expires, and a member-less commit is then refused.)
  const frozenGroup = 'frozen-group';
  // A just-restarted node may still show an old leader: the coordinator is whoever takes the commit.
  const second = await eventually('a commit to the current coordinator', 40_000, async () => {
    const view = await coordinatorView();
    return (await rawCommit(view.leader, frozenGroup, topic, 7)) === ErrorCode.NONE ? view : undefined;
  }, 200);
  const followers = [1, 2, 3].filter((id) => id !== second.leader);
  const pids = followers.map((id) => cluster.nodes.get(id)!.process!.pid);
  let frozenAnswer: number;
  try {
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    frozenAnswer = await rawCommit(second.leader, frozenGroup, topic, 9);
    await killNode(cluster, second.leader);
  } finally {
    for (const pid of pids) process.kill(pid, 'SIGCONT');
  }
  assert.ok(
    frozenAnswer === ErrorCode.COORDINATOR_NOT_AVAILABLE || frozenAnswer === ErrorCode.REQUEST_TIMED_OUT || frozenAnswer === ErrorCode.NOT_COORDINATOR,
    `a commit the ISR does not have is not acknowledged (got error ${frozenAnswer})`,
  );
  await waitForPartition(cluster, offsetsTopic, (view) => view.leader !== second.leader && view.leaderEpoch > second.leaderEpoch, 60_000);
  // The unacknowledged 9 may still have reached a follower (a fetch answer already in its socket
  // when it froze): then it is committed now. What must never happen is an answer below 7.
  const afterFailover = await eventually('committed offset after the second failover', 30_000, () => fetchCommitted(frozenGroup, topic), 300);
  assert.ok(afterFailover === '7' || afterFailover === '9', `the new coordinator returns the acknowledged 7 (or the later 9), got ${afterFailover}`);
  await restartIfDown(second.leader);
  // With every replica back, commits are acknowledged again.
  await eventually('a commit with every replica back', 40_000, async () => {
    const view = await coordinatorView();
    return (await rawCommit(view.leader, frozenGroup, topic, 11)) === ErrorCode.NONE ? true : undefined;
  }, 200);
  assert.equal(await fetchCommitted(frozenGroup, topic), '11');
});
