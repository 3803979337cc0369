// Shared steps of the replicated-partition tests (not a test file itself).
import assert from 'node:assert/strict';
import type { FetchRequest } from '../../../src/replication/follower-state.ts';
import type { ReplicatedPartition } from '../../../src/server/replication/replicated-partition.ts';

/** Polls `condition` every 10 ms, 500 rounds at most. */
export async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  for (let round = 0; round < 500; round++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A new follower's first requests: the leader's answer to its epoch query (`endOffset` of
 * `epoch`, where the follower's log is cut), then the Fetch it asks next.
 */
export async function firstFollowerFetch(replica: ReplicatedPartition, epoch: number, endOffset: number): Promise<FetchRequest> {
  let request = replica.nextFollowerRequest();
  if (request?.kind === 'offset-for-leader-epoch') {
    await replica.onEpochAnswer(request, { errorCode: 0, epoch, endOffset });
    request = replica.nextFollowerRequest();
  }
  assert.equal(request?.kind, 'fetch', 'the follower fetches next');
  return request as FetchRequest;
}
