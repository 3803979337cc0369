import { ErrorCode } from '../../protocol/error-codes.ts';
import { leaveGroupCodec, type LeaveGroupRequest, type LeaveGroupResponse } from '../../protocol/messages/leave-group.ts';
import type { LeavingMember } from '../../coordinator/group-types.ts';
import type { ApiHandler } from './api-handler.ts';

/**
 * LeaveGroup: v0-2 carry one member id, v3+ a batch of members (by member id or, for static
 * members, group instance id). v0-2 have no per-member answers, so a member's error becomes the
 * top-level error, as in Kafka.
 */
export const leaveGroupHandler: ApiHandler<LeaveGroupRequest, LeaveGroupResponse> = {
  codec: leaveGroupCodec,
  minVersion: 0,
  maxVersion: 5,
  handle(request, context) {
    const { apiVersion, broker } = context;
    const members: LeavingMember[] = apiVersion >= 3
      ? request.members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId, reason: apiVersion >= 5 ? member.reason : null }))
      : [{ memberId: request.memberId, groupInstanceId: null, reason: null }];
    const route = broker.groups.route(request.groupId);
    if (!route.ok) return { throttleTimeMs: 0, errorCode: route.errorCode, members: [] };
    const result = route.driver.leaveGroup({ groupId: request.groupId, members });
    if (apiVersion >= 3) return { throttleTimeMs: 0, errorCode: result.errorCode, members: result.members };
    const memberError = result.members.find((member) => member.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
    return { throttleTimeMs: 0, errorCode: result.errorCode !== ErrorCode.NONE ? result.errorCode : memberError, members: [] };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, members: [] };
  },
};
