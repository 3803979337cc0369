import type { TopicMetadata } from '../../controller/metadata-image.ts';
import { brokerKeyForTopicKey, topicConfigKeys, type ConfigDefinition, type ConfigType } from '../../config/definitions.ts';
import type { ConfigValue } from '../../config/parse-value.ts';
import { topicNameProblem, effectiveTopicConfig } from '../../config/topic-config.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  describeConfigsCodec,
  type DescribeConfigsRequest,
  type DescribeConfigsRequestDescribeConfigsResource,
  type DescribeConfigsResponse,
  type DescribeConfigsResponseDescribeConfigsResourceResult,
  type DescribeConfigsResponseDescribeConfigsResult,
  type DescribeConfigsResponseDescribeConfigsSynonym,
} from '../../protocol/messages/describe-configs.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { ApiHandler } from './api-handler.ts';

/** Kafka's ConfigResource.Type values that Tide serves. */
export const ResourceType = { TOPIC: 2, BROKER: 4 } as const;

/** Kafka's DescribeConfigsResponse.ConfigSource values. */
export const ConfigSource = { DYNAMIC_TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;

/** Kafka's ConfigEntry.ConfigType values (DescribeConfigs v3+). */
const configTypeCode: Record<ConfigType, number> = {
  bool: 1, string: 2, hostport: 2, enum: 2, int: 3, long: 5, ratio: 6, list: 7,
};
const unknownConfigType = 0;

export interface ConfigEntryOptions {
  includeSynonyms: boolean;
  includeDocumentation: boolean;
}

type ConfigEntry = DescribeConfigsResponseDescribeConfigsResourceResult;
type Synonym = DescribeConfigsResponseDescribeConfigsSynonym;

/**
 * DescribeConfigs for topics (every topic key with its effective value and where it comes from) and
 * for this broker (its static settings). Broker settings are read-only: they come from the config
 * file, the environment or flags and change only with a restart.
 */
export const describeConfigsHandler: ApiHandler<DescribeConfigsRequest, DescribeConfigsResponse> = {
  codec: describeConfigsCodec,
  minVersion: 1,
  maxVersion: 4,
  handle(request, context) {
    const options: ConfigEntryOptions = {
      includeSynonyms: context.apiVersion >= 1 && request.includeSynonyms,
      includeDocumentation: context.apiVersion >= 3 && request.includeDocumentation,
    };
    return {
      throttleTimeMs: 0,
      results: request.resources.map((resource) => describeResource(resource, options, context.broker)),
    };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      results: request.resources.map((resource) => failed(resource, errorCode, null)),
    };
  },
};

function describeResource(resource: DescribeConfigsRequestDescribeConfigsResource, options: ConfigEntryOptions, broker: BrokerServices): DescribeConfigsResponseDescribeConfigsResult {
  // Kafka clients (kafkajs by default) send an empty list to mean "all keys", like null.
  const wanted = resource.configurationKeys === null || resource.configurationKeys.length === 0 ? null : new Set(resource.configurationKeys);
  const keep = (entries: ConfigEntry[]) => (wanted === null ? entries : entries.filter((entry) => wanted.has(entry.name)));
  switch (resource.resourceType) {
    case ResourceType.TOPIC: {
      const problem = topicNameProblem(resource.resourceName);
      if (problem) return failed(resource, ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
      const topic = broker.metadata.image().topicsByName.get(resource.resourceName);
      if (!topic) return failed(resource, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${resource.resourceName} does not exist`);
      return succeeded(resource, keep(topicConfigEntries(topic, broker, options)));
    }
    case ResourceType.BROKER: {
      const problem = brokerResourceProblem(resource.resourceName, broker.nodeId);
      if (problem) return failed(resource, ErrorCode.INVALID_REQUEST, problem);
      return succeeded(resource, keep(brokerConfigEntries(broker, options)));
    }
    default:
      return failed(resource, ErrorCode.INVALID_REQUEST, `resource type ${resource.resourceType} is not supported; Tide describes topics (2) and brokers (4)`);
  }
}

/**
 * Why a BROKER resource name does not address this node, or null when it does. Kafka also accepts
 * an empty name for the cluster-wide dynamic broker defaults; Tide has no dynamic broker configs, so
 * it asks for the node id instead of answering with an empty list that looks like "no settings".
 */
export function brokerResourceProblem(resourceName: string, nodeId: number): string | null {
  if (resourceName === String(nodeId)) return null;
  if (resourceName === '') return `give this broker's id (${nodeId}) as the resource name; Tide has no cluster-wide dynamic broker defaults`;
  return `unexpected broker id "${resourceName}": this is broker ${nodeId}; ask each broker about itself`;
}

/**
 * Every topic-level key with its effective value: the topic's own setting (DYNAMIC_TOPIC_CONFIG),
 * else the broker's (STATIC_BROKER_CONFIG when the node's config changes the built-in default,
 * DEFAULT_CONFIG otherwise). Keys with no broker default appear only when the topic sets them.
 * CreateTopics v5+ returns the same list for a new topic.
 */
export function topicConfigEntries(topic: Pick<TopicMetadata, 'configs'>, broker: Pick<BrokerServices, 'config'>, options: ConfigEntryOptions): ConfigEntry[] {
  const brokerDefaults = broker.config.topicDefaults();
  // The topic's preset (if any) changes some defaults; those values are the topic's, not the broker's.
  const effective = effectiveTopicConfig(topic.configs, brokerDefaults);
  const entries: ConfigEntry[] = [];
  for (const key of topicConfigKeys) {
    const definition = brokerKeyForTopicKey(key)!;
    const own = topic.configs[key];
    const brokerValue = brokerDefaults[key] ?? null;
    const builtIn = stringValue(definition.default);
    const brokerSource = brokerValue === builtIn ? ConfigSource.DEFAULT_CONFIG : ConfigSource.STATIC_BROKER_CONFIG;
    const fromPreset = own === undefined && effective[key] !== undefined && effective[key] !== brokerValue ? effective[key]! : undefined;
    const synonyms: Synonym[] = [];
    if (options.includeSynonyms) {
      if (own !== undefined) synonyms.push({ name: key, value: own, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
      if (brokerSource === ConfigSource.STATIC_BROKER_CONFIG) synonyms.push({ name: definition.key, value: brokerValue, source: ConfigSource.STATIC_BROKER_CONFIG });
      synonyms.push({ name: definition.key, value: builtIn, source: ConfigSource.DEFAULT_CONFIG });
    }
    entries.push(entry(key, own ?? fromPreset ?? brokerValue, own !== undefined || fromPreset !== undefined ? ConfigSource.DYNAMIC_TOPIC_CONFIG : brokerSource, {
      readOnly: false,
      synonyms,
      configType: configTypeCode[definition.type],
      documentation: options.includeDocumentation ? `${definition.doc} (topic-level override of the broker setting ${definition.key})` : null,
    }));
  }
  const extraKeys = Object.keys(topic.configs).filter((key) => !topicConfigKeys.has(key)).sort();
  for (const key of extraKeys) {
    const value = topic.configs[key]!;
    entries.push(entry(key, value, ConfigSource.DYNAMIC_TOPIC_CONFIG, {
      readOnly: false,
      synonyms: options.includeSynonyms ? [{ name: key, value, source: ConfigSource.DYNAMIC_TOPIC_CONFIG }] : [],
      configType: unknownConfigType,
      documentation: null,
    }));
  }
  return entries;
}

function brokerConfigEntries(broker: BrokerServices, options: ConfigEntryOptions): ConfigEntry[] {
  return broker.config.entries().map(([definition, value]) => {
    const current = stringValue(value);
    const builtIn = stringValue(definition.default);
    const source = current === builtIn ? ConfigSource.DEFAULT_CONFIG : ConfigSource.STATIC_BROKER_CONFIG;
    const sensitive = isSensitive(definition);
    const synonyms: Synonym[] = [];
    if (options.includeSynonyms) {
      if (source === ConfigSource.STATIC_BROKER_CONFIG) synonyms.push({ name: definition.key, value: sensitive ? null : current, source });
      synonyms.push({ name: definition.key, value: sensitive ? null : builtIn, source: ConfigSource.DEFAULT_CONFIG });
    }
    return {
      ...entry(definition.key, sensitive ? null : current, source, {
        readOnly: true,
        synonyms,
        configType: configTypeCode[definition.type],
        documentation: options.includeDocumentation ? definition.doc : null,
      }),
      isSensitive: sensitive,
    };
  });
}

/** Secrets (none yet; SASL and TLS keys will be) are never sent back, as in Kafka. */
function isSensitive(definition: ConfigDefinition): boolean {
  return /password|secret|credential/i.test(definition.key);
}

function entry(name: string, value: string | null, configSource: number, rest: Pick<ConfigEntry, 'readOnly' | 'synonyms' | 'configType' | 'documentation'>): ConfigEntry {
  return { name, value, isDefault: configSource === ConfigSource.DEFAULT_CONFIG, configSource, isSensitive: false, ...rest };
}

function stringValue(value: ConfigValue): string | null {
  return value === null ? null : String(value);
}

function succeeded(resource: DescribeConfigsRequestDescribeConfigsResource, configs: ConfigEntry[]): DescribeConfigsResponseDescribeConfigsResult {
  return { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName, configs };
}

function failed(resource: DescribeConfigsRequestDescribeConfigsResource, errorCode: number, errorMessage: string | null): DescribeConfigsResponseDescribeConfigsResult {
  return { errorCode, errorMessage, resourceType: resource.resourceType, resourceName: resource.resourceName, configs: [] };
}
