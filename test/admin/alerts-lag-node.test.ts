// Proves the consumer-lag alert inside a real node: with alert.consumer.lag.max 2 and
// alert.consumer.lag.for.ms 1000, a real kafkajs group that falls 3 messages behind fires
// TideConsumerLag only after the lag has held for the duration, shown in /api/v1/alerts; resetting
// its offsets to latest resolves it; and a test HTTP server receives both the firing and the
// resolved webhook payloads.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';
import { consumeAndCommit, waitFor } from './group-client.ts';
import { call, metricValue } from './http-client.ts';

const lagForMs = 1000;
/** Webhook bodies kept by the test receiver; far more than the test sends. */
const maxReceived = 100;

let node: TideProcess;
let base: string;
let receiver: Server;
const received: any[] = [];

before(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (received.length < maxReceived) received.push({ path: request.url, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/tide?token=secret`;
  node = await startTide({
    args: [
      '--group.initial.rebalance.delay.ms', '0',
      '--alert.consumer.lag.max', '2',
      '--alert.consumer.lag.for.ms', String(lagForMs),
      '--alert.evaluation.interval.ms', '200',
      '--alert.webhook.urls', hookUrl,
    ],
  });
  base = `http://127.0.0.1:${node.httpPort}`;
});

after(async () => {
  if (node) {
    await stopTide(node);
    await removeDir(node.dataDir);
  }
  await new Promise((resolve) => receiver?.close(resolve));
});

const lagAlert = (alerts: any[]) => alerts.find((alert) => alert.name === 'TideConsumerLag' && alert.labels.group === 'slow-readers');
const hook = (status: string) => received.find((entry) => entry.body.status === status && entry.body.alert.name === 'TideConsumerLag');

test('consumer lag above alert.consumer.lag.max fires after its duration and resolves, with webhooks', async () => {
  const rules = (await call(base, 'GET', '/api/v1/alerts')).body.rules;
  assert.deepEqual(rules.find((rule: any) => rule.name === 'TideConsumerLag'), {
    name: 'TideConsumerLag', severity: 'warning', forMs: lagForMs,
    summary: 'A consumer group partition is more than 2 messages behind (alert.consumer.lag.max)',
  });

  assert.equal((await call(base, 'POST', '/api/v1/topics', { name: 'slow', partitions: 1 })).status, 201);
  const produce = async (count: number) => {
    for (let index = 0; index < count; index++) assert.equal((await call(base, 'POST', '/api/v1/topics/slow/messages', { value: `v${index}` })).status, 201);
  };
  await produce(2);
  const group = await consumeAndCommit(node.bootstrap, base, 'slow-readers', 'slow', 2);
  await group.stop();
  await produce(3);
  assert.equal(metricValue(await (await fetch(`${base}/metrics`)).text(), 'tide_consumer_group_lag', 'group="slow-readers"'), 3);

  const firing = await waitFor('TideConsumerLag to fire', async () => lagAlert((await call(base, 'GET', '/api/v1/alerts')).body.firing));
  assert.deepEqual(firing.labels, { group: 'slow-readers', topic: 'slow', partition: '0' });
  assert.equal(firing.severity, 'warning');
  assert.match(firing.description, /slow-readers is 3 messages behind on slow-0 \(above 2\)/);
  assert.ok(Date.parse(firing.firingSince) - Date.parse(firing.activeSince) >= lagForMs, 'fires only after the lag held for alert.consumer.lag.for.ms');

  const firedHook = await waitFor('the firing webhook', async () => hook('firing'));
  assert.equal(firedHook.path, '/hooks/tide?token=secret');
  assert.equal(firedHook.body.version, 1);
  assert.equal(firedHook.body.nodeId, 1);
  assert.equal(firedHook.body.alert.state, 'firing');
  assert.deepEqual(firedHook.body.alert.labels, { group: 'slow-readers', topic: 'slow', partition: '0' });

  const reset = await call(base, 'POST', '/api/v1/groups/slow-readers/offsets', { to: 'latest' });
  assert.equal(reset.status, 200, JSON.stringify(reset.body));
  const resolved = await waitFor('TideConsumerLag to resolve', async () => {
    const { body } = await call(base, 'GET', '/api/v1/alerts');
    return lagAlert(body.firing) === undefined ? lagAlert(body.resolved) : undefined;
  });
  assert.equal(resolved.state, 'resolved');
  assert.equal(typeof resolved.resolvedAt, 'string');

  const resolvedHook = await waitFor('the resolved webhook', async () => hook('resolved'));
  assert.equal(resolvedHook.body.alert.state, 'resolved');
  assert.deepEqual(resolvedHook.body.alert.labels, { group: 'slow-readers', topic: 'slow', partition: '0' });
  assert.ok(received.indexOf(firedHook) < received.indexOf(resolvedHook), 'firing is delivered before resolved');
  const webhooks = (await call(base, 'GET', '/api/v1/alerts')).body.webhooks;
  assert.equal(webhooks[0].target, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/tide`, 'the token is not shown');
  assert.ok(webhooks[0].delivered >= 2);
});
