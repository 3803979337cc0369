// Proves replica placement: RF=3 over 3 brokers puts each partition on 3 distinct brokers with
// leaders balanced (each leads ~1/3), also across many one-partition topics; with two racks every
// partition spans both racks; replication factors above the live broker count are refused; and a
// single node still gets every replica (the single-node store and admin tests rely on it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MetadataImage, TopicMetadata } from '../../src/controller/metadata-image.ts';
import { placePartitions, placementLoad, type PlacementBroker } from '../../src/controller/placement.ts';
import { validatePartitionIncrease, validateTopicChange } from '../../src/controller/topic-validation.ts';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { createRequest, testLimits } from './fake-quorum.ts';

function imageWith(topics: TopicMetadata[] = []): MetadataImage {
  return { clusterId: 'c', controllerId: 1, brokers: new Map(), topicsByName: new Map(topics.map((t) => [t.name, t])), topicsById: new Map(topics.map((t) => [t.topicId, t])) };
}

function topicFrom(name: string, index: number, assignments: number[][]): TopicMetadata {
  return {
    name, topicId: index.toString(16).padStart(32, '0'), configs: {}, internal: false,
    partitions: assignments.map((replicas, partition) => ({ partition, replicas, isr: [replicas[0]!], leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0 })),
  };
}

function counts(values: number[]): Map<number, number> {
  const result = new Map<number, number>();
  for (const value of values) result.set(value, (result.get(value) ?? 0) + 1);
  return result;
}

const limits = { ...testLimits, maxPartitionsPerTopic: 10_000 };

test('RF=3 over 3 brokers: distinct replicas and balanced leaders', () => {
  const checked = validateTopicChange(imageWith(), createRequest('t', 99, 3), limits, [1, 2, 3]);
  assert.ok(!('errorCode' in checked));
  for (const replicas of checked.replicaAssignments) assert.deepEqual([...replicas].sort(), [1, 2, 3]);
  assert.deepEqual(counts(checked.replicaAssignments.map((r) => r[0]!)), new Map([[1, 33], [2, 33], [3, 33]]));
});

test('leaders stay balanced across many single-partition topics', () => {
  const topics: TopicMetadata[] = [];
  for (let index = 0; index < 60; index++) {
    const checked = validateTopicChange(imageWith(topics), createRequest(`t${index}`, 1, 2), limits, [1, 2, 3]);
    assert.ok(!('errorCode' in checked));
    topics.push(topicFrom(`t${index}`, index, checked.replicaAssignments));
  }
  const leaders = counts(topics.map((t) => t.partitions[0]!.replicas[0]!));
  const replicas = counts(topics.flatMap((t) => t.partitions[0]!.replicas));
  assert.deepEqual(leaders, new Map([[1, 20], [2, 20], [3, 20]]));
  assert.deepEqual(replicas, new Map([[1, 40], [2, 40], [3, 40]]));
});

test('rack-aware: with two racks every partition has a replica in each', () => {
  const racks = new Map([[1, 'a'], [2, 'a'], [3, 'b'], [4, 'b']]);
  const checked = validateTopicChange(imageWith(), createRequest('t', 40, 2), limits, [1, 2, 3, 4], racks);
  assert.ok(!('errorCode' in checked));
  for (const replicas of checked.replicaAssignments) {
    assert.equal(new Set(replicas.map((id) => racks.get(id))).size, 2, `replicas ${replicas} span both racks`);
  }
  assert.deepEqual(counts(checked.replicaAssignments.map((r) => r[0]!)), new Map([[1, 10], [2, 10], [3, 10], [4, 10]]));
  // RF=3 with 2 racks uses both racks.
  const three = validateTopicChange(imageWith(), createRequest('u', 12, 3), limits, [1, 2, 3, 4], racks);
  assert.ok(!('errorCode' in three));
  for (const replicas of three.replicaAssignments) assert.equal(new Set(replicas.map((id) => racks.get(id))).size, 2);
});

test('replication factor above the live brokers is refused', () => {
  const checked = validateTopicChange(imageWith(), createRequest('t', 1, 4), limits, [1, 2, 3]);
  assert.ok('errorCode' in checked);
  assert.equal(checked.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
  const topic = topicFrom('t', 1, [[1, 2, 3]]);
  const increase = validatePartitionIncrease(imageWith([topic]), topic, 3, limits, [1, 2]);
  assert.ok('errorCode' in increase);
  assert.equal(increase.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
});

test('new partitions keep the replication factor and balance leaders', () => {
  const topic = topicFrom('t', 1, [[1, 2, 3], [2, 3, 1], [3, 1, 2]]);
  const increase = validatePartitionIncrease(imageWith([topic]), topic, 9, limits, [1, 2, 3]);
  assert.ok(!('errorCode' in increase));
  assert.equal(increase.replicaAssignments.length, 6);
  for (const replicas of increase.replicaAssignments) assert.deepEqual([...replicas].sort(), [1, 2, 3]);
  assert.deepEqual(counts(increase.replicaAssignments.map((r) => r[0]!)), new Map([[1, 2], [2, 2], [3, 2]]));
  const notLarger = validatePartitionIncrease(imageWith([topic]), topic, 3, limits, [1, 2, 3]);
  assert.ok('errorCode' in notLarger && notLarger.errorCode === ErrorCode.INVALID_PARTITIONS);
});

test('a single node gets every replica, as before', () => {
  const checked = validateTopicChange(imageWith([topicFrom('x', 1, [[7]])]), createRequest('t', 5, -1), limits, [7]);
  assert.ok(!('errorCode' in checked));
  assert.deepEqual(checked.replicaAssignments, [[7], [7], [7], [7], [7]]);
});

test('explicit assignments must share one replication factor', () => {
  const request = { name: 't', numPartitions: -1, replicationFactor: -1, configs: {}, assignments: [{ partition: 0, brokerIds: [1, 2] }, { partition: 1, brokerIds: [1] }] };
  const checked = validateTopicChange(imageWith(), request, limits, [1, 2]);
  assert.ok('errorCode' in checked && checked.errorCode === ErrorCode.INVALID_REPLICA_ASSIGNMENT);
});

test('property: distinct replicas, rack spread when possible, leaders within one of each other', () => {
  const scenario = fc.record({
    brokers: fc.uniqueArray(fc.record({ nodeId: fc.integer({ min: 0, max: 50 }), rack: fc.option(fc.constantFrom('a', 'b', 'c')) }), { minLength: 1, maxLength: 8, selector: (b) => b.nodeId }),
    partitions: fc.integer({ min: 1, max: 60 }),
    replicationFactor: fc.integer({ min: 1, max: 8 }),
    rotation: fc.nat(100),
  }).filter((s) => s.replicationFactor <= s.brokers.length);
  fc.assert(fc.property(scenario, ({ brokers, partitions, replicationFactor, rotation }) => {
    const assignments = placePartitions(brokers as PlacementBroker[], partitions, replicationFactor, placementLoad(imageWith()), rotation);
    assert.equal(assignments.length, partitions);
    const rackOf = new Map(brokers.map((b) => [b.nodeId, b.rack === null ? `node${b.nodeId}` : b.rack]));
    const rackCount = new Set(rackOf.values()).size;
    for (const replicas of assignments) {
      assert.equal(replicas.length, replicationFactor);
      assert.equal(new Set(replicas).size, replicationFactor);
      assert.equal(new Set(replicas.map((id) => rackOf.get(id))).size, Math.min(rackCount, replicationFactor));
    }
    const leaders = counts(assignments.map((r) => r[0]!));
    const perBroker = brokers.map((b) => leaders.get(b.nodeId) ?? 0);
    assert.ok(Math.max(...perBroker) - Math.min(...perBroker) <= 1, `leaders ${perBroker}`);
  }), { seed: 7, numRuns: 300 });
});
