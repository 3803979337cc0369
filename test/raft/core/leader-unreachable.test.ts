// Proves Raft.leaderUnreachable, the transport's hint that the leader's process is gone: a follower
// in its lease ignores pre-votes; after the hint it grants them and campaigns (pre-vote first)
// within electionTicks ticks; a message from a live leader restores the lease; the hint changes
// nothing on a node that knows no leader or leads itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftNode } from '../../../src/raft/core/raft-node.ts';
import { MemoryStorage } from '../../../src/raft/core/storage.ts';
import { MessageType, makeMessage } from '../../../src/raft/core/types.ts';
import { SeededRandom } from '../../../src/io/random.ts';

const electionTicks = 10;

function follower(): RaftNode {
  const node = new RaftNode({ id: 2, voters: [1, 2, 3], storage: new MemoryStorage(), random: new SeededRandom(2), electionTicks, heartbeatTicks: 1 });
  node.step(makeMessage({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1 }));
  drain(node);
  return node;
}

function drain(node: RaftNode) {
  if (!node.hasReady()) return [];
  const ready = node.ready();
  node.advance(ready);
  return ready.messages;
}

function preVoteFrom3(node: RaftNode) {
  node.step(makeMessage({ type: MessageType.PreVote, from: 3, to: 2, term: 2, index: 0, logTerm: 0 }));
  return drain(node).filter((message) => message.type === MessageType.PreVoteResponse);
}

test('a follower in its lease ignores pre-votes; after the hint it grants them', () => {
  const node = follower();
  assert.deepEqual(preVoteFrom3(node), [], 'in lease: ignored');
  node.leaderUnreachable();
  const answers = preVoteFrom3(node);
  assert.equal(answers.length, 1);
  assert.equal(answers[0]!.reject, false);
  assert.equal(node.term, 1, 'a pre-vote changes no term');
});

test('after the hint the follower campaigns within electionTicks ticks', () => {
  const node = follower();
  node.leaderUnreachable();
  let campaigned = false;
  for (let tick = 0; tick < electionTicks && !campaigned; tick++) {
    node.tick();
    campaigned = drain(node).some((message) => message.type === MessageType.PreVote);
  }
  assert.ok(campaigned);
});

test('a message from a live leader restores the lease', () => {
  const node = follower();
  node.leaderUnreachable();
  node.step(makeMessage({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1 }));
  drain(node);
  assert.deepEqual(preVoteFrom3(node), [], 'in lease again');
});

test('the hint does nothing without a known leader', () => {
  const node = new RaftNode({ id: 2, voters: [1, 2, 3], storage: new MemoryStorage(), random: new SeededRandom(2), electionTicks, heartbeatTicks: 1 });
  node.leaderUnreachable();
  node.tick();
  assert.deepEqual(drain(node).filter((message) => message.type === MessageType.PreVote), [], 'no early campaign from a fresh node');
});
