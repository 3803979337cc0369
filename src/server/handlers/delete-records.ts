import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  deleteRecordsCodec,
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
  type DeleteRecordsResponseDeleteRecordsPartitionResult,
} from '../../protocol/messages/delete-records.ts';
import { StorageError } from '../../storage/errors.ts';
import type { ApiHandler, RequestContext } from './api-handler.ts';

/** Offset -1 asks to delete everything below the high watermark. */
const highWatermarkOffset = -1;
const noLowWatermark = -1;

type PartitionResult = DeleteRecordsResponseDeleteRecordsPartitionResult;

/**
 * DeleteRecords: moves a partition's log start offset forward (never past the high watermark, so
 * nothing a consumer could not yet read is deleted) and answers with the new log start offset.
 * Only the leader takes the request; whole segments below the new start are removed by the log.
 */
export const deleteRecordsHandler: ApiHandler<DeleteRecordsRequest, DeleteRecordsResponse> = {
  codec: deleteRecordsCodec,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, context) {
    const topics = await Promise.all(request.topics.map(async (topic) => ({
      name: topic.name,
      partitions: await Promise.all(topic.partitions.map((p) => deleteBefore(topic.name, p.partitionIndex, p.offset, context))),
    })));
    return { throttleTimeMs: 0, topics };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: noLowWatermark, errorCode })),
      })),
    };
  },
};

async function deleteBefore(topicName: string, index: number, requestedOffset: number, context: RequestContext): Promise<PartitionResult> {
  const { broker } = context;
  const answer = (errorCode: number, lowWatermark = noLowWatermark): PartitionResult => ({ partitionIndex: index, lowWatermark, errorCode });
  const topic = broker.metadata.image().topicsByName.get(topicName);
  if (!topic || index < 0 || index >= topic.partitions.length) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const partition = broker.replicas.get(topicName, index);
  if (!partition || topic.partitions[index]!.leader !== broker.nodeId) return answer(ErrorCode.NOT_LEADER_OR_FOLLOWER);

  const highWatermark = partition.highWatermark;
  const offset = requestedOffset === highWatermarkOffset ? highWatermark : requestedOffset;
  if (offset < 0 || offset > highWatermark) return answer(ErrorCode.OFFSET_OUT_OF_RANGE);
  try {
    return answer(ErrorCode.NONE, await partition.deleteRecordsBefore(offset));
  } catch (error) {
    const errorCode = error instanceof StorageError ? error.kafkaErrorCode : ErrorCode.KAFKA_STORAGE_ERROR;
    broker.logger.error('deleting records failed', { partition: `${topicName}-${index}`, offset, error: (error as Error).message });
    return answer(errorCode);
  }
}
