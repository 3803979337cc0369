import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  defaultProduceResponseLeaderIdAndEpoch,
  produceCodec,
  type ProduceRequest,
  type ProduceResponse,
  type ProduceResponsePartitionProduceResponse,
} from '../../protocol/messages/produce.ts';
import { validateBatches } from '../../protocol/record-batch.ts';
import type { ApiHandler, RequestContext } from './api-handler.ts';
import { recordBytesIn } from '../../admin/metrics.ts';
import { ProducerStateError } from '../partition-producers.ts';
import type { AppendOutcome } from '../partition.ts';
import type { Acks } from '../../replication/types.ts';

type PartitionResult = ProduceResponsePartitionProduceResponse;

function partitionError(index: number, errorCode: number, errorMessage: string | null = null): PartitionResult {
  return {
    index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage,
    currentLeader: defaultProduceResponseLeaderIdAndEpoch(),
  };
}

/**
 * Produce: validate each partition's batch (magic, CRC-32C, size), append it as leader (offsets are
 * assigned by rewriting the batch header, the client's bytes are stored as they came) and answer
 * once the append is durable per the topic's flush policy. acks=0 gets no answer.
 */
export const produceHandler: ApiHandler<ProduceRequest, ProduceResponse> = {
  codec: produceCodec,
  minVersion: 0,
  maxVersion: 11,
  // Versions 0-2 carry magic v0/v1 message sets, which Tide does not store; they stay advertised
  // because librdkafka < 2.11.1 disables compression unless Produce v0 is in the range.
  servedFrom: 3,
  handle(request, context) {
    const acks = request.acks;
    const single = request.topicData.length === 1 && request.topicData[0]!.partitionData.length === 1;
    // One partition per request is what a producer sends at low batching: no Promise.all layers.
    if (single) {
      const topic = request.topicData[0]!;
      return producePartition(topic.partitionData[0]!, topic.name, request, context).then((answer) => (acks === 0 ? null : respond([{ name: topic.name, partitionResponses: [answer] }])));
    }
    const results = request.topicData.map((topic) => ({
      name: topic.name,
      partitionResponses: Promise.all(topic.partitionData.map((partition) => producePartition(partition, topic.name, request, context))),
    }));
    return Promise.all(results.map((topic) => topic.partitionResponses)).then((answers) => {
      if (acks === 0) return null;
      return respond(results.map((topic, index) => ({ name: topic.name, partitionResponses: answers[index]! })));
    });
  },
  errorResponse(request, errorCode) {
    return {
      responses: request.topicData.map((topic) => ({ name: topic.name, partitionResponses: topic.partitionData.map((p) => partitionError(p.index, errorCode)) })),
      throttleTimeMs: 0,
      nodeEndpoints: [],
    };
  },
};

function respond(responses: ProduceResponse['responses']): ProduceResponse {
  return { responses, throttleTimeMs: 0, nodeEndpoints: [] };
}

function producePartition(partition: ProduceRequest['topicData'][number]['partitionData'][number], topicName: string, request: ProduceRequest, context: RequestContext): Promise<PartitionResult> {
  const acks = request.acks;
  if (acks !== 0 && acks !== 1 && acks !== -1) return Promise.resolve(partitionError(partition.index, ErrorCode.INVALID_REQUIRED_ACKS));
  return appendPartition(topicName, partition.index, partition.records, acks, request.transactionalId, request.timeoutMs, context);
}

async function appendPartition(topicName: string, index: number, records: Buffer | null, acks: Acks, transactionalId: string | null, timeoutMs: number, context: RequestContext): Promise<PartitionResult> {
  const { broker } = context;
  const topic = broker.metadata.image().topicsByName.get(topicName);
  if (!topic || index < 0 || index >= topic.partitions.length) return partitionError(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  // Internal topics (__consumer_offsets) are written only by the broker itself, as in Kafka.
  if (topic.internal) return partitionError(index, ErrorCode.INVALID_TOPIC_EXCEPTION, `cannot append to internal topic ${topicName}`);
  const partition = broker.replicas.get(topicName, index);
  if (!partition || topic.partitions[index]!.leader !== broker.nodeId) return partitionError(index, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  if (records === null) return partitionError(index, ErrorCode.INVALID_RECORD, 'no records');
  if (transactionalId !== null) return partitionError(index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'transactions are not supported by this broker');

  const validation = validateBatches(records, { maxBatchBytes: partition.maxMessageBytes, requireSingleBatch: true });
  if (!validation.ok) {
    broker.logger.debug('produce refused', { topic: topicName, partition: index, error: validation.message });
    return partitionError(index, validation.errorCode, validation.message);
  }
  if (validation.batches.some((batch) => batch.isTransactional)) {
    return partitionError(index, ErrorCode.INVALID_TXN_STATE, 'transactional batches are not supported by this broker');
  }
  const diskRefusal = broker.diskGuard.refusal();
  if (diskRefusal) return partitionError(index, ErrorCode.KAFKA_STORAGE_ERROR, diskRefusal);
  try {
    let appended: AppendOutcome;
    if (broker.replication) {
      // Cluster mode: the replica logic answers per acks (ISR, min.insync.replicas, timeouts).
      const replicated = broker.replication.get(topicName, index);
      if (!replicated) return partitionError(index, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      const answer = await replicated.produce(records, acks, Math.max(0, timeoutMs), validation.batches);
      if (answer.appended && !answer.appended.duplicate) recordBytesIn(topicName, records.length, validation.recordCount);
      if (answer.errorCode !== ErrorCode.NONE || !answer.appended) return partitionError(index, answer.errorCode);
      appended = answer.appended;
    } else {
      if (acks === -1 && partition.isr.length < partition.minInsyncReplicas) {
        return partitionError(index, ErrorCode.NOT_ENOUGH_REPLICAS, `${partition.isr.length} in-sync replica(s), min.insync.replicas is ${partition.minInsyncReplicas}`);
      }
      // An idempotent producer's retry of a stored batch gets the original offsets (Kafka's answer).
      appended = await partition.append(records, validation.batches);
      if (!appended.duplicate) recordBytesIn(topicName, records.length, validation.recordCount);
    }
    return {
      index,
      errorCode: ErrorCode.NONE,
      baseOffset: appended.baseOffset,
      logAppendTimeMs: appended.logAppendTimeMs,
      logStartOffset: appended.logStartOffset,
      recordErrors: [],
      errorMessage: null,
      currentLeader: defaultProduceResponseLeaderIdAndEpoch(),
    };
  } catch (error) {
    if (error instanceof ProducerStateError) {
      broker.logger.debug('produce refused by producer state', { topic: topicName, partition: index, error: error.message });
      return partitionError(index, error.errorCode, error.message);
    }
    broker.logger.error('append failed', { topic: topicName, partition: index, error: (error as Error).message });
    return partitionError(index, ErrorCode.KAFKA_STORAGE_ERROR, 'the broker could not write the batch');
  }
}
