// Proves the simulator's scheduler pops events by virtual time, and events at the same time in the
// order they were scheduled, which is what makes a seed replay identically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventQueue } from './event-queue.ts';
import { SeededRandom } from '../../src/io/random.ts';

test('events come out by time, ties in scheduling order', () => {
  const queue = new EventQueue<number>();
  const random = new SeededRandom(3);
  const scheduled: { time: number; id: number }[] = [];
  for (let id = 0; id < 2000; id++) {
    const time = random.nextInt(50);
    scheduled.push({ time, id });
    queue.schedule(time, id);
  }
  const expected = [...scheduled].sort((a, b) => a.time - b.time || a.id - b.id).map((item) => item.id);
  const actual: number[] = [];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) actual.push(next.event);
  assert.deepEqual(actual, expected);
  assert.equal(queue.size, 0);
});
