// Proves the __consumer_offsets record format: keys and values encode to Kafka's exact bytes,
// round-trip, and every value version Kafka ever wrote (0-4, including the flexible v4 with
// compact strings and tagged fields) decodes; damaged input is a DecodeError, never a crash or a
// huge allocation. Also covers the bounded ByteWriter/ByteReader they are built on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReader, ByteWriter, DecodeError } from '../../src/coordinator/binary.ts';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
} from '../../src/coordinator/offsets-topic-format.ts';
import type { GroupMetadataValue } from '../../src/coordinator/offsets-topic-format.ts';

/** Flexible-version helpers (unsigned varint length + 1), written by hand to be independent of the code under test. */
function compactString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from([bytes.length + 1]), bytes]);
}
function int16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeInt16BE(value);
  return buffer;
}
function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
}
function int64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(BigInt(value));
  return buffer;
}
function string(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([int16(bytes.length), bytes]);
}
function bytes(value: Buffer): Buffer {
  return Buffer.concat([int32(value.length), value]);
}

describe('keys', () => {
  it('encode to Kafka’s bytes: offset key v1, group key v2', () => {
    assert.equal(encodeOffsetCommitKey('g', 't', 5).toString('hex'), '0001' + '000167' + '000174' + '00000005');
    assert.equal(encodeGroupMetadataKey('g').toString('hex'), '0002' + '000167');
  });

  it('decode key versions 0 and 1 as offset commits, 2 as group metadata, others as unknown', () => {
    const v0 = Buffer.concat([int16(0), string('grp'), string('topic'), int32(3)]);
    assert.deepEqual(decodeOffsetsTopicKey(v0), { kind: 'offset-commit', groupId: 'grp', topic: 'topic', partition: 3 });
    assert.deepEqual(decodeOffsetsTopicKey(encodeGroupMetadataKey('grp')), { kind: 'group-metadata', groupId: 'grp' });
    assert.deepEqual(decodeOffsetsTopicKey(Buffer.concat([int16(3), string('x')])), { kind: 'unknown', version: 3 });
  });
});

describe('offset commit values', () => {
  it('writes v3 (with leader epoch), or v1 when an expire timestamp must be kept', () => {
    const v3 = encodeOffsetCommitValue({ offset: 42, leaderEpoch: 7, metadata: 'm', commitTimestampMs: 1000, expireTimestampMs: null });
    assert.equal(v3.toString('hex'), '0003' + int64(42).toString('hex') + '00000007' + '00016d' + int64(1000).toString('hex'));
    const v1 = encodeOffsetCommitValue({ offset: 42, leaderEpoch: -1, metadata: '', commitTimestampMs: 1000, expireTimestampMs: 2000 });
    assert.equal(v1.readInt16BE(0), 1);
    assert.deepEqual(decodeOffsetCommitValue(v1), { offset: 42, leaderEpoch: -1, metadata: '', commitTimestampMs: 1000, expireTimestampMs: 2000 });
  });

  it('reads versions 0, 2 and the flexible 4', () => {
    const v0 = Buffer.concat([int16(0), int64(5), string('meta'), int64(77)]);
    assert.deepEqual(decodeOffsetCommitValue(v0), { offset: 5, leaderEpoch: -1, metadata: 'meta', commitTimestampMs: 77, expireTimestampMs: null });
    const v2 = Buffer.concat([int16(2), int64(6), string(''), int64(78)]);
    assert.equal(decodeOffsetCommitValue(v2).offset, 6);
    const v4 = Buffer.concat([int16(4), int64(8), int32(2), compactString('flex'), int64(79), Buffer.from([0])]);
    assert.deepEqual(decodeOffsetCommitValue(v4), { offset: 8, leaderEpoch: 2, metadata: 'flex', commitTimestampMs: 79, expireTimestampMs: null });
    const v4WithTag = Buffer.concat([int16(4), int64(8), int32(2), compactString(''), int64(79), Buffer.from([1, 0, 2, 0xaa, 0xbb])]);
    assert.equal(decodeOffsetCommitValue(v4WithTag).commitTimestampMs, 79, 'unknown tagged fields are skipped');
  });

  it('round-trips any value', () => {
    fc.assert(
      fc.property(
        fc.record({
          offset: fc.maxSafeInteger(),
          leaderEpoch: fc.integer({ min: -1, max: 0x7fffffff }),
          metadata: fc.string({ maxLength: 200 }),
          commitTimestampMs: fc.nat(),
          expireTimestampMs: fc.constant(null),
        }),
        (value) => {
          assert.deepEqual(decodeOffsetCommitValue(encodeOffsetCommitValue(value)), { ...value });
        },
      ),
    );
  });
});

describe('group metadata values', () => {
  const value: GroupMetadataValue = {
    protocolType: 'consumer',
    generationId: 4,
    protocolName: 'range',
    leaderId: 'm1',
    currentStateTimestampMs: 123456,
    members: [
      {
        memberId: 'm1',
        groupInstanceId: 'instance',
        clientId: 'c1',
        clientHost: '/10.0.0.1',
        rebalanceTimeoutMs: 30000,
        sessionTimeoutMs: 10000,
        subscription: Buffer.from([1, 2]),
        assignment: Buffer.from([3]),
      },
      {
        memberId: 'm2',
        groupInstanceId: null,
        clientId: 'c2',
        clientHost: '/10.0.0.2',
        rebalanceTimeoutMs: 45000,
        sessionTimeoutMs: 6000,
        subscription: Buffer.alloc(0),
        assignment: Buffer.alloc(0),
      },
    ],
  };

  it('round-trips as version 3', () => {
    const encoded = encodeGroupMetadataValue(value);
    assert.equal(encoded.readInt16BE(0), 3);
    assert.deepEqual(decodeGroupMetadataValue(encoded), value);
    const empty = { ...value, protocolName: null, leaderId: null, members: [], currentStateTimestampMs: null };
    assert.deepEqual(decodeGroupMetadataValue(encodeGroupMetadataValue(empty)), empty);
  });

  it('reads version 0 (no rebalance timeout: the session timeout stands in), 1 and 2', () => {
    const memberV0 = Buffer.concat([string('m'), string('c'), string('h'), int32(9000), bytes(Buffer.from([1])), bytes(Buffer.from([2]))]);
    const v0 = Buffer.concat([int16(0), string('consumer'), int32(2), string('range'), string('m'), int32(1), memberV0]);
    const decodedV0 = decodeGroupMetadataValue(v0);
    assert.equal(decodedV0.members[0]?.rebalanceTimeoutMs, 9000);
    assert.equal(decodedV0.currentStateTimestampMs, null);
    assert.equal(decodedV0.members[0]?.groupInstanceId, null);

    const memberV1 = Buffer.concat([string('m'), string('c'), string('h'), int32(20000), int32(9000), bytes(Buffer.from([1])), bytes(Buffer.alloc(0))]);
    const v2 = Buffer.concat([int16(2), string('consumer'), int32(2), string('range'), string('m'), int64(555), int32(1), memberV1]);
    const decodedV2 = decodeGroupMetadataValue(v2);
    assert.equal(decodedV2.currentStateTimestampMs, 555);
    assert.equal(decodedV2.members[0]?.rebalanceTimeoutMs, 20000);
  });

  it('reads the flexible version 4', () => {
    const member = Buffer.concat([
      compactString('m'),
      Buffer.from([0]), // null group instance id
      compactString('c'),
      compactString('h'),
      int32(20000),
      int32(9000),
      Buffer.from([2, 0xee]), // compact bytes of length 1
      Buffer.from([1]), // empty compact bytes
      Buffer.from([0]),
    ]);
    const v4 = Buffer.concat([int16(4), compactString('consumer'), int32(3), compactString('range'), compactString('m'), int64(-1), Buffer.from([2]), member, Buffer.from([0])]);
    const decoded = decodeGroupMetadataValue(v4);
    assert.equal(decoded.generationId, 3);
    assert.equal(decoded.currentStateTimestampMs, null);
    assert.deepEqual(decoded.members[0], {
      memberId: 'm',
      groupInstanceId: null,
      clientId: 'c',
      clientHost: 'h',
      rebalanceTimeoutMs: 20000,
      sessionTimeoutMs: 9000,
      subscription: Buffer.from([0xee]),
      assignment: Buffer.alloc(0),
    });
  });

  it('refuses impossible member counts and truncated input with a DecodeError', () => {
    const huge = Buffer.concat([int16(3), string('consumer'), int32(1), string('r'), string('m'), int64(0), int32(0x7fffffff)]);
    assert.throws(() => decodeGroupMetadataValue(huge), DecodeError);
    const encoded = encodeGroupMetadataValue(value);
    for (let length = 0; length < encoded.length; length += 7) {
      assert.throws(() => decodeGroupMetadataValue(encoded.subarray(0, length)), DecodeError);
    }
  });
});

describe('byte writer and reader', () => {
  it('grow from a tiny buffer without losing bytes', () => {
    const writer = new ByteWriter(1);
    for (let index = 0; index < 100; index++) writer.int8(index % 100).int16(index).int32(-index - 1).int64(index * 1_000_000_007).string(`s${index}`).bytes(Buffer.from([index]));
    const reader = new ByteReader(writer.toBuffer());
    for (let index = 0; index < 100; index++) {
      assert.equal(reader.int8(), index % 100);
      assert.equal(reader.int16(), index);
      assert.equal(reader.int32(), -index - 1);
      assert.equal(reader.int64(), index * 1_000_000_007);
      assert.equal(reader.string(), `s${index}`);
      assert.deepEqual([...reader.bytes()], [index]);
    }
    assert.equal(reader.remaining(), 0);
  });

  it('refuses int64 values outside the safe integer range', () => {
    assert.throws(() => new ByteReader(Buffer.from('7fffffffffffffff', 'hex')).int64(), DecodeError);
    assert.throws(() => new ByteWriter().int64(2 ** 60), RangeError);
  });
});
