// Proves the alert evaluator and webhook delivery in-process: a condition becomes pending, fires
// once its rule's "for" duration has passed and resolves when it clears; every transition is POSTed
// as JSON to a real local HTTP receiver, retried after failures, and a dead webhook never holds up
// evaluation; the consumer-lag rule goes by partition against alert.consumer.lag.max and its
// duration. Also checks the key partitioner against kafkajs's murmur2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { builtInAlertRules, defaultAlertThresholds } from '../../src/admin/alert-rules.ts';
import { AlertEvaluator } from '../../src/admin/alerts.ts';
import type { ClusterHealth, PartitionHealth } from '../../src/admin/cluster-health.ts';
import { murmur2 } from '../../src/admin/key-partitioner.ts';
import { parseWebhookUrls, WebhookSender } from '../../src/admin/webhook-sender.ts';
import { silentLogger } from '../../src/util/log.ts';

function partition(overrides: Partial<PartitionHealth> = {}): PartitionHealth {
  return {
    topic: 't', partition: 0, leader: 1, replicas: [1], isr: [1], minInsyncReplicas: 1, offline: false, underReplicated: false, underMinIsr: false,
    logStartOffset: 0, highWatermark: 0, logEndOffset: 0, ...overrides,
  };
}

function healthy(): ClusterHealth {
  return {
    clusterId: 'c', nodeId: 1, controllerId: 1, controllerActive: true,
    brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092, rack: null, state: 'online' }],
    partitions: [partition()],
    disk: { usedRatio: 0.5, maxUsedRatio: 0.9 },
  };
}

interface Receiver {
  server: Server;
  url: string;
  received: any[];
  /** Answer this many requests with 500 before accepting. */
  failFirst: number;
  waitFor(count: number): Promise<void>;
}

async function startReceiver(failFirst = 0): Promise<Receiver> {
  const received: any[] = [];
  const waiters: Array<() => void> = [];
  const receiver = { received, failFirst, waitFor: (count: number) => new Promise<void>((resolve) => {
    const check = () => (received.length >= count ? resolve() : waiters.push(check));
    check();
  }) } as Receiver;
  receiver.server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (receiver.failFirst > 0) {
        receiver.failFirst--;
        response.writeHead(500).end();
        return;
      }
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      response.writeHead(204).end();
      for (const waiter of waiters.splice(0)) waiter();
    });
  });
  await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
  const address = receiver.server.address();
  receiver.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook?token=secret`;
  return receiver;
}

test('an alert is pending for its "for" duration, then fires, then resolves', () => {
  let now = 1_000_000;
  let health = healthy();
  const evaluator = new AlertEvaluator({ rules: builtInAlertRules(), health: () => health, webhooks: null, logger: silentLogger, nowMs: () => now });
  evaluator.evaluate();
  assert.deepEqual(evaluator.snapshot().firing, []);

  health = { ...healthy(), partitions: [partition({ isr: [1], replicas: [1, 2], underReplicated: true })] };
  evaluator.evaluate();
  let snapshot = evaluator.snapshot();
  assert.deepEqual(snapshot.pending.map((a) => [a.name, a.labels]), [['TideUnderReplicatedPartition', { topic: 't', partition: '0' }]]);
  assert.deepEqual(snapshot.firing, []);

  now += defaultAlertThresholds.underReplicatedForMs - 1;
  evaluator.evaluate();
  assert.equal(evaluator.snapshot().firing.length, 0, 'not yet: one millisecond short of the threshold');
  now += 1;
  evaluator.evaluate();
  snapshot = evaluator.snapshot();
  assert.deepEqual(snapshot.firing.map((a) => a.name), ['TideUnderReplicatedPartition']);
  assert.equal(snapshot.firing[0]!.severity, 'warning');

  health = healthy();
  now += 5000;
  evaluator.evaluate();
  snapshot = evaluator.snapshot();
  assert.deepEqual(snapshot.firing, []);
  assert.deepEqual(snapshot.resolved.map((a) => [a.name, a.state, a.resolvedAt]), [['TideUnderReplicatedPartition', 'resolved', new Date(now).toISOString()]]);
});

test('rules with no grace period fire at the first evaluation; a pending alert that clears is not reported', () => {
  let health: ClusterHealth = {
    ...healthy(),
    controllerActive: false,
    disk: { usedRatio: 0.95, maxUsedRatio: 0.9 },
    partitions: [partition({ leader: -1, offline: true }), partition({ partition: 1, minInsyncReplicas: 2, underMinIsr: true })],
  };
  const evaluator = new AlertEvaluator({ rules: builtInAlertRules(), health: () => health, webhooks: null, logger: silentLogger, nowMs: () => 0 });
  evaluator.evaluate();
  const snapshot = evaluator.snapshot();
  assert.deepEqual(snapshot.firing.map((a) => a.name).sort(), ['TideDiskAboveMaxUsedRatio', 'TideOfflinePartition', 'TideUnderMinIsrPartition']);
  assert.deepEqual(snapshot.pending.map((a) => a.name), ['TideNoActiveController']);
  health = healthy();
  evaluator.evaluate();
  assert.deepEqual(evaluator.snapshot().resolved.map((a) => a.name).sort(), ['TideDiskAboveMaxUsedRatio', 'TideOfflinePartition', 'TideUnderMinIsrPartition']);
});

test('firing and resolved alerts reach the webhook as JSON, retried after failures', async () => {
  const receiver = await startReceiver(2);
  const webhooks = new WebhookSender([receiver.url], silentLogger, { retryBaseDelayMs: 10, maxAttempts: 5 });
  let health: ClusterHealth = { ...healthy(), disk: { usedRatio: 0.95, maxUsedRatio: 0.9 } };
  const evaluator = new AlertEvaluator({ rules: builtInAlertRules(), health: () => health, webhooks, logger: silentLogger });
  try {
    evaluator.evaluate();
    health = healthy();
    evaluator.evaluate();
    await receiver.waitFor(2);
    assert.deepEqual(receiver.received.map((n) => [n.status, n.alert.name, n.alert.labels]), [
      ['firing', 'TideDiskAboveMaxUsedRatio', { node: '1' }],
      ['resolved', 'TideDiskAboveMaxUsedRatio', { node: '1' }],
    ]);
    assert.equal(receiver.received[0].clusterId, 'c');
    assert.equal(receiver.received[0].version, 1);
    // The receiver has the body before the sender sees the answer; wait (bounded) for the count.
    for (let wait = 0; wait < 500 && webhooks.statuses()[0]!.delivered < 2; wait++) await new Promise((resolve) => setTimeout(resolve, 10));
    const [status] = evaluator.snapshot().webhooks;
    assert.equal(status!.target, new URL(receiver.url).origin + '/hook', 'the token in the query string is not shown');
    assert.equal(status!.delivered, 2);
    assert.equal(status!.lastError, 'HTTP 500');
  } finally {
    evaluator.stop();
    receiver.server.close();
  }
});

test('a dead webhook does not hold up evaluation; its deliveries fail after the retries', async () => {
  const receiver = await startReceiver(1000);
  const webhooks = new WebhookSender([receiver.url], silentLogger, { retryBaseDelayMs: 1, maxAttempts: 3 });
  let diskFull = true;
  const evaluator = new AlertEvaluator({
    rules: builtInAlertRules(),
    health: () => ({ ...healthy(), disk: { usedRatio: diskFull ? 0.95 : 0.1, maxUsedRatio: 0.9 } }),
    webhooks,
    logger: silentLogger,
  });
  try {
    // evaluate() is synchronous: it returns before any delivery attempt has been made.
    for (let round = 0; round < 10; round++) {
      evaluator.evaluate();
      diskFull = !diskFull;
    }
    assert.equal(evaluator.snapshot().resolved.length, 5);
    for (let wait = 0; wait < 500 && webhooks.statuses()[0]!.failed < 10; wait++) await new Promise((resolve) => setTimeout(resolve, 10));
    const status = webhooks.statuses()[0]!;
    assert.equal(status.failed, 10);
    assert.equal(status.delivered, 0);
  } finally {
    evaluator.stop();
    receiver.server.close();
  }
});

test('webhook URLs are parsed and checked', () => {
  assert.deepEqual(parseWebhookUrls(null), []);
  assert.deepEqual(parseWebhookUrls(' http://a.example/x , https://b.example/y'), ['http://a.example/x', 'https://b.example/y']);
  assert.throws(() => parseWebhookUrls('ftp://a.example/'), /must be http or https/);
  assert.throws(() => parseWebhookUrls('not a url'), /is not a URL/);
});

test('murmur2 matches the Kafka client implementation', () => {
  const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;
  for (const key of ['', 'a', 'ab', 'abc', 'abcd', 'customer-42', 'héllo wörld', '21', 'x'.repeat(101)]) {
    assert.equal(murmur2(Buffer.from(key)), kafkajsMurmur2(Buffer.from(key)), `key "${key}"`);
  }
  assert.equal(murmur2(Buffer.from('21')), -973932308, 'the value Kafka\'s own Utils tests give');
});

test('consumer lag above the threshold is pending for its duration, then fires per partition, then resolves', () => {
  let now = 5_000_000;
  const thresholds = { ...defaultAlertThresholds, consumerLagMax: 100, consumerLagForMs: 60_000 };
  let lags = [
    { groupId: 'g', topic: 't', partition: 0, lag: 101 },
    { groupId: 'g', topic: 't', partition: 1, lag: 100 },
  ];
  const evaluator = new AlertEvaluator({
    rules: builtInAlertRules(thresholds), health: () => ({ ...healthy(), consumerLag: lags }), webhooks: null, logger: silentLogger, nowMs: () => now,
  });
  evaluator.evaluate();
  assert.deepEqual(evaluator.snapshot().pending.map((alert) => [alert.name, alert.labels]), [['TideConsumerLag', { group: 'g', topic: 't', partition: '0' }]], 'lag equal to the maximum is not above it');
  now += thresholds.consumerLagForMs - 1;
  evaluator.evaluate();
  assert.equal(evaluator.snapshot().firing.length, 0);
  now += 1;
  evaluator.evaluate();
  const [firing] = evaluator.snapshot().firing;
  assert.equal(firing?.name, 'TideConsumerLag');
  assert.equal(firing?.description, 'group g is 101 messages behind on t-0 (above 100)');
  lags = [{ groupId: 'g', topic: 't', partition: 0, lag: 3 }];
  now += 1000;
  evaluator.evaluate();
  const snapshot = evaluator.snapshot();
  assert.equal(snapshot.firing.length, 0);
  assert.deepEqual(snapshot.resolved.map((alert) => [alert.name, alert.state]), [['TideConsumerLag', 'resolved']]);
  assert.deepEqual(builtInAlertRules().find((rule) => rule.name === 'TideConsumerLag')?.forMs, 300_000, 'the default duration is five minutes');
});
