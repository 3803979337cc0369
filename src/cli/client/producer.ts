// Sends records to a topic in batches: records are grouped by partition (fixed, by key hash, or
// sticky round-robin per flush for keyless records), one v2 batch per partition, and one Produce
// request per leader. Leader moves are retried after a metadata refresh; without idempotence a
// retry after a lost answer may duplicate records, which the summary cannot rule out.
import { buildRecordBatch, type RecordInput } from '../../protocol/records.ts';
import { produceCodec } from '../../protocol/messages/produce.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { KafkaRequestError, transientErrorCodes } from './kafka-errors.ts';
import { partitionForKey } from './partitioner.ts';
import { MAX_TRANSIENT_ATTEMPTS, sleep, type TideClient } from './tide-client.ts';

export interface ProducerOptions {
  topic: string;
  acks: number; // 0, 1 or -1 (all)
  compression: number; // CompressionCodec
  partition: number | null; // fixed partition, or null to choose per record
  requestTimeoutMs: number;
}

export interface ProducedRange {
  partition: number;
  baseOffset: number; // -1 with acks=0
  count: number;
}

export class Producer {
  private partitionCount = 0;
  private leaders = new Map<number, number>();
  private stickyPartition = 0;

  constructor(private readonly client: TideClient, private readonly options: ProducerOptions) {}

  async start(): Promise<void> {
    await this.refresh();
    if (this.options.partition !== null && this.options.partition >= this.partitionCount) {
      throw new KafkaRequestError(`topic ${this.options.topic} partition ${this.options.partition} (it has ${this.partitionCount})`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
    this.stickyPartition = Math.floor(Math.random() * this.partitionCount);
  }

  /** Sends one block of records and waits for the acknowledgements the acks setting asks for. */
  async send(records: Array<RecordInput & { key?: Buffer | null }>): Promise<ProducedRange[]> {
    const byPartition = new Map<number, RecordInput[]>();
    for (const record of records) {
      const partition = this.choosePartition(record.key ?? null);
      let list = byPartition.get(partition);
      if (!list) byPartition.set(partition, (list = []));
      list.push(record);
    }
    // Keyless records stick to one partition per block (fewer, bigger batches), then move on.
    this.stickyPartition = (this.stickyPartition + 1) % this.partitionCount;
    const batches = new Map<number, { batch: Buffer; count: number }>();
    for (const [partition, list] of byPartition) {
      batches.set(partition, { batch: await buildRecordBatch({ records: list, compression: this.options.compression }), count: list.length });
    }
    return this.sendBatches(batches);
  }

  private choosePartition(key: Buffer | null): number {
    if (this.options.partition !== null) return this.options.partition;
    if (key !== null) return partitionForKey(key, this.partitionCount);
    return this.stickyPartition;
  }

  private async sendBatches(batches: Map<number, { batch: Buffer; count: number }>): Promise<ProducedRange[]> {
    const done: ProducedRange[] = [];
    let remaining = batches;
    for (let attempt = 1; remaining.size > 0; attempt++) {
      const failed = new Map<number, { batch: Buffer; count: number }>();
      let lastError: number = ErrorCode.NONE;
      const byLeader = new Map<number, number[]>();
      for (const partition of remaining.keys()) {
        const leader = this.leaders.get(partition) ?? -1;
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
      }
      await Promise.all([...byLeader].map(async ([leader, partitions]) => {
        if (leader < 0) {
          for (const partition of partitions) failed.set(partition, remaining.get(partition)!);
          lastError = ErrorCode.LEADER_NOT_AVAILABLE;
          return;
        }
        const answers = await this.produceTo(leader, partitions.map((partition) => ({ partition, batch: remaining.get(partition)!.batch })));
        for (const answer of answers) {
          const entry = remaining.get(answer.partition)!;
          if (answer.errorCode === ErrorCode.NONE) {
            done.push({ partition: answer.partition, baseOffset: answer.baseOffset, count: entry.count });
          } else if (transientErrorCodes.has(answer.errorCode) && attempt < MAX_TRANSIENT_ATTEMPTS) {
            failed.set(answer.partition, entry);
            lastError = answer.errorCode;
          } else {
            throw new KafkaRequestError(`topic ${this.options.topic} partition ${answer.partition}`, answer.errorCode, answer.errorMessage);
          }
        }
      }));
      if (failed.size > 0) {
        if (attempt >= MAX_TRANSIENT_ATTEMPTS) throw new KafkaRequestError(`topic ${this.options.topic}`, lastError);
        await sleep(200 * attempt);
        await this.refresh();
      }
      remaining = failed;
    }
    return done;
  }

  private async produceTo(leader: number, entries: Array<{ partition: number; batch: Buffer }>): Promise<Array<{ partition: number; errorCode: number; errorMessage: string | null; baseOffset: number }>> {
    const connection = await this.client.connectionTo(leader);
    const body = {
      transactionalId: null,
      acks: this.options.acks,
      timeoutMs: this.options.requestTimeoutMs,
      topicData: [{ name: this.options.topic, partitionData: entries.map((entry) => ({ index: entry.partition, records: entry.batch })) }],
    };
    if (this.options.acks === 0) {
      const version = connection.versionFor(produceCodec);
      if (version === null) throw new Error('broker does not serve Produce');
      connection.sendNoReply(produceCodec, version, body);
      return entries.map((entry) => ({ partition: entry.partition, errorCode: ErrorCode.NONE, errorMessage: null, baseOffset: -1 }));
    }
    const { body: response } = await connection.send(produceCodec, body);
    const answers = response.responses.flatMap((topic) => topic.partitionResponses);
    return answers.map((answer) => ({ partition: answer.index, errorCode: answer.errorCode, errorMessage: answer.errorMessage, baseOffset: answer.baseOffset }));
  }

  private async refresh(): Promise<void> {
    const metadata = await this.client.topicMetadata(this.options.topic);
    this.partitionCount = metadata.partitions.length;
    this.leaders = new Map(metadata.partitions.map((p) => [p.partitionIndex, p.leaderId]));
  }
}
