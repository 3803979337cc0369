import type { ConfigDefinition } from './definitions.ts';
import { ConfigError } from './config-error.ts';

export type ConfigValue = string | number | boolean | null;

/** Parses one raw value for a definition, refusing anything out of type or range with a message naming the key. */
export function parseConfigValue(definition: ConfigDefinition, raw: string, source: string): ConfigValue {
  const value = raw.trim();
  const where = `${definition.key} (from ${source})`;
  switch (definition.type) {
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(value)) throw new ConfigError(`${where}: "${raw}" is not a whole number`);
      const parsed = Number(value);
      if (!Number.isSafeInteger(parsed)) throw new ConfigError(`${where}: ${raw} is too large`);
      checkRange(definition, parsed, where);
      return parsed;
    }
    case 'ratio': {
      const parsed = Number(value);
      if (value === '' || !Number.isFinite(parsed)) throw new ConfigError(`${where}: "${raw}" is not a number`);
      checkRange(definition, parsed, where);
      return parsed;
    }
    case 'bool':
      if (value === 'true') return true;
      if (value === 'false') return false;
      throw new ConfigError(`${where}: "${raw}" must be true or false`);
    case 'enum':
      if (!definition.values?.includes(value)) {
        throw new ConfigError(`${where}: "${raw}" must be one of ${definition.values?.join(', ')}`);
      }
      return value;
    case 'list': {
      const items = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
      if (items.length === 0) throw new ConfigError(`${where}: must not be empty`);
      for (const item of items) {
        if (definition.values && !definition.values.includes(item)) {
          throw new ConfigError(`${where}: "${item}" must be one of ${definition.values.join(', ')}`);
        }
      }
      return items.join(',');
    }
    case 'hostport':
      parseHostPort(value, where);
      return value;
    case 'string':
      if (value === '') throw new ConfigError(`${where}: must not be empty`);
      return value;
  }
}

function checkRange(definition: ConfigDefinition, value: number, where: string): void {
  if (definition.min !== undefined && value < definition.min) {
    throw new ConfigError(`${where}: ${value} is below the minimum ${definition.min}`);
  }
  if (definition.max !== undefined && value > definition.max) {
    throw new ConfigError(`${where}: ${value} is above the maximum ${definition.max}`);
  }
}

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(value: string, where: string): HostPort {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(value.trim());
  if (!match) throw new ConfigError(`${where}: "${value}" must be host:port, for example 127.0.0.1:9092`);
  const port = Number(match[2]);
  if (port > 65535) throw new ConfigError(`${where}: port ${port} is above 65535`);
  const host = match[1]!.startsWith('[') ? match[1]!.slice(1, -1) : match[1]!;
  return { host, port };
}
