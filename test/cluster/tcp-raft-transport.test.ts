// Proves Raft runs over Tide's internal TCP listener: three RaftDrivers with file-backed stores,
// each behind an InternalListener with PeerLinks to the others, elect one leader and commit a
// proposal on every node; a frame with an unknown kind or an oversized size closes only that
// connection, and the cluster keeps working.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InternalListener } from '../../src/cluster/internal-listener.ts';
import { PeerLink } from '../../src/cluster/peer-link.ts';
import { TcpRaftTransport } from '../../src/cluster/tcp-raft-transport.ts';
import { SystemClock } from '../../src/io/clock.ts';
import { SeededRandom } from '../../src/io/random.ts';
import { RaftDriver } from '../../src/raft/raft-driver.ts';
import { RaftLogStore } from '../../src/raft/raft-log-store.ts';
import { silentLogger } from '../../src/util/log.ts';
import { eventually, freePorts } from '../helpers/tide-cluster.ts';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('three drivers over TCP elect a leader and commit on every node', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'tide-tcp-raft-'));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  const ports = await freePorts(3);
  const ids = [1, 2, 3];
  const applied = new Map<number, string[]>(ids.map((id) => [id, []]));
  const drivers = new Map<number, RaftDriver>();
  for (const id of ids) {
    const links = new Map<number, PeerLink>();
    for (const peer of ids) if (peer !== id) links.set(peer, new PeerLink('127.0.0.1', ports[peer - 1]!, silentLogger));
    const transport = new TcpRaftTransport(id, links, silentLogger);
    const listener = new InternalListener({ onRaft: (bytes) => transport.receive(bytes), onRequest: async () => ({ ok: true, result: null }) }, silentLogger);
    await listener.start('127.0.0.1', ports[id - 1]!);
    const store = await RaftLogStore.open({ directory: join(directory, `node-${id}`), confState: { voters: ids, learners: [] } });
    const driver = await RaftDriver.start({
      id, voters: ids, store, transport, clock: new SystemClock(), random: new SeededRandom(id), tickIntervalMs: 20, electionTicks: 10, heartbeatTicks: 1,
      stateMachine: {
        apply: (entry) => { if (entry.data.length > 0) applied.get(id)!.push(Buffer.from(entry.data).toString()); },
        takeSnapshot: () => new Uint8Array(0),
        restoreSnapshot: () => undefined,
      },
    });
    drivers.set(id, driver);
    cleanups.push(async () => {
      await driver.stop();
      await listener.close();
      for (const link of links.values()) link.close();
      await store.close();
    });
  }

  const leader = await eventually('a leader is elected', 10_000, async () => {
    const leaders = [...drivers.values()].filter((driver) => driver.isLeader);
    return leaders.length === 1 ? leaders[0] : undefined;
  }, 20);
  for (const driver of drivers.values()) await eventually('every node knows the leader', 5000, async () => (driver.leaderId === leader.id ? true : undefined), 20);

  // Hostile frames on the leader's port: an unknown kind, then an absurd size. Each closes its own connection only.
  for (const frame of [Buffer.from([0, 0, 0, 1, 99]), Buffer.from([0x7f, 0xff, 0xff, 0xff, 1])]) {
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(ports[leader.id - 1]!, '127.0.0.1', () => socket.write(frame));
      socket.on('close', () => resolve(true));
      socket.on('error', () => undefined);
      setTimeout(() => { socket.destroy(); resolve(false); }, 3000);
    });
    assert.equal(closed, true, 'the listener closes a connection that sent a bad frame');
  }

  const index = await leader.propose(Buffer.from('hello'));
  assert.ok(index > 0);
  for (const id of ids) await eventually(`node ${id} applies the proposal`, 5000, async () => (applied.get(id)!.includes('hello') ? true : undefined), 20);
});
