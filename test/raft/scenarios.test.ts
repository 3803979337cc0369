// Proves the classic Raft cases behave as written in test/raft/scenarios/*.txt: each script drives a
// hand-stepped group and states the exact state, logs and messages expected after each query.
// Run with TIDE_REWRITE_SCENARIOS=1 to regenerate the expected blocks, then review the diff.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario } from './scenario-interpreter.ts';

const directory = join(import.meta.dirname, 'scenarios');
const files = readdirSync(directory).filter((name) => name.endsWith('.txt')).sort();
const rewrite = process.env.TIDE_REWRITE_SCENARIOS === '1';

test('scenario files exist', () => {
  assert.ok(files.length >= 8, `expected at least 8 scenarios, found ${files.length}`);
});

for (const file of files) {
  test(`scenario ${file}`, () => {
    const path = join(directory, file);
    const text = readFileSync(path, 'utf8');
    const { results, rewritten } = runScenario(text);
    if (rewrite) {
      writeFileSync(path, rewritten);
      return;
    }
    const queries = results.filter((result) => result.expected.length > 0);
    assert.ok(queries.length > 0, `${file} checks nothing`);
    for (const result of results) {
      assert.deepEqual(result.actual, result.expected, `${file}:${result.lineNumber}: ${result.line}`);
    }
  });
}
