import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  defaultFetchResponsePartitionData,
  fetchCodec,
  type FetchRequest,
  type FetchResponse,
  type FetchResponseFetchableTopicResponse,
  type FetchResponsePartitionData,
} from '../../protocol/messages/fetch.ts';
import type { Partition } from '../partition.ts';
import type { ApiHandler, RequestContext } from './api-handler.ts';
import { leaderEpochError } from './leader-epoch.ts';
import { recordBytesOut } from '../../admin/metrics.ts';
import { verifyReplica } from '../replication/replica-auth.ts';

const noRecords = Buffer.alloc(0);

interface FetchRound {
  response: FetchResponse;
  bytes: number;
  hasError: boolean;
  partitions: Partition[];
  /** A follower's fetch (replica id set): it waits for readable bytes, not for the high watermark. */
  replica: boolean;
}

/**
 * Fetch for consumers: reads whole batches up to the high watermark (nothing that a failover could
 * still take back), honours max_bytes and partition_max_bytes but returns the first batch whole
 * even when it is bigger, and long-polls: without min_bytes of data it waits for an append to any
 * requested partition, the max_wait_ms deadline, or shutdown — never a busy loop.
 */
export const fetchHandler: ApiHandler<FetchRequest, FetchResponse> = {
  codec: fetchCodec,
  minVersion: 4,
  maxVersion: 17,
  async handle(request, context) {
    const { broker } = context;
    if (request.sessionId !== 0) return topLevelError(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    if (request.sessionEpoch > 0) return topLevelError(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    const maxWaitMs = Math.max(0, Math.min(request.maxWaitMs, broker.config.int('fetch.max.wait.ms.max')));
    const deadline = Date.now() + maxWaitMs;
    for (let round = 0; ; round++) {
      const result = await readRound(request, context);
      const remainingMs = deadline - Date.now();
      if (result.bytes >= Math.max(1, request.minBytes) || result.hasError || remainingMs <= 0 || broker.isShuttingDown() || result.partitions.length === 0) {
        recordBytesOut(result.bytes);
        return result.response;
      }
      await waitForData(result.partitions, result.replica, remainingMs, broker.shutdownSignal);
    }
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      errorCode,
      sessionId: 0,
      responses: request.topics.map((topic) => ({
        topic: topic.topic,
        topicId: topic.topicId,
        partitions: topic.partitions.map((p) => ({ ...defaultFetchResponsePartitionData(), partitionIndex: p.partition, errorCode, highWatermark: -1, records: noRecords })),
      })),
      nodeEndpoints: [],
    };
  },
};

function topLevelError(errorCode: number): FetchResponse {
  return { throttleTimeMs: 0, errorCode, sessionId: 0, responses: [], nodeEndpoints: [] };
}

async function readRound(request: FetchRequest, context: RequestContext): Promise<FetchRound> {
  const { broker, apiVersion } = context;
  const image = broker.metadata.image();
  const replicaId = apiVersion >= 15 ? request.replicaState.replicaId : request.replicaId;
  let bytes = 0;
  let hasError = false;
  let replicaVerified: boolean | undefined;
  const partitions: Partition[] = [];
  const responses: FetchResponseFetchableTopicResponse[] = [];
  for (const requested of request.topics) {
    const topic = apiVersion >= 13 ? image.topicsById.get(requested.topicId) : image.topicsByName.get(requested.topic);
    const unknownTopicError = apiVersion >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const out: FetchResponsePartitionData[] = [];
    for (const wanted of requested.partitions) {
      const base = { ...defaultFetchResponsePartitionData(), partitionIndex: wanted.partition, highWatermark: -1, records: noRecords };
      const fail = (errorCode: number, state: Partial<typeof base> = {}): void => {
        hasError = true;
        out.push({ ...base, ...state, errorCode });
      };
      if (!topic || wanted.partition < 0 || wanted.partition >= topic.partitions.length) { fail(unknownTopicError); continue; }
      if (replicaId >= 0) {
        // A follower's fetch: only a registered broker proving its identity (CVE-2018-1288).
        replicaVerified ??= verifyReplica(image, context.clientId, replicaId);
        if (!replicaVerified) { fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED); continue; }
        const replicated = broker.replication?.get(topic.name, wanted.partition);
        if (!replicated) { fail(ErrorCode.NOT_LEADER_OR_FOLLOWER); continue; }
        // As for consumers, only the first partition with data may pass the response's limit: a
        // follower refuses a larger frame, and a response it can never take would stop it for good.
        // A partition past the limit still gets its state (HW, errors), without records.
        const remaining = request.maxBytes - bytes;
        const budget = bytes > 0 && remaining <= 0 ? 0 : Math.max(1, Math.min(wanted.partitionMaxBytes, remaining));
        let replicaRead: Awaited<ReturnType<typeof replicated.onReplicaFetch>>;
        try {
          replicaRead = await replicated.onReplicaFetch({
            replicaId, fetchOffset: wanted.fetchOffset, currentLeaderEpoch: wanted.currentLeaderEpoch, lastFetchedEpoch: apiVersion >= 12 ? wanted.lastFetchedEpoch : -1,
          }, budget);
        } catch (error) {
          // A damaged or failed log: never the bad bytes; the follower retries (and the damage report moves leadership).
          broker.logger.error('replica fetch read failed', { topic: topic.name, partition: wanted.partition, offset: wanted.fetchOffset, replicaId, error: (error as Error).message });
          fail(ErrorCode.KAFKA_STORAGE_ERROR);
          continue;
        }
        const { answer } = replicaRead;
        const records = bytes > 0 && replicaRead.records.length > budget ? noRecords : replicaRead.records;
        // With its log start: a follower refused as OFFSET_OUT_OF_RANGE below it starts over there.
        if (answer.errorCode !== ErrorCode.NONE) { fail(answer.errorCode, { highWatermark: answer.highWatermark, logStartOffset: answer.logStartOffset }); continue; }
        // A diverging follower must truncate before anything else: answer at once.
        if (answer.divergingEpoch) hasError = true;
        else partitions.push(replicated.partition);
        bytes += records.length;
        out.push({
          ...base, highWatermark: answer.highWatermark, lastStableOffset: answer.highWatermark, logStartOffset: answer.logStartOffset, abortedTransactions: [], records,
          divergingEpoch: answer.divergingEpoch ? { epoch: answer.divergingEpoch.epoch, endOffset: answer.divergingEpoch.endOffset } : base.divergingEpoch,
        });
        continue;
      }
      const partition = broker.replicas.get(topic.name, wanted.partition);
      if (!partition || topic.partitions[wanted.partition]!.leader !== broker.nodeId) { fail(ErrorCode.NOT_LEADER_OR_FOLLOWER); continue; }
      // In a cluster the HW is replication's: until it leads this partition, nothing is committed here.
      if (broker.replication && broker.replication.get(topic.name, wanted.partition)?.replica.role !== 'leader') { fail(ErrorCode.NOT_LEADER_OR_FOLLOWER); continue; }
      const epochError = leaderEpochError(wanted.currentLeaderEpoch, partition.leaderEpoch);
      if (epochError !== ErrorCode.NONE) { fail(epochError); continue; }
      const highWatermark = partition.highWatermark;
      const state = { ...base, highWatermark, lastStableOffset: highWatermark, logStartOffset: partition.logStartOffset, abortedTransactions: [] };
      if (wanted.fetchOffset < partition.logStartOffset || wanted.fetchOffset > partition.logEndOffset) {
        hasError = true;
        out.push({ ...state, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
        continue;
      }
      partitions.push(partition);
      const budget = Math.min(wanted.partitionMaxBytes, request.maxBytes - bytes);
      if (wanted.fetchOffset >= highWatermark || budget <= 0) { out.push(state); continue; }
      let read: { records: Buffer; nextOffset: number };
      try {
        read = await partition.read(wanted.fetchOffset, Math.max(1, budget), highWatermark);
      } catch (error) {
        // A damaged or failed log answers this partition with a storage error; the others are still served.
        broker.logger.error('fetch read failed', { topic: topic.name, partition: wanted.partition, offset: wanted.fetchOffset, error: (error as Error).message });
        hasError = true;
        out.push({ ...state, errorCode: ErrorCode.KAFKA_STORAGE_ERROR });
        continue;
      }
      // Only the first partition with data may exceed the limits (so that a big batch can never block a consumer).
      const records = bytes > 0 && read.records.length > budget ? noRecords : read.records;
      bytes += records.length;
      out.push({ ...state, records });
    }
    responses.push({ topic: requested.topic, topicId: requested.topicId, partitions: out });
  }
  return { response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses, nodeEndpoints: [] }, bytes, hasError, partitions, replica: replicaId >= 0 };
}

function waitForData(partitions: Partition[], replica: boolean, timeoutMs: number, shutdownSignal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const cancels: Array<() => void> = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const cancel of cancels) cancel();
      shutdownSignal.removeEventListener('abort', finish);
      resolve();
    };
    const timer = setTimeout(finish, timeoutMs);
    for (const partition of partitions) cancels.push(replica ? partition.onNewReplicaData(finish) : partition.onNewData(finish));
    shutdownSignal.addEventListener('abort', finish, { once: true });
  });
}
