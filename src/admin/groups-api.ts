// /api/v1/groups: the JSON the dashboard's consumer-group page consumes. The node passes a
// GroupsView (src/server/groups/groups-view.ts); a runtime built without one (unit tests, tools)
// says available: false in the list, so the dashboard says "no group data" instead of showing an
// empty list that looks real, and answers 501 for a single group.
import { ApiError, badRequest, expectObject, notFound, optionalInt, optionalString, type ApiRoute } from './api-router.ts';
import type { LagHistory } from './lag-history.ts';

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

/** One partition's lag, as the metric, the alert rule and the lag history read it. */
export interface GroupLagSample {
  groupId: string;
  topic: string;
  partition: number;
  lag: number;
}

/** What the coordinator offers the HTTP API. */
export interface GroupsView {
  listGroups(): Promise<GroupSummary[]>;
  describeGroup(groupId: string): Promise<GroupDetail | null>;
  /** Refused (throws ApiError 409) while the group has members. */
  resetOffsets(groupId: string, spec: OffsetResetSpec): Promise<GroupPartitionLag[]>;
  /**
   * Known lags (committed offset and high watermark both known) of every group coordinated here.
   * Synchronous so that a scrape and an alert evaluation each see one consistent moment.
   */
  lagSnapshot(): GroupLagSample[];
}

/** Largest offset or timestamp accepted in a reset body (JavaScript's exact-integer limit). */
const maxResetValue = Number.MAX_SAFE_INTEGER;

/** Turns a POST /groups/:id/offsets body into a reset spec, or a 400 saying what is wrong. */
export function parseOffsetResetSpec(value: unknown): OffsetResetSpec {
  const body = expectObject(value, 'the offset reset body');
  const allowed = new Set(['to', 'topic', 'partition', 'offset', 'timestampMs']);
  for (const key of Object.keys(body)) if (!allowed.has(key)) throw badRequest(`unknown field "${key}" (allowed: ${[...allowed].join(', ')})`);
  const topic = optionalString(body, 'topic') ?? undefined;
  if (topic === '') throw badRequest('"topic" must not be empty');
  switch (body['to']) {
    case 'earliest':
    case 'latest':
      return { to: body['to'], ...(topic === undefined ? {} : { topic }) };
    case 'timestamp': {
      const timestampMs = optionalInt(body, 'timestampMs', 0, maxResetValue);
      if (timestampMs === undefined) throw badRequest('"timestampMs" (ms since the epoch) is required with "to": "timestamp"');
      return { to: 'timestamp', timestampMs, ...(topic === undefined ? {} : { topic }) };
    }
    case 'offset': {
      const partition = optionalInt(body, 'partition', 0, 2 ** 31 - 1);
      const offset = optionalInt(body, 'offset', 0, maxResetValue);
      if (topic === undefined || partition === undefined || offset === undefined) throw badRequest('"topic", "partition" and "offset" are required with "to": "offset"');
      return { to: 'offset', topic, partition, offset };
    }
    default:
      throw badRequest('"to" must be one of "earliest", "latest", "timestamp", "offset"');
  }
}

export function groupRoutes(groups: GroupsView | null, lagHistory: LagHistory | null = null): ApiRoute[] {
  const unavailable = (): never => {
    throw new ApiError(501, 'consumer group data is not available from this node yet');
  };
  const describe = async (groupId: string): Promise<GroupDetail> => {
    const group = await (groups ?? unavailable()).describeGroup(groupId);
    if (!group) throw notFound(`consumer group ${groupId} does not exist`);
    return group;
  };
  return [
    {
      method: 'GET', path: '/api/v1/groups', handler: async () => {
        if (!groups) return [200, { available: false, reason: 'consumer group data is not available from this node yet', groups: [] }];
        return [200, { available: true, groups: await groups.listGroups() }];
      },
    },
    {
      method: 'GET', path: '/api/v1/groups/:id', handler: async ({ params }) => [200, await describe(params['id']!)],
    },
    {
      method: 'GET', path: '/api/v1/groups/:id/lag-history', handler: async ({ params }) => {
        const group = await describe(params['id']!);
        return [200, { groupId: group.groupId, samples: lagHistory?.history(group.groupId, group.totalLag) ?? [{ timeMs: Date.now(), totalLag: group.totalLag }] }];
      },
    },
    {
      method: 'POST', path: '/api/v1/groups/:id/offsets', handler: async ({ params, body }) => {
        if (!groups) return unavailable();
        const spec = parseOffsetResetSpec(await body());
        const offsets = await groups.resetOffsets(params['id']!, spec);
        return [200, { groupId: params['id']!, offsets }];
      },
    },
  ];
}
