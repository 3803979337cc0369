import { joinGroupCodec, type JoinGroupRequest, type JoinGroupResponse } from '../../protocol/messages/join-group.ts';
import type { JoinGroupResult } from '../../coordinator/group-types.ts';
import type { ApiHandler } from './api-handler.ts';
import { clientHostOf } from '../groups/request-helpers.ts';

/**
 * JoinGroup: parks until the group's join phase ends. v0 has no rebalance timeout (the session
 * timeout is used, as in Kafka); v4+ first answers an unknown member MEMBER_ID_REQUIRED with its
 * new id; v5+ static membership; v9 lets a static leader skip assignment.
 */
export const joinGroupHandler: ApiHandler<JoinGroupRequest, JoinGroupResponse> = {
  codec: joinGroupCodec,
  minVersion: 0,
  maxVersion: 9,
  async handle(request, context) {
    const { apiVersion, broker } = context;
    const route = broker.groups.route(request.groupId);
    if (!route.ok) return errorOf(request.memberId, route.errorCode);
    const result = await route.driver.joinGroup({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId: apiVersion >= 5 ? request.groupInstanceId : null,
      clientId: context.clientId ?? '',
      clientHost: clientHostOf(context),
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: apiVersion >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
      protocolType: request.protocolType,
      protocols: request.protocols.map((protocol) => ({ name: protocol.name, metadata: protocol.metadata })),
      requireKnownMemberId: apiVersion >= 4,
      supportSkippingAssignment: apiVersion >= 9,
      reason: apiVersion >= 8 ? request.reason : null,
    });
    return responseOf(result, apiVersion);
  },
  errorResponse(request, errorCode) {
    return errorOf(request.memberId, errorCode);
  },
};

function responseOf(result: JoinGroupResult, apiVersion: number): JoinGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    generationId: result.generationId,
    protocolType: result.protocolType,
    // Before v7 the protocol name is not nullable; Kafka sends "" for none.
    protocolName: apiVersion >= 7 ? result.protocolName : (result.protocolName ?? ''),
    leader: result.leader,
    skipAssignment: result.skipAssignment,
    memberId: result.memberId,
    members: result.members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId, metadata: member.metadata })),
  };
}

function errorOf(memberId: string, errorCode: number): JoinGroupResponse {
  return {
    throttleTimeMs: 0, errorCode, generationId: -1, protocolType: null, protocolName: '', leader: '', skipAssignment: false, memberId,
    members: [],
  };
}
