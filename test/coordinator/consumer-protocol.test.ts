// Proves the consumer embedded protocol codec: subscriptions and assignments v0-v3 round-trip,
// bytes agree with a real client (kafkajs) in both directions, a newer version is read with the v3
// layout (Kafka's forward-compatibility rule), and damaged input is a DecodeError without large
// allocations.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import kafkajs from 'kafkajs';
import { DecodeError } from '../../src/coordinator/binary.ts';
import {
  decodeAssignment,
  decodeSubscription,
  decodeSubscriptionTopics,
  encodeAssignment,
  encodeSubscription,
} from '../../src/coordinator/consumer-protocol.ts';

const { AssignerProtocol } = kafkajs;

const topicPartitions = fc.array(
  fc.record({ topic: fc.string({ maxLength: 20 }), partitions: fc.array(fc.integer({ min: 0, max: 0x7fffffff }), { maxLength: 8 }) }),
  { maxLength: 5 },
);

describe('subscription', () => {
  it('round-trips every version, with fields a version lacks at their defaults', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.string({ maxLength: 20 }), { maxLength: 6 }),
        fc.option(fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes))),
        topicPartitions,
        fc.integer({ min: -1, max: 1000 }),
        fc.option(fc.string({ maxLength: 10 })),
        (version, topics, userData, ownedPartitions, generationId, rackId) => {
          const decoded = decodeSubscription(encodeSubscription({ version, topics, userData, ownedPartitions, generationId, rackId }));
          assert.equal(decoded.version, version);
          assert.deepEqual(decoded.topics, topics);
          assert.deepEqual(decoded.userData, userData);
          assert.deepEqual(decoded.ownedPartitions, version >= 1 ? ownedPartitions.map((entry) => ({ ...entry })) : []);
          assert.equal(decoded.generationId, version >= 2 ? generationId : -1);
          assert.equal(decoded.rackId, version >= 3 ? rackId : null);
        },
      ),
    );
  });

  it('agrees byte for byte with kafkajs (version 0)', () => {
    const fromKafkajs = AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['orders', 'payments'], userData: Buffer.from('ud') });
    assert.deepEqual(decodeSubscription(fromKafkajs), {
      version: 0,
      topics: ['orders', 'payments'],
      userData: Buffer.from('ud'),
      ownedPartitions: [],
      generationId: -1,
      rackId: null,
    });
    const ours = encodeSubscription({ version: 0, topics: ['orders', 'payments'], userData: Buffer.from('ud') });
    assert.deepEqual(ours, fromKafkajs);
  });

  it('reads a future version with the v3 layout and ignores what follows', () => {
    const v3 = encodeSubscription({ version: 3, topics: ['t'], userData: null, ownedPartitions: [{ topic: 't', partitions: [1] }], generationId: 9, rackId: 'rack-a' });
    const future = Buffer.concat([v3, Buffer.from([0xde, 0xad])]);
    future.writeInt16BE(7, 0);
    const decoded = decodeSubscription(future);
    assert.equal(decoded.version, 3);
    assert.equal(decoded.rackId, 'rack-a');
    assert.deepEqual(decodeSubscriptionTopics(future), ['t']);
  });

  it('refuses truncated input and impossible counts', () => {
    const encoded = encodeSubscription({ version: 3, topics: ['alpha', 'beta'], userData: Buffer.from([1, 2, 3]), ownedPartitions: [{ topic: 'alpha', partitions: [0, 1] }] });
    for (let length = 0; length < encoded.length; length++) {
      assert.throws(() => decodeSubscription(encoded.subarray(0, length)), DecodeError);
    }
    assert.throws(() => decodeSubscription(Buffer.from('0000' + '7fffffff', 'hex')), DecodeError);
    assert.throws(() => encodeSubscription({ version: 4, topics: [] }), RangeError);
  });
});

describe('assignment', () => {
  it('round-trips every version', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), topicPartitions, fc.option(fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes))), (version, assignedPartitions, userData) => {
        const decoded = decodeAssignment(encodeAssignment({ version, assignedPartitions, userData }));
        assert.deepEqual(decoded, { version, assignedPartitions: assignedPartitions.map((entry) => ({ ...entry })), userData });
      }),
    );
  });

  it('agrees with kafkajs in both directions', () => {
    const fromKafkajs = AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: { orders: [0, 2], payments: [1] }, userData: Buffer.alloc(0) });
    assert.deepEqual(decodeAssignment(fromKafkajs), {
      version: 0,
      assignedPartitions: [
        { topic: 'orders', partitions: [0, 2] },
        { topic: 'payments', partitions: [1] },
      ],
      userData: Buffer.alloc(0),
    });
    const ours = encodeAssignment({ version: 1, assignedPartitions: [{ topic: 'orders', partitions: [3] }], userData: null });
    const decodedByKafkajs = AssignerProtocol.MemberAssignment.decode(ours);
    assert.deepEqual(decodedByKafkajs?.assignment, { orders: [3] });
  });

  it('refuses a partition count larger than the bytes left', () => {
    const bogus = Buffer.concat([Buffer.from('0000' + '00000001', 'hex'), Buffer.from('000174', 'hex'), Buffer.from('7fffffff', 'hex')]);
    assert.throws(() => decodeAssignment(bogus), DecodeError);
  });
});
