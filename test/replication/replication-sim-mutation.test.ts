// Proves the replication simulator notices the mistakes it exists to catch: followers truncating
// to their own HW instead of by leader epoch (pre-KIP-101), or a controller electing a replica
// outside the ISR, must break an invariant in some seed. It also pins a documented limit:
// flush=async with power loss (unflushed tails lost on crash) can lose acknowledged writes, as
// Kafka can (KIP-966). If these ever pass, the simulation has gone blind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeeds } from './sim/run-seeds.ts';

for (const mutation of ['truncate-to-hw', 'elect-outside-isr', 'async-power-loss'] as const) {
  test(`mutation ${mutation} is caught`, () => {
    const summary = runSeeds(1, 500, { mutation, stopOnFailure: true });
    assert.equal(summary.failures.length, 1, `no violation in ${summary.seeds} seeds`);
    assert.match(summary.failures[0]!.replay, new RegExp(`--mutation ${mutation}`));
  });
}
