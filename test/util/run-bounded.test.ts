// Proves runBounded: every task runs, in the order given, never more than the limit at once; after
// a failure no further task starts, the running ones settle, and the first error is thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBounded } from '../../src/util/run-bounded.ts';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test('runs every task in order, at most `limit` at once', async () => {
  const started: number[] = [];
  let running = 0;
  let most = 0;
  const tasks = Array.from({ length: 40 }, (_, index) => async () => {
    started.push(index);
    running++;
    most = Math.max(most, running);
    for (let step = 0; step < index % 5; step++) await tick();
    running--;
  });
  await runBounded(tasks, 6);
  assert.deepEqual(started, Array.from({ length: 40 }, (_, index) => index));
  assert.equal(most, 6);
  assert.equal(running, 0);
  await runBounded([], 3);
});

test('after a failure nothing new starts; the running tasks settle before the first error is thrown', async () => {
  const started: number[] = [];
  const finished: number[] = [];
  const tasks = Array.from({ length: 10 }, (_, index) => async () => {
    started.push(index);
    await tick();
    if (index === 1) throw new Error('task 1 failed');
    if (index === 2) throw new Error('task 2 failed');
    await tick();
    finished.push(index);
  });
  await assert.rejects(runBounded(tasks, 3), /task 1 failed/);
  assert.deepEqual(started, [0, 1, 2]);
  assert.deepEqual(finished, [0], 'task 0 ran to its end before the error came out');
  await assert.rejects(runBounded([], 0), RangeError);
});
