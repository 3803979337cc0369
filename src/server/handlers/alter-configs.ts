import { failure, type AlterConfigOperation, type TopicChangeResult } from '../../controller/topic-requests.ts';
import { topicNameProblem } from '../../config/topic-config.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  alterConfigsCodec,
  type AlterConfigsRequest,
  type AlterConfigsRequestAlterConfigsResource,
  type AlterConfigsResponse,
  type AlterConfigsResponseAlterConfigsResourceResponse,
} from '../../protocol/messages/alter-configs.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { ApiHandler } from './api-handler.ts';
import { brokerResourceProblem, ResourceType } from './describe-configs.ts';

/**
 * AlterConfigs (the legacy, non-incremental API): the configs given become the topic's whole set of
 * own configs; every key not given falls back to the broker default. Broker configs cannot be
 * changed at run time.
 */
export const alterConfigsHandler: ApiHandler<AlterConfigsRequest, AlterConfigsResponse> = {
  codec: alterConfigsCodec,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, context) {
    const { broker } = context;
    const duplicates = duplicateResources(request.resources);
    const responses: AlterConfigsResponseAlterConfigsResourceResponse[] = [];
    for (const resource of distinctResources(request.resources)) {
      const outcome = duplicates.has(resourceKey(resource))
        ? failure(ErrorCode.INVALID_REQUEST, `resource ${resource.resourceName} (type ${resource.resourceType}) appears more than once in the request`)
        : await replaceTopicConfigs(resource, request.validateOnly, broker);
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

async function replaceTopicConfigs(resource: AlterConfigsRequestAlterConfigsResource, validateOnly: boolean, broker: BrokerServices): Promise<TopicChangeResult> {
  const refused = alterTargetProblem(resource.resourceType, resource.resourceName, broker);
  if (refused) return refused;
  const given = new Map<string, string | null>();
  for (const config of resource.configs) {
    if (given.has(config.name)) return failure(ErrorCode.INVALID_REQUEST, `config ${config.name} is given more than once`);
    given.set(config.name, config.value);
  }
  const current = broker.metadata.image().topicsByName.get(resource.resourceName)!.configs;
  const operations: AlterConfigOperation[] = [];
  // A null value clears the key, as in Kafka.
  for (const key of Object.keys(current)) {
    if ((given.get(key) ?? null) === null) operations.push({ key, op: 'delete', value: null });
  }
  for (const [key, value] of given) {
    if (value !== null) operations.push({ key, op: 'set', value });
  }
  return broker.metadata.alterTopicConfigs(resource.resourceName, operations, validateOnly);
}

/**
 * Why configs of this resource cannot be altered, or null for an existing topic (shared with
 * IncrementalAlterConfigs).
 */
export function alterTargetProblem(resourceType: number, resourceName: string, broker: BrokerServices): TopicChangeResult | null {
  switch (resourceType) {
    case ResourceType.TOPIC: {
      const problem = topicNameProblem(resourceName);
      if (problem) return failure(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
      if (!broker.metadata.image().topicsByName.has(resourceName)) return failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${resourceName} does not exist`);
      return null;
    }
    case ResourceType.BROKER: {
      const problem = brokerResourceProblem(resourceName, broker.nodeId);
      const prefix = problem ? `${problem}; and ` : '';
      return failure(ErrorCode.INVALID_REQUEST, `${prefix}broker configs are static; set them in the config file (or TIDE_* environment variables or flags) and restart the node`);
    }
    default:
      return failure(ErrorCode.INVALID_REQUEST, `resource type ${resourceType} is not supported; Tide alters topic configs (2) only`);
  }
}

interface Resource {
  resourceType: number;
  resourceName: string;
}

export function resourceKey(resource: Resource): string {
  return `${resource.resourceType}:${resource.resourceName}`;
}

/** Kafka answers every resource once, so a resource named twice gets one (error) answer. */
export function distinctResources<T extends Resource>(resources: T[]): T[] {
  const seen = new Set<string>();
  return resources.filter((resource) => {
    const key = resourceKey(resource);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function duplicateResources(resources: Resource[]): Set<string> {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const resource of resources) {
    const key = resourceKey(resource);
    if (seen.has(key)) duplicates.add(key);
    seen.add(key);
  }
  return duplicates;
}
