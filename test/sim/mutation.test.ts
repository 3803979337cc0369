// Proves the simulator would notice the mistakes it exists to catch: with the vote not persisted
// (a restarted node can vote twice in a term) or entries acknowledged before they are durable
// (a crash loses them), some seed must break an invariant. If these ever pass, the simulation
// has gone blind and its green runs mean nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeeds } from './run-seeds.ts';

test('not persisting the vote is caught (two leaders in a term, or what follows from it)', () => {
  const summary = runSeeds(1, 2000, { mutation: 'skip-vote-persist', stopOnFailure: true });
  assert.equal(summary.failures.length, 1, `no violation in ${summary.seeds} seeds`);
  assert.match(summary.failures[0]!.violations[0]!, /election safety|log matching|committed entry changed|leader completeness|state machine safety|exception/);
  assert.match(summary.failures[0]!.replay, /--mutation skip-vote-persist/);
});

test('acknowledging entries before they are durable is caught', () => {
  const summary = runSeeds(1, 500, { mutation: 'lose-unsynced-entries', stopOnFailure: true });
  assert.equal(summary.failures.length, 1, `no violation in ${summary.seeds} seeds`);
});
