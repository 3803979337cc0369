// Proves every advertised version of the admin APIs (CreateTopics 2-7, DeleteTopics 1-6,
// DescribeConfigs 1-4, AlterConfigs 0-2, IncrementalAlterConfigs 0-1, CreatePartitions 0-3,
// DeleteRecords 0-2, DescribeCluster 0-1) is really served by a `tide start` process, byte-exact
// through Tide's own codecs, with the semantics that change by version (topic ids, CreateTopics
// v5+ shape and configs, DescribeConfigs sources, synonyms, types and documentation, DeleteTopics
// v6 by id) and the error codes that client libraries would hide behind retries or exceptions.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { topicConfigKeys } from '../../src/config/definitions.ts';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { alterConfigsCodec } from '../../src/protocol/messages/alter-configs.ts';
import { apiVersionsCodec, defaultApiVersionsRequest } from '../../src/protocol/messages/api-versions.ts';
import { createPartitionsCodec, type CreatePartitionsRequestCreatePartitionsTopic } from '../../src/protocol/messages/create-partitions.ts';
import { createTopicsCodec, type CreateTopicsRequestCreatableTopic } from '../../src/protocol/messages/create-topics.ts';
import { deleteRecordsCodec } from '../../src/protocol/messages/delete-records.ts';
import { deleteTopicsCodec } from '../../src/protocol/messages/delete-topics.ts';
import { describeClusterCodec } from '../../src/protocol/messages/describe-cluster.ts';
import { describeConfigsCodec, type DescribeConfigsRequestDescribeConfigsResource } from '../../src/protocol/messages/describe-configs.ts';
import { incrementalAlterConfigsCodec, type IncrementalAlterConfigsRequestAlterableConfig } from '../../src/protocol/messages/incremental-alter-configs.ts';
import { defaultMetadataRequest, metadataCodec } from '../../src/protocol/messages/metadata.ts';
import { ZERO_UUID } from '../../src/protocol/reader.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';

const TOPIC = 2;
const BROKER = 4;
const BROKER_LOGGER = 8;
const source = { topic: 1, staticBroker: 4, default: 5 };
const [SET, DELETE, APPEND, SUBTRACT] = [0, 1, 2, 3];
// The node changes one broker default so that STATIC_BROKER_CONFIG shows up.
const brokerSegmentBytes = '2097152';

let node: TideProcess;
let client: RawClient;

before(async () => {
  node = await startTide({ args: ['--log.segment.bytes', brokerSegmentBytes] });
  client = await RawClient.connect(node.kafkaPort);
});

after(async () => {
  client?.close();
  const exit = await stopTide(node);
  assert.equal(exit.code, 0, 'tide exits 0 on SIGTERM');
  await removeDir(node.dataDir);
});

function creatable(name: string, numPartitions = 1, configs: Record<string, string | null> = {}): CreateTopicsRequestCreatableTopic {
  return { name, numPartitions, replicationFactor: -1, assignments: [], configs: Object.entries(configs).map(([key, value]) => ({ name: key, value })) };
}

function createTopics(version: number, topics: CreateTopicsRequestCreatableTopic[], validateOnly = false) {
  return client.send(createTopicsCodec, version, { topics, timeoutMs: 5000, validateOnly });
}

async function createTopic(name: string, numPartitions = 1, configs: Record<string, string> = {}): Promise<string> {
  const response = await createTopics(7, [creatable(name, numPartitions, configs)]);
  assert.equal(response.topics[0]!.errorCode, ErrorCode.NONE, `create ${name}: ${response.topics[0]!.errorMessage}`);
  return response.topics[0]!.topicId;
}

async function topicMetadata(name: string) {
  const response = await client.send(metadataCodec, 12, { ...defaultMetadataRequest(), topics: [{ name, topicId: ZERO_UUID }], allowAutoTopicCreation: false });
  return response.topics[0]!;
}

async function exists(name: string): Promise<boolean> {
  return (await topicMetadata(name)).errorCode === ErrorCode.NONE;
}

function describe(version: number, resources: Array<Partial<DescribeConfigsRequestDescribeConfigsResource>>, includeSynonyms = false, includeDocumentation = false) {
  return client.send(describeConfigsCodec, version, {
    resources: resources.map((r) => ({ resourceType: TOPIC, resourceName: '', configurationKeys: null, ...r })),
    includeSynonyms,
    includeDocumentation,
  });
}

async function ownConfigs(topic: string): Promise<Record<string, string | null>> {
  const response = await describe(4, [{ resourceName: topic }]);
  assert.equal(response.results[0]!.errorCode, ErrorCode.NONE);
  return Object.fromEntries(response.results[0]!.configs.filter((c) => c.configSource === source.topic).map((c) => [c.name, c.value]));
}

test('ApiVersions advertises the admin ranges', async () => {
  const response = await client.send(apiVersionsCodec, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: 'tide-test', clientSoftwareVersion: '1' });
  const ranges = new Map(response.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
  const expected: Array<[number, number, number]> = [[19, 2, 7], [20, 1, 6], [32, 1, 4], [33, 0, 2], [44, 0, 1], [37, 0, 3], [21, 0, 2], [60, 0, 1]];
  for (const [apiKey, min, max] of expected) assert.deepEqual(ranges.get(apiKey), [min, max], `api ${apiKey}`);
});

test('CreateTopics v2-v7 create topics; v5+ return the shape and configs, v7 the topic id', async () => {
  for (let version = 2; version <= 7; version++) {
    const name = `ct-v${version}`;
    const response = await createTopics(version, [creatable(name, 2, { 'retention.ms': '1000' })]);
    const result = response.topics[0]!;
    assert.equal(result.name, name);
    assert.equal(result.errorCode, ErrorCode.NONE, `v${version}: ${result.errorMessage}`);
    assert.equal(result.errorMessage, null);
    const metadata = await topicMetadata(name);
    assert.equal(metadata.partitions.length, 2, `v${version}: created with 2 partitions`);
    if (version >= 5) {
      assert.equal(result.numPartitions, 2);
      assert.equal(result.replicationFactor, 1);
      const configs = new Map((result.configs ?? []).map((c) => [c.name, c]));
      assert.equal(configs.get('retention.ms')?.value, '1000');
      assert.equal(configs.get('retention.ms')?.configSource, source.topic);
      assert.equal(configs.get('segment.bytes')?.value, brokerSegmentBytes);
      assert.equal(configs.get('segment.bytes')?.configSource, source.staticBroker);
      assert.equal(configs.get('cleanup.policy')?.configSource, source.default);
    }
    if (version >= 7) {
      assert.notEqual(result.topicId, ZERO_UUID);
      assert.equal(result.topicId, metadata.topicId, 'the same id as Metadata');
    }
  }
});

test('CreateTopics honours validateOnly and refuses duplicates, the metadata log name and null configs', async () => {
  for (let version = 2; version <= 7; version++) {
    const response = await createTopics(version, [creatable('ct-validate', -1)], true);
    assert.equal(response.topics[0]!.errorCode, ErrorCode.NONE);
    if (version >= 5) assert.equal(response.topics[0]!.numPartitions, 1, '-1 resolves to num.partitions');
    assert.equal(await exists('ct-validate'), false, `v${version}: validateOnly creates nothing`);
  }
  const duplicated = await createTopics(7, [creatable('ct-dup'), creatable('ct-ok'), creatable('ct-dup', 3)]);
  assert.deepEqual(duplicated.topics.map((t) => [t.name, t.errorCode]), [['ct-dup', ErrorCode.INVALID_REQUEST], ['ct-ok', ErrorCode.NONE]]);
  assert.match(duplicated.topics[0]!.errorMessage ?? '', /more than once/);
  assert.equal(await exists('ct-dup'), false);

  const reserved = await createTopics(4, [creatable('__cluster_metadata')]);
  assert.equal(reserved.topics[0]!.errorCode, ErrorCode.INVALID_REQUEST);
  const nullConfig = await createTopics(7, [creatable('ct-null', 1, { 'retention.ms': null })]);
  assert.equal(nullConfig.topics[0]!.errorCode, ErrorCode.INVALID_CONFIG);
  const badValue = await createTopics(3, [creatable('ct-bad', 1, { 'retention.ms': 'forever' })]);
  assert.equal(badValue.topics[0]!.errorCode, ErrorCode.INVALID_CONFIG);
  assert.match(badValue.topics[0]!.errorMessage ?? '', /retention\.ms/, 'the message names the key');
  const existing = await createTopics(2, [creatable('ct-v2')]);
  assert.equal(existing.topics[0]!.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
});

test('DeleteTopics v1-v5 delete by name; v6 by name or topic id', async () => {
  for (let version = 1; version <= 5; version++) {
    await createTopic(`dt-v${version}`);
    const response = await client.send(deleteTopicsCodec, version, { topics: [], topicNames: [`dt-v${version}`, 'dt-missing'], timeoutMs: 5000 });
    assert.deepEqual(response.responses.map((r) => [r.name, r.errorCode]), [[`dt-v${version}`, ErrorCode.NONE], ['dt-missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
    if (version >= 5) assert.match(response.responses[1]!.errorMessage ?? '', /does not exist/);
    assert.equal(await exists(`dt-v${version}`), false);
  }

  const byIdTopic = await createTopic('dt-by-id');
  const byNameTopic = await createTopic('dt-by-name');
  const unknownId = '0123456789abcdef0123456789abcdef';
  const otherId = 'fedcba9876543210fedcba9876543210';
  const response = await client.send(deleteTopicsCodec, 6, {
    topics: [
      { name: null, topicId: byIdTopic },
      { name: 'dt-by-name', topicId: ZERO_UUID },
      { name: null, topicId: unknownId },
      { name: 'dt-both', topicId: otherId },
      { name: null, topicId: ZERO_UUID },
    ],
    topicNames: [],
    timeoutMs: 5000,
  });
  assert.deepEqual(response.responses.map((r) => [r.name, r.topicId, r.errorCode]), [
    ['dt-by-id', byIdTopic, ErrorCode.NONE],
    ['dt-by-name', byNameTopic, ErrorCode.NONE],
    [null, unknownId, ErrorCode.UNKNOWN_TOPIC_ID],
    ['dt-both', otherId, ErrorCode.INVALID_REQUEST],
    [null, ZERO_UUID, ErrorCode.INVALID_REQUEST],
  ]);
  assert.equal(await exists('dt-by-id'), false);
  assert.equal(await exists('dt-by-name'), false);

  await createTopic('dt-twice');
  const twice = await client.send(deleteTopicsCodec, 6, { topics: [{ name: 'dt-twice', topicId: ZERO_UUID }, { name: 'dt-twice', topicId: ZERO_UUID }], topicNames: [], timeoutMs: 5000 });
  assert.deepEqual(twice.responses.map((r) => r.errorCode), [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
  assert.equal(await exists('dt-twice'), true, 'a duplicated name deletes nothing');
});

test('DescribeConfigs v1-v4 list every topic key with sources, and synonyms, types and documentation by version', async () => {
  await createTopic('dc-topic', 1, { 'retention.ms': '1000' });
  for (let version = 1; version <= 4; version++) {
    const response = await describe(version, [{ resourceName: 'dc-topic' }], true, true);
    const result = response.results[0]!;
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.equal(result.resourceType, TOPIC);
    const configs = new Map(result.configs.map((c) => [c.name, c]));
    for (const key of topicConfigKeys) assert.ok(configs.has(key), `v${version}: ${key} listed`);
    const retention = configs.get('retention.ms')!;
    const segment = configs.get('segment.bytes')!;
    const policy = configs.get('cleanup.policy')!;
    assert.equal(retention.value, '1000');
    assert.equal(retention.configSource, source.topic);
    assert.equal(segment.value, brokerSegmentBytes);
    assert.equal(segment.configSource, source.staticBroker);
    assert.equal(policy.configSource, source.default);
    assert.equal(retention.readOnly, false);
    assert.equal(retention.isSensitive, false);
    assert.deepEqual(retention.synonyms.map((s) => [s.name, s.value, s.source]), [
      ['retention.ms', '1000', source.topic],
      ['log.retention.ms', String(7 * 24 * 3600 * 1000), source.default],
    ]);
    assert.deepEqual(segment.synonyms.map((s) => [s.name, s.value, s.source]), [
      ['log.segment.bytes', brokerSegmentBytes, source.staticBroker],
      ['log.segment.bytes', String(1024 ** 3), source.default],
    ]);
    if (version >= 3) {
      assert.equal(segment.configType, 3, 'INT');
      assert.equal(retention.configType, 5, 'LONG');
      assert.equal(policy.configType, 7, 'LIST');
      assert.ok((segment.documentation ?? '').length > 0);
    }
    const without = (await describe(version, [{ resourceName: 'dc-topic' }])).results[0]!;
    assert.ok(without.configs.every((c) => c.synonyms.length === 0), `v${version}: no synonyms unless asked for`);
    if (version >= 3) assert.ok(without.configs.every((c) => c.documentation === null), `v${version}: no documentation unless asked for`);
  }
  const unsupported = await describe(0, [{ resourceName: 'dc-topic' }]);
  assert.equal(unsupported.results[0]!.errorCode, ErrorCode.UNSUPPORTED_VERSION, 'v0 is not served');
});

test('DescribeConfigs filters keys, describes this broker, and refuses other resources', async () => {
  const filtered = await describe(4, [{ resourceName: 'dc-topic', configurationKeys: ['retention.ms', 'not.a.key', 'flush'] }]);
  assert.deepEqual(filtered.results[0]!.configs.map((c) => c.name).sort(), ['flush', 'retention.ms']);

  const brokerResult = (await describe(4, [{ resourceType: BROKER, resourceName: '1' }], true)).results[0]!;
  assert.equal(brokerResult.errorCode, ErrorCode.NONE);
  const brokerConfigs = new Map(brokerResult.configs.map((c) => [c.name, c]));
  assert.equal(brokerConfigs.get('log.segment.bytes')?.value, brokerSegmentBytes);
  assert.equal(brokerConfigs.get('log.segment.bytes')?.configSource, source.staticBroker);
  assert.equal(brokerConfigs.get('log.segment.bytes')?.readOnly, true);
  assert.equal(brokerConfigs.get('num.partitions')?.configSource, source.default);
  assert.equal(brokerConfigs.get('node.id')?.value, '1');

  const refused = await describe(4, [
    { resourceType: BROKER, resourceName: '9' },
    { resourceType: BROKER, resourceName: '' },
    { resourceType: BROKER_LOGGER, resourceName: '1' },
    { resourceType: TOPIC, resourceName: 'dc-missing' },
    { resourceType: TOPIC, resourceName: 'bad/name' },
  ]);
  assert.deepEqual(refused.results.map((r) => r.errorCode), [
    ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_TOPIC_EXCEPTION,
  ]);
  assert.ok(refused.results.every((r) => r.errorMessage !== null && r.configs.length === 0));
});

test('AlterConfigs v0-v2 replace a topic\'s configs and refuse broker changes', async () => {
  for (let version = 0; version <= 2; version++) {
    const topic = `ac-v${version}`;
    await createTopic(topic, 1, { 'retention.ms': '1000', flush: 'sync' });
    const alter = (resources: Array<{ resourceType: number; resourceName: string; configs: Array<{ name: string; value: string | null }> }>, validateOnly = false) =>
      client.send(alterConfigsCodec, version, { resources, validateOnly });

    const validated = await alter([{ resourceType: TOPIC, resourceName: topic, configs: [{ name: 'segment.ms', value: '600000' }] }], true);
    assert.equal(validated.responses[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(await ownConfigs(topic), { 'retention.ms': '1000', flush: 'sync' }, 'validateOnly changes nothing');

    const replaced = await alter([{ resourceType: TOPIC, resourceName: topic, configs: [{ name: 'segment.ms', value: '600000' }, { name: 'retention.ms', value: null }] }]);
    assert.deepEqual(replaced.responses.map((r) => [r.resourceName, r.errorCode]), [[topic, ErrorCode.NONE]]);
    assert.deepEqual(await ownConfigs(topic), { 'segment.ms': '600000' });

    const refused = await alter([
      { resourceType: BROKER, resourceName: '1', configs: [{ name: 'num.partitions', value: '3' }] },
      { resourceType: TOPIC, resourceName: topic, configs: [{ name: 'no.such.key', value: '1' }] },
      { resourceType: TOPIC, resourceName: 'ac-missing', configs: [] },
      { resourceType: BROKER_LOGGER, resourceName: '1', configs: [] },
    ]);
    assert.deepEqual(refused.responses.map((r) => r.errorCode), [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_CONFIG, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_REQUEST]);
    assert.match(refused.responses[0]!.errorMessage ?? '', /broker configs are static; set them in the config file/);
    assert.deepEqual(await ownConfigs(topic), { 'segment.ms': '600000' }, 'a refused change changes nothing');

    const duplicated = await alter([
      { resourceType: TOPIC, resourceName: topic, configs: [{ name: 'segment.ms', value: '1' }] },
      { resourceType: TOPIC, resourceName: topic, configs: [{ name: 'segment.ms', value: '2' }] },
    ]);
    assert.deepEqual(duplicated.responses.map((r) => r.errorCode), [ErrorCode.INVALID_REQUEST]);
  }
});

test('IncrementalAlterConfigs v0-v1 set, delete, append and subtract', async () => {
  for (let version = 0; version <= 1; version++) {
    const topic = `iac-v${version}`;
    await createTopic(topic, 1, { 'retention.ms': '1000' });
    const alter = (configs: IncrementalAlterConfigsRequestAlterableConfig[], resourceType = TOPIC, resourceName = topic) =>
      client.send(incrementalAlterConfigsCodec, version, { resources: [{ resourceType, resourceName, configs }], validateOnly: false });

    let response = await alter([
      { name: 'segment.ms', configOperation: SET, value: '600000' },
      { name: 'retention.ms', configOperation: DELETE, value: null },
      // cleanup.policy is the one list key and 'compact' is refused until the log cleaner exists.
      { name: 'cleanup.policy', configOperation: APPEND, value: 'delete' },
    ]);
    assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE, response.responses[0]!.errorMessage ?? '');
    assert.deepEqual(await ownConfigs(topic), { 'segment.ms': '600000', 'cleanup.policy': 'delete' }, 'append starts from the inherited value');

    response = await alter([{ name: 'cleanup.policy', configOperation: SUBTRACT, value: 'compact' }, { name: 'segment.ms', configOperation: SET, value: '700000' }]);
    assert.equal(response.responses[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(await ownConfigs(topic), { 'segment.ms': '700000', 'cleanup.policy': 'delete' });

    const cases: Array<[IncrementalAlterConfigsRequestAlterableConfig[], number]> = [
      [[{ name: 'segment.ms', configOperation: 9, value: '1' }], ErrorCode.INVALID_REQUEST],
      [[{ name: 'segment.ms', configOperation: SET, value: null }], ErrorCode.INVALID_REQUEST],
      [[{ name: 'segment.ms', configOperation: SET, value: '1' }, { name: 'segment.ms', configOperation: DELETE, value: null }], ErrorCode.INVALID_REQUEST],
      [[{ name: 'segment.ms', configOperation: APPEND, value: '1' }], ErrorCode.INVALID_CONFIG],
      [[{ name: 'no.such.key', configOperation: DELETE, value: null }], ErrorCode.INVALID_CONFIG],
      [[{ name: 'segment.ms', configOperation: SET, value: '0' }], ErrorCode.INVALID_CONFIG],
    ];
    for (const [configs, errorCode] of cases) {
      const refused = await alter(configs);
      assert.equal(refused.responses[0]!.errorCode, errorCode, JSON.stringify(configs));
      assert.ok(refused.responses[0]!.errorMessage !== null);
    }
    const brokerChange = await alter([{ name: 'num.partitions', configOperation: SET, value: '2' }], BROKER, '1');
    assert.equal(brokerChange.responses[0]!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.deepEqual(await ownConfigs(topic), { 'segment.ms': '700000', 'cleanup.policy': 'delete' }, 'refused changes change nothing');
  }
});

test('CreatePartitions v0-v3 grow topics and check counts and assignments', async () => {
  for (let version = 0; version <= 3; version++) {
    const topic = `cp-v${version}`;
    await createTopic(topic, 1);
    const grow = (topics: CreatePartitionsRequestCreatePartitionsTopic[], validateOnly = false) =>
      client.send(createPartitionsCodec, version, { topics, timeoutMs: 5000, validateOnly });

    assert.equal((await grow([{ name: topic, count: 5, assignments: null }], true)).results[0]!.errorCode, ErrorCode.NONE);
    assert.equal((await topicMetadata(topic)).partitions.length, 1, 'validateOnly adds nothing');
    assert.equal((await grow([{ name: topic, count: 3, assignments: null }])).results[0]!.errorCode, ErrorCode.NONE);
    assert.equal((await grow([{ name: topic, count: 4, assignments: [{ brokerIds: [1] }] }])).results[0]!.errorCode, ErrorCode.NONE);
    assert.equal((await topicMetadata(topic)).partitions.length, 4);

    const refused = await grow([
      { name: topic, count: 4, assignments: null },
      { name: 'cp-missing', count: 2, assignments: null },
    ]);
    assert.deepEqual(refused.results.map((r) => [r.name, r.errorCode]), [[topic, ErrorCode.INVALID_PARTITIONS], ['cp-missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
    const badAssignments: Array<Array<{ brokerIds: number[] }>> = [
      [{ brokerIds: [1] }, { brokerIds: [1] }],   // one new partition, two assignments
      [{ brokerIds: [2] }],                      // no broker 2
      [{ brokerIds: [1, 1] }],                   // replicas not distinct
    ];
    for (const assignments of badAssignments) {
      const result = (await grow([{ name: topic, count: 5, assignments }])).results[0]!;
      assert.equal(result.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT, JSON.stringify(assignments));
      assert.ok(result.errorMessage !== null);
    }
    const duplicated = await grow([{ name: topic, count: 6, assignments: null }, { name: topic, count: 7, assignments: null }]);
    assert.deepEqual(duplicated.results.map((r) => r.errorCode), [ErrorCode.INVALID_REQUEST]);
    assert.equal((await topicMetadata(topic)).partitions.length, 4);
  }
});

test('DeleteRecords v0-v2 move the log start offset and refuse offsets past the high watermark', async () => {
  await createTopic('dr-topic', 1);
  const kafka = new Kafka({ clientId: 'admin-versions-producer', brokers: [node.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 } });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let index = 0; index < 9; index++) await producer.send({ topic: 'dr-topic', messages: [{ value: `v${index}` }] });
  } finally {
    await producer.disconnect();
  }
  const deleteBefore = (version: number, name: string, partitionIndex: number, offset: number) =>
    client.send(deleteRecordsCodec, version, { topics: [{ name, partitions: [{ partitionIndex, offset }] }], timeoutMs: 5000 })
      .then((response) => response.topics[0]!.partitions[0]!);

  assert.deepEqual(await deleteBefore(0, 'dr-topic', 0, 2), { partitionIndex: 0, lowWatermark: 2, errorCode: ErrorCode.NONE });
  assert.deepEqual(await deleteBefore(1, 'dr-topic', 0, 1), { partitionIndex: 0, lowWatermark: 2, errorCode: ErrorCode.NONE }, 'never moves back');
  assert.deepEqual(await deleteBefore(2, 'dr-topic', 0, 5), { partitionIndex: 0, lowWatermark: 5, errorCode: ErrorCode.NONE });
  assert.deepEqual(await deleteBefore(2, 'dr-topic', 0, 10), { partitionIndex: 0, lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
  assert.deepEqual(await deleteBefore(2, 'dr-topic', 0, -5), { partitionIndex: 0, lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
  assert.deepEqual(await deleteBefore(1, 'dr-topic', 3, 0), { partitionIndex: 3, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
  assert.deepEqual(await deleteBefore(0, 'dr-missing', 0, 0), { partitionIndex: 0, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
  assert.deepEqual(await deleteBefore(2, 'dr-topic', 0, -1), { partitionIndex: 0, lowWatermark: 9, errorCode: ErrorCode.NONE }, '-1 means the high watermark');
});

test('DescribeCluster v0-v1 list this broker; v1 refuses controller endpoints', async () => {
  for (let version = 0; version <= 1; version++) {
    const response = await client.send(describeClusterCodec, version, { includeClusterAuthorizedOperations: false, endpointType: 1 });
    assert.equal(response.errorCode, ErrorCode.NONE);
    assert.ok(response.clusterId.length > 0);
    assert.equal(response.controllerId, 1);
    assert.deepEqual(response.brokers, [{ brokerId: 1, host: '127.0.0.1', port: node.kafkaPort, rack: null }]);
  }
  const controllers = await client.send(describeClusterCodec, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 });
  assert.equal(controllers.errorCode, ErrorCode.MISMATCHED_ENDPOINT_TYPE);
  assert.deepEqual(controllers.brokers, []);
});
