// Reads every record of a topic partition from offset 0 up to its high watermark with raw Fetch
// requests, decoding batches with Tide's own record decoder (all compression codecs).
import { fetchCodec, defaultFetchRequest, defaultFetchRequestFetchTopic, defaultFetchRequestFetchPartition } from '../../src/protocol/messages/fetch.ts';
import { iterateBatches } from '../../src/protocol/record-batch.ts';
import { decodeBatchRecords, type DecodedRecord } from '../../src/protocol/records.ts';
import { RawClient } from './raw-client.ts';

export async function readPartition(port: number, topic: string, partition: number, options: { fromOffset?: number; maxRounds?: number } = {}): Promise<{ records: DecodedRecord[]; highWatermark: number; logStartOffset: number }> {
  const client = await RawClient.connect(port);
  try {
    const records: DecodedRecord[] = [];
    let offset = options.fromOffset ?? 0;
    let highWatermark = -1;
    let logStartOffset = -1;
    for (let round = 0; round < (options.maxRounds ?? 10_000); round++) {
      const response = await client.send(fetchCodec, 11, {
        ...defaultFetchRequest(),
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 4 * 1024 * 1024,
        isolationLevel: 1,
        sessionEpoch: -1,
        topics: [{ ...defaultFetchRequestFetchTopic(), topic, partitions: [{ ...defaultFetchRequestFetchPartition(), partition, fetchOffset: offset, partitionMaxBytes: 1024 * 1024, currentLeaderEpoch: -1 }] }],
      });
      const data = response.responses[0]!.partitions[0]!;
      if (data.errorCode !== 0) throw new Error(`fetch ${topic}-${partition} at ${offset} failed with error ${data.errorCode}`);
      highWatermark = data.highWatermark;
      logStartOffset = data.logStartOffset;
      const bytes = data.records ?? Buffer.alloc(0);
      let advanced = false;
      for (const batch of iterateBatches(bytes)) {
        for (const record of await decodeBatchRecords(batch)) {
          if (record.offset >= offset) records.push(record);
        }
        offset = batch.lastOffset + 1;
        advanced = true;
      }
      if (!advanced || offset >= highWatermark) break;
    }
    return { records, highWatermark, logStartOffset };
  } finally {
    client.close();
  }
}
