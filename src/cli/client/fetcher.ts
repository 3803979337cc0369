// Reads records of one topic from partition leaders: one Fetch per leader per round, batches
// decoded with Tide's record codecs (every compression codec), records before the asked offset
// dropped (a fetch may start mid-batch), control batches skipped.
import { ErrorCode } from '../../protocol/error-codes.ts';
import { fetchCodec } from '../../protocol/messages/fetch.ts';
import { iterateBatches } from '../../protocol/record-batch.ts';
import { decodeBatchRecords, type DecodedRecord } from '../../protocol/records.ts';
import { KafkaRequestError, transientErrorCodes } from './kafka-errors.ts';
import type { TideClient } from './tide-client.ts';

const ZERO_UUID = '00000000000000000000000000000000';
const FETCH_MAX_BYTES = 32 * 1024 * 1024;
const PARTITION_MAX_BYTES = 4 * 1024 * 1024;

export interface ConsumedRecord extends DecodedRecord {
  partition: number;
}

export interface FetchRound {
  records: ConsumedRecord[];
  /** true when every partition's next offset has reached its high watermark. */
  atEnd: boolean;
  /** partitions whose position was out of range (the caller decides where to go). */
  outOfRange: number[];
}

export class Fetcher {
  /** partition -> next offset to read. */
  readonly positions = new Map<number, number>();
  private readonly highWatermarks = new Map<number, number>();
  private leaders = new Map<number, number>();

  constructor(private readonly client: TideClient, readonly topic: string, private readonly maxWaitMs: number) {}

  async refreshLeaders(): Promise<void> {
    const metadata = await this.client.topicMetadata(this.topic);
    this.leaders = new Map(metadata.partitions.map((p) => [p.partitionIndex, p.leaderId]));
  }

  seek(partition: number, offset: number): void {
    this.positions.set(partition, offset);
    this.highWatermarks.delete(partition);
  }

  async fetchRound(): Promise<FetchRound> {
    const byLeader = new Map<number, number[]>();
    for (const partition of this.positions.keys()) {
      const leader = this.leaders.get(partition) ?? -1;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
    }
    const records: ConsumedRecord[] = [];
    const outOfRange: number[] = [];
    let refresh = byLeader.has(-1);
    await Promise.all([...byLeader].filter(([leader]) => leader >= 0).map(async ([leader, partitions]) => {
      const connection = await this.client.connectionTo(leader);
      const { body } = await connection.send(fetchCodec, {
        clusterId: null,
        replicaId: -1,
        replicaState: { replicaId: -1, replicaEpoch: -1 },
        maxWaitMs: this.maxWaitMs,
        minBytes: 1,
        maxBytes: FETCH_MAX_BYTES,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{
          topic: this.topic,
          topicId: ZERO_UUID,
          partitions: partitions.map((partition) => ({
            partition,
            currentLeaderEpoch: -1,
            fetchOffset: this.positions.get(partition)!,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: PARTITION_MAX_BYTES,
            replicaDirectoryId: ZERO_UUID,
          })),
        }],
        forgottenTopicsData: [],
        rackId: '',
      });
      if (body.errorCode !== ErrorCode.NONE) throw new KafkaRequestError(`fetch from topic ${this.topic}`, body.errorCode);
      for (const answer of body.responses.flatMap((topic) => topic.partitions)) {
        const partition = answer.partitionIndex;
        if (answer.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          outOfRange.push(partition);
          continue;
        }
        if (transientErrorCodes.has(answer.errorCode) || answer.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
          refresh = true;
          continue;
        }
        if (answer.errorCode !== ErrorCode.NONE) throw new KafkaRequestError(`topic ${this.topic} partition ${partition}`, answer.errorCode);
        this.highWatermarks.set(partition, answer.highWatermark);
        records.push(...(await this.decode(partition, answer.records)));
      }
    }));
    if (refresh) await this.refreshLeaders();
    return { records, atEnd: this.atEnd(), outOfRange };
  }

  private async decode(partition: number, recordSet: Buffer | null): Promise<ConsumedRecord[]> {
    if (recordSet === null || recordSet.length === 0) return [];
    const from = this.positions.get(partition)!;
    let next = from;
    const records: ConsumedRecord[] = [];
    for (const batch of iterateBatches(recordSet)) {
      if (batch.lastOffset < next) continue;
      if (!batch.isControl) {
        for (const record of await decodeBatchRecords(batch)) {
          if (record.offset >= next) records.push({ ...record, partition });
        }
      }
      next = batch.lastOffset + 1;
    }
    this.positions.set(partition, next);
    return records;
  }

  private atEnd(): boolean {
    for (const [partition, position] of this.positions) {
      const highWatermark = this.highWatermarks.get(partition);
      if (highWatermark === undefined || position < highWatermark) return false;
    }
    return true;
  }
}
