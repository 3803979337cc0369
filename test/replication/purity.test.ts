// Proves the replication core stays pure: no file under src/replication/ imports fs, net, timers or
// other I/O modules, or reads the clock or Math.random; at run time it imports only its own files
// and the error-code catalog. Time arrives as nowMs arguments, effects leave as returned values,
// so the simulator can replay any seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const coreDirectory = join(import.meta.dirname, '..', '..', 'src', 'replication');
const forbiddenModules = ['fs', 'fs/promises', 'net', 'dgram', 'child_process', 'timers', 'timers/promises', 'worker_threads', 'http', 'https', 'tls', 'crypto'];
const forbiddenCalls: { name: string; pattern: RegExp }[] = [
  { name: 'Date.now', pattern: /\bDate\s*\.\s*now\b/ },
  { name: 'new Date', pattern: /\bnew\s+Date\b/ },
  { name: 'setTimeout', pattern: /\bsetTimeout\b/ },
  { name: 'setInterval', pattern: /\bsetInterval\b/ },
  { name: 'setImmediate', pattern: /\bsetImmediate\b/ },
  { name: 'Math.random', pattern: /\bMath\s*\.\s*random\b/ },
  { name: 'performance.now', pattern: /\bperformance\s*\.\s*now\b/ },
  { name: 'process.hrtime', pattern: /\bprocess\s*\.\s*hrtime\b/ },
];
// epoch-history.ts is storage's pure half (no imports at all; checked below).
const allowedRuntimeImports = ['../protocol/error-codes.ts', '../storage/epoch-history.ts'];

function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

function impurities(source: string): string[] {
  const code = withoutComments(source);
  const problems: string[] = [];
  for (const match of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)) {
    if (forbiddenModules.includes(match[1]!.replace(/^node:/, ''))) problems.push(`imports ${match[1]}`);
  }
  for (const { name, pattern } of forbiddenCalls) if (pattern.test(code)) problems.push(`uses ${name}`);
  return problems;
}

const files = readdirSync(coreDirectory).filter((name) => name.endsWith('.ts')).map((name) => join(coreDirectory, name));

test('the check catches each kind of impurity', () => {
  assert.deepEqual(impurities("import { open } from 'node:fs/promises';"), ['imports node:fs/promises']);
  assert.deepEqual(impurities('const t = Date.now();'), ['uses Date.now']);
  assert.deepEqual(impurities('Math.random()'), ['uses Math.random']);
  assert.deepEqual(impurities("import type { X } from '../storage/x.ts'; // Date.now is not called"), []);
});

test('no file in src/replication does I/O, reads the clock or draws randomness', () => {
  assert.ok(files.length >= 6, `expected the replication files, found ${files.length}`);
  const offenders = files.map((file) => ({ file, problems: impurities(readFileSync(file, 'utf8')) })).filter((entry) => entry.problems.length > 0);
  assert.deepEqual(offenders, []);
});

test('run-time imports stay inside src/replication (plus the error-code catalog); others are type-only', () => {
  for (const file of files) {
    const code = withoutComments(readFileSync(file, 'utf8'));
    for (const match of code.matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*from\s*['"]([^'"]+)['"]/gm)) {
      const target = match[2]!;
      const allowed = match[1] !== undefined || target.startsWith('./') || allowedRuntimeImports.includes(target);
      assert.ok(allowed, `${file} imports ${target} at run time`);
    }
  }
});

test('the storage epoch history the core imports is itself free of imports and I/O', () => {
  const source = readFileSync(join(coreDirectory, '..', 'storage', 'epoch-history.ts'), 'utf8');
  assert.deepEqual(impurities(source), []);
  assert.doesNotMatch(withoutComments(source), /\bimport\b/, 'epoch-history.ts imports nothing');
});
