import { readFileSync } from 'node:fs';
import { brokerConfigDefinitions, definitionFor, type ConfigDefinition } from './definitions.ts';
import { ConfigError } from './config-error.ts';
import { parseConfigValue, parseHostPort, type ConfigValue, type HostPort } from './parse-value.ts';
import { presetBrokerDefaults, presetFor } from './presets.ts';

/**
 * The node's settings: defaults, then the properties file, then TIDE_* environment variables, then flags.
 * Unknown keys and bad values are refused at start with a message that names the key.
 */
export class BrokerConfig {
  private readonly values = new Map<string, ConfigValue>();
  /** Keys set from a file, the environment or a flag: a preset never overrides them. */
  private readonly explicitKeys = new Set<string>();

  private constructor() {
    for (const definition of brokerConfigDefinitions) this.values.set(definition.key, definition.default);
  }

  static defaults(): BrokerConfig {
    return new BrokerConfig();
  }

  static load(options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, string> }): BrokerConfig {
    const config = new BrokerConfig();
    if (options.file) config.applyAll(readPropertiesFile(options.file), `file ${options.file}`);
    if (options.env) config.applyAll(fromEnvironment(options.env), 'environment');
    if (options.overrides) config.applyAll(options.overrides, 'command line');
    config.applyPreset();
    return config;
  }

  applyAll(raw: Record<string, string>, source: string): void {
    for (const [key, value] of Object.entries(raw)) this.set(key, value, source);
  }

  set(key: string, raw: string, source: string): void {
    const definition = definitionFor(key);
    if (!definition) throw new ConfigError(`unknown configuration key "${key}" (from ${source}); see docs/configuration.md for the keys Tide knows`);
    this.values.set(key, parseConfigValue(definition, raw, source));
    this.explicitKeys.add(key);
  }

  /** Applies the `preset` key's defaults to every key it covers that was not set explicitly. */
  applyPreset(): void {
    const preset = presetFor(this.string('preset'));
    if (!preset) return;
    for (const [key, raw] of Object.entries(presetBrokerDefaults(preset))) {
      if (this.explicitKeys.has(key)) continue;
      this.values.set(key, parseConfigValue(definitionFor(key)!, raw, `preset ${preset.name}`));
    }
  }

  int(key: string): number {
    const value = this.values.get(key);
    if (typeof value !== 'number') throw new Error(`config ${key} is not numeric`);
    return value;
  }

  string(key: string): string | null {
    const value = this.values.get(key);
    return value === null || value === undefined ? null : String(value);
  }

  bool(key: string): boolean {
    return this.values.get(key) === true;
  }

  hostPort(key: string): HostPort | null {
    const value = this.string(key);
    return value === null ? null : parseHostPort(value, key);
  }

  /** Broker-level defaults of the per-topic keys, as topic key → string value. */
  topicDefaults(): Record<string, string> {
    const defaults: Record<string, string> = {};
    for (const definition of brokerConfigDefinitions) {
      if (definition.topicKey === undefined) continue;
      defaults[definition.topicKey] = String(this.values.get(definition.key));
    }
    return defaults;
  }

  entries(): Array<[ConfigDefinition, ConfigValue]> {
    return brokerConfigDefinitions.map((definition) => [definition, this.values.get(definition.key) ?? null]);
  }
}

/** Kafka-style .properties: key=value or key: value, # and ! comments, trailing backslash continues a line. */
export function parseProperties(text: string, source: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    let line = lines[index]!.trim();
    while (line.endsWith('\\') && index + 1 < lines.length) line = line.slice(0, -1) + lines[++index]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const separator = line.search(/[=:]/);
    if (separator <= 0) throw new ConfigError(`${source} line ${index + 1}: expected key=value, got "${line}"`);
    result[line.slice(0, separator).trim()] = line.slice(separator + 1).trim();
  }
  return result;
}

function readPropertiesFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  return parseProperties(text, path);
}

/** TIDE_LOG_SEGMENT_BYTES=… sets log.segment.bytes. Only TIDE_ variables that name a known key are taken. */
export function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const result: Record<string, string> = {};
  const ignored = new Set(['TIDE_LOG_LEVEL', 'TIDE_BOOTSTRAP', 'TIDE_TEST_POWER_LOSS', 'TIDE_TEST_FSYNC_FAIL', 'TIDE_TEST_SLOW_FSYNC']);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('TIDE_') || ignored.has(name) || value === undefined) continue;
    const key = name.slice(5).toLowerCase().replace(/_/g, '.');
    if (!definitionFor(key)) throw new ConfigError(`environment variable ${name} does not name a configuration key (it would be "${key}")`);
    result[key] = value;
  }
  return result;
}
