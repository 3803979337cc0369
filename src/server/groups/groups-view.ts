// The consumer groups of this node as the HTTP API and dashboard show them (src/admin/groups-api.ts):
// state, members with their decoded assignments, committed offsets and lag against the high
// watermark. Read-only except resetOffsets, which commits like an admin client would (generation
// -1, no member id) and so is refused by the coordinator while the group has members.
//
// Not wired yet: passing it as createAdminRoutes(services, { groups: createGroupsView(...) }) in
// tide-node.ts turns on /api/v1/groups, and test/admin/rest-api.test.ts and dashboard.test.ts
// (which assert the "not available" answers) must change with it.
import type { GroupDetail, GroupMemberSummary, GroupPartitionLag, GroupSummary, GroupsView, OffsetResetSpec } from '../../admin/groups-api.ts';
import { ApiError } from '../../admin/api-router.ts';
import type { MetadataService } from '../../controller/metadata-service.ts';
import { decodeAssignment } from '../../coordinator/consumer-protocol.ts';
import type { GroupView } from '../../coordinator/group-coordinator.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { ReplicaManager } from '../replica-manager.ts';
import type { GroupService } from './group-service.ts';

export function createGroupsView(groups: GroupService, replicas: ReplicaManager, metadata: MetadataService): GroupsView {
  const highWatermark = (topic: string, partition: number): number | null => replicas.get(topic, partition)?.highWatermark ?? null;

  const memberOf = (view: GroupView): Map<string, string> => {
    const owner = new Map<string, string>();
    for (const member of view.members) for (const entry of assignmentOf(member.assignment)) {
      for (const partition of entry.partitions) owner.set(JSON.stringify([entry.topic, partition]), member.memberId);
    }
    return owner;
  };

  const lagsOf = (view: GroupView): GroupPartitionLag[] => {
    const owner = memberOf(view);
    return view.offsets.map((offset) => {
      const end = highWatermark(offset.topic, offset.partition);
      const committed = offset.offset >= 0 ? offset.offset : null;
      return {
        topic: offset.topic,
        partition: offset.partition,
        committedOffset: committed,
        highWatermark: end,
        lag: end !== null && committed !== null ? Math.max(0, end - committed) : null,
        memberId: owner.get(JSON.stringify([offset.topic, offset.partition])) ?? null,
      };
    });
  };

  const summaryOf = (view: GroupView): GroupSummary => {
    const lags = lagsOf(view);
    const known = lags.filter((entry) => entry.lag !== null);
    return {
      groupId: view.groupId,
      state: view.state,
      protocolType: view.protocolType ?? '',
      protocol: view.protocolName,
      members: view.members.length,
      totalLag: known.length > 0 ? known.reduce((sum, entry) => sum + entry.lag!, 0) : null,
    };
  };

  const find = (groupId: string): GroupView | null => {
    const route = groups.route(groupId);
    return route.ok ? route.driver.coordinator.exportGroup(groupId) : null;
  };

  return {
    async listGroups() {
      return groups.activeDrivers().flatMap((driver) => driver.coordinator.exportState()).map(summaryOf);
    },

    async describeGroup(groupId) {
      const view = find(groupId);
      if (!view) return null;
      const memberDetails: GroupMemberSummary[] = view.members.map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        assignment: assignmentOf(member.assignment),
      }));
      const detail: GroupDetail = { ...summaryOf(view), generationId: view.generationId, leaderId: view.leaderId, memberDetails, offsets: lagsOf(view) };
      return detail;
    },

    async resetOffsets(groupId, spec) {
      const route = groups.route(groupId);
      if (!route.ok) throw new ApiError(503, `the coordinator of ${groupId} is not available here (error ${route.errorCode})`);
      const view = route.driver.coordinator.exportGroup(groupId);
      if (!view) throw new ApiError(404, `consumer group ${groupId} does not exist`);
      if (view.members.length > 0) throw new ApiError(409, `consumer group ${groupId} has ${view.members.length} member(s); stop them first`);
      const targets = await resetTargets(view, spec);
      const results = await route.driver.commitOffsets({
        groupId, generationId: -1, memberId: '', groupInstanceId: null,
        offsets: targets.map(({ topic, partition, offset }) => ({ topic, partition, offset, leaderEpoch: -1, metadata: null })),
      });
      const failed = results.find((result) => result.errorCode !== ErrorCode.NONE);
      if (failed) throw new ApiError(409, `committing ${failed.topic}-${failed.partition} failed with error ${failed.errorCode}`);
      return lagsOf(route.driver.coordinator.exportGroup(groupId) ?? view);
    },
  };

  async function resetTargets(view: GroupView, spec: OffsetResetSpec): Promise<{ topic: string; partition: number; offset: number }[]> {
    if (spec.to === 'offset') return [{ topic: spec.topic, partition: spec.partition, offset: spec.offset }];
    // Every partition of the named topic, or every partition the group has offsets for.
    const partitions = spec.topic !== undefined
      ? Array.from({ length: metadata.image().topicsByName.get(spec.topic)?.partitions.length ?? 0 }, (_, partition) => ({ topic: spec.topic!, partition }))
      : view.offsets.map(({ topic, partition }) => ({ topic, partition }));
    const targets = [];
    for (const { topic, partition } of partitions) {
      const local = replicas.get(topic, partition);
      if (!local) throw new ApiError(404, `partition ${topic}-${partition} is not on this node`);
      let offset: number;
      if (spec.to === 'earliest') offset = local.logStartOffset;
      else if (spec.to === 'latest') offset = local.highWatermark;
      else if (spec.to === 'timestamp') offset = Math.min((await local.log.offsetForTimestamp(spec.timestampMs))?.offset ?? local.highWatermark, local.highWatermark);
      else throw new ApiError(400, 'unknown reset target');
      targets.push({ topic, partition, offset });
    }
    return targets;
  }
}

function assignmentOf(bytes: Buffer): { topic: string; partitions: number[] }[] {
  if (bytes.length === 0) return [];
  try {
    return decodeAssignment(bytes).assignedPartitions.map((entry) => ({ topic: entry.topic, partitions: [...entry.partitions] }));
  } catch {
    // Not the consumer protocol (e.g. Kafka Connect): shown without an assignment.
    return [];
  }
}
