// Proves RaftNode's contracts with the driver: a vote and the messages that depend on it come out
// in the same Ready (so the driver persists before sending), ready() needs advance() in between,
// a restarted node keeps its term and vote and will not vote twice in a term, learners ignore vote
// requests, messages from strangers are dropped, proposal limits are enforced, a single voter
// commits alone, and a lost snapshot is sent again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftNode } from '../../../src/raft/core/raft-node.ts';
import { MemoryStorage } from '../../../src/raft/core/storage.ts';
import { MessageType, makeMessage } from '../../../src/raft/core/types.ts';
import type { Ready } from '../../../src/raft/core/types.ts';
import { SeededRandom } from '../../../src/io/random.ts';
import { ScenarioCluster } from '../scenario-cluster.ts';

function node(id: number, storage = new MemoryStorage(), extra: Partial<ConstructorParameters<typeof RaftNode>[0]> = {}): RaftNode {
  return new RaftNode({ id, voters: [1, 2, 3], storage, random: new SeededRandom(id), ...extra });
}

function persist(storage: MemoryStorage, ready: Ready): void {
  if (ready.snapshot) storage.applySnapshot(ready.snapshot);
  storage.append(ready.entries);
  if (ready.hardState) storage.setHardState(ready.hardState);
}

const options = { voters: [1, 2, 3], learners: [], preVote: true, checkQuorum: true, electionTicks: 10, heartbeatTicks: 1, maxSizePerMessageBytes: 1 << 20 };

test('a granted vote and the response that reveals it come in one Ready, marked mustSync', () => {
  const voter = node(2);
  voter.step(makeMessage({ type: MessageType.Vote, from: 1, to: 2, term: 1, index: 0, logTerm: 0 }));
  const ready = voter.ready();
  assert.deepEqual(ready.hardState, { term: 1, vote: 1, commit: 0 });
  assert.equal(ready.mustSync, true);
  assert.equal(ready.messages.length, 1);
  assert.equal(ready.messages[0]!.type, MessageType.VoteResponse);
  assert.equal(ready.messages[0]!.reject, false);
  assert.throws(() => voter.ready(), /before advance/);
  voter.advance(ready);
  assert.equal(voter.hasReady(), false);
});

test('a restarted node keeps term and vote and refuses a second candidate in that term', () => {
  const storage = new MemoryStorage();
  const before = node(2, storage);
  before.step(makeMessage({ type: MessageType.Vote, from: 1, to: 2, term: 5, index: 0, logTerm: 0 }));
  const ready = before.ready();
  persist(storage, ready);
  before.advance(ready);

  const after = node(2, storage);
  assert.equal(after.term, 5);
  assert.equal(after.vote, 1);
  after.step(makeMessage({ type: MessageType.Vote, from: 3, to: 2, term: 5, index: 0, logTerm: 0 }));
  const answer = after.ready().messages[0]!;
  assert.equal(answer.type, MessageType.VoteResponse);
  assert.equal(answer.reject, true);
});

test('a learner ignores vote requests and never campaigns', () => {
  const learner = new RaftNode({ id: 4, voters: [1, 2, 3], learners: [4], storage: new MemoryStorage(), random: new SeededRandom(4) });
  learner.step(makeMessage({ type: MessageType.Vote, from: 1, to: 4, term: 2, index: 0, logTerm: 0 }));
  learner.step(makeMessage({ type: MessageType.PreVote, from: 1, to: 4, term: 3, index: 0, logTerm: 0 }));
  learner.campaign();
  for (let tick = 0; tick < 100; tick++) learner.tick();
  const ready = learner.ready();
  assert.deepEqual(ready.messages, []);
  assert.equal(learner.role, 'follower');
  assert.equal(learner.vote, 0);
});

test('messages from non-members, for other nodes, or of local kinds are dropped', () => {
  const voter = node(2);
  voter.step(makeMessage({ type: MessageType.Vote, from: 9, to: 2, term: 1 }));
  voter.step(makeMessage({ type: MessageType.Vote, from: 1, to: 3, term: 1 }));
  voter.step(makeMessage({ type: MessageType.Propose, from: 1, to: 2, term: 1, entries: [{ term: 0, index: 0, data: new Uint8Array(1) }] }));
  voter.step(makeMessage({ type: MessageType.Hup, from: 1, to: 2, term: 1 }));
  assert.equal(voter.hasReady(), false);
  assert.equal(voter.term, 0);
});

test('a single voter elects itself and commits a proposal in the Ready that persists it', () => {
  const storage = new MemoryStorage();
  const solo = new RaftNode({ id: 1, voters: [1], storage, random: new SeededRandom(1) });
  solo.campaign();
  assert.equal(solo.role, 'leader');
  const first = solo.ready();
  persist(storage, first);
  solo.advance(first);
  const result = solo.propose(new TextEncoder().encode('x'));
  assert.ok(result.ok);
  const ready = solo.ready();
  assert.deepEqual(ready.entries.map((entry) => entry.index), [result.index]);
  assert.deepEqual(ready.committedEntries.map((entry) => entry.index), [result.index]);
  assert.equal(ready.hardState?.commit, result.index);
});

test('proposals are refused on followers, when too large, and past the uncommitted-bytes limit', () => {
  const cluster = new ScenarioCluster(options);
  cluster.raft(1).campaign();
  cluster.stabilize();
  const follower = cluster.raft(2).propose(new Uint8Array(1));
  assert.deepEqual(follower, { ok: false, error: 'not-leader', lead: 1 });

  const limited = new ScenarioCluster(options);
  const leader = limited.raft(1);
  leader.campaign();
  limited.stabilize();
  limited.isolate(1);
  // Defaults: 8 MiB per entry, 64 MiB uncommitted. The first entry is always let in.
  assert.deepEqual(leader.propose(new Uint8Array(9 * 1024 * 1024)), { ok: false, error: 'entry-too-large', lead: 1 });
  let accepted = 0;
  for (let attempt = 0; attempt < 20; attempt++) if (leader.propose(new Uint8Array(8 * 1024 * 1024)).ok) accepted++;
  assert.equal(accepted, 8);
  assert.equal(leader.propose(new Uint8Array(1)).ok, false);
});

test('a snapshot message that was lost is sent again after snapshotRetryTicks', () => {
  const cluster = new ScenarioCluster(options);
  cluster.raft(1).campaign();
  cluster.stabilize();
  cluster.isolate(3);
  for (const value of ['a', 'b', 'c']) cluster.propose(1, value);
  cluster.stabilize();
  cluster.compact(1);
  cluster.heal();
  const isSnapshot = (message: { type: number }): boolean => message.type === MessageType.Snapshot;

  // Heartbeat, answer, probe...: run until the leader sends the snapshot, and lose it.
  let lost = 0;
  for (let round = 0; round < 50 && lost === 0; round++) {
    cluster.raft(1).tick();
    for (const id of [1, 2, 3]) cluster.processReady(id);
    lost = cluster.dropQueued(isSnapshot);
    for (const id of [1, 2, 3]) cluster.deliverTo(id);
  }
  assert.equal(lost, 1);
  cluster.stabilize();
  assert.equal(cluster.node(3).snapshotsInstalled, 0);

  // Twice the election timeout later the leader gives up waiting and sends it again.
  for (let tick = 0; tick < 2 * options.electionTicks; tick++) {
    cluster.raft(1).tick();
    cluster.stabilize();
  }
  assert.equal(cluster.node(3).snapshotsInstalled, 1);
  assert.deepEqual(cluster.node(3).applied, ['', 'a', 'b', 'c']);
});
