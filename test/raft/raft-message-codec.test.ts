// Proves the Raft wire codec round-trips every kind of network message, and that hostile or damaged
// input (truncation, huge counts, local message kinds, gaps in entries, trailing bytes, random
// mutations) is refused with a RaftCodecError rather than crashing or allocating unboundedly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeRaftMessage, encodeRaftMessage, RaftCodecError, defaultRaftCodecLimits } from '../../src/raft/raft-message-codec.ts';
import { MessageType, makeMessage } from '../../src/raft/core/types.ts';
import type { Message } from '../../src/raft/core/types.ts';

const networkTypes = [
  MessageType.Append, MessageType.AppendResponse, MessageType.Vote, MessageType.VoteResponse, MessageType.Heartbeat,
  MessageType.HeartbeatResponse, MessageType.TimeoutNow, MessageType.PreVote, MessageType.PreVoteResponse,
] as const;

const nodeId = fc.integer({ min: 1, max: 0x7fff_ffff });
const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

const plainMessage = fc.record({
  type: fc.constantFrom(...networkTypes), from: nodeId, to: nodeId, term: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  logTerm: safe, index: fc.integer({ min: 0, max: 2 ** 40 }), commit: safe, reject: fc.boolean(), rejectHint: safe, transfer: fc.boolean(),
  entryData: fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }),
}).map(({ entryData, ...fields }): Message => {
  const entries = fields.type === MessageType.Append ? entryData.map((data, offset) => ({ term: fields.term, index: fields.index + 1 + offset, data })) : [];
  return makeMessage({ ...fields, entries });
});

const snapshotMessage = fc.record({
  from: nodeId, to: nodeId, term: fc.integer({ min: 1, max: 2 ** 40 }), index: fc.integer({ min: 1, max: 2 ** 40 }),
  voters: fc.array(nodeId, { maxLength: 5 }), learners: fc.array(nodeId, { maxLength: 3 }), data: fc.uint8Array({ maxLength: 200 }),
}).map(({ from, to, term, index, voters, learners, data }) => makeMessage({
  type: MessageType.Snapshot, from, to, term,
  snapshot: { metadata: { index, term, confState: { voters, learners } }, data },
}));

test('every network message kind round-trips', () => {
  fc.assert(fc.property(fc.oneof(plainMessage, snapshotMessage), (message) => {
    assert.deepEqual(decodeRaftMessage(encodeRaftMessage(message)), message);
  }), { numRuns: 500 });
});

test('decoded entry data does not alias the receive buffer', () => {
  const message = makeMessage({ type: MessageType.Append, from: 1, to: 2, term: 3, index: 4, logTerm: 3, entries: [{ term: 3, index: 5, data: new Uint8Array([7, 7]) }] });
  const bytes = encodeRaftMessage(message);
  const decoded = decodeRaftMessage(bytes);
  bytes.fill(0);
  assert.deepEqual([...decoded.entries[0]!.data], [7, 7]);
});

test('truncated input of every length is refused', () => {
  const message = makeMessage({
    type: MessageType.Snapshot, from: 1, to: 2, term: 9,
    snapshot: { metadata: { index: 10, term: 9, confState: { voters: [1, 2, 3], learners: [4] } }, data: new Uint8Array(32) },
  });
  const bytes = encodeRaftMessage(message);
  for (let length = 0; length < bytes.length; length++) {
    assert.throws(() => decodeRaftMessage(bytes.subarray(0, length)), RaftCodecError, `length ${length}`);
  }
  assert.throws(() => decodeRaftMessage(new Uint8Array([...bytes, 0])), /trailing/);
});

test('local message kinds, gaps in entries and huge counts are refused', () => {
  const local = encodeRaftMessage(makeMessage({ type: MessageType.Propose, from: 1, to: 2, term: 1 }));
  assert.throws(() => decodeRaftMessage(local), /may not travel/);

  const gap = encodeRaftMessage(makeMessage({ type: MessageType.Append, from: 1, to: 2, term: 2, index: 4, entries: [{ term: 2, index: 6, data: new Uint8Array() }] }));
  assert.throws(() => decodeRaftMessage(gap), /expected 5/);

  const newerEntry = encodeRaftMessage(makeMessage({ type: MessageType.Append, from: 1, to: 2, term: 2, index: 4, entries: [{ term: 3, index: 5, data: new Uint8Array() }] }));
  assert.throws(() => decodeRaftMessage(newerEntry), /bad term/);

  const heartbeat = encodeRaftMessage(makeMessage({ type: MessageType.Heartbeat, from: 1, to: 2, term: 2 }));
  const hugeCount = new Uint8Array(heartbeat);
  new DataView(hugeCount.buffer).setUint32(heartbeat.length - 4, 0xffff_fff0);
  assert.throws(() => decodeRaftMessage(hugeCount), /exceed/);

  const appendBytes = encodeRaftMessage(makeMessage({ type: MessageType.Append, from: 1, to: 2, term: 2, index: 4, entries: [{ term: 2, index: 5, data: new Uint8Array(8) }] }));
  const hugeEntry = new Uint8Array(appendBytes);
  new DataView(hugeEntry.buffer).setUint32(appendBytes.length - 12, 0x7fff_ffff);
  assert.throws(() => decodeRaftMessage(hugeEntry), /exceeds/);

  assert.throws(() => decodeRaftMessage(new Uint8Array(defaultRaftCodecLimits.maxMessageBytes + 1)), /exceeds/);
});

test('random byte mutations either decode to a valid message or throw RaftCodecError', () => {
  const seedMessage = encodeRaftMessage(makeMessage({
    type: MessageType.Append, from: 1, to: 2, term: 5, index: 7, logTerm: 4, commit: 6,
    entries: [{ term: 5, index: 8, data: new Uint8Array([1, 2, 3]) }, { term: 5, index: 9, data: new Uint8Array([4]) }],
  }));
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(seedMessage.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (flips) => {
    const bytes = new Uint8Array(seedMessage);
    for (const [at, value] of flips) bytes[at] = value;
    try {
      const message = decodeRaftMessage(bytes);
      assert.ok(message.term > 0 && message.from > 0 && message.to > 0);
    } catch (error) {
      assert.ok(error instanceof RaftCodecError, String(error));
    }
  }), { numRuns: 2000 });
});
