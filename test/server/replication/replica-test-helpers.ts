// Shared steps of the replicated-partition tests (not a test file itself).
import assert from 'node:assert/strict';
import type { FetchRequest } from '../../../src/replication/follower-state.ts';
import { Partition } from '../../../src/server/partition.ts';
import { PartitionProducers } from '../../../src/server/partition-producers.ts';
import { ReplicatedPartition, type ReplicatedPartitionHost } from '../../../src/server/replication/replicated-partition.ts';
import { PartitionLog } from '../../../src/storage/partition-log.ts';
import { silentLogger } from '../../../src/util/log.ts';
import { testConfig } from '../../storage/helpers.ts';

/**
 * A flush=sync partition log in `dir` on node 1, wrapped as a ReplicatedPartition with a host that
 * does nothing. `onFsync` may return a promise to hold the log's fsyncs.
 */
export async function openReplicatedPartition(dir: string, options: { replicas: number; replicaLagTimeMaxMs: number; minInsyncReplicas: number; onFsync?: (path: string) => Promise<void> | undefined; replicaBacklogMaxBytes?: number }) {
  const log = await PartitionLog.open(dir, testConfig({ flush: 'sync' }), { logger: silentLogger, ...(options.onFsync ? { onFsync: options.onFsync as (path: string) => void } : {}) });
  const producers = await PartitionProducers.load(log, silentLogger);
  const partition = new Partition('topic', 'id', 0, log, 1, log.currentConfig, options.replicas, producers);
  const host: ReplicatedPartitionHost = {
    nowMs: () => Date.now(), sendAlterPartition: () => {}, wakeFetcher: () => {}, reportLostData: () => {},
    ...(options.replicaBacklogMaxBytes !== undefined ? { replicaBacklogMaxBytes: options.replicaBacklogMaxBytes } : {}),
  };
  const replica = new ReplicatedPartition(partition, 1, { replicaLagTimeMaxMs: options.replicaLagTimeMaxMs, minInsyncReplicas: options.minInsyncReplicas, flushSync: true }, host, silentLogger);
  return { log, partition, replica };
}

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
