// Proves HA presets on a real `tide start --preset single` process: a plain topic gets the single
// preset's defaults (RF 1, min ISR 1, flush async); a topic with preset=sync-replica and RF -1 is
// refused with INVALID_REPLICATION_FACTOR on one node (its RF 3 caps to 1, below min ISR 2); with
// an explicit min.insync.replicas=1 it is created with RF 1 and flush=sync from the preset; an
// explicit RF 3 is refused as in Kafka. Effective settings are read from GET /api/v1/topics/:name.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';
import { call } from '../admin/http-client.ts';
import { expectKafkaError } from './admin-errors.ts';

let node: TideProcess;
let admin: Admin;
let base: string;

before(async () => {
  node = await startTide({ args: ['--preset', 'single'] });
  base = `http://127.0.0.1:${node.httpPort}`;
  const kafka = new Kafka({ clientId: 'presets-test', brokers: [node.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 } });
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  await admin?.disconnect();
  const exit = await stopTide(node);
  assert.equal(exit.code, 0, 'tide exits 0 on SIGTERM');
  await removeDir(node.dataDir);
});

async function effective(topic: string): Promise<{ replicationFactor: number; minIsr: string; flush: string }> {
  const { status, body } = await call(base, 'GET', `/api/v1/topics/${topic}`);
  assert.equal(status, 200, JSON.stringify(body));
  const configs = new Map((body.configs as Array<{ name: string; value: string }>).map((entry) => [entry.name, entry.value]));
  return { replicationFactor: body.replicationFactor, minIsr: configs.get('min.insync.replicas')!, flush: configs.get('flush')! };
}

test('a plain topic gets the cluster preset single', async () => {
  assert.equal(await admin.createTopics({ topics: [{ topic: 'plain' }] }), true);
  assert.deepEqual(await effective('plain'), { replicationFactor: 1, minIsr: '1', flush: 'async' });
});

test('preset=sync-replica with RF -1 is refused on one node: RF caps to 1, below min ISR 2', async () => {
  await expectKafkaError(
    () => admin.createTopics({ topics: [{ topic: 'strict', configEntries: [{ name: 'preset', value: 'sync-replica' }] }] }),
    'INVALID_REPLICATION_FACTOR', 'sync-replica on one node');
  assert.ok(!(await admin.listTopics()).includes('strict'));
});

test('preset=sync-replica with an explicit min ISR 1 is created capped to RF 1 and flushes sync', async () => {
  const configEntries = [{ name: 'preset', value: 'sync-replica' }, { name: 'min.insync.replicas', value: '1' }];
  assert.equal(await admin.createTopics({ topics: [{ topic: 'strict-one', configEntries }] }), true);
  assert.deepEqual(await effective('strict-one'), { replicationFactor: 1, minIsr: '1', flush: 'sync' });
  const producer = new Kafka({ clientId: 'presets-producer', brokers: [node.bootstrap], logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  try {
    const [sent] = await producer.send({ topic: 'strict-one', acks: -1, messages: [{ value: 'durable' }] });
    assert.equal(sent!.errorCode, 0);
  } finally {
    await producer.disconnect();
  }
});

test('preset=async-replica with RF -1 caps to the one broker; an explicit RF 3 is refused', async () => {
  assert.equal(await admin.createTopics({ topics: [{ topic: 'relaxed', configEntries: [{ name: 'preset', value: 'async-replica' }] }] }), true);
  assert.deepEqual(await effective('relaxed'), { replicationFactor: 1, minIsr: '1', flush: 'async' });
  await expectKafkaError(
    () => admin.createTopics({ topics: [{ topic: 'too-many', replicationFactor: 3, configEntries: [{ name: 'preset', value: 'async-replica' }] }] }),
    'INVALID_REPLICATION_FACTOR', 'explicit RF 3 on one node');
});
