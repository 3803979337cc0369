// Proves how the controller finds dead brokers on real 3-voter clusters (broker-liveness.ts):
// - with a broker session far longer than any test (600 s), a SIGKILLed partition leader is still
//   fenced and its partition fails over: the connection it heartbeated over closed
//   (broker.connection.loss.fence.ms); the controller's log names that reason; the restarted node
//   comes back into the ISR;
// - with the same session, SIGKILL of the node that is both active controller and partition leader:
//   the next controller fences it because it never heartbeats to it (the takeover grace), and the
//   partition fails over;
// - a SIGSTOPped broker keeps its connections open: it is fenced by its session (3 s here) only,
//   and after SIGCONT it is unfenced and rejoins the ISR.
// Timing is not asserted: a session of 600 s makes any failover within the hang guards proof enough.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { defaultProduceRequest, produceCodec } from '../../src/protocol/messages/produce.ts';
import { buildRecordBatchSync } from '../../src/protocol/records.ts';
import { createTopic, stopTestCluster, waitFor } from '../helpers/cluster-topics.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { readLog } from '../helpers/tide-process.ts';
import { eventually, killNode, liveNodes, startCluster, startNode, type TideCluster } from '../helpers/tide-cluster.ts';

async function controllerOf(cluster: TideCluster): Promise<number> {
  return eventually('an active controller', 30_000, async () => {
    for (const node of liveNodes(cluster)) {
      const response = await fetch(`http://127.0.0.1:${node.process!.httpPort}/api/v1/cluster/quorum`);
      const { controllerId } = await response.json() as { controllerId: number };
      if (controllerId > 0) return controllerId;
    }
    return undefined;
  });
}

async function brokerState(cluster: TideCluster, viaNode: number, nodeId: number): Promise<string | undefined> {
  const response = await fetch(`http://127.0.0.1:${cluster.nodes.get(viaNode)!.process!.httpPort}/api/v1/cluster`);
  const body = await response.json() as { brokers: Array<{ nodeId: number; state: string }> };
  return body.brokers.find((broker) => broker.nodeId === nodeId)?.state;
}

/** Creates the topic through its second replica and waits until the first leads it with a full ISR. */
async function createLedTopic(cluster: TideCluster, name: string, replicas: number[]): Promise<void> {
  await createTopic(cluster, name, replicas, { via: replicas[1]! });
  await waitFor(cluster, replicas[1]!, name, 'full ISR led by the first replica', (view) => view.leader === replicas[0] && view.isr.length === replicas.length, 60_000);
}

async function produceAcksAll(cluster: TideCluster, leader: number, topic: string, value: string): Promise<number> {
  const client = await RawClient.connect(cluster.nodes.get(leader)!.process!.kafkaPort);
  try {
    const response = await client.send(produceCodec, 9, {
      ...defaultProduceRequest(), transactionalId: null, acks: -1, timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: buildRecordBatchSync({ records: [{ value }] }) }] }],
    }, 20_000);
    return response.responses[0]!.partitionResponses[0]!.errorCode;
  } finally {
    client.close();
  }
}

/** The controller's log says it fenced `nodeId` for `reason` (a 'brokers fenced' line). */
async function fencedFor(cluster: TideCluster, controller: number, nodeId: number, reason: string): Promise<boolean> {
  const log = await readLog(cluster.nodes.get(controller)!.process!);
  const pattern = new RegExp(`brokers fenced \\{"reasons":\\{[^}]*"${reason}":\\[[0-9,]*\\b${nodeId}\\b`);
  return pattern.test(log);
}

const common = ['--min.insync.replicas', '2', '--log.flush', 'sync', '--offsets.topic.num.partitions', '1'];

describe('with a 600 s broker session', () => {
  let cluster: TideCluster;
  after(() => stopTestCluster(cluster));

  test('a SIGKILLed partition leader is fenced when its heartbeat connection closes', async () => {
    cluster = await startCluster(3, [...common, '--broker.session.timeout.ms', '600000']);
    const controller = await controllerOf(cluster);
    const victim = [1, 2, 3].find((id) => id !== controller)!;
    const others = [1, 2, 3].filter((id) => id !== victim);
    await createLedTopic(cluster, 'killed', [victim, ...others]);
    await killNode(cluster, victim);
    const after = await waitFor(cluster, controller, 'killed', 'a new leader', (view) => view.leader !== victim && view.leader >= 0, 60_000);
    assert.ok(others.includes(after.leader));
    assert.deepEqual([...after.isr].sort(), [...others].sort());
    assert.ok(await fencedFor(cluster, controller, victim, 'connection lost'), 'the controller fenced it for the lost connection');
    assert.equal(await produceAcksAll(cluster, after.leader, 'killed', 'after-failover'), ErrorCode.NONE);

    await startNode(cluster, victim);
    await waitFor(cluster, controller, 'killed', 'the restarted node back in the ISR', (view) => view.isr.length === 3, 60_000);
    assert.equal(await brokerState(cluster, controller, victim), 'online');
  });

  test('a SIGKILLed controller that leads a partition is fenced by the next controller', async (t) => {
    const controller = await controllerOf(cluster);
    const others = [1, 2, 3].filter((id) => id !== controller);
    await createLedTopic(cluster, 'killed-controller', [controller, ...others]);
    await killNode(cluster, controller);
    const after = await waitFor(cluster, others[0]!, 'killed-controller', 'a new leader', (view) => view.leader !== controller && view.leader >= 0, 60_000);
    assert.ok(others.includes(after.leader));
    const successor = await controllerOf(cluster);
    assert.notEqual(successor, controller);
    // Refused: the successor's Raft link had found the dead node's port closed when it took over
    // (the usual case); silent: it had not tried to reconnect yet.
    const refused = await fencedFor(cluster, successor, controller, 'refused connections when the controller took over');
    assert.ok(refused || await fencedFor(cluster, successor, controller, 'silent since the controller took over'), 'the new controller fenced the dead broker');
    t.diagnostic(`fenced as ${refused ? 'refusing connections (connection-loss grace)' : 'silent (takeover grace)'}`);
    assert.equal(await produceAcksAll(cluster, after.leader, 'killed-controller', 'after-failover'), ErrorCode.NONE);

    await startNode(cluster, controller);
    await waitFor(cluster, successor, 'killed-controller', 'the restarted node back in the ISR', (view) => view.isr.length === 3, 60_000);
  });
});

describe('with a 3 s broker session', () => {
  let cluster: TideCluster;
  // (stopCluster sends SIGCONT to every live node first.)
  after(() => stopTestCluster(cluster));

  test('a SIGSTOPped broker is fenced by its session only, and unfenced after SIGCONT', async () => {
    cluster = await startCluster(3, [...common, '--broker.session.timeout.ms', '3000', '--broker.heartbeat.interval.ms', '500']);
    const controller = await controllerOf(cluster);
    const victim = [1, 2, 3].find((id) => id !== controller)!;
    const others = [1, 2, 3].filter((id) => id !== victim);
    await createLedTopic(cluster, 'paused', [victim, ...others]);
    const pid = cluster.nodes.get(victim)!.process!.pid;
    process.kill(pid, 'SIGSTOP');
    try {
      const after = await waitFor(cluster, controller, 'paused', 'a new leader', (view) => view.leader !== victim && view.leader >= 0, 60_000);
      assert.ok(others.includes(after.leader));
      assert.equal(await brokerState(cluster, controller, victim), 'fenced');
      assert.ok(await fencedFor(cluster, controller, victim, 'session expired'), 'fenced for its session');
      assert.ok(!(await fencedFor(cluster, controller, victim, 'connection lost')), 'its connection stayed open');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually('the resumed broker is unfenced', 60_000, async () => ((await brokerState(cluster, controller, victim)) === 'online' ? true : undefined));
    await waitFor(cluster, controller, 'paused', 'the resumed broker back in the ISR', (view) => view.isr.length === 3, 60_000);
  });
});
