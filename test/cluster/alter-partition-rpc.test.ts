// Proves the AlterPartition controller RPC: it is served through serveControllerRequest (the hook
// in controller-rpc.ts), malformed requests are answered `invalid` without reaching the controller,
// a node that does not lead answers `not-leader`, and a client call reaches the controller and
// returns its checked answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControllerRpcClient, serveControllerRequest, type ControllerRpcHost } from '../../src/cluster/controller-rpc.ts';
import { callAlterPartition } from '../../src/cluster/alter-partition-rpc.ts';
import type { AlterPartitionControllerRequest, QuorumController } from '../../src/controller/quorum-controller.ts';
import { silentLogger } from '../../src/util/log.ts';

const good: AlterPartitionControllerRequest = { brokerId: 1, brokerEpoch: 3, topicId: 'a'.repeat(32), partition: 0, leaderEpoch: 2, partitionEpoch: 5, newIsr: [1, 2] };

function host(controller: Partial<QuorumController> | null, leaderId: number | null): ControllerRpcHost {
  return {
    activeController: () => controller as QuorumController | null,
    leaderId: () => leaderId,
    fetchMetadata: (fromOffset) => ({ leaderId, term: 1, snapshot: null, entries: [], highOffset: fromOffset - 1 }),
  };
}

test('malformed alterPartition requests never reach the controller', async () => {
  const seen: AlterPartitionControllerRequest[] = [];
  const controller = { alterPartition: async (request: AlterPartitionControllerRequest) => { seen.push(request); return { errorCode: 0, leaderEpoch: 2, partitionEpoch: 6, isr: [1, 2], offset: 10 }; } };
  const bad: unknown[] = [
    { method: 'alterPartition' },
    { method: 'alterPartition', params: { ...good, topicId: 'xyz' } },
    { method: 'alterPartition', params: { ...good, newIsr: 'all' } },
    { method: 'alterPartition', params: { ...good, newIsr: [1, -2] } },
    { method: 'alterPartition', params: { ...good, newIsr: new Array(5000).fill(1) } },
    { method: 'alterPartition', params: { ...good, partition: 1.5 } },
  ];
  for (const request of bad) {
    const answer = await serveControllerRequest(host(controller, 1), request, silentLogger);
    assert.equal(answer.ok, false);
    assert.equal((answer as { error: string }).error, 'invalid');
  }
  assert.equal(seen.length, 0);
  const answer = await serveControllerRequest(host(controller, 1), { method: 'alterPartition', params: good }, silentLogger);
  assert.deepEqual(answer, { ok: true, result: { errorCode: 0, leaderEpoch: 2, partitionEpoch: 6, isr: [1, 2], offset: 10 } });
  assert.deepEqual(seen, [good]);
  const notLeader = await serveControllerRequest(host(null, 3), { method: 'alterPartition', params: good }, silentLogger);
  assert.deepEqual(notLeader, { ok: false, error: 'not-leader', leaderId: 3 });
});

test('a client call reaches the controller and returns its answer', async () => {
  const controller = { alterPartition: async (request: AlterPartitionControllerRequest) => ({ errorCode: 0, leaderEpoch: request.leaderEpoch, partitionEpoch: request.partitionEpoch + 1, isr: request.newIsr, offset: 4 }) };
  const client = new ControllerRpcClient({
    selfId: 1, links: new Map(), voterIds: [1], leaderHint: () => 1, logger: silentLogger,
    local: (request) => serveControllerRequest(host(controller, 1), request, silentLogger),
  });
  const result = await callAlterPartition(client, good, 1000);
  assert.deepEqual(result, { errorCode: 0, leaderEpoch: 2, partitionEpoch: 6, isr: [1, 2], offset: 4 });
  client.close();
});
