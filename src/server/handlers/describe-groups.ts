import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  describeGroupsCodec,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
  type DescribeGroupsResponseDescribedGroup,
} from '../../protocol/messages/describe-groups.ts';
import type { DescribedGroup } from '../../coordinator/group-types.ts';
import type { ApiHandler, RequestContext } from './api-handler.ts';

const unknownAuthorizedOperations = -2147483648;

/**
 * DescribeGroups: each group from its coordinator. An unknown group is described as Dead with no
 * error (v0-5 have no GROUP_ID_NOT_FOUND); a group coordinated elsewhere gets NOT_COORDINATOR.
 */
export const describeGroupsHandler: ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse> = {
  codec: describeGroupsCodec,
  minVersion: 0,
  maxVersion: 5,
  handle(request, context) {
    return { throttleTimeMs: 0, groups: request.groups.map((groupId) => describe(groupId, context)) };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, groups: request.groups.map((groupId) => failed(groupId, errorCode)) };
  },
};

function describe(groupId: string, context: RequestContext): DescribeGroupsResponseDescribedGroup {
  const route = context.broker.groups.route(groupId);
  if (!route.ok) return failed(groupId, route.errorCode);
  const described: DescribedGroup = route.driver.describeGroups([groupId])[0]!;
  const errorCode = described.errorCode === ErrorCode.GROUP_ID_NOT_FOUND ? ErrorCode.NONE : described.errorCode;
  return {
    errorCode,
    groupId,
    groupState: described.groupState,
    protocolType: described.protocolType,
    protocolData: described.protocolData,
    members: described.members.map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      clientId: member.clientId,
      clientHost: member.clientHost,
      memberMetadata: member.memberMetadata,
      memberAssignment: member.memberAssignment,
    })),
    authorizedOperations: unknownAuthorizedOperations,
  };
}

function failed(groupId: string, errorCode: number): DescribeGroupsResponseDescribedGroup {
  // Kafka describes a group it cannot serve with an empty state.
  return { errorCode, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: unknownAuthorizedOperations };
}
