import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  findCoordinatorCodec,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  type FindCoordinatorResponseCoordinator,
} from '../../protocol/messages/find-coordinator.ts';
import type { ApiHandler, RequestContext } from './api-handler.ts';

const KeyType = { GROUP: 0, TRANSACTION: 1 } as const;

/**
 * FindCoordinator: a group's coordinator is the leader of its __consumer_offsets partition. v4+
 * batch keys (platformatic); v0-3 carry one. Transaction coordinators do not exist yet, so key
 * type 1 gets COORDINATOR_NOT_AVAILABLE. v0 is advertised because librdkafka < 2.11.1 disables
 * its balanced consumer unless FindCoordinator v0 is in the range.
 */
export const findCoordinatorHandler: ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse> = {
  codec: findCoordinatorCodec,
  minVersion: 0,
  maxVersion: 5,
  handle(request, context) {
    const keys = context.apiVersion >= 4 ? request.coordinatorKeys : [request.key];
    const coordinators = keys.map((key) => locate(key, request.keyType, context));
    if (context.apiVersion >= 4) return { ...emptyResponse(), coordinators };
    const { errorCode, errorMessage, nodeId, host, port } = coordinators[0]!;
    return { ...emptyResponse(), errorCode, errorMessage, nodeId, host, port };
  },
  errorResponse(request, errorCode, context) {
    if (context.apiVersion >= 4) return { ...emptyResponse(), coordinators: request.coordinatorKeys.map((key) => failed(key, errorCode, null)) };
    return { ...emptyResponse(), errorCode };
  },
};

function locate(key: string, keyType: number, context: RequestContext): FindCoordinatorResponseCoordinator {
  const { broker } = context;
  if (keyType === KeyType.TRANSACTION) return failed(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, 'transactions are not supported by this broker yet');
  if (keyType !== KeyType.GROUP) return failed(key, ErrorCode.INVALID_REQUEST, `unknown coordinator key type ${keyType}`);
  const location = broker.groups.locateGroupCoordinator(key);
  if (location.errorCode !== ErrorCode.NONE) return failed(key, location.errorCode, location.errorMessage);
  if (location.nodeId === broker.nodeId) {
    return { key, nodeId: broker.nodeId, host: broker.advertised.host, port: broker.advertised.port, errorCode: ErrorCode.NONE, errorMessage: null };
  }
  const node = broker.metadata.image().brokers.get(location.nodeId);
  if (!node) return failed(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, `broker ${location.nodeId} is not known`);
  return { key, nodeId: node.nodeId, host: node.host, port: node.port, errorCode: ErrorCode.NONE, errorMessage: null };
}

function failed(key: string, errorCode: number, errorMessage: string | null): FindCoordinatorResponseCoordinator {
  return { key, nodeId: -1, host: '', port: -1, errorCode, errorMessage };
}

function emptyResponse(): FindCoordinatorResponse {
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, nodeId: -1, host: '', port: -1, coordinators: [] };
}
