// Proves alerts inside a real node: started with a tiny disk.max.used.ratio, the disk alert fires
// (and test messages are refused with 507); a topic whose min.insync.replicas exceeds its replicas
// fires the under-min-ISR alert, visible in /api/v1/alerts and /metrics, and lowering the setting
// resolves it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';
import { call, metricValue } from './http-client.ts';

let node: TideProcess;
let base: string;

before(async () => {
  node = await startTide({ args: ['--disk.max.used.ratio', '0.01'] });
  base = `http://127.0.0.1:${node.httpPort}`;
});

after(async () => {
  await stopTide(node);
  await removeDir(node.dataDir);
});

const firingNames = (body: any) => body.firing.map((alert: any) => alert.name).sort();

test('the disk alert fires when the disk is fuller than disk.max.used.ratio', async () => {
  const { status, body } = await call(base, 'GET', '/api/v1/alerts');
  assert.equal(status, 200);
  const disk = body.firing.find((alert: any) => alert.name === 'TideDiskAboveMaxUsedRatio');
  assert.ok(disk, JSON.stringify(body));
  assert.equal(disk.severity, 'critical');
  assert.match(disk.description, /above disk\.max\.used\.ratio 0\.01/);
  assert.ok(body.rules.length >= 5);

  assert.equal((await call(base, 'POST', '/api/v1/topics', { name: 'full-disk' })).status, 201);
  const refused = await call(base, 'POST', '/api/v1/topics/full-disk/messages', { value: 'x' });
  assert.equal(refused.status, 507);
  assert.match(refused.body.error, /disk\.max\.used\.ratio/);
});

test('under-min-ISR fires and resolves as min.insync.replicas changes', async () => {
  const created = await call(base, 'POST', '/api/v1/topics', { name: 'strict', configs: { 'min.insync.replicas': '2' } });
  assert.equal(created.status, 201);
  assert.equal(created.body.partitionDetails[0].underMinIsr, true);

  const firing = await call(base, 'GET', '/api/v1/alerts');
  assert.deepEqual(firingNames(firing.body), ['TideDiskAboveMaxUsedRatio', 'TideUnderMinIsrPartition']);
  const alert = firing.body.firing.find((a: any) => a.name === 'TideUnderMinIsrPartition');
  assert.deepEqual(alert.labels, { topic: 'strict', partition: '0' });
  assert.match(alert.description, /1 in-sync replica\(s\), min\.insync\.replicas is 2/);
  assert.equal(metricValue(await (await fetch(`${base}/metrics`)).text(), 'tide_partitions', 'state="under_min_isr"'), 1);

  assert.equal((await call(base, 'PATCH', '/api/v1/topics/strict/configs', { set: { 'min.insync.replicas': '1' } })).status, 200);
  const resolved = await call(base, 'GET', '/api/v1/alerts');
  assert.deepEqual(firingNames(resolved.body), ['TideDiskAboveMaxUsedRatio']);
  const history = resolved.body.resolved.find((a: any) => a.name === 'TideUnderMinIsrPartition');
  assert.equal(history.state, 'resolved');
  assert.equal(typeof history.resolvedAt, 'string');
  assert.equal(metricValue(await (await fetch(`${base}/metrics`)).text(), 'tide_partitions', 'state="under_min_isr"'), 0);
});
