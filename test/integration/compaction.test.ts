// Proves log compaction on a real `tide start` process: a topic created with
// cleanup.policy=compact and small segments receives many updates of a few keys from kafkajs;
// once the background cleaner has run, a raw Fetch read and a kafkajs consumer both see exactly
// one record per key, the latest value, at the offset the producer was acknowledged, and a
// restarted node serves the same compacted log. The wait for the cleaner is bounded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { readPartition } from '../helpers/read-all.ts';
import { makeTempDir, readLog, removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';

const { Kafka, logLevel } = kafkajs;
const topic = 'compacted-updates';
const hotKeys = 6;
const updateRounds = 80;
const fillerCount = 40;
const cleanerWaitMs = 30_000;

let dataDir: string;
let node: TideProcess;

before(async () => {
  dataDir = await makeTempDir();
  node = await startTide({ dataDir, args: ['--log.cleaner.backoff.ms', '100'] });
});

after(async () => {
  if (node) await stopTide(node);
  await removeDir(dataDir);
});

/** Waits (bounded) for the cleaner's log line saying the partition is compacted up to `offset`. */
async function waitForCompaction(offset: number): Promise<void> {
  const deadline = Date.now() + cleanerWaitMs;
  // Bounded by the deadline: one check every 100 ms.
  while (Date.now() < deadline) {
    for (const line of (await readLog(node)).split('\n')) {
      if (!line.includes('compacted partition') || !line.includes(`"partition":"${topic}-0"`)) continue;
      const fields = JSON.parse(line.slice(line.indexOf('{'))) as { cleanedUpTo: number };
      if (fields.cleanedUpTo >= offset) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`the cleaner did not compact ${topic}-0 up to ${offset} within ${cleanerWaitMs} ms; log ${node.logPath}`);
}

test('compaction keeps the latest value per key at its acknowledged offset, for raw fetches and kafkajs consumers', async () => {
  const kafka = new Kafka({ clientId: 'compaction', brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '2048' }] }],
  });
  await admin.disconnect();

  const producer = kafka.producer();
  await producer.connect();
  // key -> [value, acknowledged offset] of its latest write
  const latest = new Map<string, { value: string; offset: number }>();
  let lastHotOffset = -1;
  for (let round = 0; round < updateRounds; round++) {
    const messages = Array.from({ length: hotKeys }, (_, key) => ({ key: `key-${key}`, value: `round-${round}-of-key-${key}` }));
    const [metadata] = await producer.send({ topic, messages });
    const baseOffset = Number(metadata!.baseOffset);
    messages.forEach((message, index) => latest.set(message.key, { value: message.value, offset: baseOffset + index }));
    lastHotOffset = baseOffset + messages.length - 1;
  }
  // Distinct keys after the updates, enough to roll past them: every update is then in an
  // inactive segment, which is what the cleaner may compact.
  for (let index = 0; index < fillerCount; index++) {
    const message = { key: `filler-${index}`, value: `filler-${index}-`.padEnd(80, '.') };
    const [metadata] = await producer.send({ topic, messages: [message] });
    latest.set(message.key, { value: message.value, offset: Number(metadata!.baseOffset) });
  }
  await producer.disconnect();
  const producedCount = updateRounds * hotKeys + fillerCount;

  await waitForCompaction(lastHotOffset + 1);
  const expected = [...latest.entries()].map(([key, { value, offset }]) => [offset, key, value]).sort((a, b) => Number(a[0]) - Number(b[0]));

  const read = await readPartition(node.kafkaPort, topic, 0);
  assert.equal(read.highWatermark, producedCount, 'the log end does not move');
  assert.equal(read.logStartOffset, 0, 'compaction does not move the log start');
  assert.deepEqual(read.records.map((record) => [record.offset, record.key!.toString(), record.value!.toString()]), expected);

  const consumer = kafka.consumer({ groupId: 'compaction-reader', maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const consumed: (string | number)[][] = [];
  const lastOffset = Number(expected.at(-1)![0]);
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        consumed.push([Number(message.offset), message.key!.toString(), message.value!.toString()]);
        if (Number(message.offset) >= lastOffset) resolve();
      },
    });
  });
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000).unref());
  const outcome = await Promise.race([done, timeout]);
  await consumer.disconnect();
  assert.notEqual(outcome, 'timeout', `kafkajs consumer read ${consumed.length} of ${expected.length} records`);
  assert.deepEqual(consumed, expected);

  // The compacted segments survive a restart unchanged.
  await stopTide(node);
  node = await startTide({ dataDir, args: ['--log.cleaner.backoff.ms', '100'] });
  const reread = await readPartition(node.kafkaPort, topic, 0);
  assert.equal(reread.highWatermark, producedCount);
  assert.deepEqual(reread.records.map((record) => [record.offset, record.key!.toString(), record.value!.toString()]), expected);
});
