// Proves /metrics of a real node: Prometheus text with every metric Tide promises today (state
// gauges, traffic counters, the request histogram, process metrics), that producing and consuming
// with a Kafka client moves the counters, the offsets gauges and the histogram, and that
// tide_consumer_group_lag follows a real kafkajs group as messages are produced and consumed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { readPartition } from '../helpers/read-all.ts';
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';
import { consumeAndCommit, waitFor } from './group-client.ts';
import { call, metricValue } from './http-client.ts';

let node: TideProcess;
let base: string;

before(async () => {
  node = await startTide({ args: ['--group.initial.rebalance.delay.ms', '0'] });
  base = `http://127.0.0.1:${node.httpPort}`;
});

after(async () => {
  await stopTide(node);
  await removeDir(node.dataDir);
});

async function scrape(): Promise<string> {
  const response = await fetch(`${base}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
  return response.text();
}

test('/metrics names every promised metric', async () => {
  const text = await scrape();
  for (const name of [
    'tide_partitions', 'tide_partition_high_watermark', 'tide_partition_log_end_offset', 'tide_broker_bytes_in_total',
    'tide_broker_bytes_out_total', 'tide_broker_messages_in_total', 'tide_request_duration_seconds', 'tide_isr_shrinks_total',
    'tide_isr_expands_total', 'tide_leader_elections_total', 'tide_unclean_leader_elections_total', 'tide_produce_backlog_waits_total', 'tide_controller_active', 'tide_raft_term', 'tide_disk_used_ratio', 'tide_consumer_group_lag',
    'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is exported`);
  }
  assert.equal(metricValue(text, 'tide_controller_active'), 1);
  const diskRatio = metricValue(text, 'tide_disk_used_ratio')!;
  assert.ok(diskRatio > 0 && diskRatio <= 1, `disk ratio ${diskRatio}`);
});

test('producing and consuming moves the counters, offsets and request histogram', async () => {
  assert.equal((await call(base, 'POST', '/api/v1/topics', { name: 'metered', partitions: 1 })).status, 201);
  const before = await scrape();
  // Every hosted partition is online (the internal __consumer_offsets partitions count too).
  const online = metricValue(before, 'tide_partitions', 'state="online"') ?? 0;
  assert.ok(online >= 1, `online partitions ${online}`);
  assert.equal(metricValue(before, 'tide_partitions', 'state="offline"') ?? 0, 0);
  assert.equal(metricValue(before, 'tide_partition_high_watermark', 'topic="metered"'), 0);
  const bytesInBefore = metricValue(before, 'tide_broker_bytes_in_total') ?? 0;
  const messagesInBefore = metricValue(before, 'tide_broker_messages_in_total') ?? 0;

  const kafka = new Kafka({ clientId: 'metrics-test', brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'metered', messages: Array.from({ length: 5 }, (_, index) => ({ value: `message ${index}` })) });
  await producer.disconnect();

  const bytesOutBefore = metricValue(await scrape(), 'tide_broker_bytes_out_total') ?? 0;
  const read = await readPartition(node.kafkaPort, 'metered', 0);
  assert.equal(read.records.length, 5);

  const after = await scrape();
  assert.ok(metricValue(after, 'tide_broker_bytes_in_total')! > bytesInBefore);
  assert.equal(metricValue(after, 'tide_broker_messages_in_total')! - messagesInBefore, 5);
  assert.equal(metricValue(after, 'tide_topic_messages_in_total', 'topic="metered"'), 5);
  assert.equal(metricValue(after, 'tide_partition_high_watermark', 'topic="metered"'), 5);
  assert.equal(metricValue(after, 'tide_partition_log_end_offset', 'topic="metered"'), 5);
  assert.ok(metricValue(after, 'tide_broker_bytes_out_total')! > bytesOutBefore);
  assert.ok(metricValue(after, 'tide_request_duration_seconds_count', 'api="Produce"')! >= 1);
  assert.ok(metricValue(after, 'tide_request_duration_seconds_count', 'api="Fetch"')! >= 1);
});

test('tide_consumer_group_lag follows produce and consume', async () => {
  assert.equal((await call(base, 'POST', '/api/v1/topics', { name: 'lagged', partitions: 1 })).status, 201);
  const produce = async (count: number) => {
    for (let index = 0; index < count; index++) assert.equal((await call(base, 'POST', '/api/v1/topics/lagged/messages', { value: `v${index}` })).status, 201);
  };
  const lag = async () => metricValue(await scrape(), 'tide_consumer_group_lag', 'group="lag-meter",topic="lagged",partition="0"');
  assert.equal(await lag(), null, 'no series before the group exists');
  assert.match(await scrape(), /^# TYPE tide_consumer_group_lag gauge$/m);

  await produce(4);
  const group = await consumeAndCommit(node.bootstrap, base, 'lag-meter', 'lagged', 4);
  try {
    assert.equal(await lag(), 0);
    group.consumer.pause([{ topic: 'lagged' }]);
    await produce(3);
    assert.equal(await lag(), 3, 'messages produced while the consumer is paused are lag');
    group.consumer.resume([{ topic: 'lagged' }]);
    await waitFor('the consumer to catch up and commit', async () => ((await lag()) === 0 ? true : undefined));
    assert.equal(group.received.length, 7);
  } finally {
    await group.stop();
  }
  await produce(2);
  assert.equal(await lag(), 2, 'an empty group keeps its lag');
});
