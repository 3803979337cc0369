// Proves, on a real 3-node cluster (every node a voter, RF=3, min.insync.replicas=2, flush=sync)
// whose every node-to-node and client connection runs through the fault proxy, with idempotent
// kafkajs producers (acks=all) and a group committer running throughout: a seeded schedule of
// SIGKILL, SIGSTOP/SIGCONT, SIGTERM, power loss (of one node, and of all three at once),
// isolating a node from its peers (clients still reach it), splitting off a minority (clients on
// one side), one-way cuts and cutting the clients off one node loses no acknowledged message, duplicates none, gives no offset two values, keeps
// per-partition order with no skipped offsets, and neither the high watermark (per leader epoch)
// nor the committed group offsets ever go backwards; and that writes were acknowledged across the
// faults (the cluster stayed available, each fault's outage is printed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from './checker.ts';
import { runFaultPass, type PassResult } from './run-pass.ts';
import type { FaultKind } from './schedule.ts';

// Not a performance bound: the pass takes one to two minutes; this only turns a hang into a failure.
const HANG_GUARD_MS = 420_000;

function describe(result: PassResult): string {
  return `seed ${result.seed}, faults ${JSON.stringify(result.faultsByKind)}, unavailability ${JSON.stringify(result.unavailabilityMs)}\n${summarize(result.check)}`;
}

test('3 nodes behind the proxy: process faults and partitions lose, duplicate and reorder nothing acknowledged', { timeout: HANG_GUARD_MS }, async (t) => {
  const kinds: FaultKind[] = ['kill', 'pause', 'terminate', 'power-loss', 'cluster-power-loss', 'partition-isolate', 'partition-halves', 'partition-one-way', 'link-cut'];
  const result = await runFaultPass({
    seed: 20_261_207, nodes: 3, flush: 'sync', kinds, coverEachKind: true, maxFaults: kinds.length, durationMs: 10_000, calmMs: [300, 800],
    partitions: 3, producers: 3, batchSize: 5, groupCommits: true, keepFilesOnAnomaly: true,
    log: (line) => t.diagnostic(line),
  });
  t.diagnostic(describe(result));
  for (const kind of kinds) assert.equal(result.faultsByKind[kind], 1, `${kind} injected once`);
  // Acknowledged writes across the faults: every fault was followed by an acknowledged write.
  for (const [kind, stats] of Object.entries(result.unavailabilityMs)) assert.equal(stats!.neverRecovered, 0, `writes acknowledged after ${kind}`);
  assert.ok(result.ackedDuringFaults > 0, 'writes were acknowledged while faults were in force');
  assert.ok(result.faults.every((fault) => typeof fault.detail['node'] === 'number' || (fault.kind === 'cluster-power-loss' && fault.detail['node'] === 'all')), 'every fault names the node it hit');
  assert.ok(result.check.counts.acked >= 500, `enough acknowledged (${result.check.counts.acked})`);
  assert.equal(result.check.counts.lost, 0, describe(result));
  assert.equal(result.check.counts.duplicate, 0, describe(result));
  assert.equal(result.check.counts.inconsistentOffset, 0, describe(result));
  assert.equal(result.check.counts.hwBackwards, 0, describe(result));
  assert.equal(result.check.counts.committedBackwards, 0, describe(result));
  // Routing: the internal listeners were reached only by the other nodes, each from its own
  // 127.0.1.i; the Kafka listeners by the clients (127.0.0.1) and the other nodes' replica fetchers.
  const sources = result.linkSources!;
  t.diagnostic(`connections per link and source: ${JSON.stringify(sources)}`);
  for (const id of [1, 2, 3]) {
    const others = [1, 2, 3].filter((other) => other !== id).map((other) => `127.0.1.${other}`).sort();
    assert.deepEqual(Object.keys(sources[`ctrl-${id}`]!).sort(), others, `ctrl-${id} sources`);
    const kafkaSources = Object.keys(sources[`kafka-${id}`]!);
    assert.ok(kafkaSources.includes('127.0.0.1') && kafkaSources.every((source) => source === '127.0.0.1' || others.includes(source)), `kafka-${id} sources: ${kafkaSources.join(', ')}`);
  }
  const fetcherConnections = [1, 2, 3].flatMap((id) => Object.entries(sources[`kafka-${id}`]!).filter(([source]) => source !== '127.0.0.1'));
  assert.ok(fetcherConnections.length > 0, 'replica fetches went through the proxy');
  assert.ok(result.samples.highWatermarks > 0 && result.samples.committedOffsets > 0, JSON.stringify(result.samples));
  assert.deepEqual(result.readErrors, []);
  assert.equal(result.check.valid, true, describe(result));
});
