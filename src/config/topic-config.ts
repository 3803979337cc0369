import { brokerKeyForTopicKey, topicConfigKeys } from './definitions.ts';
import { ConfigError } from './config-error.ts';
import { parseConfigValue } from './parse-value.ts';
import { isPresetName, presetFor, presetNames, presetTopicDefaults } from './presets.ts';

/** Topic-level keys that are accepted and stored although the broker has no default for them. */
const extraTopicKeys: Record<string, (value: string) => string | null> = {
  'compression.type': (v) => (['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'].includes(v) ? null : 'must be producer, uncompressed, gzip, snappy, lz4 or zstd'),
  'message.timestamp.type': (v) => (['CreateTime', 'LogAppendTime'].includes(v) ? null : 'must be CreateTime or LogAppendTime'),
  'preset': (v) => (isPresetName(v) ? null : `must be one of ${presetNames.join(', ')}`),
};

export function isKnownTopicConfig(key: string): boolean {
  return topicConfigKeys.has(key) || key in extraTopicKeys;
}

/** Validates one topic config value; returns the normalised value or throws ConfigError naming the key. */
export function validateTopicConfig(key: string, value: string): string {
  const definition = brokerKeyForTopicKey(key);
  if (definition) {
    const parsed = parseConfigValue({ ...definition, key }, value, 'topic config');
    return String(parsed);
  }
  const check = extraTopicKeys[key];
  if (!check) throw new ConfigError(`unknown topic config "${key}"`);
  const problem = check(value.trim());
  if (problem) throw new ConfigError(`${key}: "${value}" ${problem}`);
  return value.trim();
}

/**
 * The effective value of every topic key: the topic's own settings over its preset (topic config
 * `preset`) over the broker defaults (which already carry a cluster-wide preset, see BrokerConfig).
 */
export function effectiveTopicConfig(topicConfigs: Record<string, string>, brokerDefaults: Record<string, string>): Record<string, string> {
  const preset = presetFor(topicConfigs['preset']);
  return { ...brokerDefaults, ...(preset ? presetTopicDefaults(preset) : {}), ...topicConfigs };
}

const legalTopicName = /^[a-zA-Z0-9._-]+$/;
export const maxTopicNameLength = 249;

/** Kafka's topic-name rules; returns a reason when the name is invalid. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > maxTopicNameLength) return `topic name is longer than ${maxTopicNameLength} characters`;
  if (!legalTopicName.test(name)) return `topic name "${name}" contains characters other than ASCII letters, digits, '.', '_' and '-'`;
  return null;
}

/** Kafka refuses topics whose names differ only in '.' versus '_' (their metric names would collide). */
export function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}
