// Proves the Raft core stays a pure state machine: no file under src/raft/core/ imports fs, net,
// dgram, child_process or timers, or calls Date.now, setTimeout, setInterval, setImmediate,
// Math.random, performance.now or process.hrtime. Time, randomness and I/O must come in through
// tick(), the injected Random and Ready, or the simulator could not replay a seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const coreDirectory = join(import.meta.dirname, '..', '..', 'src', 'raft', 'core');

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

function sourceFiles(directory: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) found.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) found.push(path);
  }
  return found;
}

/** Blanks comments so that prose mentioning a forbidden name does not count. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** Returns the problems in one file's source. */
export function impurities(source: string): string[] {
  const code = withoutComments(source);
  const problems: string[] = [];
  const importPattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;
  for (const match of code.matchAll(importPattern)) {
    const module = match[1]!.replace(/^node:/, '');
    if (forbiddenModules.includes(module)) problems.push(`imports ${match[1]}`);
  }
  for (const { name, pattern } of forbiddenCalls) if (pattern.test(code)) problems.push(`uses ${name}`);
  return problems;
}

test('the purity check itself catches each kind of impurity', () => {
  assert.deepEqual(impurities("import { readFile } from 'node:fs';"), ['imports node:fs']);
  assert.deepEqual(impurities("import net from 'net';"), ['imports net']);
  assert.deepEqual(impurities("const t = await import('node:timers/promises');"), ['imports node:timers/promises']);
  assert.deepEqual(impurities('const now = Date.now();'), ['uses Date.now']);
  assert.deepEqual(impurities('setTimeout(() => {}, 1);'), ['uses setTimeout']);
  assert.deepEqual(impurities('const x = Math.random();'), ['uses Math.random']);
  assert.deepEqual(impurities('performance.now()'), ['uses performance.now']);
  assert.deepEqual(impurities("import type { Random } from '../../io/random.ts';\n// Date.now is not called here"), []);
});

test('no file in src/raft/core does I/O, reads the clock or draws randomness on its own', () => {
  const files = sourceFiles(coreDirectory);
  assert.ok(files.length >= 5, `expected the core's files, found ${files.length}`);
  const offenders = files.map((file) => ({ file, problems: impurities(readFileSync(file, 'utf8')) })).filter((result) => result.problems.length > 0);
  assert.deepEqual(offenders, []);
});

test('the core imports nothing outside itself except types', () => {
  for (const file of sourceFiles(coreDirectory)) {
    const code = withoutComments(readFileSync(file, 'utf8'));
    for (const match of code.matchAll(/^import\s+(type\s+)?[^'"]*from\s*['"]([^'"]+)['"]/gm)) {
      const isTypeOnly = match[1] !== undefined;
      const target = match[2]!;
      const insideCore = target.startsWith('./');
      assert.ok(insideCore || isTypeOnly, `${file} imports ${target} at run time`);
    }
  }
});
