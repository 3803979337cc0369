// Proves the Raft core safe and live under 2,000 seeded fault schedules (3 or 5 voters, learners,
// loss, delay, duplication, reordering, partitions, crashes, clock jumps, snapshots, transfers):
// after every event, at most one leader per term, log matching, leader completeness, no committed
// entry lost or changed, identical applied states; after healing, a new entry is committed and
// applied everywhere in bounded virtual time. Counters show that the faults really happened.
// A failure prints the seed and the command that replays it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeeds } from './run-seeds.ts';
import type { RunSummary } from './run-seeds.ts';
import { runSeed } from './simulation.ts';
import type { Counters } from './simulation.ts';

const seedsTotal = 2000;
const blockSize = 500;
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

test('the seeds above exercised every kind of fault and recovery', () => {
  const mustHappen: (keyof Counters)[] = [
    'elections', 'preCampaigns', 'leaderChanges', 'crashes', 'crashesAfterPersist', 'crashesAfterSend', 'partitions',
    'clockJumps', 'messagesDropped', 'messagesDuplicated', 'messagesEncoded', 'snapshotsTaken', 'snapshotsInstalled',
    'transfersCompleted', 'proposalsAccepted', 'committedEntries',
  ];
  for (const counter of mustHappen) assert.ok((totals[counter] ?? 0) > 100, `${counter} happened only ${totals[counter] ?? 0} times`);
});

test('a seed replays identically', () => {
  const first = runSeed({ seed: 12345 });
  const again = runSeed({ seed: 12345 });
  assert.deepEqual(again, first);
  const lines: string[] = [];
  runSeed({ seed: 12345, trace: (line) => lines.push(line) });
  assert.ok(lines.length > 100, 'the trace shows the run');
});
