import { syncGroupCodec, type SyncGroupRequest, type SyncGroupResponse } from '../../protocol/messages/sync-group.ts';
import { EMPTY_BUFFER } from '../../protocol/reader.ts';
import type { ApiHandler } from './api-handler.ts';

/**
 * SyncGroup: the leader hands in the assignment; every member parks until it is durable in
 * __consumer_offsets. v5 adds the protocol type and name (checked when present).
 */
export const syncGroupHandler: ApiHandler<SyncGroupRequest, SyncGroupResponse> = {
  codec: syncGroupCodec,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, context) {
    const { apiVersion, broker } = context;
    const route = broker.groups.route(request.groupId);
    if (!route.ok) return errorOf(route.errorCode);
    const result = await route.driver.syncGroup({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: apiVersion >= 3 ? request.groupInstanceId : null,
      protocolType: apiVersion >= 5 ? request.protocolType : null,
      protocolName: apiVersion >= 5 ? request.protocolName : null,
      assignments: request.assignments.map((entry) => ({ memberId: entry.memberId, assignment: entry.assignment })),
    });
    return { throttleTimeMs: 0, errorCode: result.errorCode, protocolType: result.protocolType, protocolName: result.protocolName, assignment: result.assignment };
  },
  errorResponse(_request, errorCode) {
    return errorOf(errorCode);
  },
};

function errorOf(errorCode: number): SyncGroupResponse {
  return { throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BUFFER };
}
