// Proves a single real `tide start` process serves clients we did not write: kafkajs (with every
// compression codec it can use) and @platformatic/kafka produce thousands of keyed messages with
// headers; reading the partitions back gives exactly those messages, each key's messages in the
// order they were sent, with offsets dense from 0.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { compress, decompress, CompressionCodec } from '../../src/protocol/compression.ts';
import { readPartition } from '../helpers/read-all.ts';

const { CompressionCodecs, CompressionTypes, Kafka, logLevel } = kafkajs;
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';

// kafkajs ships gzip only; snappy, lz4 and zstd are plugged in with Tide's own codecs (the same
// formats Java and librdkafka produce: xerial-framed snappy is read, raw block written; lz4 frame).
const pluggable: Array<[number, number]> = [
  [CompressionTypes.Snappy, CompressionCodec.SNAPPY],
  [CompressionTypes.LZ4, CompressionCodec.LZ4],
  [CompressionTypes.ZSTD, CompressionCodec.ZSTD],
];
const codecRegistry = CompressionCodecs as unknown as Record<number, () => unknown>;
for (const [kafkajsType, codec] of pluggable) {
  codecRegistry[kafkajsType] = () => ({
    compress: async (encoder: { buffer: Buffer }) => compress(codec, encoder.buffer),
    decompress: async (buffer: Buffer) => decompress(codec, buffer),
  });
}

let node: TideProcess;

before(async () => {
  node = await startTide({ args: ['--num.partitions', '3'] });
});

after(async () => {
  const exit = await stopTide(node);
  assert.equal(exit.code, 0, 'tide exits 0 on SIGTERM');
  await removeDir(node.dataDir);
});

interface Sent {
  key: string;
  value: string;
  header: string;
}

async function readTopic(topic: string, partitions: number) {
  const all = [];
  for (let partition = 0; partition < partitions; partition++) {
    const { records, highWatermark } = await readPartition(node.kafkaPort, topic, partition);
    assert.equal(records.length, highWatermark, `partition ${partition}: offsets dense from 0`);
    records.forEach((record, index) => assert.equal(record.offset, index));
    all.push(...records.map((record) => ({ partition, record })));
  }
  return all;
}

function checkDelivered(sent: Sent[], received: Awaited<ReturnType<typeof readTopic>>): void {
  assert.equal(received.length, sent.length, 'every message stored once');
  const byValue = new Map(received.map((r) => [r.record.value!.toString(), r]));
  const partitionOfKey = new Map<string, number>();
  const lastOffsetOfKey = new Map<string, number>();
  for (const message of sent) {
    const got = byValue.get(message.value);
    assert.ok(got, `message ${message.value} stored`);
    assert.equal(got.record.key!.toString(), message.key);
    assert.equal(got.record.headers.find((h) => h.key === 'trace')?.value?.toString(), message.header);
    const partition = partitionOfKey.get(message.key) ?? got.partition;
    partitionOfKey.set(message.key, partition);
    assert.equal(got.partition, partition, `key ${message.key} always in one partition`);
    assert.ok(got.record.offset > (lastOffsetOfKey.get(message.key) ?? -1), `key ${message.key} in send order`);
    lastOffsetOfKey.set(message.key, got.record.offset);
  }
}

test('kafkajs produces keyed messages with headers under every codec', async () => {
  const kafka = new Kafka({ clientId: 'kafkajs-test', brokers: [node.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const topic = 'kafkajs-codecs';
  const sent: Sent[] = [];
  const codecs = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD];
  for (const [codecIndex, compression] of codecs.entries()) {
    for (let round = 0; round < 4; round++) {
      const messages = Array.from({ length: 250 }, (_, i) => {
        const n = codecIndex * 1000 + round * 250 + i;
        return { key: `key-${n % 17}`, value: `value-${n}-${'x'.repeat(n % 50)}`, header: `trace-${n}` };
      });
      await producer.send({ topic, compression, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value, headers: { trace: m.header } })) });
      sent.push(...messages);
    }
  }
  await producer.disconnect();
  checkDelivered(sent, await readTopic(topic, 3));
});

test('@platformatic/kafka produces keyed messages with headers', async () => {
  const producer = new Producer({ clientId: 'platformatic-test', bootstrapBrokers: [node.bootstrap], serializers: stringSerializers, autocreateTopics: true, retries: 3 });
  const topic = 'platformatic-produce';
  const sent: Sent[] = [];
  try {
    for (let round = 0; round < 10; round++) {
      const messages = Array.from({ length: 200 }, (_, i) => {
        const n = round * 200 + i;
        return { key: `key-${n % 13}`, value: `pvalue-${n}`, header: `ptrace-${n}` };
      });
      await producer.send({ acks: -1, messages: messages.map((m) => ({ topic, key: m.key, value: m.value, headers: { trace: m.header } })) });
      sent.push(...messages);
    }
  } finally {
    await producer.close();
  }
  checkDelivered(sent, await readTopic(topic, 3));
});
