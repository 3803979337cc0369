// One fetcher per leader broker: sends the requests of every partition this node follows from that
// leader, one round at a time — OffsetForLeaderEpoch for partitions that must first find where their
// log diverged, then Fetch (Kafka's API, with our replica id, over the leader's Kafka listener) —
// and hands each answer to its partition, which applies it to the log before its next request.
// Errors back off; a lost connection is reopened; nothing here loops without waiting.
import { definitionFor } from '../../config/definitions.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { defaultFetchRequest, defaultFetchRequestFetchPartition, fetchCodec } from '../../protocol/messages/fetch.ts';
import { offsetForLeaderEpochCodec } from '../../protocol/messages/offset-for-leader-epoch.ts';
import { FetchOrder } from '../../replication/fetch-order.ts';
import type { FetchRequest as FollowerFetchRequest, OffsetForLeaderEpochRequest } from '../../replication/follower-state.ts';
import type { Logger } from '../../util/log.ts';
import { LeaderConnection } from './leader-connection.ts';
import type { ReplicatedPartition } from './replicated-partition.ts';

export const replicaFetchVersion = 12;
export const replicaEpochQueryVersion = 4;

export interface FollowerFetcherOptions {
  localId: number;
  leaderId: number;
  /** The leader's Kafka address from the image, or null while it is unknown or fenced. */
  leaderAddress(): { host: string; port: number } | null;
  /** The client id proving who we are (replica-auth.ts), or null before we are registered. */
  clientId(): string | null;
  /** The partitions this node currently follows from this leader. */
  partitions(): ReplicatedPartition[];
  fetchMaxWaitMs: number;
  fetchMaxBytes: number;
  partitionMaxBytes: number;
  requestTimeoutMs: number;
  /** Source address of the connection to the leader; null lets the OS choose. */
  localAddress?: string | null;
  logger: Logger;
}

/**
 * What an answer may hold beyond fetchMaxBytes: the first partition with records comes whole, at
 * least one batch, and a topic's max.message.bytes may allow batches up to this. A smaller limit
 * would refuse such an answer, and the follower would ask for the same one for ever.
 */
const largestBatchBytes = definitionFor('message.max.bytes')?.max ?? 1024 * 1024 * 1024;

// Short at first: right after a leader change the new leader may not have applied the change yet
// (UNKNOWN_LEADER_EPOCH) for a few milliseconds, and its first acks=all wait for this follower.
const backoffMsMin = 10;
const backoffMsMax = 1000;
const idleWaitMs = 1000;

export class FollowerFetcher {
  private connection: LeaderConnection | null = null;
  private connectionClientId: string | null = null;
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private backoffMs = backoffMsMin;
  /** The partitions of the request in flight (null between rounds). */
  private roundPartitions: Set<ReplicatedPartition> | null = null;
  private cutShort = false;
  private readonly fetchOrder = new FetchOrder<ReplicatedPartition>();
  private readonly running: Promise<void>;

  constructor(private readonly options: FollowerFetcherOptions) {
    this.running = this.run();
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
    // A partition that just started following this leader (a failover) would wait for the long
    // poll in flight (up to fetchMaxWaitMs) before its first request, and the new leader's acks=all
    // with it: cut that poll short by dropping the connection; the next round includes it.
    const inFlight = this.roundPartitions;
    if (inFlight !== null && this.options.partitions().some((partition) => !inFlight.has(partition))) {
      this.roundPartitions = null;
      this.cutShort = true;
      this.connection?.close();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.connection?.close();
    this.wake();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let failed = false;
      try {
        failed = await this.round();
      } catch (error) {
        failed = true;
        this.options.logger.debug('replica fetch round failed', { leaderId: this.options.leaderId, error: (error as Error).message });
        this.connection?.close();
        this.connection = null;
      }
      if (this.cutShort) {
        this.cutShort = false; // on purpose (wake): no backoff
      } else if (failed) {
        await this.sleep(this.backoffMs);
        this.backoffMs = Math.min(backoffMsMax, this.backoffMs * 2);
      } else {
        this.backoffMs = backoffMsMin;
      }
    }
    // A connection opened while stop() ran (wake() cuts connections often during a controlled
    // shutdown) would keep the process alive until the leader drops it as idle, 10 minutes later.
    this.connection?.close();
    this.connection = null;
  }

  /** One round of requests; true when it should back off (errors, nothing to do). */
  private async round(): Promise<boolean> {
    const epochQueries: Array<{ partition: ReplicatedPartition; request: OffsetForLeaderEpochRequest }> = [];
    const fetches: Array<{ partition: ReplicatedPartition; request: FollowerFetchRequest }> = [];
    for (const partition of this.options.partitions()) {
      const request = partition.nextFollowerRequest();
      if (request === undefined || request.leaderId !== this.options.leaderId) continue;
      if (request.kind === 'offset-for-leader-epoch') epochQueries.push({ partition, request });
      else fetches.push({ partition, request });
    }
    if (epochQueries.length === 0 && fetches.length === 0) {
      await this.sleep(idleWaitMs);
      return false;
    }
    const connection = await this.connect();
    if (connection === null) return true;
    this.roundPartitions = new Set([...epochQueries, ...fetches].map((entry) => entry.partition));
    try {
      if (epochQueries.length > 0) return await this.queryEpochs(connection, epochQueries);
      return await this.fetch(connection, fetches);
    } finally {
      this.roundPartitions = null;
    }
  }

  private async connect(): Promise<LeaderConnection | null> {
    const clientId = this.options.clientId();
    const address = this.options.leaderAddress();
    if (clientId === null || address === null) return null;
    if (this.connection?.isOpen && this.connectionClientId === clientId) return this.connection;
    this.connection?.close();
    this.connection = await LeaderConnection.open(address.host, address.port, clientId, this.options.requestTimeoutMs, this.options.fetchMaxBytes + largestBatchBytes, this.options.localAddress ?? null);
    this.connectionClientId = clientId;
    return this.connection;
  }

  private async queryEpochs(connection: LeaderConnection, queries: Array<{ partition: ReplicatedPartition; request: OffsetForLeaderEpochRequest }>): Promise<boolean> {
    const byTopic = groupByTopic(queries);
    const response = await connection.send(offsetForLeaderEpochCodec, replicaEpochQueryVersion, {
      replicaId: this.options.localId,
      topics: [...byTopic].map(([topic, entries]) => ({
        topic,
        partitions: entries.map(({ partition, request }) => ({ partition: partition.partition.partition, currentLeaderEpoch: request.currentLeaderEpoch, leaderEpoch: request.requestedEpoch })),
      })),
    }, this.options.requestTimeoutMs);
    let failed = false;
    for (const topic of response.topics) {
      for (const answer of topic.partitions) {
        const query = byTopic.get(topic.topic)?.find((entry) => entry.partition.partition.partition === answer.partition);
        if (!query) continue;
        if (answer.errorCode !== ErrorCode.NONE) failed = true;
        await query.partition.onEpochAnswer(query.request, { errorCode: answer.errorCode, epoch: answer.leaderEpoch, endOffset: answer.endOffset });
      }
    }
    return failed;
  }

  private async fetch(connection: LeaderConnection, fetches: Array<{ partition: ReplicatedPartition; request: FollowerFetchRequest }>): Promise<boolean> {
    const byTopic = groupByTopic(this.fetchOrder.order(fetches, (entry) => entry.partition));
    const response = await connection.send(fetchCodec, replicaFetchVersion, {
      ...defaultFetchRequest(),
      replicaId: this.options.localId,
      maxWaitMs: this.options.fetchMaxWaitMs,
      minBytes: 1,
      maxBytes: this.options.fetchMaxBytes,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, entries]) => ({
        topic,
        topicId: entries[0]!.partition.partition.topicId,
        partitions: entries.map(({ partition, request }) => ({
          ...defaultFetchRequestFetchPartition(),
          partition: partition.partition.partition,
          currentLeaderEpoch: request.request.currentLeaderEpoch,
          fetchOffset: request.request.fetchOffset,
          lastFetchedEpoch: request.request.lastFetchedEpoch,
          partitionMaxBytes: this.options.partitionMaxBytes,
        })),
      })),
    }, this.options.requestTimeoutMs + this.options.fetchMaxWaitMs);
    if (response.errorCode !== ErrorCode.NONE) return true;
    let failed = false;
    // Partitions apply their answers side by side (each in its own order): their appends and
    // fsyncs (one file each) overlap instead of queueing behind one another.
    const applying: Array<Promise<void>> = [];
    const withRecords: ReplicatedPartition[] = [];
    for (const topic of response.responses) {
      for (const answer of topic.partitions) {
        const fetched = byTopic.get(topic.topic)?.find((entry) => entry.partition.partition.partition === answer.partitionIndex);
        if (!fetched) continue;
        if (answer.errorCode !== ErrorCode.NONE) failed = true;
        if (answer.records !== null && answer.records.length > 0) withRecords.push(fetched.partition);
        const diverging = answer.divergingEpoch.epoch >= 0 ? { epoch: answer.divergingEpoch.epoch, endOffset: answer.divergingEpoch.endOffset } : undefined;
        applying.push(fetched.partition.onFetchAnswer(fetched.request, {
          errorCode: answer.errorCode,
          highWatermark: answer.highWatermark,
          logStartOffset: answer.logStartOffset,
          logEndOffset: -1,
          readFromOffset: fetched.request.request.fetchOffset,
          readToOffset: fetched.request.request.fetchOffset,
          ...(diverging ? { divergingEpoch: diverging } : {}),
        }, answer.records ?? Buffer.alloc(0)));
      }
    }
    this.fetchOrder.answered(withRecords);
    // Every partition is done before the next round; the first failure then fails the round.
    const applied = await Promise.allSettled(applying);
    const rejected = applied.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (rejected) throw rejected.reason;
    return failed;
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopped) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        this.woken = false;
        done();
      };
    });
  }
}

function groupByTopic<T extends { partition: ReplicatedPartition }>(entries: T[]): Map<string, T[]> {
  const byTopic = new Map<string, T[]>();
  for (const entry of entries) {
    const list = byTopic.get(entry.partition.partition.topic) ?? [];
    list.push(entry);
    byTopic.set(entry.partition.partition.topic, list);
  }
  return byTopic;
}
