// Consumer-group administration: ListGroups on every broker, DescribeGroups and DeleteGroups on
// the coordinator, lag from committed offsets against high watermarks, and offset resets that
// commit from outside the group (refused while it has members).
import { decodeAssignment } from '../../coordinator/consumer-protocol.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { deleteGroupsCodec } from '../../protocol/messages/delete-groups.ts';
import { describeGroupsCodec, type DescribeGroupsResponseDescribedGroup } from '../../protocol/messages/describe-groups.ts';
import { listGroupsCodec } from '../../protocol/messages/list-groups.ts';
import { CliError } from '../cli-error.ts';
import { commitOffsets, fetchCommittedOffsets, withCoordinator } from './group-coordinator-client.ts';
import { check } from './kafka-errors.ts';
import type { TideClient } from './tide-client.ts';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, listOffsets } from './topic-admin.ts';

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  state: string;
}

export async function listGroups(client: TideClient): Promise<ListedGroup[]> {
  await client.metadata([]);
  const groups = new Map<string, ListedGroup>();
  for (const nodeId of client.knownBrokers().keys()) {
    const connection = await client.connectionTo(nodeId);
    const { body } = await connection.send(listGroupsCodec, { statesFilter: [], typesFilter: [] });
    check(`listing groups on broker ${nodeId}`, body.errorCode);
    for (const group of body.groups) groups.set(group.groupId, { groupId: group.groupId, protocolType: group.protocolType, state: group.groupState });
  }
  return [...groups.values()].sort((a, b) => a.groupId.localeCompare(b.groupId));
}

export async function describeGroup(client: TideClient, groupId: string): Promise<DescribeGroupsResponseDescribedGroup> {
  return withCoordinator(client, groupId, async (connection) => {
    const { body } = await connection.send(describeGroupsCodec, { groups: [groupId], includeAuthorizedOperations: false });
    const group = body.groups[0];
    if (!group) throw new Error('DescribeGroups answer has no group');
    return { errorCode: group.errorCode, value: group };
  });
}

export interface GroupMemberView {
  memberId: string;
  clientId: string;
  clientHost: string;
  assignment: Array<{ topic: string; partitions: number[] }>;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  committedOffset: number;
  highWatermark: number;
  lag: number;
}

export interface GroupView {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: GroupMemberView[];
  offsets: PartitionLag[];
}

export async function groupView(client: TideClient, groupId: string): Promise<GroupView> {
  const group = await describeGroup(client, groupId);
  const members = group.members.map((member) => ({
    memberId: member.memberId,
    clientId: member.clientId,
    clientHost: member.clientHost,
    assignment: group.protocolType === 'consumer' && member.memberAssignment.length > 0
      ? decodeAssignment(member.memberAssignment).assignedPartitions
      : [],
  }));
  const committed = (await fetchCommittedOffsets(client, groupId, null)).filter((entry) => entry.offset >= 0);
  const byTopic = new Map<string, number[]>();
  for (const entry of committed) byTopic.set(entry.topic, [...(byTopic.get(entry.topic) ?? []), entry.partition]);
  const highWatermarks = new Map<string, Map<number, number>>();
  for (const [topic, partitions] of byTopic) {
    highWatermarks.set(topic, await listOffsets(client, topic, partitions, LATEST_TIMESTAMP).catch(() => new Map<number, number>()));
  }
  const offsets = committed
    .map((entry) => {
      const highWatermark = highWatermarks.get(entry.topic)?.get(entry.partition) ?? -1;
      return { topic: entry.topic, partition: entry.partition, committedOffset: entry.offset, highWatermark, lag: highWatermark < 0 ? -1 : Math.max(0, highWatermark - entry.offset) };
    })
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return { groupId, state: group.groupState, protocolType: group.protocolType, protocol: group.protocolData, members, offsets };
}

export type ResetTarget = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offset'; offset: number } | { kind: 'datetime'; timestampMs: number };

/** Sets a group's committed offsets on every partition of a topic; returns partition -> new offset. */
export async function resetOffsets(client: TideClient, groupId: string, topic: string, target: ResetTarget): Promise<Map<number, number>> {
  const group = await describeGroup(client, groupId).catch((error: unknown) => {
    // A group that never existed has nothing to protect; resetting creates its offsets.
    if (error instanceof CliError && error.message.includes('GROUP_ID_NOT_FOUND')) return null;
    throw error;
  });
  if (group && group.members.length > 0) {
    throw new CliError(`group ${groupId} has ${group.members.length} active member(s) (state ${group.groupState}); stop its consumers, then reset offsets`, 1);
  }
  const metadata = await client.topicMetadata(topic);
  const partitions = metadata.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b);
  const [earliest, latest] = await Promise.all([
    listOffsets(client, topic, partitions, EARLIEST_TIMESTAMP),
    listOffsets(client, topic, partitions, LATEST_TIMESTAMP),
  ]);
  let wanted: Map<number, number>;
  if (target.kind === 'earliest') wanted = earliest;
  else if (target.kind === 'latest') wanted = latest;
  else if (target.kind === 'offset') wanted = new Map(partitions.map((p) => [p, target.offset]));
  else {
    const byTime = await listOffsets(client, topic, partitions, target.timestampMs);
    // No record at or after the time: the end of the partition.
    wanted = new Map(partitions.map((p) => [p, (byTime.get(p) ?? -1) < 0 ? latest.get(p)! : byTime.get(p)!]));
  }
  // Offsets outside the log are clamped to it, as Kafka's tool does.
  const offsets = new Map(partitions.map((p) => [p, Math.min(Math.max(wanted.get(p)!, earliest.get(p)!), latest.get(p)!)]));
  await commitOffsets(client, groupId, { generationId: -1, memberId: '' }, topic, offsets);
  return offsets;
}

export async function deleteGroup(client: TideClient, groupId: string): Promise<void> {
  await withCoordinator(client, groupId, async (connection) => {
    const { body } = await connection.send(deleteGroupsCodec, { groupsNames: [groupId] });
    return { errorCode: body.results[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, value: undefined };
  });
}
