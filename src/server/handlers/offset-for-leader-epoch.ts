import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  offsetForLeaderEpochCodec,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
  type OffsetForLeaderEpochResponseEpochEndOffset,
} from '../../protocol/messages/offset-for-leader-epoch.ts';
import type { Partition } from '../partition.ts';
import type { ApiHandler, RequestContext } from './api-handler.ts';
import { leaderEpochError } from './leader-epoch.ts';

type EpochEndOffset = OffsetForLeaderEpochResponseEpochEndOffset;

/** Kafka's replica id for a debugging request, which any replica (not only the leader) answers. */
const debuggingReplicaId = -2;
/** Kafka's answer for an epoch this log cannot place. */
const undefinedAnswer = { leaderEpoch: -1, endOffset: -1 };

/**
 * OffsetForLeaderEpoch (KIP-101, KIP-320): where a leader epoch ended in the leader's log. Followers
 * ask it before fetching so they truncate by epoch, never by their own high watermark; librdkafka
 * asks it after a leader change to detect log truncation. The caller's current leader epoch is
 * checked first (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH). Versions 0-1 carry no current epoch
 * and 2 is the oldest modern clients send, so 2-4 are advertised.
 */
export const offsetForLeaderEpochHandler: ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> = {
  codec: offsetForLeaderEpochCodec,
  minVersion: 2,
  maxVersion: 4,
  handle(request, context) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((p) => answer(topic.topic, p.partition, p.currentLeaderEpoch, p.leaderEpoch, request.replicaId, context)),
      })),
    };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((p) => ({ errorCode, partition: p.partition, ...undefinedAnswer })),
      })),
    };
  },
};

function answer(topicName: string, index: number, currentLeaderEpoch: number, requestedEpoch: number, replicaId: number, context: RequestContext): EpochEndOffset {
  const { broker } = context;
  const base = { errorCode: ErrorCode.NONE, partition: index, ...undefinedAnswer };
  const topic = broker.metadata.image().topicsByName.get(topicName);
  if (!topic || index < 0 || index >= topic.partitions.length) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  const partition = broker.replicas.get(topicName, index);
  const isLeader = topic.partitions[index]!.leader === broker.nodeId;
  if (!partition || (!isLeader && replicaId !== debuggingReplicaId)) return { ...base, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
  // Cluster mode: the replica logic holds the epoch history, including an epoch not yet written to.
  const replicated = broker.replication?.get(topicName, index);
  if (broker.replication && isLeader) {
    const answered = replicated?.onOffsetForLeaderEpoch(currentLeaderEpoch, requestedEpoch) ?? null;
    if (answered === null) return { ...base, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    return { ...base, errorCode: answered.errorCode, leaderEpoch: answered.epoch, endOffset: answered.endOffset };
  }
  const epochError = leaderEpochError(currentLeaderEpoch, partition.leaderEpoch);
  if (epochError !== ErrorCode.NONE) return { ...base, errorCode: epochError };
  const found = epochEndOffset(partition, requestedEpoch, isLeader);
  return { ...base, leaderEpoch: found.epoch, endOffset: found.endOffset };
}

/**
 * The log's answer, as if the leader's epoch history already held its current epoch starting at the
 * log end (Kafka writes that entry on becoming leader; Tide's log records an epoch with its first
 * batch). Without it, a leader that has not written in its epoch yet would not place that epoch.
 */
export function epochEndOffset(partition: Partition, requestedEpoch: number, isLeader: boolean): { epoch: number; endOffset: number } {
  const log = partition.log;
  if (requestedEpoch < 0) return { epoch: -1, endOffset: -1 };
  const latestInLog = log.latestEpoch();
  const currentEpoch = partition.leaderEpoch;
  if (isLeader && currentEpoch > latestInLog && requestedEpoch > latestInLog && requestedEpoch <= currentEpoch) {
    const floorEpoch = requestedEpoch === currentEpoch || latestInLog < 0 ? requestedEpoch : latestInLog;
    return { epoch: floorEpoch, endOffset: log.logEndOffset };
  }
  if (isLeader && currentEpoch > latestInLog && requestedEpoch === latestInLog && latestInLog >= 0) {
    // The current epoch starts at the log end, so the latest written epoch ends there too.
    return { epoch: latestInLog, endOffset: log.logEndOffset };
  }
  return log.endOffsetForEpoch(requestedEpoch);
}
