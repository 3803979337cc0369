// Proves consumer groups with @platformatic/kafka 1.35 (the flexible versions: FindCoordinator v4+
// batched keys, JoinGroup 9, SyncGroup 5, Heartbeat 4, OffsetCommit/OffsetFetch 8-9): two
// consumers in one group split a 6-partition topic three partitions each and consume everything;
// when one closes, the other takes over all six partitions and consumes what follows. Assignments
// are read back with DescribeGroups (kafkajs admin).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { Consumer, Producer, stringDeserializers, stringSerializers, type MessagesStream } from '@platformatic/kafka';
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';
import { waitFor } from './fixtures/group-test-helpers.ts';

const { AssignerProtocol, Kafka, logLevel } = kafkajs;

const topic = 'groups-plt';
const groupId = 'groups-plt-group';
const partitionCount = 6;

let node: TideProcess;
let admin: ReturnType<InstanceType<typeof Kafka>['admin']>;

before(async () => {
  node = await startTide({ args: ['--group.initial.rebalance.delay.ms', '0', '--offsets.topic.num.partitions', '10'] });
  admin = new Kafka({ clientId: 'groups-plt-admin', brokers: [node.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitionCount }] });
});

after(async () => {
  await admin?.disconnect();
  const exit = await stopTide(node);
  assert.equal(exit.code, 0, 'tide exits 0 on SIGTERM');
  await removeDir(node.dataDir);
});

async function assignmentSizes(): Promise<number[] | null> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0]!;
  if (group.state !== 'Stable') return null;
  const partitions = group.members.map((member) => [...(AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment[topic] ?? [])]);
  if (partitions.flat().sort((a, b) => a - b).join() !== '0,1,2,3,4,5') return null;
  return partitions.map((list) => list.length).sort();
}

test('two platformatic consumers share a topic; when one closes the other takes over', async () => {
  const producer = new Producer({ clientId: 'groups-plt-producer', bootstrapBrokers: [node.bootstrap], serializers: stringSerializers });
  const seen = new Map<string, number>();
  const consumers: Consumer<string, string, string, string>[] = [];
  const streams: MessagesStream<string, string, string, string>[] = [];
  const produceRound = async (round: string, count: number) => {
    const values = Array.from({ length: count }, (_, index) => `${round}-${index}`);
    await producer.send({ messages: values.map((value, index) => ({ topic, value, partition: index % partitionCount })) });
    return values;
  };
  const missing = (values: string[]) => values.filter((value) => !seen.has(value));
  try {
    for (let index = 0; index < 2; index++) {
      const consumer = new Consumer({
        clientId: `groups-plt-${index}`,
        groupId,
        bootstrapBrokers: [node.bootstrap],
        deserializers: stringDeserializers,
        sessionTimeout: 6000,
        rebalanceTimeout: 10_000,
        heartbeatInterval: 500,
        maxWaitTime: 500,
        autocommit: 200,
      });
      consumers.push(consumer);
      const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest' });
      stream.on('data', (message) => seen.set(message.value, (seen.get(message.value) ?? 0) + 1));
      streams.push(stream);
    }
    let sizes: number[] | null = null;
    await waitFor('two members with three partitions each', async () => (sizes = await assignmentSizes())?.join() === '3,3', 30_000, () => JSON.stringify(sizes));
    const round1 = await produceRound('r1', 300);
    await waitFor('round 1 consumed', () => missing(round1).length === 0, 30_000, () => `${missing(round1).length} missing`);

    await streams[0]!.close();
    await consumers[0]!.close();
    await waitFor('one member with all six partitions', async () => (sizes = await assignmentSizes())?.join() === '6', 30_000, () => JSON.stringify(sizes));
    const round2 = await produceRound('r2', 300);
    await waitFor('round 2 consumed', () => missing(round2).length === 0, 30_000, () => `${missing(round2).length} missing`);
    assert.equal(seen.size, round1.length + round2.length, 'exactly the produced messages were consumed');
  } finally {
    for (const stream of streams) await stream.close().catch(() => undefined);
    for (const consumer of consumers) await consumer.close().catch(() => undefined);
    await producer.close().catch(() => undefined);
  }
});
