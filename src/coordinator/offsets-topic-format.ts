// Keys and values of the records in __consumer_offsets, in Kafka's own shapes so a Kafka tool
// (kafka-console-consumer with the offsets formatter) reads what Tide writes and Tide can load
// what Kafka wrote.
//
// A key starts with an int16 version that says what the record is:
//   version 0 or 1: offset commit   {group: string, topic: string, partition: int32}
//   version 2:      group metadata  {group: string}
// A value starts with an int16 version of its own; a null value is a tombstone (deleted).
//   OffsetCommitValue v0: offset int64, metadata string, commitTimestamp int64
//                     v1: offset, metadata, commitTimestamp, expireTimestamp int64
//                     v2: offset, metadata, commitTimestamp
//                     v3: offset, leaderEpoch int32, metadata, commitTimestamp
//                     v4: as v3, flexible (compact strings, tagged fields)
//   GroupMetadataValue v0: protocolType string, generation int32, protocol string?, leader string?,
//                          members [memberId, clientId, clientHost, sessionTimeout int32,
//                                   subscription bytes, assignment bytes]
//                      v1: members gain rebalanceTimeout int32 (after clientHost)
//                      v2: currentStateTimestamp int64 (after leader)
//                      v3: members gain groupInstanceId string? (after memberId)
//                      v4: as v3, flexible
// Tide writes key v1 / value v3 for offsets (v1 when an explicit expire timestamp is kept), and
// key v2 / value v3 for groups: what Kafka 2.3+ writes.
import { ByteReader, ByteWriter, DecodeError } from './binary.ts';

export interface OffsetsTopicRecord {
  key: Buffer;
  /** null is a tombstone: the offset or group was deleted. */
  value: Buffer | null;
}

export type OffsetsTopicKey =
  | { kind: 'offset-commit'; groupId: string; topic: string; partition: number }
  | { kind: 'group-metadata'; groupId: string }
  /** Key versions Tide does not know (e.g. KIP-848 consumer-group records); loading skips them. */
  | { kind: 'unknown'; version: number };

export interface OffsetCommitValue {
  offset: number;
  /** -1 when unknown. */
  leaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
  /** Only value version 1 carries it; null otherwise. */
  expireTimestampMs: number | null;
}

export interface GroupMemberMetadataValue {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The member's metadata for the group's selected protocol. */
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupMetadataValue {
  /** "" for a group that never had a member with a protocol type. */
  protocolType: string;
  generationId: number;
  protocolName: string | null;
  leaderId: string | null;
  /** null when the record predates value version 2 (or carried -1). */
  currentStateTimestampMs: number | null;
  members: GroupMemberMetadataValue[];
}

const offsetCommitKeyVersion = 1;
const groupMetadataKeyVersion = 2;
const offsetCommitValueVersion = 3;
const offsetCommitValueVersionWithExpiry = 1;
const groupMetadataValueVersion = 3;
const highestKnownValueVersion = 4;

export function encodeOffsetCommitKey(groupId: string, topic: string, partition: number): Buffer {
  return new ByteWriter(64).int16(offsetCommitKeyVersion).string(groupId).string(topic).int32(partition).toBuffer();
}

export function encodeGroupMetadataKey(groupId: string): Buffer {
  return new ByteWriter(32).int16(groupMetadataKeyVersion).string(groupId).toBuffer();
}

export function decodeOffsetsTopicKey(key: Buffer): OffsetsTopicKey {
  const reader = new ByteReader(key);
  const version = reader.int16();
  if (version === 0 || version === 1) {
    return { kind: 'offset-commit', groupId: reader.string(), topic: reader.string(), partition: reader.int32() };
  }
  if (version === groupMetadataKeyVersion) return { kind: 'group-metadata', groupId: reader.string() };
  return { kind: 'unknown', version };
}

export function encodeOffsetCommitValue(value: OffsetCommitValue): Buffer {
  const writer = new ByteWriter(64);
  if (value.expireTimestampMs !== null) {
    return writer
      .int16(offsetCommitValueVersionWithExpiry)
      .int64(value.offset)
      .string(value.metadata)
      .int64(value.commitTimestampMs)
      .int64(value.expireTimestampMs)
      .toBuffer();
  }
  return writer
    .int16(offsetCommitValueVersion)
    .int64(value.offset)
    .int32(value.leaderEpoch)
    .string(value.metadata)
    .int64(value.commitTimestampMs)
    .toBuffer();
}

/** Value versions above the highest known are read as the highest known (KIP-915: only tagged fields may be added). */
export function decodeOffsetCommitValue(value: Buffer): OffsetCommitValue {
  const reader = new ByteReader(value);
  const version = readValueVersion(reader);
  const flexible = version >= 4;
  const offset = reader.int64();
  const leaderEpoch = version >= 3 ? reader.int32() : -1;
  const metadata = flexible ? reader.compactString() : reader.string();
  const commitTimestampMs = reader.int64();
  const expireTimestampMs = version === 1 ? reader.int64() : null;
  if (flexible) reader.skipTaggedFields();
  return { offset, leaderEpoch, metadata, commitTimestampMs, expireTimestampMs };
}

export function encodeGroupMetadataValue(value: GroupMetadataValue): Buffer {
  const writer = new ByteWriter(256)
    .int16(groupMetadataValueVersion)
    .string(value.protocolType)
    .int32(value.generationId)
    .nullableString(value.protocolName)
    .nullableString(value.leaderId)
    .int64(value.currentStateTimestampMs ?? -1)
    .int32(value.members.length);
  for (const member of value.members) {
    writer
      .string(member.memberId)
      .nullableString(member.groupInstanceId)
      .string(member.clientId)
      .string(member.clientHost)
      .int32(member.rebalanceTimeoutMs)
      .int32(member.sessionTimeoutMs)
      .bytes(member.subscription)
      .bytes(member.assignment);
  }
  return writer.toBuffer();
}

// The smallest encoded member, to refuse impossible counts before looping: v0 with empty strings
// and bytes (3 strings, an int32, 2 bytes fields); flexible: 4 one-byte strings, 2 int32s, 2
// one-byte bytes fields and an empty tagged-field section.
const minimumMemberBytes = 3 * 2 + 4 + 2 * 4;
const minimumFlexibleMemberBytes = 4 + 2 * 4 + 2 + 1;

export function decodeGroupMetadataValue(value: Buffer): GroupMetadataValue {
  const reader = new ByteReader(value);
  const version = readValueVersion(reader);
  const flexible = version >= 4;
  const string = () => (flexible ? reader.compactString() : reader.string());
  const nullableString = () => (flexible ? reader.compactNullableString() : reader.nullableString());
  const bytes = () => (flexible ? reader.compactBytes() : reader.bytes());

  const protocolType = string();
  const generationId = reader.int32();
  const protocolName = nullableString();
  const leaderId = nullableString();
  const rawTimestamp = version >= 2 ? reader.int64() : -1;
  const memberCount = flexible ? reader.compactArrayLength(minimumFlexibleMemberBytes) : reader.arrayLength(minimumMemberBytes);
  const members: GroupMemberMetadataValue[] = [];
  for (let index = 0; index < memberCount; index++) {
    const memberId = string();
    const groupInstanceId = version >= 3 ? nullableString() : null;
    const clientId = string();
    const clientHost = string();
    const rebalanceTimeout = version >= 1 ? reader.int32() : null;
    const sessionTimeoutMs = reader.int32();
    const subscription = bytes();
    const assignment = bytes();
    if (flexible) reader.skipTaggedFields();
    members.push({
      memberId,
      groupInstanceId,
      clientId,
      clientHost,
      // Version 0 had no rebalance timeout; Kafka used the session timeout for both.
      rebalanceTimeoutMs: rebalanceTimeout ?? sessionTimeoutMs,
      sessionTimeoutMs,
      subscription,
      assignment,
    });
  }
  if (flexible) reader.skipTaggedFields();
  return {
    protocolType,
    generationId,
    protocolName,
    leaderId,
    currentStateTimestampMs: rawTimestamp === -1 ? null : rawTimestamp,
    members,
  };
}

function readValueVersion(reader: ByteReader): number {
  const version = reader.int16();
  if (version < 0) throw new DecodeError(`negative value version ${version}`);
  return Math.min(version, highestKnownValueVersion);
}

export function offsetCommitRecord(groupId: string, topic: string, partition: number, value: OffsetCommitValue): OffsetsTopicRecord {
  return { key: encodeOffsetCommitKey(groupId, topic, partition), value: encodeOffsetCommitValue(value) };
}

export function offsetTombstone(groupId: string, topic: string, partition: number): OffsetsTopicRecord {
  return { key: encodeOffsetCommitKey(groupId, topic, partition), value: null };
}

export function groupMetadataRecord(groupId: string, value: GroupMetadataValue): OffsetsTopicRecord {
  return { key: encodeGroupMetadataKey(groupId), value: encodeGroupMetadataValue(value) };
}

export function groupTombstone(groupId: string): OffsetsTopicRecord {
  return { key: encodeGroupMetadataKey(groupId), value: null };
}
