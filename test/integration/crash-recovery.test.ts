// Proves nothing acknowledged is lost when the node is SIGKILLed during continuous acks=all
// production: after a restart on the same data directory every acknowledged message is at the
// offset it was acknowledged with, nothing is duplicated, and new offsets continue after the old ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { readPartition } from '../helpers/read-all.ts';
import { killTide, makeTempDir, removeDir, startTide, stopTide } from '../helpers/tide-process.ts';

for (const flush of ['async', 'sync'] as const) {
  test(`SIGKILL during acks=all production loses no acknowledged message (flush=${flush})`, async () => {
    const dataDir = await makeTempDir();
    const topic = `crash-${flush}`;
    let node = await startTide({ dataDir, args: ['--log.flush', flush, '--log.segment.bytes', String(256 * 1024)] });
    const kafka = new Kafka({ clientId: 'crash-test', brokers: [node.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();

    // value -> acknowledged offset
    const acknowledged = new Map<string, number>();
    let sentBatches = 0;
    let stop = false;
    const deadline = Date.now() + 20_000;
    // Several sends in flight at once, as a busy service would have.
    const workers = Array.from({ length: 4 }, async (_, worker) => {
      while (!stop && Date.now() < deadline && sentBatches < 5000) {
        const batch = sentBatches++;
        const values = Array.from({ length: 20 }, (_, i) => `w${worker}-b${batch}-m${i}`);
        try {
          const [result] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
          values.forEach((value, i) => acknowledged.set(value, Number(result!.baseOffset) + i));
        } catch {
          return; // the node is gone: unacknowledged sends may or may not be stored
        }
      }
    });
    while (acknowledged.size < 4000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await killTide(node);
    stop = true;
    await Promise.all(workers);
    await producer.disconnect().catch(() => {});
    assert.ok(acknowledged.size >= 4000, `enough acknowledged before the kill (${acknowledged.size})`);

    node = await startTide({ dataDir });
    try {
      const { records, highWatermark } = await readPartition(node.kafkaPort, topic, 0);
      const stored = new Map<string, number>();
      for (const record of records) {
        const value = record.value!.toString();
        assert.ok(!stored.has(value), `value ${value} stored once`);
        stored.set(value, record.offset);
      }
      for (const [value, offset] of acknowledged) assert.equal(stored.get(value), offset, `acknowledged ${value} at offset ${offset}`);
      records.forEach((record, index) => assert.equal(record.offset, index, 'offsets dense'));

      const again = new Kafka({ clientId: 'crash-test-2', brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
      const producer2 = again.producer();
      await producer2.connect();
      const [result] = await producer2.send({ topic, acks: -1, messages: [{ value: 'after-restart' }] });
      await producer2.disconnect();
      assert.equal(Number(result!.baseOffset), highWatermark, 'new offsets continue after the old ones');
    } finally {
      await stopTide(node);
      await removeDir(dataDir);
    }
  });
}
