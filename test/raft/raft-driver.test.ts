// Proves the driver runs Raft for real: three drivers with file-backed stores in a temp directory,
// connected by an in-memory transport (through the wire codec), elect a leader, commit proposals,
// survive a restart from disk (the restarted node catches up), compact through snapshots, transfer
// leadership, and refuse proposals on followers. Time is a ManualClock moved by the test, so
// elections depend on ticks, not on how fast the machine is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/io/clock.ts';
import { SeededRandom } from '../../src/io/random.ts';
import { RaftDriver, NotLeaderError } from '../../src/raft/raft-driver.ts';
import type { RaftStateMachine } from '../../src/raft/raft-driver.ts';
import { RaftLogStore } from '../../src/raft/raft-log-store.ts';
import { InMemoryRaftNetwork } from '../../src/raft/in-memory-raft-transport.ts';
import type { Entry, NodeId, Snapshot } from '../../src/raft/core/types.ts';

const tickIntervalMs = 10;
const voters = [1, 2, 3];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A state machine holding the applied values in order. */
class ListMachine implements RaftStateMachine {
  values: string[] = [];
  restored = 0;
  apply(entry: Entry): void {
    if (entry.data.length > 0) this.values.push(decoder.decode(entry.data));
  }
  takeSnapshot(): Uint8Array {
    return encoder.encode(JSON.stringify(this.values));
  }
  restoreSnapshot(snapshot: Snapshot): void {
    this.values = JSON.parse(decoder.decode(snapshot.data)) as string[];
    this.restored++;
  }
}

class Cluster {
  readonly clock = new ManualClock();
  readonly network = new InMemoryRaftNetwork();
  readonly drivers = new Map<NodeId, RaftDriver>();
  readonly stores = new Map<NodeId, RaftLogStore>();
  readonly machines = new Map<NodeId, ListMachine>();

  constructor(readonly directory: string, readonly snapshotEveryEntries: number) {}

  async start(id: NodeId): Promise<void> {
    const store = await RaftLogStore.open({ directory: join(this.directory, `node-${id}`, '__cluster_metadata-0'), confState: { voters, learners: [] } });
    const machine = new ListMachine();
    const driver = await RaftDriver.start({
      id, voters, store, transport: this.network.transportFor(id), clock: this.clock, random: new SeededRandom(id),
      stateMachine: machine, tickIntervalMs, snapshotEveryEntries: this.snapshotEveryEntries, retainEntriesAfterSnapshot: 2,
    });
    this.stores.set(id, store);
    this.machines.set(id, machine);
    this.drivers.set(id, driver);
  }

  async stop(id: NodeId): Promise<void> {
    await this.drivers.get(id)!.stop();
    this.network.detach(id);
    await this.stores.get(id)!.close();
    this.drivers.delete(id);
  }

  /** Lets messages and Readies drain; bounded. */
  async settle(): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      await Promise.all([...this.drivers.values()].map((driver) => driver.whenIdle()));
      if (!this.network.busy) return;
    }
    throw new Error('cluster did not settle');
  }

  /** Ticks every driver until `condition` holds; fails after `ticksMax` ticks. */
  async tickUntil(condition: () => boolean, what: string, ticksMax = 500): Promise<void> {
    for (let tick = 0; tick < ticksMax; tick++) {
      await this.settle();
      if (condition()) return;
      this.clock.advance(tickIntervalMs);
    }
    assert.fail(`${what} did not happen within ${ticksMax} ticks`);
  }

  leader(): RaftDriver | undefined {
    const leaders = [...this.drivers.values()].filter((driver) => driver.isLeader);
    return leaders.length === 1 ? leaders[0] : undefined;
  }

  async close(): Promise<void> {
    for (const id of [...this.drivers.keys()]) await this.stop(id);
  }
}

async function withCluster(snapshotEveryEntries: number, body: (cluster: Cluster) => Promise<void>): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'tide-raft-driver-'));
  const cluster = new Cluster(directory, snapshotEveryEntries);
  try {
    for (const id of voters) await cluster.start(id);
    await body(cluster);
  } finally {
    await cluster.close();
    await rm(directory, { recursive: true, force: true });
  }
}

/** Proposes through the leader while ticking, since commitment needs messages to flow. */
async function propose(cluster: Cluster, value: string): Promise<number> {
  const leader = cluster.leader();
  assert.ok(leader, 'a leader is needed to propose');
  let settled: { index?: number; error?: unknown } | undefined;
  leader.propose(encoder.encode(value)).then((index) => { settled = { index }; }, (error: unknown) => { settled = { error }; });
  await cluster.tickUntil(() => settled !== undefined, `commit of ${value}`);
  if (settled!.error) throw settled!.error;
  return settled!.index!;
}

test('three drivers elect one leader and every node applies the proposals in order', async () => {
  await withCluster(1_000_000, async (cluster) => {
    const leaderChanges: (NodeId | undefined)[] = [];
    cluster.drivers.get(1)!.onLeaderChange((leader) => leaderChanges.push(leader));
    await cluster.tickUntil(() => cluster.leader() !== undefined, 'election');
    const leader = cluster.leader()!;
    const first = await propose(cluster, 'a');
    const second = await propose(cluster, 'b');
    assert.equal(second, first + 1);
    await cluster.tickUntil(() => [...cluster.machines.values()].every((machine) => machine.values.length === 2), 'replication');
    for (const machine of cluster.machines.values()) assert.deepEqual(machine.values, ['a', 'b']);
    assert.deepEqual(leaderChanges, [leader.id]);

    const follower = [...cluster.drivers.values()].find((driver) => !driver.isLeader)!;
    await assert.rejects(follower.propose(encoder.encode('x')), (error: unknown) => error instanceof NotLeaderError && error.leaderId === leader.id);
  });
});

test('a follower restarted from its files catches up on what it missed', async () => {
  await withCluster(1_000_000, async (cluster) => {
    await cluster.tickUntil(() => cluster.leader() !== undefined, 'election');
    await propose(cluster, 'before');
    const leaderId = cluster.leader()!.id;
    const followerId = voters.find((id) => id !== leaderId)!;
    await cluster.tickUntil(() => cluster.machines.get(followerId)!.values.length === 1, 'replication to the follower');
    const termBefore = cluster.drivers.get(followerId)!.term;

    await cluster.stop(followerId);
    await propose(cluster, 'while-down-1');
    await propose(cluster, 'while-down-2');

    await cluster.start(followerId);
    const restarted = cluster.drivers.get(followerId)!;
    await restarted.whenIdle();
    assert.ok(restarted.term >= termBefore, 'term is read back from disk');
    assert.deepEqual(cluster.machines.get(followerId)!.values, ['before'], 'committed entries are re-applied from the local log');
    await cluster.tickUntil(() => cluster.machines.get(followerId)!.values.length === 3, 'catch-up after restart');
    assert.deepEqual(cluster.machines.get(followerId)!.values, ['before', 'while-down-1', 'while-down-2']);
    assert.equal(cluster.leader()?.id, leaderId, 'a restarted follower does not disturb the leader');
  });
});

test('snapshots compact the log and bring a node back that missed compacted entries', async () => {
  await withCluster(3, async (cluster) => {
    await cluster.tickUntil(() => cluster.leader() !== undefined, 'election');
    const leaderId = cluster.leader()!.id;
    const laggardId = voters.find((id) => id !== leaderId)!;
    await cluster.stop(laggardId);
    for (let value = 0; value < 10; value++) await propose(cluster, `v${value}`);
    const leaderStore = cluster.stores.get(leaderId)!;
    assert.ok(leaderStore.storage.snapshot().metadata.index >= 9, 'the leader took snapshots');
    assert.ok(leaderStore.storage.firstIndex() > 2, 'and compacted its log');

    await cluster.start(laggardId);
    const expected = Array.from({ length: 10 }, (_, value) => `v${value}`);
    await cluster.tickUntil(() => cluster.machines.get(laggardId)!.values.length === 10, 'catch-up through a snapshot');
    assert.deepEqual(cluster.machines.get(laggardId)!.values, expected);
    assert.ok(cluster.machines.get(laggardId)!.restored >= 1, 'the laggard installed a snapshot');

    // Restarting the whole group from disk keeps every applied value.
    for (const id of voters) await cluster.stop(id);
    for (const id of voters) await cluster.start(id);
    await cluster.tickUntil(() => [...cluster.machines.values()].every((machine) => machine.values.length === 10), 'recovery of all nodes');
    for (const machine of cluster.machines.values()) assert.deepEqual(machine.values, expected);
  });
});

test('leadership transfer moves the leader to the chosen node', async () => {
  await withCluster(1_000_000, async (cluster) => {
    await cluster.tickUntil(() => cluster.leader() !== undefined, 'election');
    await propose(cluster, 'a');
    const from = cluster.leader()!;
    const to = voters.find((id) => id !== from.id)!;
    from.transferLeadership(to);
    await cluster.tickUntil(() => cluster.leader()?.id === to, 'transfer');
    await propose(cluster, 'b');
    await cluster.tickUntil(() => cluster.machines.get(from.id)!.values.length === 2, 'replication to the old leader');
    assert.deepEqual(cluster.machines.get(from.id)!.values, ['a', 'b']);
  });
});
