// Proves kafkajs's admin client (the non-flexible versions: CreateTopics v3, DeleteTopics v1,
// DescribeConfigs v2, AlterConfigs v1, CreatePartitions v1, DeleteRecords v1) works against a real
// `tide start` process: topics are created with configs and listed, their configs described with
// the right sources, replaced with alterConfigs, partitions added, records deleted after a kafkajs
// producer wrote them, topics deleted with their data directories, and the usual mistakes (existing
// topic, bad name, 0 partitions, unknown config, replication factor above the broker count, broker
// config changes) get Kafka's error codes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs, { Kafka, logLevel, type Admin } from 'kafkajs';
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';
import { expectKafkaError, partitionDirs } from './admin-errors.ts';

// Node's CommonJS export detection misses these two (kafkajs spreads its exports), so take them from the default export.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

let node: TideProcess;
let kafka: Kafka;
let admin: Admin;

// The node changes one broker default, so descriptions can tell STATIC_BROKER_CONFIG from DEFAULT_CONFIG.
const brokerRetentionMs = '3600000';

before(async () => {
  node = await startTide({ args: ['--log.retention.ms', brokerRetentionMs] });
  kafka = new Kafka({
    clientId: 'admin-api-test',
    brokers: [node.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 },
  });
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  await admin?.disconnect();
  const exit = await stopTide(node);
  assert.equal(exit.code, 0, 'tide exits 0 on SIGTERM');
  await removeDir(node.dataDir);
});

async function topicConfigs(topic: string, configNames?: string[]) {
  const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames }], includeSynonyms: false });
  assert.equal(described.resources.length, 1);
  const [resource] = described.resources;
  assert.equal(resource!.errorCode, 0);
  return new Map(resource!.configEntries.map((entry) => [entry.configName, entry]));
}

test('kafkajs creates topics with configs, lists them, and sees their partitions on disk', async () => {
  const created = await admin.createTopics({
    topics: [
      { topic: 'orders', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '60000' }, { name: 'flush', value: 'sync' }] },
      { topic: 'plain' },
    ],
  });
  assert.equal(created, true);
  const topics = await admin.listTopics();
  assert.ok(topics.includes('orders') && topics.includes('plain'), `listed: ${topics.join(', ')}`);
  const metadata = await admin.fetchTopicMetadata({ topics: ['orders'] });
  assert.equal(metadata.topics[0]!.partitions.length, 3);
  assert.deepEqual(await partitionDirs(node.dataDir, 'orders'), ['orders-0', 'orders-1', 'orders-2']);
});

test('kafkajs describes every topic config with its effective value and source', async () => {
  const orders = await topicConfigs('orders');
  assert.equal(orders.get('retention.ms')?.configValue, '60000');
  assert.equal(orders.get('retention.ms')?.configSource, ConfigSource.TOPIC_CONFIG);
  assert.equal(orders.get('flush')?.configValue, 'sync');
  assert.equal(orders.get('flush')?.configSource, ConfigSource.TOPIC_CONFIG);
  assert.equal(orders.get('segment.bytes')?.configValue, String(1024 ** 3));
  assert.equal(orders.get('segment.bytes')?.configSource, ConfigSource.DEFAULT_CONFIG);
  assert.equal(orders.get('segment.bytes')?.readOnly, false);
  assert.equal(orders.get('segment.bytes')?.isSensitive, false);
  for (const key of ['max.message.bytes', 'min.insync.replicas', 'cleanup.policy', 'flush.ms', 'retention.bytes', 'segment.ms']) {
    assert.ok(orders.has(key), `topic key ${key} listed`);
  }
  const plain = await topicConfigs('plain');
  assert.equal(plain.get('retention.ms')?.configValue, brokerRetentionMs, 'a topic without its own value inherits the broker setting');
  assert.equal(plain.get('retention.ms')?.configSource, ConfigSource.STATIC_BROKER_CONFIG);

  const filtered = await topicConfigs('orders', ['retention.ms', 'not.a.key']);
  assert.deepEqual([...filtered.keys()], ['retention.ms']);
});

test('kafkajs describes the broker\'s own configs as read-only', async () => {
  const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '1' }], includeSynonyms: false });
  const entries = new Map(described.resources[0]!.configEntries.map((entry) => [entry.configName, entry]));
  assert.equal(entries.get('log.retention.ms')?.configValue, brokerRetentionMs);
  assert.equal(entries.get('log.retention.ms')?.configSource, ConfigSource.STATIC_BROKER_CONFIG);
  assert.equal(entries.get('log.retention.ms')?.readOnly, true);
  assert.equal(entries.get('num.partitions')?.configSource, ConfigSource.DEFAULT_CONFIG);
});

test('kafkajs alterConfigs replaces a topic\'s whole set of configs', async () => {
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders', configEntries: [{ name: 'retention.ms', value: '120000' }] }] });
  const orders = await topicConfigs('orders');
  assert.equal(orders.get('retention.ms')?.configValue, '120000');
  assert.equal(orders.get('flush')?.configValue, 'async', 'a key left out falls back to the default');
  assert.equal(orders.get('flush')?.configSource, ConfigSource.DEFAULT_CONFIG);

  await admin.alterConfigs({ validateOnly: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders', configEntries: [{ name: 'retention.ms', value: '5' }] }] });
  assert.equal((await topicConfigs('orders')).get('retention.ms')?.configValue, '120000', 'validateOnly changes nothing');

  await expectKafkaError(
    () => admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders', configEntries: [{ name: 'no.such.key', value: '1' }] }] }),
    'INVALID_CONFIG', 'unknown key');
  await expectKafkaError(
    () => admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
    'INVALID_CONFIG', 'bad value');
  await expectKafkaError(
    () => admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries: [{ name: 'num.partitions', value: '4' }] }] }),
    'INVALID_REQUEST', 'broker config change');
});

test('kafkajs adds partitions and cannot shrink a topic', async () => {
  await admin.createPartitions({ topicPartitions: [{ topic: 'orders', count: 5 }] });
  const metadata = await admin.fetchTopicMetadata({ topics: ['orders'] });
  assert.equal(metadata.topics[0]!.partitions.length, 5);
  assert.deepEqual(await partitionDirs(node.dataDir, 'orders'), ['orders-0', 'orders-1', 'orders-2', 'orders-3', 'orders-4']);
  await expectKafkaError(() => admin.createPartitions({ topicPartitions: [{ topic: 'orders', count: 4 }] }), 'INVALID_PARTITIONS', 'shrinking');
});

test('kafkajs deletes records below an offset and up to the high watermark', async () => {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let index = 0; index < 10; index++) {
      await producer.send({ topic: 'plain', messages: [{ key: `k${index}`, value: `v${index}` }] });
    }
  } finally {
    await producer.disconnect();
  }
  const before = await admin.fetchTopicOffsets('plain');
  assert.deepEqual(before.map(({ partition, low, high }) => ({ partition, low, high })), [{ partition: 0, low: '0', high: '10' }]);

  await admin.deleteTopicRecords({ topic: 'plain', partitions: [{ partition: 0, offset: '4' }] });
  assert.equal((await admin.fetchTopicOffsets('plain'))[0]!.low, '4');

  await admin.deleteTopicRecords({ topic: 'plain', partitions: [{ partition: 0, offset: '-1' }] });
  const emptied = (await admin.fetchTopicOffsets('plain'))[0]!;
  assert.equal(emptied.low, '10', 'offset -1 deletes up to the high watermark');
  assert.equal(emptied.high, '10');

  await expectKafkaError(() => admin.deleteTopicRecords({ topic: 'plain', partitions: [{ partition: 0, offset: '11' }] }), 'OFFSET_OUT_OF_RANGE', 'beyond the high watermark');
});

test('kafkajs gets Kafka\'s errors for bad topic creations', async () => {
  assert.equal(await admin.createTopics({ topics: [{ topic: 'plain' }] }), false, 'kafkajs reports an existing topic as false');
  await expectKafkaError(() => admin.createTopics({ topics: [{ topic: 'bad/name' }] }), 'INVALID_TOPIC_EXCEPTION', 'bad name');
  await expectKafkaError(() => admin.createTopics({ topics: [{ topic: 'zero', numPartitions: 0 }] }), 'INVALID_PARTITIONS', '0 partitions');
  await expectKafkaError(
    () => admin.createTopics({ topics: [{ topic: 'unknown-config', configEntries: [{ name: 'retention.forever', value: 'yes' }] }] }),
    'INVALID_CONFIG', 'unknown config key');
  await expectKafkaError(() => admin.createTopics({ topics: [{ topic: 'rf3', replicationFactor: 3 }] }), 'INVALID_REPLICATION_FACTOR', 'RF 3 on one node');
  const topics = await admin.listTopics();
  for (const name of ['bad/name', 'zero', 'unknown-config', 'rf3']) assert.ok(!topics.includes(name), `${name} was not created`);
});

test('kafkajs deletes topics and their partition directories', async () => {
  await admin.deleteTopics({ topics: ['orders', 'plain'] });
  const topics = await admin.listTopics();
  assert.ok(!topics.includes('orders') && !topics.includes('plain'), `still listed: ${topics.join(', ')}`);
  // DeleteTopics answers once the node has removed the data, so nothing is left to wait for.
  assert.deepEqual(await partitionDirs(node.dataDir, 'orders'), []);
  assert.deepEqual(await partitionDirs(node.dataDir, 'plain'), []);
});
