import { heartbeatCodec, type HeartbeatRequest, type HeartbeatResponse } from '../../protocol/messages/heartbeat.ts';
import type { ApiHandler } from './api-handler.ts';

/** Heartbeat: keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin. */
export const heartbeatHandler: ApiHandler<HeartbeatRequest, HeartbeatResponse> = {
  codec: heartbeatCodec,
  minVersion: 0,
  maxVersion: 4,
  handle(request, context) {
    const route = context.broker.groups.route(request.groupId);
    if (!route.ok) return { throttleTimeMs: 0, errorCode: route.errorCode };
    const { errorCode } = route.driver.heartbeat({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: context.apiVersion >= 3 ? request.groupInstanceId : null,
    });
    return { throttleTimeMs: 0, errorCode };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode };
  },
};
