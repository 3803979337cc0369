// /api/v1/groups: the JSON the dashboard's consumer-group page consumes. The group coordinator
// (src/coordinator/) provides a GroupsView; until it is wired in, the list says available: false
// (so the dashboard can say "no group data yet" instead of showing an empty list that looks real)
// and a single group answers 501.
import { ApiError, notFound, type ApiRoute } from './api-router.ts';

export interface GroupPartitionLag {
  topic: string;
  partition: number;
  committedOffset: number | null;   // null: nothing committed
  highWatermark: number | null;
  lag: number | null;               // highWatermark - committedOffset when both are known
  memberId: string | null;          // the member assigned this partition
}

export interface GroupMemberSummary {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  assignment: Array<{ topic: string; partitions: number[] }>;
}

export interface GroupSummary {
  groupId: string;
  state: string;                    // Empty, PreparingRebalance, CompletingRebalance, Stable, Dead
  protocolType: string;             // usually "consumer"
  protocol: string | null;          // assignor
  members: number;
  totalLag: number | null;
}

export interface GroupDetail extends GroupSummary {
  generationId: number;
  leaderId: string | null;
  memberDetails: GroupMemberSummary[];
  offsets: GroupPartitionLag[];
}

export type OffsetResetSpec =
  | { to: 'earliest' | 'latest'; topic?: string }
  | { to: 'timestamp'; timestampMs: number; topic?: string }
  | { to: 'offset'; offset: number; topic: string; partition: number };

/** What the coordinator offers the HTTP API. */
export interface GroupsView {
  listGroups(): Promise<GroupSummary[]>;
  describeGroup(groupId: string): Promise<GroupDetail | null>;
  /** Refused (throws ApiError 409) while the group has members. */
  resetOffsets(groupId: string, spec: OffsetResetSpec): Promise<GroupPartitionLag[]>;
}

export function groupRoutes(groups: GroupsView | null): ApiRoute[] {
  const unavailable = () => {
    throw new ApiError(501, 'consumer group data is not available from this node yet');
  };
  return [
    {
      method: 'GET', path: '/api/v1/groups', handler: async () => {
        if (!groups) return [200, { available: false, reason: 'consumer group data is not available from this node yet', groups: [] }];
        return [200, { available: true, groups: await groups.listGroups() }];
      },
    },
    {
      method: 'GET', path: '/api/v1/groups/:id', handler: async ({ params }) => {
        if (!groups) return unavailable();
        const group = await groups.describeGroup(params['id']!);
        if (!group) throw notFound(`consumer group ${params['id']} does not exist`);
        return [200, group];
      },
    },
  ];
}
