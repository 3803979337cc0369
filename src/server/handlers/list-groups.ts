import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  listGroupsCodec,
  type ListGroupsRequest,
  type ListGroupsResponse,
} from '../../protocol/messages/list-groups.ts';
import type { ApiHandler } from './api-handler.ts';

/**
 * ListGroups: the groups of every coordinator on this node. While a partition led here is still
 * loading the answer says COORDINATOR_LOAD_IN_PROGRESS (with what is known), as in Kafka. v4 adds
 * a state filter, v5 a type filter (only classic groups exist here).
 */
export const listGroupsHandler: ApiHandler<ListGroupsRequest, ListGroupsResponse> = {
  codec: listGroupsCodec,
  minVersion: 0,
  maxVersion: 5,
  handle(request, context) {
    const { apiVersion, broker } = context;
    const filter = {
      statesFilter: apiVersion >= 4 ? request.statesFilter : [],
      typesFilter: apiVersion >= 5 ? request.typesFilter : [],
    };
    const groups = broker.groups.activeDrivers().flatMap((driver) => driver.listGroups(filter));
    return {
      throttleTimeMs: 0,
      errorCode: broker.groups.isLoading() ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE,
      groups: groups.map((group) => ({ groupId: group.groupId, protocolType: group.protocolType, groupState: group.groupState, groupType: group.groupType })),
    };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, groups: [] };
  },
};
