// The client side of a fault run: idempotent kafkajs producers (acks=all) writing unique values and
// recording every send for the checker, a sampler of each partition's high watermark, and the
// final drain that reads every partition back.
// A send that errors is indeterminate (the broker may have written it before the connection
// broke); its producer is then replaced, so a confused producer state never leaks into later sends.
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { listOffsetsCodec } from '../../src/protocol/messages/list-offsets.ts';
import { offsetCommitCodec } from '../../src/protocol/messages/offset-commit.ts';
import { offsetFetchCodec } from '../../src/protocol/messages/offset-fetch.ts';
import { readPartition } from '../helpers/read-all.ts';
import { RawClient } from '../helpers/raw-client.ts';
import type { CommittedOffsetSample, HighWatermarkSample, ReadPass, SendRecord } from './checker.ts';

export interface WorkloadOptions {
  bootstrap: string;
  topic: string;
  partitions: number;
  producers: number;
  /** Messages per send (one Produce request, one batch). */
  batchSize: number;
  /** Upper bound on sends per producer, so the loop ends even if stop() is never called. */
  maxSendsPerProducer: number;
  /** Pause between a producer's sends; 0 = back to back. */
  sendIntervalMs?: number;
}

export interface TimedSend extends SendRecord {
  startedAtMs: number;
  completedAtMs: number;
}

function quietKafka(bootstrap: string, clientId: string): Kafka {
  return new Kafka({
    clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING,
    connectionTimeout: 1000, requestTimeout: 10_000,
    retry: { retries: 6, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

export async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const admin = quietKafka(bootstrap, 'fault-admin').admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export class ProduceWorkload {
  readonly sends: TimedSend[] = [];
  private stopped = false;
  private workers: Promise<void>[] = [];
  private readonly wakeups = new Set<() => void>();

  constructor(private readonly options: WorkloadOptions) {}

  start(): void {
    this.workers = Array.from({ length: this.options.producers }, (_, index) => this.runProducer(index));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.wakeups) wake();
    await Promise.all(this.workers);
  }

  /** Waits for every producer to finish its maxSendsPerProducer sends. */
  async finished(): Promise<void> {
    await Promise.all(this.workers);
  }

  get ackedCount(): number {
    return this.sends.filter((send) => send.outcome.kind === 'acked').length;
  }

  /** Resolves once `count` more sends are acked than when called (or after `maxWaitMs`). */
  async waitForAcks(count: number, maxWaitMs: number): Promise<boolean> {
    const target = this.ackedCount + count;
    const deadline = Date.now() + maxWaitMs;
    while (Date.now() < deadline) {
      if (this.ackedCount >= target) return true;
      await sleep(20);
    }
    return this.ackedCount >= target;
  }

  private async runProducer(index: number): Promise<void> {
    const name = `w${index}`;
    let producer: Producer | null = null;
    let incarnation = 0;
    const { topic, partitions, batchSize, maxSendsPerProducer } = this.options;
    for (let sequence = 0; sequence < maxSendsPerProducer && !this.stopped; sequence++) {
      if (producer === null) {
        const kafka = quietKafka(this.options.bootstrap, `${name}-${incarnation++}`);
        producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: { retries: 6, initialRetryTime: 100, maxRetryTime: 1000 } });
        try {
          await producer.connect();
        } catch {
          producer = null;
          await this.sleepUnlessStopped(200);
          sequence--; // nothing was sent: the sequence number is still free
          continue;
        }
      }
      const partition = (index + sequence) % partitions;
      const values = Array.from({ length: batchSize }, (_, i) => `${name}-${sequence}-${i}`);
      const startedAtMs = preciseNowMs();
      try {
        const [result] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition })) });
        const completedAtMs = preciseNowMs();
        const baseOffset = Number(result!.baseOffset);
        values.forEach((value, i) => this.sends.push({
          value, partition, producer: name, sequence: sequence * batchSize + i, startedAtMs, completedAtMs,
          outcome: { kind: 'acked', offset: baseOffset + i },
        }));
      } catch (error) {
        const completedAtMs = preciseNowMs();
        const message = (error as Error).message;
        values.forEach((value, i) => this.sends.push({
          value, partition, producer: name, sequence: sequence * batchSize + i, startedAtMs, completedAtMs,
          outcome: { kind: 'indeterminate', error: message },
        }));
        const broken = producer;
        producer = null;
        await broken.disconnect().catch(() => {});
      }
      if (this.options.sendIntervalMs) await this.sleepUnlessStopped(this.options.sendIntervalMs);
    }
    await producer?.disconnect().catch(() => {});
  }

  private sleepUnlessStopped(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakeups.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeups.add(wake);
    });
  }
}

/** Samples ListOffsets(latest) of every partition every `intervalMs` through the proxy. */
export class HighWatermarkSampler {
  readonly samples: HighWatermarkSample[] = [];
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;

  constructor(private readonly port: number, private readonly topic: string, private readonly partitions: number, private readonly intervalMs = 100) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let client: RawClient | null = null;
    while (!this.stopped) {
      try {
        client ??= await RawClient.connect(this.port);
        const response = await client.send(listOffsetsCodec, 5, {
          replicaId: -1, isolationLevel: 0,
          topics: [{ name: this.topic, partitions: Array.from({ length: this.partitions }, (_, partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 })) }],
        }, 2000);
        const atMs = preciseNowMs();
        for (const partition of response.topics[0]?.partitions ?? []) {
          if (partition.errorCode === 0) this.samples.push({ partition: partition.partitionIndex, atMs, highWatermark: partition.offset });
        }
      } catch {
        client?.close();
        client = null; // the node is down or frozen: try again next round
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.intervalMs);
        this.wake = () => { clearTimeout(timer); resolve(); };
      });
    }
    client?.close();
  }
}

/**
 * Reads every partition from offset 0 to its high watermark (one pass per partition). A partition
 * that cannot be read is reported in `errors` instead of a pass, so the checker never mistakes an
 * unreadable partition for an empty one.
 */
export async function drainTopic(port: number, topic: string, partitions: number, reader: string): Promise<{ passes: ReadPass[]; errors: string[] }> {
  const passes: ReadPass[] = [];
  const errors: string[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    try {
      const { records } = await readPartition(port, topic, partition);
      passes.push({ reader, partition, records: records.map((record) => ({ offset: record.offset, value: record.value?.toString() ?? '' })) });
    } catch (error) {
      errors.push(`${reader} p${partition}: ${(error as Error).message}`);
    }
  }
  return { passes, errors };
}

/** Wall-clock ms with sub-millisecond precision, so a fault and a send in the same ms still order. */
export function preciseNowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A consumer group's committed offsets under faults: commits an increasing offset for every
 * partition of `topic` every `intervalMs` (a standalone commit: generation -1, no member, as an
 * admin tool or a consumer using assign() does) and reads the committed offsets back. A commit the
 * broker accepted counts as a sample (the group had at least that offset then), so a commit that is
 * later forgotten shows up as committed offsets going backwards. Raw requests with timeouts, so a
 * fault can never leave it waiting; one node is its own coordinator (a cluster needs FindCoordinator).
 */
export class GroupOffsetCommitter {
  readonly samples: CommittedOffsetSample[] = [];
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  private nextOffset = 1;

  constructor(private readonly port: number, private readonly topic: string, private readonly partitions: number, readonly group: string, private readonly intervalMs = 250) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  /** One read of the committed offsets (e.g. after the final restart), added to the samples. */
  async sampleOnce(): Promise<void> {
    const client = await RawClient.connect(this.port);
    try {
      await this.read(client);
    } finally {
      client.close();
    }
  }

  private async read(client: RawClient): Promise<void> {
    const response = await client.send(offsetFetchCodec, 5, {
      groupId: this.group, topics: [{ name: this.topic, partitionIndexes: Array.from({ length: this.partitions }, (_, index) => index) }], groups: [], requireStable: false,
    }, REQUEST_TIMEOUT_MS);
    if (response.errorCode !== 0) return;
    const atMs = preciseNowMs();
    for (const partition of response.topics[0]?.partitions ?? []) {
      if (partition.errorCode === 0 && partition.committedOffset >= 0) this.samples.push({ group: this.group, partition: partition.partitionIndex, atMs, offset: partition.committedOffset });
    }
  }

  private async commit(client: RawClient, offset: number): Promise<void> {
    const response = await client.send(offsetCommitCodec, 7, {
      groupId: this.group, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: this.topic, partitions: Array.from({ length: this.partitions }, (_, partitionIndex) => ({ partitionIndex, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null })) }],
    }, REQUEST_TIMEOUT_MS);
    const atMs = preciseNowMs();
    for (const partition of response.topics[0]?.partitions ?? []) {
      if (partition.errorCode === 0) this.samples.push({ group: this.group, partition: partition.partitionIndex, atMs, offset });
    }
  }

  private async run(): Promise<void> {
    let client: RawClient | null = null;
    while (!this.stopped) {
      try {
        client ??= await RawClient.connect(this.port);
        await this.commit(client, this.nextOffset++);
        await this.read(client);
      } catch {
        client?.close();
        client = null; // the node is down, frozen or unreachable: try again next round
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.intervalMs);
        this.wake = () => { clearTimeout(timer); resolve(); };
      });
    }
    client?.close();
  }
}

const REQUEST_TIMEOUT_MS = 2000;
