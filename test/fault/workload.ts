// The client side of a fault run: idempotent kafkajs producers (acks=all) writing unique values and
// recording every send for the checker, a sampler of each partition's high watermark, and the
// final drain that reads every partition back. `bootstrap` may list several nodes (comma-separated)
// and the samplers and the drain take one port per node: in a cluster each asks every node and keeps
// what the partition's leader answers.
// A send that errors is indeterminate (the broker may have written it before the connection
// broke); its producer is then replaced, so a confused producer state never leaks into later sends.
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { findCoordinatorCodec } from '../../src/protocol/messages/find-coordinator.ts';
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
    clientId, brokers: bootstrap.split(','), logLevel: logLevel.NOTHING,
    connectionTimeout: 1000, requestTimeout: 10_000,
    retry: { retries: 6, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

export async function createTopic(bootstrap: string, topic: string, partitions: number, replicationFactor = 1, configs: Record<string, string> = {}): Promise<void> {
  const admin = quietKafka(bootstrap, 'fault-admin').admin();
  // A cluster just started may not have every broker registered yet (RF above the live brokers):
  // a bounded number of attempts.
  const attempts = replicationFactor > 1 ? 30 : 1;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.connect();
        const configEntries = Object.entries(configs).map(([name, value]) => ({ name, value }));
        await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor, configEntries }], waitForLeaders: true });
        const existing = await admin.fetchTopicMetadata({ topics: [topic] });
        if (existing.topics[0]?.partitions.length === partitions) return;
        throw new Error(`topic ${topic} has ${existing.topics[0]?.partitions.length ?? 0} partitions`);
      } catch (error) {
        if (attempt >= attempts) throw error;
        await sleep(500);
      }
    }
  } finally {
    await admin.disconnect();
  }
}

function portList(ports: number | readonly number[]): number[] {
  return typeof ports === 'number' ? [ports] : [...ports];
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

/**
 * Samples ListOffsets(latest) of every partition every `intervalMs` through the proxy, from every
 * port given (one per node: only a partition's leader answers, with its leader epoch).
 */
export class HighWatermarkSampler {
  readonly samples: HighWatermarkSample[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];
  private readonly wakes = new Set<() => void>();
  private readonly ports: number[];

  constructor(ports: number | readonly number[], private readonly topic: string, private readonly partitions: number, private readonly intervalMs = 100) {
    this.ports = portList(ports);
  }

  start(): void {
    this.loops = this.ports.map((port, index) => this.run(port, this.ports.length > 1 ? index + 1 : undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.wakes) wake();
    await Promise.all(this.loops);
  }

  private async run(port: number, node: number | undefined): Promise<void> {
    let client: RawClient | null = null;
    while (!this.stopped) {
      try {
        client ??= await RawClient.connect(port);
        const response = await client.send(listOffsetsCodec, 5, {
          replicaId: -1, isolationLevel: 0,
          topics: [{ name: this.topic, partitions: Array.from({ length: this.partitions }, (_, partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 })) }],
        }, 2000);
        const atMs = preciseNowMs();
        for (const partition of response.topics[0]?.partitions ?? []) {
          if (partition.errorCode === 0) {
            this.samples.push({ partition: partition.partitionIndex, atMs, highWatermark: partition.offset, leaderEpoch: partition.leaderEpoch, ...(node !== undefined ? { node } : {}) });
          }
        }
      } catch {
        client?.close();
        client = null; // the node is down or frozen: try again next round
      }
      await new Promise<void>((resolve) => {
        const wake = () => { clearTimeout(timer); this.wakes.delete(wake); resolve(); };
        const timer = setTimeout(wake, this.intervalMs);
        this.wakes.add(wake);
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
export async function drainTopic(ports: number | readonly number[], topic: string, partitions: number, reader: string): Promise<{ passes: ReadPass[]; errors: string[] }> {
  const passes: ReadPass[] = [];
  const errors: string[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    // Only the leader serves consumers: the first node that does is read; the rest refuse.
    const refusals: string[] = [];
    for (const port of portList(ports)) {
      try {
        const { records } = await readPartition(port, topic, partition);
        passes.push({ reader, partition, records: records.map((record) => ({ offset: record.offset, value: record.value?.toString() ?? '' })) });
        refusals.length = 0;
        break;
      } catch (error) {
        refusals.push(`port ${port}: ${(error as Error).message}`);
      }
    }
    if (refusals.length > 0) errors.push(`${reader} p${partition}: ${refusals.join('; ')}`);
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
 * fault can never leave it waiting. Given several ports (a cluster) it asks them in turn for the
 * group's coordinator (FindCoordinator) and talks to the port that answers, until it errors.
 */
export class GroupOffsetCommitter {
  readonly samples: CommittedOffsetSample[] = [];
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  private nextOffset = 1;
  private readonly ports: number[];
  private askNext = 0;

  constructor(ports: number | readonly number[], private readonly topic: string, private readonly partitions: number, readonly group: string, private readonly intervalMs = 250) {
    this.ports = portList(ports);
  }

  /** The coordinator's (proxied) connection: the only port, or whichever FindCoordinator names. */
  private async connectCoordinator(): Promise<RawClient> {
    if (this.ports.length === 1) return RawClient.connect(this.ports[0]!);
    const port = this.ports[this.askNext++ % this.ports.length]!;
    const asked = await RawClient.connect(port);
    let coordinatorPort: number;
    try {
      const response = await asked.send(findCoordinatorCodec, 3, { key: this.group, keyType: 0, coordinatorKeys: [] }, REQUEST_TIMEOUT_MS);
      if (response.errorCode !== 0) throw new Error(`FindCoordinator error ${response.errorCode}`);
      coordinatorPort = response.port;
    } finally {
      asked.close();
    }
    return RawClient.connect(coordinatorPort);
  }

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
    const client = await this.connectCoordinator();
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
    if (response.errorCode !== 0) throw new Error(`OffsetFetch error ${response.errorCode}`);
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
    // NOT_COORDINATOR and the like: find the coordinator again.
    const refused = response.topics[0]?.partitions.find((partition) => partition.errorCode !== 0);
    if (refused !== undefined) throw new Error(`OffsetCommit error ${refused.errorCode}`);
  }

  private async run(): Promise<void> {
    let client: RawClient | null = null;
    while (!this.stopped) {
      try {
        client ??= await this.connectCoordinator();
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
