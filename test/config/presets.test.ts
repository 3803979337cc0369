// Proves the HA presets set only defaults: a cluster preset fills default.replication.factor,
// min.insync.replicas and log.flush unless those keys were set explicitly; a topic preset sits
// between the broker defaults and the topic's own keys; a CreateTopics request with RF -1 gets the
// preset's factor capped at the available brokers, refused when that leaves fewer replicas than
// min.insync.replicas, while an explicit factor above the broker count is still refused; and
// multi-master gives one partition per broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerConfig } from '../../src/config/broker-config.ts';
import { ConfigError } from '../../src/config/config-error.ts';
import { presetFor, presetNames, presetReplicationFactor } from '../../src/config/presets.ts';
import { effectiveTopicConfig, validateTopicConfig } from '../../src/config/topic-config.ts';
import { validateTopicChange, type TopicLimits } from '../../src/controller/topic-validation.ts';
import type { MetadataImage } from '../../src/controller/metadata-image.ts';
import type { CreateTopicRequest } from '../../src/controller/topic-requests.ts';

test('every preset has the RF, min ISR and flush of DESIGN §5', () => {
  const table = presetNames.map((name) => {
    const preset = presetFor(name)!;
    return [name, preset.replicationFactor, preset.minInsyncReplicas, preset.flush];
  });
  assert.deepEqual(table, [
    ['single', 1, 1, 'async'],
    ['multi-master', 1, 1, 'async'],
    ['async-replica', 2, 1, 'async'],
    ['sync-replica', 3, 2, 'sync'],
  ]);
  assert.equal(presetFor('quorum'), null);
  assert.equal(presetFor(null), null);
});

test('a cluster preset sets broker defaults, explicit keys win', () => {
  const plain = BrokerConfig.load({ overrides: {} });
  assert.equal(plain.string('preset'), null);
  assert.equal(plain.int('default.replication.factor'), 1);

  const sync = BrokerConfig.load({ overrides: { preset: 'sync-replica' } });
  assert.equal(sync.int('default.replication.factor'), 3);
  assert.equal(sync.int('min.insync.replicas'), 2);
  assert.equal(sync.string('log.flush'), 'sync');
  assert.equal(sync.topicDefaults()['flush'], 'sync');
  assert.equal(sync.topicDefaults()['min.insync.replicas'], '2');

  const mixed = BrokerConfig.load({ env: { TIDE_MIN_INSYNC_REPLICAS: '1' }, overrides: { preset: 'sync-replica', 'log.flush': 'async' } });
  assert.equal(mixed.int('default.replication.factor'), 3);
  assert.equal(mixed.int('min.insync.replicas'), 1);
  assert.equal(mixed.string('log.flush'), 'async');

  assert.throws(() => BrokerConfig.load({ overrides: { preset: 'quorum' } }), ConfigError);
});

test('a topic preset sits between broker defaults and the topic\'s own keys', () => {
  const defaults = BrokerConfig.load({ overrides: { preset: 'single' } }).topicDefaults();
  assert.deepEqual(pick(effectiveTopicConfig({}, defaults)), { 'min.insync.replicas': '1', flush: 'async' });
  assert.deepEqual(pick(effectiveTopicConfig({ preset: 'sync-replica' }, defaults)), { 'min.insync.replicas': '2', flush: 'sync' });
  assert.deepEqual(pick(effectiveTopicConfig({ preset: 'sync-replica', 'min.insync.replicas': '1' }, defaults)), { 'min.insync.replicas': '1', flush: 'sync' });
  assert.equal(validateTopicConfig('preset', ' async-replica '), 'async-replica');
  assert.throws(() => validateTopicConfig('preset', 'mirrored'), /must be one of single, multi-master, async-replica, sync-replica/);
});

test('a preset RF is capped at the brokers, refused below min ISR', () => {
  assert.deepEqual(presetReplicationFactor(3, 5, 2, 'sync-replica'), { replicationFactor: 3 });
  assert.deepEqual(presetReplicationFactor(3, 2, 2, 'sync-replica'), { replicationFactor: 2 });
  assert.ok('problem' in presetReplicationFactor(3, 1, 2, 'sync-replica'));
  assert.deepEqual(presetReplicationFactor(2, 1, 1, 'async-replica'), { replicationFactor: 1 });
});

function emptyMetadataImage(): MetadataImage {
  return { clusterId: 'c', controllerId: 1, brokers: new Map(), topicsByName: new Map(), topicsById: new Map() };
}

const limits: TopicLimits = { defaultPartitions: 1, defaultReplicationFactor: 1, maxPartitionsPerTopic: 100 };

function create(name: string, configs: Record<string, string>, replicationFactor = -1, numPartitions = -1): CreateTopicRequest {
  return { name, numPartitions, replicationFactor, assignments: [], configs };
}

test('CreateTopics with RF -1 follows the topic preset, capped at the available brokers', () => {
  const image = emptyMetadataImage();
  const three = validateTopicChange(image, create('a', { preset: 'sync-replica' }), limits, [1, 2, 3]);
  assert.ok('replicaAssignments' in three);
  assert.equal(three.replicaAssignments[0]!.length, 3);

  const two = validateTopicChange(image, create('b', { preset: 'sync-replica' }), limits, [1, 2]);
  assert.ok('replicaAssignments' in two);
  assert.equal(two.replicaAssignments[0]!.length, 2);

  const one = validateTopicChange(image, create('c', { preset: 'sync-replica' }), limits, [1]);
  assert.ok('errorCode' in one && one.errorCode !== 0);
  assert.match(one.errorMessage ?? '', /min.insync.replicas=2/);

  const oneRelaxed = validateTopicChange(image, create('d', { preset: 'sync-replica', 'min.insync.replicas': '1' }), limits, [1]);
  assert.ok('replicaAssignments' in oneRelaxed);
  assert.equal(oneRelaxed.replicaAssignments[0]!.length, 1);

  const explicit = validateTopicChange(image, create('e', { preset: 'sync-replica' }, 3), limits, [1, 2]);
  assert.ok('errorCode' in explicit && explicit.errorCode !== 0, 'an explicit RF above the broker count is refused as in Kafka');
});

test('a cluster preset given in the limits caps the default RF too', () => {
  const image = emptyMetadataImage();
  const clusterLimits: TopicLimits = { ...limits, defaultReplicationFactor: 3, preset: 'sync-replica', defaultMinInsyncReplicas: 2 };
  const two = validateTopicChange(image, create('a', {}), clusterLimits, [1, 2]);
  assert.ok('replicaAssignments' in two);
  assert.equal(two.replicaAssignments[0]!.length, 2);
  const one = validateTopicChange(image, create('b', {}), clusterLimits, [1]);
  assert.ok('errorCode' in one && one.errorCode !== 0);
  const noPreset = validateTopicChange(image, create('c', {}), { ...limits, defaultReplicationFactor: 3 }, [1, 2]);
  assert.ok('errorCode' in noPreset && noPreset.errorCode !== 0, 'without a preset default.replication.factor is not capped (Kafka)');
});

test('multi-master gives one partition per broker unless the request says otherwise', () => {
  const image = emptyMetadataImage();
  const spread = validateTopicChange(image, create('a', { preset: 'multi-master' }), limits, [1, 2, 3]);
  assert.ok('replicaAssignments' in spread);
  assert.deepEqual(spread.replicaAssignments.map((replicas) => replicas.length), [1, 1, 1]);
  assert.deepEqual(new Set(spread.replicaAssignments.map((replicas) => replicas[0])), new Set([1, 2, 3]));
  const given = validateTopicChange(image, create('b', { preset: 'multi-master' }, -1, 2), limits, [1, 2, 3]);
  assert.ok('replicaAssignments' in given);
  assert.equal(given.replicaAssignments.length, 2);
});

function pick(effective: Record<string, string>): Record<string, string> {
  return { 'min.insync.replicas': effective['min.insync.replicas']!, flush: effective['flush']! };
}
