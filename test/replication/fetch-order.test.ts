// Proves a follower's fetch order shares a leader's answers among partitions that are all behind:
// against a leader that fills each answer in request order with room for 4 partitions, 12 lagging
// partitions are each served within 3 rounds and equally often, where a fixed order would serve
// the first 4 every round and the other 8 never.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FetchOrder } from '../../src/replication/fetch-order.ts';

interface Lagging {
  id: number;
}

/** A leader answer: records for the first `room` partitions in request order, none for the rest. */
function answer(requested: readonly Lagging[], room: number): Lagging[] {
  return requested.slice(0, room);
}

function serveRounds(order: (partitions: readonly Lagging[]) => Lagging[], answered: (served: Lagging[]) => void, partitions: Lagging[], rounds: number): Map<number, number[]> {
  const servedIn = new Map<number, number[]>(partitions.map((partition) => [partition.id, []]));
  for (let round = 0; round < rounds; round++) {
    const served = answer(order(partitions), 4);
    for (const partition of served) servedIn.get(partition.id)!.push(round);
    answered(served);
  }
  return servedIn;
}

test('partitions that got records go to the back, so every lagging partition gets its turn', () => {
  const partitions = Array.from({ length: 12 }, (_, id) => ({ id }));
  const fetchOrder = new FetchOrder<Lagging>();
  const servedIn = serveRounds((entries) => fetchOrder.order(entries, (entry) => entry), (served) => fetchOrder.answered(served), partitions, 30);
  for (const [id, rounds] of servedIn) {
    assert.equal(rounds.length, 10, `partition ${id} served in 10 of 30 rounds`);
    assert.ok(rounds[0]! < 3, `partition ${id} first served in round ${rounds[0]}`);
    for (let index = 1; index < rounds.length; index++) assert.equal(rounds[index]! - rounds[index - 1]!, 3, `partition ${id} waits 3 rounds at most`);
  }

  const fixed = serveRounds((entries) => [...entries], () => undefined, partitions, 30);
  assert.deepEqual([...fixed.values()].map((rounds) => rounds.length), [30, 30, 30, 30, 0, 0, 0, 0, 0, 0, 0, 0], 'a fixed order starves all but the first 4');
});

test('an answer without records changes nothing; new partitions come first; ties keep request order', () => {
  const [a, b, c, d] = [{ id: 0 }, { id: 1 }, { id: 2 }, { id: 3 }];
  const fetchOrder = new FetchOrder<Lagging>();
  const ids = (entries: Lagging[]) => entries.map((entry) => entry.id);
  assert.deepEqual(ids(fetchOrder.order([a, b, c], (entry) => entry)), [0, 1, 2]);
  fetchOrder.answered([]);
  assert.deepEqual(ids(fetchOrder.order([a, b, c], (entry) => entry)), [0, 1, 2]);
  fetchOrder.answered([a, b]);
  assert.deepEqual(ids(fetchOrder.order([a, b, c], (entry) => entry)), [2, 0, 1]);
  assert.deepEqual(ids(fetchOrder.order([a, b, c, d], (entry) => entry)), [2, 3, 0, 1], 'a partition never fetched before goes first');
  fetchOrder.answered([c]);
  assert.deepEqual(ids(fetchOrder.order([a, b, c, d], (entry) => entry)), [3, 0, 1, 2]);
});
