// Rebuilds what a __consumer_offsets partition says, record by record, as Kafka's loader does:
// the last value of each key wins, a null value deletes it. The result is plain data: the
// coordinator turns it into live groups (GroupCoordinator.replay), and tools can show it as is.
//
// Transactional offset commits are not supported yet: records of transactional batches must not
// be passed in (the caller skips them together with control batches).
import { DecodeError } from './binary.ts';
import type { CommittedOffset } from './group-types.ts';
import { decodeGroupMetadataValue, decodeOffsetCommitValue, decodeOffsetsTopicKey } from './offsets-topic-format.ts';
import type { GroupMetadataValue } from './offsets-topic-format.ts';

export interface OffsetsTopicLogRecord {
  key: Buffer | null;
  value: Buffer | null;
  /** Offset of the record (or of its batch) in the partition, when known; orders commits like Kafka. */
  logOffset?: number;
}

export interface ReplayedOffset {
  offset: CommittedOffset;
  logOffset: number | null;
}

export interface ReplayedGroup {
  groupId: string;
  /** null: the group never stored metadata (offsets only), or its metadata was deleted. */
  metadata: GroupMetadataValue | null;
  offsets: ReplayedOffset[];
}

export interface OffsetsTopicImage {
  groups: ReplayedGroup[];
  /** Records that were skipped: unknown key versions (newer coordinators) or values that did not decode. */
  skippedRecordCount: number;
  /** The first decode failure, for the log line. */
  firstSkipReason: string | null;
}

interface GroupEntry {
  metadata: GroupMetadataValue | null;
  offsets: Map<string, ReplayedOffset>;
}

export function replayOffsetsTopic(records: Iterable<OffsetsTopicLogRecord>): OffsetsTopicImage {
  const entries = new Map<string, GroupEntry>();
  let skippedRecordCount = 0;
  let firstSkipReason: string | null = null;
  const skip = (reason: string) => {
    skippedRecordCount++;
    firstSkipReason ??= reason;
  };
  const entryFor = (groupId: string): GroupEntry => {
    let entry = entries.get(groupId);
    if (!entry) {
      entry = { metadata: null, offsets: new Map() };
      entries.set(groupId, entry);
    }
    return entry;
  };

  for (const record of records) {
    if (record.key === null) {
      skip('record without a key');
      continue;
    }
    try {
      const key = decodeOffsetsTopicKey(record.key);
      if (key.kind === 'unknown') {
        skip(`unknown key version ${key.version}`);
        continue;
      }
      if (key.kind === 'offset-commit') {
        const entry = entryFor(key.groupId);
        // JSON.stringify keeps the key unambiguous whatever characters the topic name holds.
        const partitionKey = JSON.stringify([key.topic, key.partition]);
        if (record.value === null) {
          entry.offsets.delete(partitionKey);
        } else {
          const value = decodeOffsetCommitValue(record.value);
          entry.offsets.set(partitionKey, { offset: { topic: key.topic, partition: key.partition, ...value }, logOffset: record.logOffset ?? null });
        }
      } else {
        entryFor(key.groupId).metadata = record.value === null ? null : decodeGroupMetadataValue(record.value);
      }
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      skip(error.message);
    }
  }

  const groups: ReplayedGroup[] = [];
  for (const [groupId, entry] of entries) {
    if (entry.metadata === null && entry.offsets.size === 0) continue;
    groups.push({ groupId, metadata: entry.metadata, offsets: [...entry.offsets.values()] });
  }
  return { groups, skippedRecordCount, firstSkipReason };
}
