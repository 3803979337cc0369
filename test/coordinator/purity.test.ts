// Proves src/coordinator stays a pure state machine: no file there touches the disk, the network,
// timers, the wall clock or a random source (time and ids are passed in), so every test that drives
// it with fake time is the whole truth.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const folder = join(import.meta.dirname, '../../src/coordinator');
const forbidden = [/node:fs/, /node:net/, /node:dgram/, /node:crypto/, /node:timers/, /\bset(Timeout|Interval|Immediate)\b/, /\bDate\.now\b/, /\bnew Date\b/, /\bMath\.random\b/, /\bperformance\.now\b/, /\bprocess\.hrtime\b/];

describe('coordinator purity', () => {
  it('no source file uses I/O, timers, clocks or randomness', () => {
    const files = readdirSync(folder).filter((name) => name.endsWith('.ts'));
    assert.ok(files.length > 10);
    for (const name of files) {
      const source = readFileSync(join(folder, name), 'utf8');
      for (const pattern of forbidden) assert.doesNotMatch(source, pattern, `${name} uses ${pattern}`);
    }
  });
});
