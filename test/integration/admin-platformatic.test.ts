// Proves @platformatic/kafka 1.35's Admin (the flexible versions: CreateTopics v7, DeleteTopics v6,
// DescribeConfigs v4, AlterConfigs v2, IncrementalAlterConfigs v1, CreatePartitions v3,
// DeleteRecords v2) works against a real `tide start` process: topics are created with configs and
// the answer carries their id, partition count, replication factor and effective configs; configs
// are described with synonyms, types and documentation, changed incrementally (set, append,
// subtract, delete) and replaced wholesale; partitions are added; records are deleted; topics are
// deleted with their data; and mistakes get Kafka's error codes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, ConfigResourceTypes, IncrementalAlterConfigOperationTypes, Producer, stringSerializers } from '@platformatic/kafka';
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';
import { expectKafkaError, partitionDirs } from './admin-errors.ts';

const TOPIC_CONFIG = 1;
const DEFAULT_CONFIG = 5;
const LONG_TYPE = 5;
const LIST_TYPE = 7;

let node: TideProcess;
let admin: Admin;

before(async () => {
  node = await startTide();
  admin = new Admin({ clientId: 'admin-platformatic-test', bootstrapBrokers: [node.bootstrap], retries: 1, retryDelay: 50, timeout: 10_000 });
});

after(async () => {
  await admin?.close();
  const exit = await stopTide(node);
  assert.equal(exit.code, 0, 'tide exits 0 on SIGTERM');
  await removeDir(node.dataDir);
});

async function describeTopic(topic: string, options: { includeSynonyms?: boolean; includeDocumentation?: boolean } = {}) {
  const [description] = await admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }], ...options });
  return new Map(description!.configs.map((config) => [config.name, config]));
}

async function partitionCount(topic: string): Promise<number> {
  const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
  return metadata.topics.get(topic)!.partitionsCount;
}

test('platformatic creates topics and gets id, shape and effective configs back', async () => {
  const created = await admin.createTopics({ topics: ['plt-a', 'plt-b'], partitions: 2, replicas: 1, configs: [{ name: 'retention.ms', value: '90000' }] });
  assert.equal(created.length, 2);
  for (const topic of created) {
    assert.match(topic.id, /^[0-9a-f-]{36}$/);
    assert.notEqual(topic.id, '00000000-0000-0000-0000-000000000000');
    assert.equal(topic.partitions, 2);
    assert.equal(topic.replicas, 1);
    assert.equal(topic.configuration['retention.ms'], '90000');
    assert.equal(topic.configuration['segment.bytes'], String(1024 ** 3), 'defaults are part of the answer');
  }
  const listed = await admin.listTopics();
  assert.ok(listed.includes('plt-a') && listed.includes('plt-b'), `listed: ${listed.join(', ')}`);
  const metadata = await admin.metadata({ topics: ['plt-a'], forceUpdate: true });
  assert.equal(metadata.topics.get('plt-a')!.id, created.find((topic) => topic.name === 'plt-a')!.id, 'Metadata and CreateTopics agree on the topic id');
});

test('platformatic describes configs with synonyms, types and documentation', async () => {
  const configs = await describeTopic('plt-a', { includeSynonyms: true, includeDocumentation: true });
  const retention = configs.get('retention.ms')!;
  assert.equal(retention.value, '90000');
  assert.equal(retention.configSource, TOPIC_CONFIG);
  assert.equal(retention.configType, LONG_TYPE);
  assert.deepEqual(retention.synonyms.map((s) => [s.name, s.source]), [['retention.ms', TOPIC_CONFIG], ['log.retention.ms', DEFAULT_CONFIG]]);
  assert.ok((retention.documentation ?? '').length > 0, 'documentation when asked for');
  assert.equal(configs.get('cleanup.policy')!.configType, LIST_TYPE);

  const plainer = await describeTopic('plt-a');
  assert.equal(plainer.get('retention.ms')!.documentation, null, 'no documentation unless asked for');
  assert.deepEqual(plainer.get('retention.ms')!.synonyms, [], 'no synonyms unless asked for');
});

test('platformatic changes configs incrementally: set, append, subtract, delete', async () => {
  const alter = (configs: Parameters<Admin['incrementalAlterConfigs']>[0]['resources'][number]['configs']) =>
    admin.incrementalAlterConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: 'plt-a', configs }] });

  // cleanup.policy is the one list key; the list operations are shown on it with 'delete'.
  await alter([
    { name: 'max.message.bytes', configOperation: IncrementalAlterConfigOperationTypes.SET, value: '2048' },
    { name: 'cleanup.policy', configOperation: IncrementalAlterConfigOperationTypes.APPEND, value: 'delete' },
  ]);
  let configs = await describeTopic('plt-a');
  assert.equal(configs.get('max.message.bytes')!.value, '2048');
  assert.equal(configs.get('cleanup.policy')!.value, 'delete', 'append starts from the inherited value and adds no duplicate');
  assert.equal(configs.get('cleanup.policy')!.configSource, TOPIC_CONFIG);
  assert.equal(configs.get('retention.ms')!.value, '90000', 'other keys keep their values');

  await alter([
    { name: 'cleanup.policy', configOperation: IncrementalAlterConfigOperationTypes.SUBTRACT, value: 'compact' },
    { name: 'retention.ms', configOperation: IncrementalAlterConfigOperationTypes.DELETE },
  ]);
  configs = await describeTopic('plt-a');
  assert.equal(configs.get('cleanup.policy')!.value, 'delete');
  assert.equal(configs.get('retention.ms')!.configSource, DEFAULT_CONFIG);

  await expectKafkaError(() => alter([{ name: 'retention.ms', configOperation: IncrementalAlterConfigOperationTypes.APPEND, value: '5' }]), 'INVALID_CONFIG', 'append to a non-list');
  await expectKafkaError(() => alter([{ name: 'no.such.key', configOperation: IncrementalAlterConfigOperationTypes.SET, value: '5' }]), 'INVALID_CONFIG', 'unknown key');
  await expectKafkaError(
    () => admin.incrementalAlterConfigs({ resources: [{ resourceType: ConfigResourceTypes.BROKER, resourceName: '1', configs: [{ name: 'num.partitions', configOperation: IncrementalAlterConfigOperationTypes.SET, value: '3' }] }] }),
    'INVALID_REQUEST', 'broker config change');
});

test('platformatic alterConfigs replaces the whole set', async () => {
  await admin.alterConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: 'plt-a', configs: [{ name: 'segment.ms', value: '600000' }] }] });
  const configs = await describeTopic('plt-a');
  assert.equal(configs.get('segment.ms')!.value, '600000');
  assert.equal(configs.get('segment.ms')!.configSource, TOPIC_CONFIG);
  assert.equal(configs.get('cleanup.policy')!.value, 'delete');
  assert.equal(configs.get('max.message.bytes')!.configSource, DEFAULT_CONFIG);
});

test('platformatic adds partitions', async () => {
  await admin.createPartitions({ topics: [{ name: 'plt-a', count: 4 }] });
  assert.equal(await partitionCount('plt-a'), 4);
  await admin.createPartitions({ topics: [{ name: 'plt-a', count: 6 }], validateOnly: true });
  assert.equal(await partitionCount('plt-a'), 4, 'validateOnly adds nothing');
  await expectKafkaError(() => admin.createPartitions({ topics: [{ name: 'plt-a', count: 4 }] }), 'INVALID_PARTITIONS', 'same count');
});

test('platformatic deletes records', async () => {
  const producer = new Producer({ clientId: 'admin-platformatic-producer', bootstrapBrokers: [node.bootstrap], serializers: stringSerializers, retries: 1, retryDelay: 50 });
  try {
    for (let index = 0; index < 6; index++) {
      await producer.send({ acks: -1, messages: [{ topic: 'plt-b', partition: 0, key: `k${index}`, value: `v${index}` }] });
    }
  } finally {
    await producer.close();
  }
  const deleted = await admin.deleteRecords({ topics: [{ name: 'plt-b', partitions: [{ partition: 0, offset: 3n }] }] });
  assert.deepEqual(deleted, [{ name: 'plt-b', partitions: [{ partition: 0, lowWatermark: 3n }] }]);
  await expectKafkaError(
    () => admin.deleteRecords({ topics: [{ name: 'plt-b', partitions: [{ partition: 0, offset: 7n }] }] }),
    'OFFSET_OUT_OF_RANGE', 'beyond the high watermark');
});

test('platformatic gets Kafka\'s errors for bad creations and deletions', async () => {
  await expectKafkaError(() => admin.createTopics({ topics: ['plt-b'] }), 'TOPIC_ALREADY_EXISTS', 'existing topic');
  await expectKafkaError(() => admin.createTopics({ topics: ['bad/name'] }), 'INVALID_TOPIC_EXCEPTION', 'bad name');
  await expectKafkaError(() => admin.createTopics({ topics: ['plt-zero'], partitions: 0 }), 'INVALID_PARTITIONS', '0 partitions');
  await expectKafkaError(() => admin.createTopics({ topics: ['plt-cfg'], configs: [{ name: 'nope', value: '1' }] }), 'INVALID_CONFIG', 'unknown config key');
  await expectKafkaError(() => admin.createTopics({ topics: ['plt-rf3'], replicas: 3 }), 'INVALID_REPLICATION_FACTOR', 'RF 3 on one node');
  await expectKafkaError(() => admin.deleteTopics({ topics: ['plt-missing'] }), 'UNKNOWN_TOPIC_OR_PARTITION', 'missing topic');
});

test('platformatic deletes topics and their data', async () => {
  await admin.deleteTopics({ topics: ['plt-a', 'plt-b'] });
  const listed = await admin.listTopics();
  assert.ok(!listed.includes('plt-a') && !listed.includes('plt-b'), `still listed: ${listed.join(', ')}`);
  assert.deepEqual(await partitionDirs(node.dataDir, 'plt-a'), []);
  assert.deepEqual(await partitionDirs(node.dataDir, 'plt-b'), []);
});
