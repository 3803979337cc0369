// Proves partition replication safe and live under 600 seeded fault schedules (3 replicas, a
// controller that fences and elects from the ISR, acks=all with min.insync.replicas=2, flush=sync
// or async, OffsetForLeaderEpoch or fetch-time truncation; faults: crashes with power loss for
// flush=sync, message loss and delay, one-way and two-way partitions, leader fencing): after every
// event the HW never goes back, every offset below any HW agrees everywhere, every acknowledged
// record is on every live ISR member and on every new leader, one leader per epoch, followers hold
// a prefix of their leader's log; after healing an acks=all write succeeds and all replicas
// converge. Counters show the faults happened. A failure prints the seed and its replay command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeeds } from './sim/run-seeds.ts';
import type { RunSummary } from './sim/run-seeds.ts';
import { runSeed } from './sim/simulation.ts';
import type { Counters } from './sim/simulation.ts';

const seedsTotal = 600;
const blockSize = 200;
const totals: Partial<Counters> = {};

function describeFailures(summary: RunSummary): string {
  return summary.failures.slice(0, 5).map((failure) => `seed ${failure.seed}: ${failure.violations[0]}\n  replay: ${failure.replay}`).join('\n');
}

for (let start = 1; start <= seedsTotal; start += blockSize) {
  test(`seeds ${start}..${start + blockSize - 1} keep every invariant and recover after healing`, () => {
    const summary = runSeeds(start, blockSize);
    for (const [key, value] of Object.entries(summary.counters) as [keyof Counters, number][]) totals[key] = (totals[key] ?? 0) + value;
    assert.equal(summary.failures.length, 0, describeFailures(summary));
    assert.equal(summary.seeds, blockSize);
  });
}

test('the seeds above exercised every kind of fault and outcome', () => {
  const mustHappen: (keyof Counters)[] = [
    'acked', 'notEnoughReplicas', 'notEnoughReplicasAfterAppend', 'timedOut', 'notLeader', 'consumerReads', 'crashes', 'powerLosses',
    'partitions', 'leaderFences', 'elections', 'leaderless', 'isrChanges', 'truncations', 'truncatedRecords', 'divergingEpochs', 'messagesDropped',
  ];
  for (const counter of mustHappen) assert.ok((totals[counter] ?? 0) > 20, `${counter} happened only ${totals[counter] ?? 0} times`);
});

test('a seed replays identically', () => {
  const first = runSeed({ seed: 4242 });
  assert.deepEqual(runSeed({ seed: 4242 }), first);
  const lines: string[] = [];
  runSeed({ seed: 4242, trace: (line) => lines.push(line) });
  assert.ok(lines.length > 5, 'the trace shows the run');
});
