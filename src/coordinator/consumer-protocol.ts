// The "consumer" embedded protocol: the opaque metadata a consumer puts in JoinGroup (its
// subscription) and the opaque assignment the leader hands out in SyncGroup. The broker never needs
// them to run a group; Tide decodes them to know which topics a group reads (OffsetDelete, offset
// expiry), for the REST API, and for tests and the CLI that act as clients.
//
// Grammar (ConsumerProtocolSubscription.json / ConsumerProtocolAssignment.json, never flexible):
//   Subscription v0: version int16, topics [string], userData bytes?
//                v1: + ownedPartitions [topic string, partitions [int32]]
//                v2: + generationId int32
//                v3: + rackId string?
//   Assignment v0-3: version int16, assignedPartitions [topic string, partitions [int32]], userData bytes?
// A version above 3 is read with the v3 layout and trailing bytes are ignored: Kafka's rule, which
// is why later versions may only append fields.
import { ByteReader, ByteWriter, DecodeError } from './binary.ts';

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface ConsumerProtocolSubscription {
  version: number;
  topics: string[];
  userData: Buffer | null;
  /** v1+; empty before. */
  ownedPartitions: TopicPartitions[];
  /** v2+; -1 before. */
  generationId: number;
  /** v3+; null before. */
  rackId: string | null;
}

export interface ConsumerProtocolAssignment {
  version: number;
  assignedPartitions: TopicPartitions[];
  userData: Buffer | null;
}

export const consumerProtocolHighestVersion = 3;

const minimumStringBytes = 2;
const int32Bytes = 4;
// An entry of [topic, [int32]]: an empty string and an empty array.
const minimumTopicPartitionsBytes = minimumStringBytes + 4;

function readVersion(reader: ByteReader): number {
  const version = reader.int16();
  if (version < 0) throw new DecodeError(`consumer protocol version ${version}`);
  return Math.min(version, consumerProtocolHighestVersion);
}

function checkVersion(version: number): void {
  if (!Number.isInteger(version) || version < 0 || version > consumerProtocolHighestVersion) {
    throw new RangeError(`consumer protocol version must be 0..${consumerProtocolHighestVersion}, got ${version}`);
  }
}

function readTopicPartitions(reader: ByteReader): TopicPartitions[] {
  const count = reader.arrayLength(minimumTopicPartitionsBytes);
  const result: TopicPartitions[] = [];
  for (let index = 0; index < count; index++) {
    const topic = reader.string();
    const partitionCount = reader.arrayLength(int32Bytes);
    const partitions: number[] = [];
    for (let partitionIndex = 0; partitionIndex < partitionCount; partitionIndex++) partitions.push(reader.int32());
    result.push({ topic, partitions });
  }
  return result;
}

function writeTopicPartitions(writer: ByteWriter, entries: readonly TopicPartitions[]): void {
  writer.int32(entries.length);
  for (const entry of entries) {
    writer.string(entry.topic).int32(entry.partitions.length);
    for (const partition of entry.partitions) writer.int32(partition);
  }
}

function readTopics(reader: ByteReader): string[] {
  const count = reader.arrayLength(minimumStringBytes);
  const topics: string[] = [];
  for (let index = 0; index < count; index++) topics.push(reader.string());
  return topics;
}

export function encodeSubscription(subscription: Omit<Partial<ConsumerProtocolSubscription>, 'topics'> & { topics: string[] }): Buffer {
  const version = subscription.version ?? consumerProtocolHighestVersion;
  checkVersion(version);
  const writer = new ByteWriter(64).int16(version).int32(subscription.topics.length);
  for (const topic of subscription.topics) writer.string(topic);
  writer.nullableBytes(subscription.userData ?? null);
  if (version >= 1) writeTopicPartitions(writer, subscription.ownedPartitions ?? []);
  if (version >= 2) writer.int32(subscription.generationId ?? -1);
  if (version >= 3) writer.nullableString(subscription.rackId ?? null);
  return writer.toBuffer();
}

export function decodeSubscription(buffer: Buffer): ConsumerProtocolSubscription {
  const reader = new ByteReader(buffer);
  const version = readVersion(reader);
  const topics = readTopics(reader);
  const userData = reader.nullableBytes();
  const ownedPartitions = version >= 1 ? readTopicPartitions(reader) : [];
  const generationId = version >= 2 ? reader.int32() : -1;
  const rackId = version >= 3 ? reader.nullableString() : null;
  return { version, topics, userData, ownedPartitions, generationId, rackId };
}

/** Only the version-0 prefix (version and topics), which every version starts with. */
export function decodeSubscriptionTopics(buffer: Buffer): string[] {
  const reader = new ByteReader(buffer);
  readVersion(reader);
  return readTopics(reader);
}

export function encodeAssignment(assignment: Omit<Partial<ConsumerProtocolAssignment>, 'assignedPartitions'> & { assignedPartitions: TopicPartitions[] }): Buffer {
  const version = assignment.version ?? consumerProtocolHighestVersion;
  checkVersion(version);
  const writer = new ByteWriter(64).int16(version);
  writeTopicPartitions(writer, assignment.assignedPartitions);
  writer.nullableBytes(assignment.userData ?? null);
  return writer.toBuffer();
}

export function decodeAssignment(buffer: Buffer): ConsumerProtocolAssignment {
  const reader = new ByteReader(buffer);
  const version = readVersion(reader);
  const assignedPartitions = readTopicPartitions(reader);
  const userData = reader.nullableBytes();
  return { version, assignedPartitions, userData };
}
