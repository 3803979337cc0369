// Proves the controller RPC layer: requests off the wire are checked field by field before they
// reach the controller (a malformed one is answered `invalid`, never dispatched); a node that does
// not lead answers `not-leader` with its leader, and the client follows that hint to the node that
// does; with no reachable controller the client gives up at its deadline with
// ControllerUnavailableError; voters are parsed from id@host:port lists with clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControllerRpcClient, ControllerUnavailableError, serveControllerRequest, type ControllerRpcHost, type RpcAnswer } from '../../src/cluster/controller-rpc.ts';
import { parseVoters } from '../../src/cluster/voters.ts';
import type { QuorumController } from '../../src/controller/quorum-controller.ts';
import { silentLogger } from '../../src/util/log.ts';

function host(controller: Partial<QuorumController> | null, leaderId: number | null): ControllerRpcHost {
  return {
    activeController: () => controller as QuorumController | null,
    leaderId: () => leaderId,
    fetchMetadata: (fromOffset) => ({ leaderId, term: 1, snapshot: null, entries: [], highOffset: fromOffset - 1 }),
  };
}

test('malformed requests are refused before they reach the controller', async () => {
  let calls = 0;
  const controller = { deleteTopic: async () => { calls++; return { errorCode: 0, errorMessage: null, offset: 1 }; } };
  const bad: unknown[] = [
    null, 'x', { method: 'deleteTopic' }, { method: 'deleteTopic', params: { name: 7 } }, { method: 'nope', params: {} },
    { method: 'heartbeat', params: { nodeId: -1, brokerEpoch: 0, metadataOffset: 0, wantFence: false } },
    { method: 'createTopic', params: { request: { name: 't', numPartitions: 1, replicationFactor: 1, assignments: 'all', configs: {} }, validateOnly: false } },
    { method: 'alterTopicConfigs', params: { name: 't', operations: [{ key: 'a', op: 'explode', value: null }], validateOnly: false } },
    { method: 'deleteTopic', params: { name: 'x'.repeat(5000) } },
  ];
  for (const request of bad) {
    const answer = await serveControllerRequest(host(controller, 1), request, silentLogger);
    assert.equal(answer.ok, false);
    assert.equal((answer as { error: string }).error, 'invalid', JSON.stringify(request));
  }
  assert.equal(calls, 0);
  const good = await serveControllerRequest(host(controller, 1), { method: 'deleteTopic', params: { name: 't' } }, silentLogger);
  assert.deepEqual(good, { ok: true, result: { errorCode: 0, errorMessage: null, offset: 1 } });
});

test('heartbeat: storageFull is passed on, optional (an older sender means false) and must be a boolean', async () => {
  const seen: unknown[] = [];
  const controller = { heartbeat: async (params: unknown) => { seen.push(params); return { errorCode: 0, fenced: false, offset: 1 }; } };
  const base = { nodeId: 1, brokerEpoch: 3, metadataOffset: 5, wantFence: false };
  for (const params of [base, { ...base, storageFull: true }, { ...base, storageFull: false }]) {
    const answer = await serveControllerRequest(host(controller as Partial<QuorumController>, 1), { method: 'heartbeat', params }, silentLogger);
    assert.equal(answer.ok, true);
  }
  assert.deepEqual(seen.map((params) => (params as { storageFull: boolean }).storageFull), [false, true, false]);
  const bad = await serveControllerRequest(host(controller as Partial<QuorumController>, 1), { method: 'heartbeat', params: { ...base, storageFull: 'yes' } }, silentLogger);
  assert.deepEqual([bad.ok, (bad as { error: string }).error], [false, 'invalid']);
  assert.equal(seen.length, 3);
});

test('a follower answers not-leader with the leader it knows; the client follows the hint', async () => {
  const served: number[] = [];
  const nodes = new Map<number, ControllerRpcHost>([
    [1, host(null, 3)],
    [2, host(null, 3)],
    [3, host({ deleteTopic: async () => ({ errorCode: 0, errorMessage: null, offset: 9 }) }, 3)],
  ]);
  // Every node is "local" here: the client's in-process path stands in for the network.
  let target = 1;
  const client = new ControllerRpcClient({
    selfId: 1, links: new Map(), voterIds: [1, 2, 3], leaderHint: () => 1, logger: silentLogger,
    local: async (request) => {
      served.push(target);
      return serveControllerRequest(nodes.get(target)!, request, silentLogger);
    },
  });
  // Route by the target the client picked: patch send through the hint it learns.
  const original = (client as unknown as { send: (to: number, request: unknown, timeoutMs: number) => Promise<RpcAnswer<unknown>> }).send.bind(client);
  (client as unknown as { send: (to: number, request: unknown, timeoutMs: number) => Promise<RpcAnswer<unknown>> }).send = (to, request, timeoutMs) => {
    target = to;
    return original(1, request, timeoutMs);
  };
  const result = await client.call('deleteTopic', { name: 't' }, 5000);
  assert.equal(result.offset, 9);
  assert.deepEqual(served, [1, 3], 'asked node 1, which named node 3, which answered');
});

test('without a controller the client gives up at its deadline', async () => {
  const client = new ControllerRpcClient({
    selfId: 1, links: new Map(), voterIds: [1], leaderHint: () => null, logger: silentLogger,
    local: (request) => serveControllerRequest(host(null, null), request, silentLogger),
  });
  await assert.rejects(client.call('deleteTopic', { name: 't' }, 300), ControllerUnavailableError);
});

test('voters parse from id@host:port lists', () => {
  assert.deepEqual(parseVoters('1@127.0.0.1:9093, 2@localhost:9094'), [{ nodeId: 1, host: '127.0.0.1', port: 9093 }, { nodeId: 2, host: 'localhost', port: 9094 }]);
  assert.throws(() => parseVoters('1@a:1,1@b:2'), /listed twice/);
  assert.throws(() => parseVoters('0@a:1'), /between 1/);
  assert.throws(() => parseVoters('a:1'), /id@host:port/);
  assert.throws(() => parseVoters(''), /no voters/);
});
