// Proves the internal listener slows a peer with more requests in flight than it allows instead of
// cutting it off: a PeerLink sends 200 requests at once to a listener that allows 4; the handler
// never holds more than 4, every request is answered, in order of arrival, on the one connection,
// and a Raft frame sent behind them still arrives. Before, the listener closed the connection at
// the limit, failing every request on it: a broker leading 1,000 new partitions lost its
// controller link over and over and its ISR changes never went through.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { InternalListener, defaultInternalListenerLimits } from '../../src/cluster/internal-listener.ts';
import { PeerLink } from '../../src/cluster/peer-link.ts';
import { silentLogger } from '../../src/util/log.ts';
import { eventually, freePorts } from '../helpers/tide-cluster.ts';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('past its in-flight limit a connection is paused, not closed: every request is answered', async () => {
  const limit = 4;
  let holding = 0;
  let mostHeld = 0;
  const handled: number[] = [];
  const raft: Uint8Array[] = [];
  let closedConnections = 0;
  const listener = new InternalListener({
    onRaft: (message) => raft.push(message),
    onRequest: async (request) => {
      holding++;
      mostHeld = Math.max(mostHeld, holding);
      handled.push((request as { n: number }).n);
      await new Promise((resolve) => setTimeout(resolve, 2));
      holding--;
      return { ok: true, result: (request as { n: number }).n * 2 };
    },
    onConnectionClosed: () => { closedConnections++; },
  }, silentLogger, { ...defaultInternalListenerLimits, inFlightRequestsPerConnectionMax: limit });
  const [port] = await freePorts(1);
  await listener.start('127.0.0.1', port!);
  cleanups.push(() => listener.close());
  const link = new PeerLink('127.0.0.1', port!, silentLogger);
  cleanups.push(() => link.close());
  let lost = 0;
  link.onLost(() => { lost++; });

  const count = 200;
  const answers = await Promise.all(Array.from({ length: count }, (_, n) => link.request({ n }, 30_000)));
  link.sendRaft(Uint8Array.from([7, 7, 7]));

  assert.deepEqual(answers, Array.from({ length: count }, (_, n) => ({ ok: true, result: n * 2 })));
  assert.deepEqual(handled, Array.from({ length: count }, (_, n) => n), 'handled in order of arrival');
  assert.equal(mostHeld, limit, `never more than ${limit} at once`);
  await eventually('the Raft frame sent behind them arrives', 5_000, async () => (raft.length === 1 ? true : undefined));
  assert.deepEqual([lost, closedConnections], [0, 0], 'the connection stayed up');
});
