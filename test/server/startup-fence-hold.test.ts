// Proves when a starting broker asks to stay fenced (src/server/startup-fence-hold.ts): only while
// the scrubber's first pass is pending and another broker is unfenced, never past its maximum, and
// never again once released; release listeners run once. And that the broker lifecycle turns the
// hold into wantFence on its heartbeats only while it is fenced, heartbeating at once when released.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerLifecycle } from '../../src/cluster/broker-lifecycle.ts';
import type { ForwardToController } from '../../src/cluster/raft-metadata-service.ts';
import type { MetadataImage } from '../../src/controller/metadata-image.ts';
import { StartupFenceHold } from '../../src/server/startup-fence-hold.ts';
import { silentLogger } from '../../src/util/log.ts';

/** The part of a cluster image the hold reads: the brokers and whether each is fenced. */
function image(brokers: Array<[number, boolean]>): MetadataImage {
  return {
    clusterId: 'c', appliedOffset: 1, nextProducerId: 0, highestBrokerEpoch: 1,
    brokers: new Map(brokers.map(([nodeId, fenced]) => [nodeId, { nodeId, fenced }])), topicsByName: new Map(), topicsById: new Map(),
  } as unknown as MetadataImage;
}

test('holds while the first scrub is pending and another broker is unfenced; releases for good when it ends or at the maximum', () => {
  let nowMs = 0;
  let pending = true;
  let brokers: Array<[number, boolean]> = [[1, true], [2, false], [3, false]];
  let released = 0;
  const hold = new StartupFenceHold({ nodeId: 1, firstPassPending: () => pending, image: () => image(brokers), maxMs: 30_000, now: () => nowMs, logger: silentLogger });
  hold.onRelease(() => released++);
  try {
    assert.equal(hold.holding(), true, 'scrub pending, brokers 2 and 3 can lead');
    brokers = [[1, true], [2, true], [3, true]];
    assert.equal(hold.holding(), false, 'nobody else unfenced (a whole-cluster restart): no hold');
    brokers = [[1, true], [2, false]];
    assert.equal(hold.holding(), true, 'held again once another broker is unfenced');
    assert.equal(released, 0);
    pending = false;
    assert.equal(hold.holding(), false, 'first pass done: released');
    assert.equal(released, 1);
    pending = true;
    assert.equal(hold.holding(), false, 'never again for this process');
    hold.release('again');
    assert.equal(released, 1, 'listeners run once');
  } finally {
    hold.release('test over');
  }

  let late = 0;
  const timed = new StartupFenceHold({ nodeId: 1, firstPassPending: () => true, image: () => image([[1, true], [2, false]]), maxMs: 30_000, now: () => nowMs, logger: silentLogger });
  timed.onRelease(() => late++);
  assert.equal(timed.holding(), true);
  nowMs += 30_000;
  assert.equal(timed.holding(), false, 'released at the maximum even with the scrub unfinished');
  assert.equal(late, 1);

  const never = new StartupFenceHold({ nodeId: 1, firstPassPending: () => true, image: () => image([[1, true], [2, false]]), maxMs: 0, now: () => nowMs, logger: silentLogger });
  let immediate = 0;
  never.onRelease(() => immediate++);
  assert.equal(never.holding(), false, 'maximum 0: never holds');
  assert.equal(immediate, 1, 'a listener added after the release runs at once');
});

test('the lifecycle asks to stay fenced while held and fenced, then heartbeats at once without it', async () => {
  const heartbeats: Array<{ wantFence: boolean }> = [];
  let fencedAnswer = true;
  const call = (async (method: string, params: { wantFence: boolean }) => {
    if (method === 'register') return { errorCode: 0, brokerEpoch: 4, offset: 1 };
    heartbeats.push(params);
    return { errorCode: 0, fenced: fencedAnswer && params.wantFence, offset: 1 };
  }) as unknown as ForwardToController;
  let holding = true;
  const lifecycle = new BrokerLifecycle({
    nodeId: 1, address: { host: 'h', port: 1, rack: null, internalHost: 'h', internalPort: 2 }, call, metadataOffset: () => 1,
    holdFenced: () => holding, heartbeatIntervalMs: 60_000, logger: silentLogger,
  });
  const waitFor = async (count: number) => {
    // Bounded: 1,000 rounds of 5 ms.
    for (let round = 0; heartbeats.length < count; round++) {
      if (round > 1000) throw new Error(`only ${heartbeats.length} heartbeats, wanted ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  try {
    lifecycle.start();
    await waitFor(1);
    assert.equal(heartbeats[0]!.wantFence, true, 'fenced at registration and held: asks to stay fenced');
    assert.equal(lifecycle.state, 'fenced');
    holding = false;
    lifecycle.beatNow();
    await waitFor(2); // well before the 60 s interval
    assert.equal(heartbeats[1]!.wantFence, false, 'released: asks to be unfenced');
    assert.equal(lifecycle.state, 'active');
    holding = true;
    fencedAnswer = false;
    lifecycle.beatNow();
    await waitFor(3);
    assert.equal(heartbeats[2]!.wantFence, false, 'an active broker is never re-fenced by the hold');
  } finally {
    await lifecycle.stop(0);
  }
});
