// Proves the metadata log's record codec: every record type survives encode/decode unchanged, and
// anything malformed (bad JSON or UTF-8, another version, unknown type, missing, extra or mistyped
// fields, a leader outside the ISR, an ISR outside the replicas, oversized input) is refused with
// MalformedMetadataRecordError instead of reaching the image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeRecords, encodeRecords, MalformedMetadataRecordError, metadataRecordLimits, type MetadataRecord } from '../../src/controller/metadata-records.ts';

const topicId = '0123456789abcdef0123456789abcdef';

const everyType: MetadataRecord[] = [
  { type: 'cluster', clusterId: 'tide-cluster' },
  { type: 'register-broker', nodeId: 1, incarnationId: 'abc', brokerEpoch: 7, host: 'h', port: 9092, rack: 'r1', internalHost: 'i', internalPort: 9093 },
  { type: 'register-broker', nodeId: 2, incarnationId: 'def', brokerEpoch: 8, host: 'h', port: 9092, rack: null, internalHost: '', internalPort: 0 },
  { type: 'fence-broker', nodeId: 1, brokerEpoch: 7 },
  { type: 'unfence-broker', nodeId: 1, brokerEpoch: 7 },
  { type: 'broker-storage', nodeId: 1, brokerEpoch: 7, full: true },
  { type: 'topic', name: 't', topicId, configs: { 'cleanup.policy': 'compact' }, internal: false },
  { type: 'partition', topicId, partition: 0, replicas: [1, 2, 3], isr: [2], leader: 2, leaderEpoch: 3, partitionEpoch: 4 },
  { type: 'partition', topicId, partition: 1, replicas: [1], isr: [1], leader: -1, leaderEpoch: 0, partitionEpoch: 0 },
  { type: 'topic-config', topicId, configs: {} },
  { type: 'remove-topic', topicId },
  { type: 'producer-id-block', firstId: 1000, size: 1000, nodeId: 3 },
];

function raw(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

test('every record type round-trips through encode/decode', () => {
  assert.deepEqual(decodeRecords(encodeRecords(everyType)), everyType);
  assert.deepEqual(decodeRecords(encodeRecords([])), []);
});

test('random partition and broker records round-trip', () => {
  const partition = fc.record({
    replicas: fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 5 }),
    leaderEpoch: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    partition: fc.integer({ min: 0, max: 100_000 }),
  }).map(({ replicas, leaderEpoch, partition: index }): MetadataRecord => ({
    type: 'partition', topicId, partition: index, replicas, isr: replicas.slice(0, 1), leader: replicas[0]!, leaderEpoch, partitionEpoch: leaderEpoch,
  }));
  const broker = fc.record({
    nodeId: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    incarnationId: fc.string({ minLength: 1, maxLength: 40 }),
    brokerEpoch: fc.maxSafeNat(),
    host: fc.string({ minLength: 1, maxLength: 40 }),
    port: fc.integer({ min: 0, max: 65535 }),
    rack: fc.option(fc.string({ maxLength: 10 })),
  }).map((b): MetadataRecord => ({ type: 'register-broker', ...b, internalHost: b.host, internalPort: b.port }));
  fc.assert(fc.property(fc.array(fc.oneof(partition, broker), { maxLength: 20 }), (records) => {
    assert.deepEqual(decodeRecords(encodeRecords(records)), records);
  }), { seed: 42, numRuns: 200 });
});

test('malformed entries are refused', () => {
  const bad: Array<[string, Uint8Array]> = [
    ['not JSON', new TextEncoder().encode('{"v":1,')],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
    ['not an object', raw([1, 2])],
    ['another version', raw({ v: 2, records: [] })],
    ['no records array', raw({ v: 1, records: {} })],
    ['unknown type', raw({ v: 1, records: [{ type: 'acl' }] })],
    ['missing field', raw({ v: 1, records: [{ type: 'fence-broker', nodeId: 1 }] })],
    ['extra field', raw({ v: 1, records: [{ type: 'fence-broker', nodeId: 1, brokerEpoch: 1, x: 1 }] })],
    ['string for a number', raw({ v: 1, records: [{ type: 'fence-broker', nodeId: '1', brokerEpoch: 1 }] })],
    ['negative node id', raw({ v: 1, records: [{ type: 'fence-broker', nodeId: -1, brokerEpoch: 1 }] })],
    ['fractional epoch', raw({ v: 1, records: [{ type: 'fence-broker', nodeId: 1, brokerEpoch: 1.5 }] })],
    ['bad topic id', raw({ v: 1, records: [{ type: 'remove-topic', topicId: 'XYZ' }] })],
    ['config value not a string', raw({ v: 1, records: [{ type: 'topic-config', topicId, configs: { a: 1 } }] })],
    ['leader outside ISR', raw({ v: 1, records: [{ ...everyType[7], leader: 3 }] })],
    ['ISR outside replicas', raw({ v: 1, records: [{ ...everyType[7], isr: [9], leader: 9 }] })],
    ['empty ISR with a leader', raw({ v: 1, records: [{ ...everyType[7], isr: [], leader: 1 }] })], // empty without one: replica-lost-data.test.ts
    ['repeated replica', raw({ v: 1, records: [{ ...everyType[7], replicas: [1, 1] }] })],
    ['storage state not a boolean', raw({ v: 1, records: [{ type: 'broker-storage', nodeId: 1, brokerEpoch: 7, full: 'yes' }] })],
    ['zero-size producer id block', raw({ v: 1, records: [{ type: 'producer-id-block', firstId: 0, size: 0, nodeId: 1 }] })],
    ['oversized entry', new Uint8Array(metadataRecordLimits.encodedBytesMax + 1)],
  ];
  for (const [what, data] of bad) {
    assert.throws(() => decodeRecords(data), MalformedMetadataRecordError, what);
  }
});

test('encode refuses records it could not decode', () => {
  assert.throws(() => encodeRecords([{ type: 'fence-broker', nodeId: -5, brokerEpoch: 0 }]), MalformedMetadataRecordError);
  assert.throws(() => encodeRecords([{ type: 'partition', topicId, partition: 0, replicas: [1], isr: [1], leader: 2, leaderEpoch: 0, partitionEpoch: 0 }]), MalformedMetadataRecordError);
});
