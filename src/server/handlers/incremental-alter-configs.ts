import { failure, type AlterConfigOperation, type TopicChangeResult } from '../../controller/topic-requests.ts';
import { brokerKeyForTopicKey } from '../../config/definitions.ts';
import { isKnownTopicConfig } from '../../config/topic-config.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  incrementalAlterConfigsCodec,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsRequestAlterConfigsResource,
  type IncrementalAlterConfigsResponse,
  type IncrementalAlterConfigsResponseAlterConfigsResourceResponse,
} from '../../protocol/messages/incremental-alter-configs.ts';
import type { BrokerServices } from '../broker-services.ts';
import { alterTargetProblem, distinctResources, duplicateResources, resourceKey } from './alter-configs.ts';
import type { ApiHandler } from './api-handler.ts';

/** Kafka's AlterConfigOp.OpType codes, in order: SET, DELETE, APPEND, SUBTRACT. */
const operationNames: ReadonlyArray<AlterConfigOperation['op']> = ['set', 'delete', 'append', 'subtract'];

/**
 * IncrementalAlterConfigs: set, delete, append to or subtract from single topic configs, leaving the
 * others as they are. All operations on one resource apply together or not at all.
 */
export const incrementalAlterConfigsHandler: ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse> = {
  codec: incrementalAlterConfigsCodec,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, context) {
    const { broker } = context;
    const duplicates = duplicateResources(request.resources);
    const responses: IncrementalAlterConfigsResponseAlterConfigsResourceResponse[] = [];
    for (const resource of distinctResources(request.resources)) {
      const outcome = duplicates.has(resourceKey(resource))
        ? failure(ErrorCode.INVALID_REQUEST, `resource ${resource.resourceName} (type ${resource.resourceType}) appears more than once in the request`)
        : await alterTopic(resource, request.validateOnly, broker);
      responses.push({ ...outcome, resourceType: resource.resourceType, resourceName: resource.resourceName });
    }
    return { throttleTimeMs: 0, responses };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      responses: distinctResources(request.resources).map((resource) => ({
        errorCode, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName,
      })),
    };
  },
};

async function alterTopic(resource: IncrementalAlterConfigsRequestAlterConfigsResource, validateOnly: boolean, broker: BrokerServices): Promise<TopicChangeResult> {
  const refused = alterTargetProblem(resource.resourceType, resource.resourceName, broker);
  if (refused) return refused;
  const current = broker.metadata.image().topicsByName.get(resource.resourceName)!.configs;
  const brokerDefaults = broker.config.topicDefaults();
  const seen = new Set<string>();
  const operations: AlterConfigOperation[] = [];
  for (const config of resource.configs) {
    const key = config.name;
    if (seen.has(key)) return failure(ErrorCode.INVALID_REQUEST, `config ${key} appears more than once for ${resource.resourceName}`);
    seen.add(key);
    const op = operationNames[config.configOperation];
    if (op === undefined) return failure(ErrorCode.INVALID_REQUEST, `config ${key}: unknown operation ${config.configOperation} (0 set, 1 delete, 2 append, 3 subtract)`);
    if (!isKnownTopicConfig(key)) return failure(ErrorCode.INVALID_CONFIG, `unknown topic config "${key}"`);
    if (op !== 'delete' && config.value === null) return failure(ErrorCode.INVALID_REQUEST, `config ${key}: ${op} needs a value`);
    if (op === 'append' || op === 'subtract') {
      if (brokerKeyForTopicKey(key)?.type !== 'list') return failure(ErrorCode.INVALID_CONFIG, `config ${key} is not a list, so ${op} is not allowed; use set`);
      // As in Kafka, a list the topic does not set starts from its effective (broker default) value.
      const inherited = brokerDefaults[key];
      if (current[key] === undefined && inherited !== undefined) operations.push({ key, op: 'set', value: inherited });
    }
    operations.push({ key, op, value: config.value });
  }
  return broker.metadata.alterTopicConfigs(resource.resourceName, operations, validateOnly);
}
