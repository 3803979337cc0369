// Proves the group administration APIs of a real `tide start` process: kafkajs admin describes,
// lists, reads, sets, resets and deletes groups and their offsets (DescribeGroups, ListGroups,
// OffsetFetch, OffsetCommit through setOffsets/resetOffsets, DeleteGroups with NON_EMPTY_GROUP
// while members remain); OffsetDelete (no kafkajs API) through raw requests, refused with
// GROUP_SUBSCRIBED_TO_TOPIC while the group consumes the topic; FindCoordinator v4 batched keys;
// and that clients can neither produce to __consumer_offsets nor auto-create it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { findCoordinatorCodec, defaultFindCoordinatorRequest } from '../../src/protocol/messages/find-coordinator.ts';
import { offsetDeleteCodec } from '../../src/protocol/messages/offset-delete.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';
import { waitFor } from './fixtures/group-test-helpers.ts';

const { Kafka, logLevel } = kafkajs;

const topic = 'groups-admin';
const groupId = 'groups-admin-group';

let node: TideProcess;
let kafka: InstanceType<typeof Kafka>;
let admin: ReturnType<InstanceType<typeof Kafka>['admin']>;

before(async () => {
  node = await startTide({ args: ['--group.initial.rebalance.delay.ms', '0', '--offsets.topic.num.partitions', '5'] });
  kafka = new Kafka({ clientId: 'groups-admin', brokers: [node.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 20 }, (_, index) => ({ value: `m${index}`, partition: index % 2 })) });
  await producer.disconnect();
});

after(async () => {
  await admin?.disconnect();
  const exit = await stopTide(node);
  assert.equal(exit.code, 0, 'tide exits 0 on SIGTERM');
  await removeDir(node.dataDir);
});

async function offsetsOf(group: string, topicName: string): Promise<string[]> {
  const [fetched] = await admin.fetchOffsets({ groupId: group, topics: [topicName] });
  return fetched!.partitions.sort((a, b) => a.partition - b.partition).map((partition) => partition.offset);
}

async function offsetDelete(group: string, topicName: string, partitions: number[]) {
  const client = await RawClient.connect(node.kafkaPort);
  try {
    return await client.send(offsetDeleteCodec, 0, { groupId: group, topics: [{ name: topicName, partitions: partitions.map((partitionIndex) => ({ partitionIndex })) }] });
  } finally {
    client.close();
  }
}

test('a running group is described, listed, its offsets fetched, and it cannot be deleted', async () => {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 500 });
  let consumed = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async () => void consumed++ });
    await waitFor('20 messages consumed', () => consumed >= 20, 30_000);
    await waitFor('offsets committed', async () => (await offsetsOf(groupId, topic)).join() === '10,10', 30_000);

    const { groups } = await admin.describeGroups([groupId]);
    assert.equal(groups[0]!.state, 'Stable');
    assert.equal(groups[0]!.protocolType, 'consumer');
    assert.equal(groups[0]!.protocol, 'RoundRobinAssigner');
    assert.equal(groups[0]!.members.length, 1);
    assert.equal(groups[0]!.members[0]!.clientId, 'groups-admin');
    assert.match(groups[0]!.members[0]!.clientHost, /^\/127\.0\.0\.1$/);

    const listed = await admin.listGroups();
    assert.deepEqual(listed.groups.filter((group) => group.groupId === groupId), [{ groupId, protocolType: 'consumer' }]);

    await assert.rejects(admin.deleteGroups([groupId]), (error: any) => {
      assert.equal(error.groups?.[0]?.error?.type, 'NON_EMPTY_GROUP');
      return true;
    });
    const refused = await offsetDelete(groupId, topic, [0]);
    assert.equal(refused.errorCode, ErrorCode.NONE);
    assert.equal(refused.topics[0]!.partitions[0]!.errorCode, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
  } finally {
    await consumer.disconnect();
  }
  const { groups } = await admin.describeGroups([groupId]);
  assert.equal(groups[0]!.state, 'Empty', 'the group is empty once its only member left');
});

test('offsets of an empty group are set, reset and deleted; then the group is deleted', async () => {
  await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '3' }, { partition: 1, offset: '7' }] });
  assert.deepEqual(await offsetsOf(groupId, topic), ['3', '7']);

  await admin.resetOffsets({ groupId, topic, earliest: true });
  // kafkajs commits the "earliest" sentinel itself (-2) and resolves it when a consumer starts.
  assert.deepEqual(await offsetsOf(groupId, topic), ['-2', '-2']);

  const deleted = await offsetDelete(groupId, topic, [1]);
  assert.equal(deleted.errorCode, ErrorCode.NONE);
  assert.deepEqual(deleted.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]), [[topic, [[1, ErrorCode.NONE]]]]);
  assert.deepEqual(await offsetsOf(groupId, topic), ['-2', '-1'], 'partition 1 has no committed offset any more');

  const results = await admin.deleteGroups([groupId]);
  assert.deepEqual(results.map((result) => [result.groupId, result.errorCode]), [[groupId, ErrorCode.NONE]]);
  assert.deepEqual(await offsetsOf(groupId, topic), ['-1', '-1'], 'deleting a group deletes its offsets');
  const listed = await admin.listGroups();
  assert.ok(!listed.groups.some((group) => group.groupId === groupId), 'a deleted group is not listed');
  const { groups } = await admin.describeGroups([groupId]);
  assert.equal(groups[0]!.state, 'Dead', 'an unknown group is described as Dead');
  const again = await offsetDelete(groupId, topic, [0]);
  assert.equal(again.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
});

test('FindCoordinator v4 answers batched keys; transaction keys are not served yet', async () => {
  const client = await RawClient.connect(node.kafkaPort);
  try {
    const groups = await client.send(findCoordinatorCodec, 4, { ...defaultFindCoordinatorRequest(), keyType: 0, coordinatorKeys: ['a', 'b', 'c'] });
    assert.deepEqual(groups.coordinators.map((c) => [c.key, c.errorCode, c.host, c.port]), ['a', 'b', 'c'].map((key) => [key, ErrorCode.NONE, '127.0.0.1', node.kafkaPort]));
    const single = await client.send(findCoordinatorCodec, 2, { ...defaultFindCoordinatorRequest(), key: 'a', keyType: 0 });
    assert.deepEqual([single.errorCode, single.host, single.port], [ErrorCode.NONE, '127.0.0.1', node.kafkaPort]);
    const txn = await client.send(findCoordinatorCodec, 2, { ...defaultFindCoordinatorRequest(), key: 'tx', keyType: 1 });
    assert.equal(txn.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  } finally {
    client.close();
  }
});

test('__consumer_offsets is internal: clients cannot produce to it', async () => {
  const metadata = await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] });
  assert.equal(metadata.topics[0]!.partitions.length, 5, 'offsets.topic.num.partitions is honoured');
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  try {
    await assert.rejects(producer.send({ topic: '__consumer_offsets', messages: [{ value: 'forged' }] }), (error: any) => {
      assert.match(String(error.type ?? error.cause?.type ?? error.message), /INVALID_TOPIC_EXCEPTION|internal topic/);
      return true;
    });
  } finally {
    await producer.disconnect();
  }
});
