// Proves producer id allocation: ids come from durably reserved blocks of 1000, one reservation
// serves concurrent callers, a restart (new manager over the same durable counter) never reuses
// an id, a failed reservation is retried by the next call, and an overlapping block is refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProducerIdManager, nextProducerIdBlockStart } from '../../src/coordinator/producer-id-manager.ts';

/** Stands in for the checkpoint file / metadata log: the next block start, made durable before answering. */
class DurableCounter {
  lastReserved: number | null = null;
  reservations = 0;
  failNext = false;

  reserve = async (blockSize: number): Promise<number> => {
    this.reservations++;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    const start = nextProducerIdBlockStart(this.lastReserved, blockSize);
    this.lastReserved = start;
    return start;
  };
}

describe('producer id allocation', () => {
  it('hands out consecutive ids from blocks of 1000', async () => {
    const counter = new DurableCounter();
    const manager = new ProducerIdManager({ reserveBlock: counter.reserve });
    const ids: number[] = [];
    for (let index = 0; index < 2500; index++) ids.push(await manager.nextProducerId());
    assert.deepEqual(ids, ids.map((_, index) => index));
    assert.equal(counter.reservations, 3);
    assert.equal(manager.remainingInBlock, 500);
  });

  it('serves concurrent callers from one reservation', async () => {
    const counter = new DurableCounter();
    const manager = new ProducerIdManager({ reserveBlock: counter.reserve, blockSize: 10 });
    const ids = await Promise.all(Array.from({ length: 25 }, () => manager.nextProducerId()));
    assert.deepEqual([...ids].sort((a, b) => a - b), Array.from({ length: 25 }, (_, index) => index));
    assert.equal(counter.reservations, 3);
  });

  it('never reuses an id after a restart', async () => {
    const counter = new DurableCounter();
    const before = new ProducerIdManager({ reserveBlock: counter.reserve });
    const usedBefore = [await before.nextProducerId(), await before.nextProducerId()];
    const after = new ProducerIdManager({ reserveBlock: counter.reserve });
    const first = await after.nextProducerId();
    assert.equal(first, 1000, 'the rest of the old block is skipped, not reused');
    assert.ok(usedBefore.every((id) => id < first));
  });

  it('retries after a failed reservation', async () => {
    const counter = new DurableCounter();
    counter.failNext = true;
    const manager = new ProducerIdManager({ reserveBlock: counter.reserve });
    await assert.rejects(manager.nextProducerId(), /disk full/);
    assert.equal(await manager.nextProducerId(), 0);
  });

  it('refuses a block that overlaps ids already handed out', async () => {
    let start = 0;
    const manager = new ProducerIdManager({ reserveBlock: async () => start, blockSize: 2 });
    await manager.nextProducerId();
    await manager.nextProducerId();
    start = 1;
    await assert.rejects(manager.nextProducerId(), /overlaps/);
  });
});
