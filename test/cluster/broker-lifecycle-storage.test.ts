// Proves the broker side of storage-full reporting: every heartbeat (and the farewell one) carries
// whether the disk guard refuses appends, and a change is reported at once through beatNow() rather
// than at the next heartbeat interval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerLifecycle } from '../../src/cluster/broker-lifecycle.ts';
import type { ForwardToController } from '../../src/cluster/raft-metadata-service.ts';
import { silentLogger } from '../../src/util/log.ts';

test('heartbeats carry the storage state; beatNow reports a change without waiting an interval', async () => {
  const heartbeats: Array<{ storageFull?: boolean; wantFence: boolean }> = [];
  const call = (async (method: string, params: { storageFull?: boolean; wantFence: boolean }) => {
    if (method === 'register') return { errorCode: 0, brokerEpoch: 4, offset: 1 };
    heartbeats.push(params);
    return { errorCode: 0, fenced: false, offset: 1 };
  }) as unknown as ForwardToController;
  let full = false;
  const lifecycle = new BrokerLifecycle({
    nodeId: 1, address: { host: 'h', port: 1, rack: null, internalHost: 'h', internalPort: 2 }, call, metadataOffset: () => 1,
    storageFull: () => full, heartbeatIntervalMs: 60_000, logger: silentLogger,
  });
  const waitFor = async (count: number) => {
    const deadline = Date.now() + 5000;
    while (heartbeats.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${heartbeats.length} heartbeats, wanted ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  lifecycle.start();
  await waitFor(1);
  assert.equal(heartbeats[0]!.storageFull, false);
  full = true;
  lifecycle.beatNow();
  await waitFor(2); // well before the 60 s interval
  assert.equal(heartbeats[1]!.storageFull, true);
  await lifecycle.stop(1000);
  assert.deepEqual(heartbeats.at(-1), { nodeId: 1, brokerEpoch: 4, metadataOffset: 1, wantFence: true, storageFull: true });
});
