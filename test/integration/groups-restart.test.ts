// Proves committed offsets survive a broker restart: a kafkajs group consumes and commits, the
// node is stopped with SIGTERM and started again on the same data dir, the coordinator replays
// __consumer_offsets, OffsetFetch shows the same offsets, and a new member of the group resumes
// after the last commit: it receives every message produced after the restart and none of the
// committed ones again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';
import { waitFor } from './fixtures/group-test-helpers.ts';

const { Kafka, logLevel } = kafkajs;

const topic = 'groups-restart';
const groupId = 'groups-restart-group';
const partitionCount = 3;
const nodeArgs = ['--group.initial.rebalance.delay.ms', '0', '--offsets.topic.num.partitions', '7'];

let node: TideProcess;

before(async () => {
  node = await startTide({ args: nodeArgs });
});

after(async () => {
  const exit = await stopTide(node);
  assert.equal(exit.code, 0, 'tide exits 0 on SIGTERM');
  await removeDir(node.dataDir);
});

function client(bootstrap: string) {
  return new Kafka({ clientId: 'groups-restart', brokers: [bootstrap], logLevel: logLevel.NOTHING });
}

async function produce(bootstrap: string, round: string, count: number): Promise<string[]> {
  const producer = client(bootstrap).producer();
  await producer.connect();
  const values = Array.from({ length: count }, (_, index) => `${round}-${index}`);
  await producer.send({ topic, messages: values.map((value, index) => ({ value, partition: index % partitionCount })) });
  await producer.disconnect();
  return values;
}

/** Consumes with a fresh group member until `expected` are all seen; returns every value received. */
async function consumeUntil(bootstrap: string, expected: string[]): Promise<string[]> {
  const received: string[] = [];
  const consumer = client(bootstrap).consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 500 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value!.toString()) });
    const wanted = new Set(expected);
    await waitFor(`${expected.length} messages consumed`, () => received.filter((value) => wanted.has(value)).length >= expected.length, 30_000);
  } finally {
    // disconnect() commits what was consumed and leaves the group.
    await consumer.disconnect();
  }
  return received;
}

async function committed(bootstrap: string): Promise<string[]> {
  const admin = client(bootstrap).admin();
  await admin.connect();
  try {
    const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return fetched!.partitions.sort((a, b) => a.partition - b.partition).map((partition) => partition.offset);
  } finally {
    await admin.disconnect();
  }
}

test('a new member resumes after the last commit once the broker restarts', async () => {
  const admin = client(node.bootstrap).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitionCount }] });
  await admin.disconnect();

  const before = await produce(node.bootstrap, 'before', 90);
  const firstRun = await consumeUntil(node.bootstrap, before);
  assert.deepEqual(new Set(firstRun), new Set(before));
  assert.deepEqual(await committed(node.bootstrap), ['30', '30', '30'], 'everything consumed is committed');

  const exit = await stopTide(node);
  assert.equal(exit.code, 0);
  node = await startTide({ dataDir: node.dataDir, args: nodeArgs });

  // COORDINATOR_LOAD_IN_PROGRESS is retried by the client; the offsets come back from the log.
  assert.deepEqual(await committed(node.bootstrap), ['30', '30', '30'], 'offsets survive the restart');
  const after = await produce(node.bootstrap, 'after', 30);
  const secondRun = await consumeUntil(node.bootstrap, after);
  const redelivered = secondRun.filter((value) => value.startsWith('before-'));
  assert.deepEqual(redelivered, [], 'no committed message is delivered again');
  assert.deepEqual(new Set(secondRun), new Set(after));
  assert.deepEqual(await committed(node.bootstrap), ['40', '40', '40']);
});
