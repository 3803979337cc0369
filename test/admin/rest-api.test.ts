// Proves the JSON API of a real `tide start` process: cluster info; topics created, described,
// re-configured, grown and deleted; test messages produced over HTTP (text, binary, headers, keyed
// partitioning) and by kafkajs with gzip, then browsed back decoded by offset and by timestamp;
// a real kafkajs consumer group listed and described (members, assignment, committed offsets, lag)
// and its offsets reset (refused with 409 while it has members, then to earliest, an offset,
// latest and a timestamp); and every kind of mistake answered with a JSON 4xx that says what is
// wrong.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { partitionForKey } from '../../src/admin/key-partitioner.ts';
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';
import { consumeAndCommit, waitFor } from './group-client.ts';
import { call } from './http-client.ts';

let node: TideProcess;
let base: string;

before(async () => {
  node = await startTide({ args: ['--group.initial.rebalance.delay.ms', '0'] });
  base = `http://127.0.0.1:${node.httpPort}`;
});

after(async () => {
  const exit = await stopTide(node);
  assert.equal(exit.code, 0);
  await removeDir(node.dataDir);
});

test('cluster describes this node as the live controller', async () => {
  const { status, body } = await call(base, 'GET', '/api/v1/cluster');
  assert.equal(status, 200);
  assert.equal(typeof body.clusterId, 'string');
  assert.equal(body.nodeId, 1);
  assert.deepEqual(body.controller, { id: 1, active: true });
  assert.equal(body.brokers.length, 1);
  assert.equal(body.brokers[0].state, 'online');
  assert.equal(body.brokers[0].port, node.kafkaPort);
});

test('topics: create, list, describe, alter configs, add partitions, delete', async () => {
  const created = await call(base, 'POST', '/api/v1/topics', { name: 'rest-orders', partitions: 2, configs: { 'retention.ms': '3600000' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.partitions, 2);
  assert.deepEqual(created.body.configs.find((c: any) => c.name === 'retention.ms'), { name: 'retention.ms', value: '3600000', source: 'topic' });
  assert.equal(created.body.configs.find((c: any) => c.name === 'segment.bytes').source, 'default');
  assert.deepEqual(created.body.partitionDetails.map((p: any) => [p.partition, p.leader, p.isr, p.logStartOffset, p.highWatermark]), [[0, 1, [1], 0, 0], [1, 1, [1], 0, 0]]);

  const list = await call(base, 'GET', '/api/v1/topics');
  assert.equal(list.status, 200);
  assert.ok(list.body.topics.some((t: any) => t.name === 'rest-orders' && t.partitions === 2 && t.messages === 0));

  const altered = await call(base, 'PATCH', '/api/v1/topics/rest-orders/configs', { set: { 'segment.ms': '60000' }, delete: ['retention.ms'] });
  assert.equal(altered.status, 200, JSON.stringify(altered.body));
  assert.equal(altered.body.configs.find((c: any) => c.name === 'segment.ms').value, '60000');
  assert.equal(altered.body.configs.find((c: any) => c.name === 'retention.ms').source, 'default');

  const grown = await call(base, 'POST', '/api/v1/topics/rest-orders/partitions', { count: 4 });
  assert.equal(grown.status, 200, JSON.stringify(grown.body));
  assert.equal(grown.body.partitionDetails.length, 4);

  const deleted = await call(base, 'DELETE', '/api/v1/topics/rest-orders');
  assert.deepEqual(deleted, { status: 200, body: { deleted: 'rest-orders' } });
  assert.equal((await call(base, 'GET', '/api/v1/topics/rest-orders')).status, 404);
});

test('produce over HTTP and browse: text, binary as base64, headers, keyed partitioning', async () => {
  assert.equal((await call(base, 'POST', '/api/v1/topics', { name: 'rest-browse', partitions: 3 })).status, 201);
  const first = await call(base, 'POST', '/api/v1/topics/rest-browse/messages', { key: 'k', value: 'héllo wörld', headers: { trace: 'abc' }, partition: 1 });
  assert.deepEqual(first, { status: 201, body: { topic: 'rest-browse', partition: 1, offset: 0 } });
  const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
  const second = await call(base, 'POST', '/api/v1/topics/rest-browse/messages', { value: binary.toString('base64'), encoding: 'base64', partition: 1, headers: [{ key: 'h', value: null }] });
  assert.deepEqual(second.body, { topic: 'rest-browse', partition: 1, offset: 1 });

  const keyed = await call(base, 'POST', '/api/v1/topics/rest-browse/messages', { key: 'customer-42', value: 'v' });
  assert.equal(keyed.body.partition, partitionForKey(Buffer.from('customer-42'), 3), 'keys land where Kafka clients put them');

  const browsed = await call(base, 'GET', '/api/v1/topics/rest-browse/partitions/1/messages?offset=0&limit=10');
  assert.equal(browsed.status, 200);
  assert.equal(browsed.body.highWatermark, 2);
  assert.equal(browsed.body.nextOffset, 2);
  const [text, bytes] = browsed.body.messages;
  assert.equal(text.offset, 0);
  assert.equal(text.key, 'k');
  assert.equal(text.value, 'héllo wörld');
  assert.equal(text.valueEncoding, 'text');
  assert.deepEqual(text.headers, [{ key: 'trace', value: 'abc', valueEncoding: 'text' }]);
  assert.equal(bytes.offset, 1);
  assert.equal(bytes.key, null);
  assert.equal(bytes.valueEncoding, 'base64');
  assert.deepEqual(Buffer.from(bytes.value, 'base64'), binary);
  assert.deepEqual(bytes.headers, [{ key: 'h', value: null, valueEncoding: null }]);

  const paged = await call(base, 'GET', '/api/v1/topics/rest-browse/partitions/1/messages?offset=1&limit=1');
  assert.deepEqual(paged.body.messages.map((m: any) => m.offset), [1]);
  const byTime = await call(base, 'GET', `/api/v1/topics/rest-browse/partitions/1/messages?timestamp=${text.timestamp}`);
  assert.deepEqual(byTime.body.messages.map((m: any) => m.offset), [0, 1]);
  const future = await call(base, 'GET', `/api/v1/topics/rest-browse/partitions/1/messages?timestamp=${Date.now() + 3_600_000}`);
  assert.deepEqual(future.body.messages, []);
});

test('browse decodes batches a Kafka client compressed', async () => {
  assert.equal((await call(base, 'POST', '/api/v1/topics', { name: 'rest-gzip', partitions: 1 })).status, 201);
  const kafka = new Kafka({ clientId: 'rest-test', brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic: 'rest-gzip',
      compression: CompressionTypes.GZIP,
      messages: [0, 1, 2].map((index) => ({ key: `key-${index}`, value: `value-${index}`, headers: { n: String(index) } })),
    });
  } finally {
    await producer.disconnect();
  }
  const browsed = await call(base, 'GET', '/api/v1/topics/rest-gzip/partitions/0/messages');
  assert.equal(browsed.status, 200);
  assert.deepEqual(browsed.body.messages.map((m: any) => [m.offset, m.key, m.value, m.headers[0].value, m.compression]), [
    [0, 'key-0', 'value-0', '0', 'gzip'],
    [1, 'key-1', 'value-1', '1', 'gzip'],
    [2, 'key-2', 'value-2', '2', 'gzip'],
  ]);
});

test('mistakes get JSON errors that say what is wrong', async () => {
  const expectError = async (reply: Promise<{ status: number; body: any }>, status: number, fragment: RegExp) => {
    const { status: actual, body } = await reply;
    assert.equal(actual, status, JSON.stringify(body));
    assert.equal(typeof body.error, 'string');
    assert.match(body.error, fragment);
  };
  await call(base, 'POST', '/api/v1/topics', { name: 'rest-errors' });
  await expectError(call(base, 'GET', '/api/v1/nothing-here'), 404, /no such resource/);
  await expectError(call(base, 'GET', '/api/v1/topics/missing'), 404, /topic missing does not exist/);
  await expectError(call(base, 'DELETE', '/api/v1/topics/missing'), 404, /does not exist/);
  await expectError(call(base, 'GET', '/api/v1/topics/missing/partitions/0/messages'), 404, /does not exist/);
  await expectError(call(base, 'GET', '/api/v1/topics/rest-errors/partitions/7/messages'), 404, /no partition 7/);
  await expectError(call(base, 'GET', '/api/v1/topics/rest-errors/partitions/x/messages'), 400, /whole number/);
  await expectError(call(base, 'GET', '/api/v1/topics/rest-errors/partitions/0/messages?limit=100000'), 400, /limit must be from 1 to 500/);
  await expectError(call(base, 'GET', '/api/v1/topics/rest-errors/partitions/0/messages?offset=abc'), 400, /offset must be a whole number/);
  await expectError(call(base, 'POST', '/api/v1/topics', { name: 'rest-errors' }), 409, /already exists/);
  await expectError(call(base, 'POST', '/api/v1/topics', undefined, '{not json'), 400, /not valid JSON/);
  await expectError(call(base, 'POST', '/api/v1/topics', undefined, ''), 400, /empty/);
  await expectError(call(base, 'POST', '/api/v1/topics', [1, 2]), 400, /must be a JSON object/);
  await expectError(call(base, 'POST', '/api/v1/topics', { partitions: 1 }), 400, /"name"/);
  await expectError(call(base, 'POST', '/api/v1/topics', { name: 'x', partitions: 0 }), 400, /"partitions" must be a whole number/);
  await expectError(call(base, 'POST', '/api/v1/topics', { name: 'x', colour: 'red' }), 400, /unknown field "colour"/);
  await expectError(call(base, 'POST', '/api/v1/topics', { name: 'bad name!' }), 400, /./);
  await expectError(call(base, 'POST', '/api/v1/topics', { name: 'x', configs: { 'no.such.config': '1' } }), 400, /no.such.config/);
  await expectError(call(base, 'PATCH', '/api/v1/topics/rest-errors/configs', {}), 400, /nothing to change/);
  await expectError(call(base, 'PATCH', '/api/v1/topics/rest-errors/configs', { set: { 'retention.ms': 'soon' } }), 400, /retention.ms/);
  await expectError(call(base, 'POST', '/api/v1/topics/rest-errors/messages', { value: 5 }), 400, /"value" must be a string/);
  await expectError(call(base, 'POST', '/api/v1/topics/rest-errors/messages', { value: 'a', partition: 3 }), 400, /partition 3 does not exist/);
  await expectError(call(base, 'POST', '/api/v1/topics/rest-errors/messages', { value: '***', encoding: 'base64' }), 400, /not valid base64/);
  await expectError(call(base, 'POST', '/api/v1/topics/rest-errors/messages', { value: 'a', headers: 'h' }), 400, /headers/);
  await expectError(call(base, 'PUT', '/api/v1/topics/rest-errors'), 405, /not allowed/);
  await expectError(call(base, 'GET', '/api/v1/groups/some-group'), 404, /consumer group some-group does not exist/);
  await expectError(call(base, 'POST', '/api/v1/groups/some-group/offsets', { to: 'earliest' }), 404, /consumer group some-group does not exist/);
  await expectError(call(base, 'POST', '/api/v1/groups/some-group/offsets', { to: 'yesterday' }), 400, /"to" must be one of/);
  await expectError(call(base, 'POST', '/api/v1/groups/some-group/offsets', { to: 'offset', topic: 'rest-errors' }), 400, /"partition" and "offset" are required/);
  await expectError(call(base, 'POST', '/api/v1/groups/some-group/offsets', { to: 'timestamp' }), 400, /"timestampMs"/);
  await expectError(call(base, 'POST', '/api/v1/groups/some-group/offsets', { to: 'latest', colour: 'red' }), 400, /unknown field "colour"/);
  await expectError(call(base, 'GET', '/api/v1/groups/some-group/offsets'), 405, /not allowed/);
});

test('consumer groups: a real kafkajs group with members, assignment, offsets and lag; offset resets', async () => {
  assert.equal((await call(base, 'POST', '/api/v1/topics', { name: 'rest-group', partitions: 2 })).status, 201);
  for (let index = 0; index < 6; index++) {
    assert.equal((await call(base, 'POST', '/api/v1/topics/rest-group/messages', { value: `m${index}`, partition: index % 2 })).status, 201);
  }
  const group = await consumeAndCommit(node.bootstrap, base, 'rest-readers', 'rest-group', 6);
  try {
    const list = await call(base, 'GET', '/api/v1/groups');
    assert.equal(list.status, 200);
    assert.equal(list.body.available, true);
    const summary = list.body.groups.find((g: any) => g.groupId === 'rest-readers');
    assert.deepEqual(summary, { groupId: 'rest-readers', state: 'Stable', protocolType: 'consumer', protocol: summary.protocol, members: 1, totalLag: 0 });
    assert.equal(typeof summary.protocol, 'string');

    const detail = await call(base, 'GET', '/api/v1/groups/rest-readers');
    assert.equal(detail.status, 200);
    assert.equal(detail.body.memberDetails.length, 1);
    const member = detail.body.memberDetails[0];
    assert.equal(member.clientId, 'admin-test-rest-readers');
    assert.deepEqual(member.assignment, [{ topic: 'rest-group', partitions: [0, 1] }]);
    assert.equal(detail.body.leaderId, member.memberId);
    assert.ok(detail.body.generationId >= 1);
    assert.deepEqual(detail.body.offsets, [
      { topic: 'rest-group', partition: 0, committedOffset: 3, highWatermark: 3, lag: 0, memberId: member.memberId },
      { topic: 'rest-group', partition: 1, committedOffset: 3, highWatermark: 3, lag: 0, memberId: member.memberId },
    ]);

    // Paused, the member stays in the group while new messages make lag.
    group.consumer.pause([{ topic: 'rest-group' }]);
    for (let index = 0; index < 2; index++) await call(base, 'POST', '/api/v1/topics/rest-group/messages', { value: `late${index}`, partition: 0 });
    const lagging = await call(base, 'GET', '/api/v1/groups/rest-readers');
    assert.deepEqual(lagging.body.offsets.map((o: any) => [o.partition, o.committedOffset, o.highWatermark, o.lag]), [[0, 3, 5, 2], [1, 3, 3, 0]]);
    assert.equal(lagging.body.totalLag, 2);

    const refused = await call(base, 'POST', '/api/v1/groups/rest-readers/offsets', { to: 'earliest' });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error, /rest-readers has 1 member\(s\); stop them first/);
  } finally {
    await group.stop();
  }
  await waitFor('the group to become empty', async () => {
    const { body } = await call(base, 'GET', '/api/v1/groups/rest-readers');
    return body.members === 0 ? true : undefined;
  });

  const lagOf = (reply: { body: any }) => reply.body.offsets.map((o: any) => [o.partition, o.committedOffset, o.lag]);
  const earliest = await call(base, 'POST', '/api/v1/groups/rest-readers/offsets', { to: 'earliest' });
  assert.equal(earliest.status, 200, JSON.stringify(earliest.body));
  assert.deepEqual(lagOf(earliest), [[0, 0, 5], [1, 0, 3]]);
  const one = await call(base, 'POST', '/api/v1/groups/rest-readers/offsets', { to: 'offset', topic: 'rest-group', partition: 1, offset: 2 });
  assert.deepEqual(lagOf(one), [[0, 0, 5], [1, 2, 1]]);
  const beyond = await call(base, 'POST', '/api/v1/groups/rest-readers/offsets', { to: 'offset', topic: 'rest-group', partition: 0, offset: 1000 });
  assert.deepEqual(lagOf(beyond), [[0, 5, 0], [1, 2, 1]], 'an offset past the end moves to the high watermark');
  const latest = await call(base, 'POST', '/api/v1/groups/rest-readers/offsets', { to: 'latest', topic: 'rest-group' });
  assert.deepEqual(lagOf(latest), [[0, 5, 0], [1, 3, 0]]);
  const byTime = await call(base, 'POST', '/api/v1/groups/rest-readers/offsets', { to: 'timestamp', timestampMs: 0 });
  assert.deepEqual(lagOf(byTime), [[0, 0, 5], [1, 0, 3]], 'timestamp 0 is before every record');
  const described = await call(base, 'GET', '/api/v1/groups/rest-readers');
  assert.equal(described.body.state, 'Empty');
  assert.equal(described.body.totalLag, 8);
  const history = await call(base, 'GET', '/api/v1/groups/rest-readers/lag-history');
  assert.equal(history.status, 200);
  assert.equal(history.body.samples.at(-1).totalLag, 8);

  const missingTopic = await call(base, 'POST', '/api/v1/groups/rest-readers/offsets', { to: 'latest', topic: 'no-such-topic' });
  assert.equal(missingTopic.status, 404);
  assert.match(missingTopic.body.error, /topic no-such-topic does not exist/);
  const missingPartition = await call(base, 'POST', '/api/v1/groups/rest-readers/offsets', { to: 'offset', topic: 'rest-group', partition: 9, offset: 0 });
  assert.equal(missingPartition.status, 404);
});
