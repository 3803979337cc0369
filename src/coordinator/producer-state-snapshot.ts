// The on-disk form of a partition's producer state, written next to the log so a restart replays
// only the log after `endOffset` instead of the whole partition.
//
//   version          int16   (1)
//   crc              uint32  CRC-32C of every byte after this field
//   endOffset        int64   replay the log from here
//   producerCount    int32
//   producers, ascending id:
//     producerId             int64
//     producerEpoch          int16
//     lastTimestampMs        int64
//     currentTxnFirstOffset  int64   (-1: none)
//     batchCount             int8    (0..5)
//     batches, oldest first: firstSequence int32, lastSequence int32,
//                            firstOffset int64, lastOffset int64, timestampMs int64
//
// Unlike Kafka's snapshot (last batch only), all retained batches are kept, so a retry of any of
// the last 5 batches is still recognised right after a restart. A snapshot that fails its checks
// is refused with a DecodeError; the caller then rebuilds from the start of the log.
import { crc32c } from '@node-rs/crc32';
import { ByteReader, ByteWriter, DecodeError } from './binary.ts';
import type { BatchMetadata, ProducerEntry } from './producer-state.ts';

const snapshotVersion = 1;
const headerBytes = 2 + 4;
const producerFixedBytes = 8 + 2 + 8 + 8 + 1;
const batchBytes = 4 + 4 + 8 + 8 + 8;
const batchesPerProducerMax = 5;

export interface ProducerStateSnapshot {
  endOffset: number;
  entries: ProducerEntry[];
}

export function encodeProducerStateSnapshot(snapshot: ProducerStateSnapshot): Buffer {
  const entries = [...snapshot.entries].sort((a, b) => a.producerId - b.producerId);
  const writer = new ByteWriter(headerBytes + 12 + entries.length * (producerFixedBytes + batchBytes));
  writer.int16(snapshotVersion).uint32(0).int64(snapshot.endOffset).int32(entries.length);
  for (const entry of entries) {
    if (entry.batches.length > batchesPerProducerMax) throw new Error(`producer ${entry.producerId} holds ${entry.batches.length} batches`);
    writer
      .int64(entry.producerId)
      .int16(entry.producerEpoch)
      .int64(entry.lastTimestampMs)
      .int64(entry.currentTxnFirstOffset ?? -1)
      .int8(entry.batches.length);
    for (const batch of entry.batches) {
      writer.int32(batch.firstSequence).int32(batch.lastSequence).int64(batch.firstOffset).int64(batch.lastOffset).int64(batch.timestampMs);
    }
  }
  const encoded = writer.toBuffer();
  encoded.writeUInt32BE(crc32c(encoded.subarray(headerBytes)), 2);
  return encoded;
}

export function decodeProducerStateSnapshot(buffer: Buffer): ProducerStateSnapshot {
  const reader = new ByteReader(buffer);
  const version = reader.int16();
  if (version !== snapshotVersion) throw new DecodeError(`producer state snapshot version ${version} is not ${snapshotVersion}`);
  const storedCrc = reader.uint32();
  const actualCrc = crc32c(buffer.subarray(headerBytes));
  if (storedCrc !== actualCrc) throw new DecodeError(`producer state snapshot CRC ${storedCrc} does not match ${actualCrc}`);

  const endOffset = reader.int64();
  const producerCount = reader.arrayLength(producerFixedBytes);
  const entries: ProducerEntry[] = [];
  const seen = new Set<number>();
  for (let index = 0; index < producerCount; index++) {
    const producerId = reader.int64();
    const producerEpoch = reader.int16();
    const lastTimestampMs = reader.int64();
    const txnFirstOffset = reader.int64();
    const batchCount = reader.int8();
    if (producerId < 0 || seen.has(producerId)) throw new DecodeError(`producer id ${producerId} is invalid or repeated`);
    if (batchCount < 0 || batchCount > batchesPerProducerMax) throw new DecodeError(`producer ${producerId} has ${batchCount} batches`);
    seen.add(producerId);
    const batches: BatchMetadata[] = [];
    for (let batchIndex = 0; batchIndex < batchCount; batchIndex++) {
      const batch = {
        firstSequence: reader.int32(),
        lastSequence: reader.int32(),
        firstOffset: reader.int64(),
        lastOffset: reader.int64(),
        timestampMs: reader.int64(),
      };
      if (batch.lastOffset < batch.firstOffset || batch.lastOffset >= endOffset) {
        throw new DecodeError(`producer ${producerId}: batch offsets ${batch.firstOffset}..${batch.lastOffset} are invalid before ${endOffset}`);
      }
      batches.push(batch);
    }
    entries.push({ producerId, producerEpoch, batches, lastTimestampMs, currentTxnFirstOffset: txnFirstOffset === -1 ? null : txnFirstOffset });
  }
  if (reader.remaining() !== 0) throw new DecodeError(`${reader.remaining()} trailing bytes after the producer state snapshot`);
  return { endOffset, entries };
}
