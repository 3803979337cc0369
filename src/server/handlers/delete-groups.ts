import {
  deleteGroupsCodec,
  type DeleteGroupsRequest,
  type DeleteGroupsResponse,
  type DeleteGroupsResponseDeletableGroupResult,
} from '../../protocol/messages/delete-groups.ts';
import type { ApiHandler } from './api-handler.ts';

/**
 * DeleteGroups: removes empty groups and their offsets (NON_EMPTY_GROUP while members remain),
 * answered once the tombstones are durable. Groups are sent to their own coordinators.
 */
export const deleteGroupsHandler: ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse> = {
  codec: deleteGroupsCodec,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, context) {
    const results = await Promise.all(request.groupsNames.map(async (groupId): Promise<DeleteGroupsResponseDeletableGroupResult> => {
      const route = context.broker.groups.route(groupId);
      if (!route.ok) return { groupId, errorCode: route.errorCode };
      const [result] = await route.driver.deleteGroups([groupId]);
      return { groupId, errorCode: result!.errorCode };
    }));
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, results: request.groupsNames.map((groupId) => ({ groupId, errorCode })) };
  },
};
