// Proves the metadata image is a pure replay of the log: topics, partitions, brokers (fenced and
// unfenced), configs, removals and producer-id blocks appear as the records say; records that do
// not fit the state (stale broker epochs, unknown topics, partition gaps) are skipped the same way
// on every node; images already handed out never change; offsets apply once and in order; and a
// snapshot restores exactly the replayed state (and refuses malformed input).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetadataImageBuilder } from '../../src/controller/metadata-image-builder.ts';
import { MalformedMetadataRecordError, type MetadataRecord } from '../../src/controller/metadata-records.ts';

const idA = 'a'.repeat(32);
const idB = 'b'.repeat(32);

function register(nodeId: number, brokerEpoch: number, rack: string | null = null): MetadataRecord {
  return { type: 'register-broker', nodeId, incarnationId: `inc-${nodeId}-${brokerEpoch}`, brokerEpoch, host: `host${nodeId}`, port: 9000 + nodeId, rack, internalHost: 'internal', internalPort: 9500 + nodeId };
}

function partition(topicId: string, index: number, replicas: number[], leader: number, leaderEpoch = 0): MetadataRecord {
  return { type: 'partition', topicId, partition: index, replicas, isr: leader === -1 ? [replicas[0]!] : [leader], leader, leaderEpoch, partitionEpoch: leaderEpoch };
}

const history: MetadataRecord[][] = [
  [{ type: 'cluster', clusterId: 'cluster-1' }],
  [register(1, 0, 'r1')],
  [register(2, 1, 'r2'), register(3, 2, null)],
  [{ type: 'unfence-broker', nodeId: 1, brokerEpoch: 0 }, { type: 'unfence-broker', nodeId: 2, brokerEpoch: 1 }, { type: 'unfence-broker', nodeId: 3, brokerEpoch: 2 }],
  [{ type: 'topic', name: 'orders', topicId: idA, configs: { 'retention.ms': '1000' }, internal: false }, partition(idA, 0, [1, 2, 3], 1), partition(idA, 1, [2, 3, 1], 2)],
  [{ type: 'topic', name: '__consumer_offsets', topicId: idB, configs: {}, internal: true }, partition(idB, 0, [3], 3)],
  [{ type: 'fence-broker', nodeId: 2, brokerEpoch: 1 }, partition(idA, 1, [2, 3, 1], -1, 1)],
  [{ type: 'topic-config', topicId: idA, configs: { 'cleanup.policy': 'compact' } }],
  [partition(idA, 2, [3, 1, 2], 3)],
  [{ type: 'producer-id-block', firstId: 0, size: 1000, nodeId: 1 }, { type: 'producer-id-block', firstId: 1000, size: 500, nodeId: 2 }],
  [register(1, 3, 'r1')], // node 1 restarted: new incarnation, fenced
  [{ type: 'remove-topic', topicId: idB }],
  [{ type: 'broker-storage', nodeId: 3, brokerEpoch: 2, full: true }], // broker 3's disk guard refuses appends
];

function replay(entries: MetadataRecord[][]): MetadataImageBuilder {
  const builder = new MetadataImageBuilder();
  entries.forEach((records, index) => builder.apply(records, index + 1));
  return builder;
}

test('replay builds topics, partitions, brokers, configs and removals', () => {
  const builder = replay(history);
  const image = builder.image();
  assert.equal(image.clusterId, 'cluster-1');
  assert.equal(image.appliedOffset, history.length);
  assert.equal(builder.appliedOffset, history.length);
  assert.equal(image.nextProducerId, 1500);
  assert.equal(image.highestBrokerEpoch, 3);
  assert.equal(builder.skippedRecords, 0);

  assert.deepEqual([...image.brokers.keys()], [1, 2, 3]);
  assert.deepEqual(image.brokers.get(1), {
    nodeId: 1, host: 'host1', port: 9001, rack: 'r1', fenced: true, incarnationId: 'inc-1-3', brokerEpoch: 3,
    internalHost: 'internal', internalPort: 9501, registeredAtOffset: 11, storageFull: false,
  });
  assert.equal(image.brokers.get(2)!.fenced, true);
  assert.equal(image.brokers.get(3)!.fenced, false);
  assert.equal(image.brokers.get(3)!.rack, null);
  assert.equal(image.brokers.get(3)!.storageFull, true);
  assert.equal(image.brokers.get(2)!.storageFull, false);

  assert.deepEqual([...image.topicsByName.keys()], ['orders']);
  assert.equal(image.topicsById.has(idB), false);
  const orders = image.topicsById.get(idA)!;
  assert.equal(image.topicsByName.get('orders'), orders);
  assert.deepEqual(orders.configs, { 'cleanup.policy': 'compact' });
  assert.equal(orders.internal, false);
  assert.deepEqual(orders.partitions.map((p) => [p.partition, p.leader, p.leaderEpoch]), [[0, 1, 0], [1, -1, 1], [2, 3, 0]]);
});

test('records that do not fit the state are skipped, deterministically', () => {
  const builder = replay(history);
  const before = builder.image();
  builder.apply([
    { type: 'fence-broker', nodeId: 3, brokerEpoch: 0 },            // stale epoch
    { type: 'unfence-broker', nodeId: 99, brokerEpoch: 0 },         // unknown broker
    register(3, 1),                                                 // older epoch than registered
    { type: 'cluster', clusterId: 'other' },                        // cluster id is fixed
    { type: 'topic', name: 'orders', topicId: 'c'.repeat(32), configs: {}, internal: false }, // name taken
    partition(idB, 0, [1], 1),                                      // removed topic
    partition(idA, 9, [1], 1),                                      // gap in partition numbers
    { type: 'topic-config', topicId: idB, configs: {} },
    { type: 'remove-topic', topicId: idB },
  ], 100);
  assert.equal(builder.skippedRecords, 9);
  const after = builder.image();
  assert.notEqual(after, before);
  assert.equal(after.appliedOffset, 100);
  assert.equal(after.clusterId, 'cluster-1');
  assert.equal(after.brokers.get(3)!.fenced, false);
  assert.equal(after.brokers.get(3)!.brokerEpoch, 2);
  assert.deepEqual(after.topicsByName, before.topicsByName);
});

test('an image handed out never changes when later records apply', () => {
  const builder = replay(history.slice(0, 5));
  const image = builder.image();
  assert.equal(builder.image(), image, 'the same image is returned while nothing changed');
  const ordersBefore = structuredClone(image.topicsById.get(idA));
  const brokersBefore = structuredClone([...image.brokers.values()]);
  builder.apply([{ type: 'fence-broker', nodeId: 1, brokerEpoch: 0 }, partition(idA, 0, [1, 2, 3], -1, 1), { type: 'topic-config', topicId: idA, configs: {} }], 6);
  assert.deepEqual(image.topicsById.get(idA), ordersBefore);
  assert.deepEqual([...image.brokers.values()], brokersBefore);
  assert.equal(builder.image().topicsById.get(idA)!.partitions[0]!.leader, -1);
});

test('offsets apply once and in order; empty entries advance the offset', () => {
  const builder = new MetadataImageBuilder();
  assert.equal(builder.appliedOffset, -1);
  builder.apply([], 1);
  assert.equal(builder.appliedOffset, 1);
  assert.throws(() => builder.apply([], 1));
  assert.throws(() => builder.apply([], 0));
  builder.apply([], 5);
  assert.equal(builder.image().appliedOffset, 5);
});

test('the controller id is set by the node, not the log, and not kept in snapshots', () => {
  const builder = replay(history);
  assert.equal(builder.image().controllerId, -1);
  builder.setControllerId(2);
  assert.equal(builder.image().controllerId, 2);
  assert.equal(MetadataImageBuilder.fromSnapshot(builder.snapshot()).image().controllerId, -1);
});

test('a snapshot restores exactly the replayed state, at every point of the history', () => {
  for (let length = 0; length <= history.length; length++) {
    const replayed = replay(history.slice(0, length));
    const snapshot = replayed.snapshot();
    const restored = MetadataImageBuilder.fromSnapshot(snapshot);
    assert.deepEqual(restored.image(), replayed.image(), `after ${length} entries`);
    assert.equal(restored.appliedOffset, replayed.appliedOffset);
    assert.deepEqual(restored.snapshot(), snapshot);
    // And the restored builder keeps replaying like the original.
    const rest = history.slice(length);
    rest.forEach((records, index) => {
      restored.apply(records, length + index + 1);
      replayed.apply(records, length + index + 1);
    });
    assert.deepEqual(restored.image(), replay(history).image(), `continued from ${length}`);
  }
});

test('malformed snapshots are refused', () => {
  const good = JSON.parse(new TextDecoder().decode(replay(history).snapshot())) as Record<string, unknown>;
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  const bad: Array<[string, Uint8Array]> = [
    ['not JSON', new TextEncoder().encode('{')],
    ['other version', encode({ ...good, v: 9 })],
    ['bad offset', encode({ ...good, appliedOffset: 'x' })],
    ['bad producer id', encode({ ...good, nextProducerId: -4 })],
    ['brokers not array', encode({ ...good, brokers: {} })],
    ['broker record malformed', encode({ ...good, brokers: [{ record: { type: 'register-broker', nodeId: 'x' }, fenced: true, registeredAtOffset: 1 }] })],
    ['broker repeated', encode({ ...good, brokers: [...(good['brokers'] as unknown[]), (good['brokers'] as unknown[])[0]] })],
    ['topic repeated', encode({ ...good, topics: [...(good['topics'] as unknown[]), (good['topics'] as unknown[])[0]] })],
    ['partition numbering', encode({ ...good, topics: (good['topics'] as Array<{ partitions: Array<Record<string, unknown>> }>).map((t) => ({ ...t, partitions: t.partitions.map((p) => ({ ...p, partition: 7 })) })) })],
  ];
  for (const [what, data] of bad) assert.throws(() => MetadataImageBuilder.fromSnapshot(data), MalformedMetadataRecordError, what);
});
