// Reads a __consumer_offsets partition from its log start to its high watermark for a coordinator
// to replay. Only committed data (below the high watermark) is loaded: what a failover could take
// back must not come back as live group state.
import { iterateBatches } from '../../protocol/record-batch.ts';
import { decodeBatchRecords } from '../../protocol/records.ts';
import type { OffsetsTopicLogRecord } from '../../coordinator/offsets-topic-replay.ts';
import type { Partition } from '../partition.ts';

/** Bytes asked of the log per read; each read returns at least one whole batch. */
const readChunkBytes = 1024 * 1024;

export interface OffsetsPartitionContents {
  records: OffsetsTopicLogRecord[];
  /** Batches skipped: control batches and transactional offset commits (not supported yet). */
  skippedBatchCount: number;
  /** The offset reading stopped at (the log end when the read started). */
  endOffset: number;
}

/**
 * Every record of the partition up to its log end, in log order. A coordinator loads as the
 * partition's leader, whose log is authoritative: a new leader's high watermark may still lag
 * behind commits it already holds, and loading only to it would forget them (Kafka loads to the end). `isCancelled` is checked
 * after each read so that a load abandoned (leadership lost, shutdown) stops early.
 */
export async function readOffsetsPartition(partition: Partition, isCancelled: () => boolean = () => false): Promise<OffsetsPartitionContents> {
  const records: OffsetsTopicLogRecord[] = [];
  const endOffset = partition.log.readableEndOffset;
  let offset = partition.logStartOffset;
  let skippedBatchCount = 0;
  // Every productive round moves `offset` past at least one batch, so this many rounds suffice.
  const roundsMax = Math.max(0, endOffset - offset) + 1;
  for (let round = 0; round < roundsMax && offset < endOffset; round++) {
    const { records: bytes } = await partition.read(offset, readChunkBytes, endOffset);
    if (isCancelled()) break;
    let advanced = false;
    for (const batch of iterateBatches(bytes)) {
      if (batch.lastOffset < offset) continue;
      if (batch.isControl || batch.isTransactional) {
        skippedBatchCount++;
      } else {
        for (const record of await decodeBatchRecords(batch)) {
          if (record.offset >= offset && record.offset < endOffset) records.push({ key: record.key, value: record.value, logOffset: record.offset });
        }
      }
      offset = batch.lastOffset + 1;
      advanced = true;
    }
    if (!advanced) break;
  }
  return { records, skippedBatchCount, endOffset: Math.min(offset, endOffset) };
}
