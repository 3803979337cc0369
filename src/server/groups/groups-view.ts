// The consumer groups of this node as the HTTP API and dashboard show them (src/admin/groups-api.ts):
// state, members with their decoded assignments, committed offsets and lag against the high
// watermark. Read-only except resetOffsets, which commits like an admin client would (generation
// -1, no member id) and so is refused by the coordinator while the group has members.
//
// tide-node.ts passes it as createAdminRoutes(services, { groups: createGroupsView(...) }); the
// metrics (tide_consumer_group_lag), the consumer-lag alert rule and the dashboard read it too.
import type { GroupDetail, GroupLagSample, GroupMemberSummary, GroupPartitionLag, GroupSummary, GroupsView, OffsetResetSpec } from '../../admin/groups-api.ts';
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
    lagSnapshot() {
      const samples: GroupLagSample[] = [];
      for (const driver of groups.activeDrivers()) {
        for (const view of driver.coordinator.exportState()) {
          for (const entry of lagsOf(view)) {
            if (entry.lag !== null) samples.push({ groupId: view.groupId, topic: entry.topic, partition: entry.partition, lag: entry.lag });
          }
        }
      }
      return samples;
    },

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
    // One named partition, every partition of the named topic, or every partition the group has offsets for.
    let partitions: { topic: string; partition: number }[];
    if (spec.to === 'offset') partitions = [{ topic: spec.topic, partition: spec.partition }];
    else if (spec.topic !== undefined) {
      const topic = metadata.image().topicsByName.get(spec.topic);
      if (!topic) throw new ApiError(404, `topic ${spec.topic} does not exist`);
      partitions = topic.partitions.map(({ partition }) => ({ topic: spec.topic!, partition }));
    } else partitions = view.offsets.map(({ topic, partition }) => ({ topic, partition }));
    if (partitions.length === 0) throw new ApiError(400, `consumer group ${view.groupId} has no committed offsets; name a "topic" to reset`);
    const targets = [];
    for (const { topic, partition } of partitions) {
      const local = replicas.get(topic, partition);
      if (!local) throw new ApiError(404, `partition ${topic}-${partition} does not exist or is not on this node`);
      let offset: number;
      if (spec.to === 'earliest') offset = local.logStartOffset;
      else if (spec.to === 'latest') offset = local.highWatermark;
      else if (spec.to === 'timestamp') offset = Math.min((await local.log.offsetForTimestamp(spec.timestampMs))?.offset ?? local.highWatermark, local.highWatermark);
      // Like kafka-consumer-groups --to-offset: an offset outside the log is moved to its nearest end.
      else if (spec.to === 'offset') offset = Math.min(Math.max(spec.offset, local.logStartOffset), local.highWatermark);
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
