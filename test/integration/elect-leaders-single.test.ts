// Proves ElectLeaders (api key 43, v0-2) on a single `tide start` process: advertised in
// ApiVersions; every partition of a single node is led by its only (preferred) replica, so
// preferred and unclean elections answer ELECTION_NOT_NEEDED per partition, unknown topics and
// partitions UNKNOWN_TOPIC_OR_PARTITION, a null topic list an empty result (Kafka leaves out what
// needed no election), an unknown election type INVALID_REQUEST; and `tide cluster elect-leaders`
// prints the same and exits 0 (1 when a partition could not be elected).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { apiVersionsCodec, defaultApiVersionsRequest } from '../../src/protocol/messages/api-versions.ts';
import { createTopicsCodec } from '../../src/protocol/messages/create-topics.ts';
import { electLeadersCodec, type ElectLeadersResponse } from '../../src/protocol/messages/elect-leaders.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { removeDir, startTide, stopTide, tideBin, type TideProcess } from '../helpers/tide-process.ts';

let node: TideProcess;
let client: RawClient;

before(async () => {
  node = await startTide();
  client = await RawClient.connect(node.kafkaPort);
  const created = await client.send(createTopicsCodec, 7, {
    topics: [{ name: 'pair', numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false,
  });
  assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
});

after(async () => {
  client?.close();
  if (node) {
    await stopTide(node);
    await removeDir(node.dataDir);
  }
});

const codes = (response: ElectLeadersResponse) => response.replicaElectionResults.map((t) => [t.topic, t.partitionResult.map((p) => [p.partitionId, p.errorCode])]);

test('ElectLeaders is advertised with versions 0-2', async () => {
  const versions = await client.send(apiVersionsCodec, 3, defaultApiVersionsRequest());
  const entry = versions.apiKeys.find((api) => api.apiKey === 43);
  assert.deepEqual(entry && [entry.minVersion, entry.maxVersion], [0, 2]);
});

test('a single node answers ELECTION_NOT_NEEDED and UNKNOWN_TOPIC_OR_PARTITION, in every version', async () => {
  for (const version of [0, 1, 2]) {
    for (const electionType of version === 0 ? [0] : [0, 1]) {
      const response = await client.send(electLeadersCodec, version, {
        electionType, timeoutMs: 5000,
        topicPartitions: [{ topic: 'pair', partitions: [0, 1, 7] }, { topic: 'missing', partitions: [0] }],
      });
      assert.equal(response.errorCode, ErrorCode.NONE);
      assert.deepEqual(codes(response), [
        ['pair', [[0, ErrorCode.ELECTION_NOT_NEEDED], [1, ErrorCode.ELECTION_NOT_NEEDED], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
        ['missing', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      ], `v${version} type ${electionType}`);
    }
  }
  const all = await client.send(electLeadersCodec, 2, { electionType: 0, timeoutMs: 5000, topicPartitions: null });
  assert.deepEqual([all.errorCode, all.replicaElectionResults], [ErrorCode.NONE, []]);
  const badType = await client.send(electLeadersCodec, 2, { electionType: 5, timeoutMs: 5000, topicPartitions: [{ topic: 'pair', partitions: [0] }] });
  assert.equal(badType.errorCode, ErrorCode.INVALID_REQUEST);
  assert.deepEqual(codes(badType), [['pair', [[0, ErrorCode.INVALID_REQUEST]]]]);
});

function tide(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [tideBin, ...args], { env: { ...process.env, TIDE_BOOTSTRAP: node.bootstrap }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

test('tide cluster elect-leaders', async () => {
  const all = await tide(['cluster', 'elect-leaders']);
  assert.deepEqual([all.code, all.stdout.trim()], [0, 'no partition needed an election'], all.stderr);
  const one = await tide(['cluster', 'elect-leaders', '--topic', 'pair', '--json']);
  assert.equal(one.code, 0, one.stderr);
  assert.deepEqual(JSON.parse(one.stdout), { results: [
    { topic: 'pair', partition: 0, result: 'ELECTION_NOT_NEEDED', message: 'broker 1 already leads' },
    { topic: 'pair', partition: 1, result: 'ELECTION_NOT_NEEDED', message: 'broker 1 already leads' },
  ] });
  const missing = await tide(['cluster', 'elect-leaders', '--topic', 'pair', '--partition', '9', '--unclean']);
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /pair\s+9\s+UNKNOWN_TOPIC_OR_PARTITION/);
  const usage = await tide(['cluster', 'elect-leaders', '--partition', '0']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--partition needs exactly one --topic/);
});
