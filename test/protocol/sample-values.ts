// Builds a representative value of any generated message struct for a given version, from
// the generated field table (shapes.ts) and default factories: every field present in the
// version gets a non-default value (arrays with elements, tagged fields set), fields absent
// in the version keep their defaults (what decoding yields). Variant 'nulls' sets every
// field that is nullable in the version to null instead.

import * as messages from '../../src/protocol/messages/index.ts';
import { structShapes } from '../../src/protocol/messages/shapes.ts';
import type { FieldShape } from '../../src/protocol/messages/shapes.ts';

export type SampleVariant = 'filled' | 'nulls';

const registry = messages as unknown as Record<string, unknown>;

export function defaultOf(structName: string): Record<string, unknown> {
  const factory = registry[`default${structName}`];
  if (typeof factory !== 'function') throw new Error(`no default${structName}()`);
  return factory() as Record<string, unknown>;
}

function inRange(range: readonly [number, number] | undefined, version: number): boolean {
  return range !== undefined && version >= range[0] && version <= range[1];
}

function primitiveSample(type: string, seed: number): unknown {
  switch (type) {
    case 'bool':
      return true;
    case 'int8':
      return -7 - (seed % 50);
    case 'int16':
      return -300 - (seed % 10000);
    case 'uint16':
      return 65000 + (seed % 500);
    case 'int32':
      return -100000 - (seed % 1000000);
    case 'int64':
      return -(2 ** 40) - (seed % 1000000);
    case 'float64':
      return 1.5 + (seed % 1000);
    case 'string':
      return `héllo-${seed}`;
    case 'uuid':
      return ((seed % 0xfffe) + 1).toString(16).padStart(4, '0').repeat(8);
    case 'bytes':
      return Buffer.from([1, 2, 3, seed & 0xff]);
    case 'records':
      return Buffer.from(`records-${seed}`);
    default:
      throw new Error(`unknown primitive ${type}`);
  }
}

function valueSample(type: string, version: number, variant: SampleVariant, seed: number, depth: number): unknown {
  if (type.startsWith('[]')) {
    const element = type.slice(2);
    // Two elements at the top levels, one deeper down, so nested arrays stay small.
    const count = depth < 2 ? 2 : 1;
    const items: unknown[] = [];
    for (let index = 0; index < count; index++) items.push(valueSample(element, version, variant, seed + index * 7, depth + 1));
    return items;
  }
  if (structShapes[type]) return sampleStruct(type, version, variant, seed, depth + 1);
  return primitiveSample(type, seed);
}

export function sampleStruct(
  structName: string,
  version: number,
  variant: SampleVariant,
  seed = 1,
  depth = 0,
): Record<string, unknown> {
  const shape = structShapes[structName];
  if (!shape) throw new Error(`no shape for ${structName}`);
  const value = defaultOf(structName);
  shape.forEach((field: FieldShape, index: number) => {
    if (!inRange(field.v, version)) return;
    if (variant === 'nulls' && inRange(field.nv, version)) {
      value[field.n] = null;
      return;
    }
    value[field.n] = valueSample(field.t, version, variant, seed * 31 + index, depth);
  });
  return value;
}
