import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  describeClusterCodec,
  type DescribeClusterRequest,
  type DescribeClusterResponse,
} from '../../protocol/messages/describe-cluster.ts';
import type { ApiHandler } from './api-handler.ts';

/** DescribeCluster v1 endpoint types. */
const EndpointType = { BROKERS: 1, CONTROLLERS: 2 } as const;
const unknownAuthorizedOperations = -2147483648;

/**
 * DescribeCluster from this node's metadata image: the live (unfenced) brokers, the cluster id and
 * the controller. This is a broker listener, so asking it for controller endpoints gets
 * MISMATCHED_ENDPOINT_TYPE, as from a Kafka broker.
 */
export const describeClusterHandler: ApiHandler<DescribeClusterRequest, DescribeClusterResponse> = {
  codec: describeClusterCodec,
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    const { broker, apiVersion } = context;
    const endpointType = apiVersion >= 1 ? request.endpointType : EndpointType.BROKERS;
    if (endpointType === EndpointType.CONTROLLERS) {
      return failed(endpointType, ErrorCode.MISMATCHED_ENDPOINT_TYPE, 'this is a broker endpoint; controller endpoints are not served here');
    }
    if (endpointType !== EndpointType.BROKERS) {
      return failed(endpointType, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, `endpoint type ${endpointType} is not supported (1 = brokers)`);
    }
    const image = broker.metadata.image();
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType,
      clusterId: image.clusterId,
      controllerId: image.controllerId,
      brokers: [...image.brokers.values()]
        .filter((node) => !node.fenced)
        .sort((a, b) => a.nodeId - b.nodeId)
        .map((node) => ({ brokerId: node.nodeId, host: node.host, port: node.port, rack: node.rack })),
      clusterAuthorizedOperations: unknownAuthorizedOperations,
    };
  },
  errorResponse(request, errorCode) {
    return failed(request.endpointType, errorCode, null);
  },
};

function failed(endpointType: number, errorCode: number, errorMessage: string | null): DescribeClusterResponse {
  return {
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
    endpointType,
    clusterId: '',
    controllerId: -1,
    brokers: [],
    clusterAuthorizedOperations: unknownAuthorizedOperations,
  };
}
