// Requests that go to a group's coordinator: FindCoordinator, then OffsetFetch / OffsetCommit /
// DescribeGroups / DeleteGroups on that broker. Coordinator moves are retried with a fresh lookup.
import { ErrorCode } from '../../protocol/error-codes.ts';
import { findCoordinatorCodec } from '../../protocol/messages/find-coordinator.ts';
import { offsetCommitCodec } from '../../protocol/messages/offset-commit.ts';
import { offsetFetchCodec } from '../../protocol/messages/offset-fetch.ts';
import type { BrokerConnection } from './connection.ts';
import { check, KafkaRequestError, transientErrorCodes } from './kafka-errors.ts';
import { MAX_TRANSIENT_ATTEMPTS, sleep, type TideClient } from './tide-client.ts';

const KEY_TYPE_GROUP = 0;
const RETRY_BACKOFF_MS = 300;

export async function findCoordinator(client: TideClient, groupId: string): Promise<BrokerConnection> {
  for (let attempt = 1; ; attempt++) {
    const { body } = await client.bootstrap.send(findCoordinatorCodec, {
      key: groupId,
      keyType: KEY_TYPE_GROUP,
      coordinatorKeys: [groupId],
    });
    // v4+ answers in coordinators[]; older versions in the top-level fields.
    const answer = body.coordinators[0] ?? body;
    if (answer.errorCode === ErrorCode.NONE) return client.connectionAt(answer.nodeId, answer.host, answer.port);
    if (!transientErrorCodes.has(answer.errorCode) || attempt >= MAX_TRANSIENT_ATTEMPTS) {
      throw new KafkaRequestError(`group ${groupId}`, answer.errorCode, answer.errorMessage);
    }
    await sleep(RETRY_BACKOFF_MS * attempt);
  }
}

/** Runs a request against the coordinator, looking it up again while it moves or loads. */
export async function withCoordinator<T>(
  client: TideClient,
  groupId: string,
  request: (connection: BrokerConnection) => Promise<{ errorCode: number; value: T; errorMessage?: string | null }>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const connection = await findCoordinator(client, groupId);
    const answer = await request(connection);
    if (answer.errorCode === ErrorCode.NONE) return answer.value;
    if (!transientErrorCodes.has(answer.errorCode) || attempt >= MAX_TRANSIENT_ATTEMPTS) {
      throw new KafkaRequestError(`group ${groupId}`, answer.errorCode, answer.errorMessage);
    }
    await sleep(RETRY_BACKOFF_MS * attempt);
  }
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number; // -1: nothing committed
}

/** Committed offsets of a group: for some topic partitions, or every one it has (topics null). */
export async function fetchCommittedOffsets(
  client: TideClient,
  groupId: string,
  topics: Array<{ name: string; partitionIndexes: number[] }> | null,
): Promise<CommittedOffset[]> {
  return withCoordinator(client, groupId, async (connection) => {
    const { body } = await connection.send(offsetFetchCodec, { groupId, topics, groups: [], requireStable: false });
    const offsets: CommittedOffset[] = [];
    for (const topic of body.topics) {
      for (const partition of topic.partitions) {
        check(`group ${groupId} topic ${topic.name} partition ${partition.partitionIndex}`, partition.errorCode);
        offsets.push({ topic: topic.name, partition: partition.partitionIndex, offset: partition.committedOffset });
      }
    }
    return { errorCode: body.errorCode, value: offsets };
  });
}

export interface CommitIdentity {
  generationId: number; // -1 for a commit from outside the group (admin reset)
  memberId: string;
}

export async function commitOffsets(
  client: TideClient,
  groupId: string,
  identity: CommitIdentity,
  topic: string,
  offsets: Map<number, number>,
): Promise<void> {
  if (offsets.size === 0) return;
  await withCoordinator(client, groupId, async (connection) => {
    const { body } = await connection.send(offsetCommitCodec, {
      groupId,
      generationIdOrMemberEpoch: identity.generationId,
      memberId: identity.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [{
        name: topic,
        partitions: [...offsets].map(([partitionIndex, committedOffset]) => ({
          partitionIndex, committedOffset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null,
        })),
      }],
    });
    const failed = body.topics.flatMap((t) => t.partitions).find((p) => p.errorCode !== ErrorCode.NONE);
    return { errorCode: failed?.errorCode ?? ErrorCode.NONE, value: undefined };
  });
}
