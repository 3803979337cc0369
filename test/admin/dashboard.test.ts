// Proves the dashboard in a real headless Chromium (Debian's chromium through playwright-core)
// against a real node: every page loads without a console error or page error (the strict CSP
// included) and shows the real topic, message and a real kafkajs consumer group with its member,
// lag per partition and lag chart; the forms create a topic, produce a message and reset the
// group's offsets (offered only once the group has no members).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { removeDir, startTide, stopTide, type TideProcess } from '../helpers/tide-process.ts';
import { consumeAndCommit, waitFor, type RunningGroup } from './group-client.ts';
import { call } from './http-client.ts';

const chromiumPath = process.env['TIDE_CHROMIUM'] ?? '/usr/bin/chromium';
/** Upper bound on waiting for something to appear; the pages normally render in milliseconds. */
const appearTimeoutMs = 15_000;

let node: TideProcess;
let base: string;
let browser: Browser;
let page: Page;
let group: RunningGroup | null = null;
const problems: string[] = [];

before(async () => {
  assert.ok(existsSync(chromiumPath), `${chromiumPath} is missing: run scripts/ensure-chromium.sh (as root it installs Debian's chromium)`);
  node = await startTide({ args: ['--group.initial.rebalance.delay.ms', '0'] });
  base = `http://127.0.0.1:${node.httpPort}`;
  assert.equal((await call(base, 'POST', '/api/v1/topics', { name: 'dash-orders', partitions: 2 })).status, 201);
  assert.equal((await call(base, 'POST', '/api/v1/topics/dash-orders/messages', { key: 'order-1', value: 'first order from the API', partition: 1, headers: { source: 'test' } })).status, 201);
  // A member that has read the first message, then paused while three more arrive: lag 3 on partition 1.
  group = await consumeAndCommit(node.bootstrap, base, 'dash-readers', 'dash-orders', 1);
  group.consumer.pause([{ topic: 'dash-orders' }]);
  for (let index = 0; index < 3; index++) {
    assert.equal((await call(base, 'POST', '/api/v1/topics/dash-orders/messages', { value: `later ${index}`, partition: 1 })).status, 201);
  }
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  page = await browser.newPage();
  page.on('console', (message) => { if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`); });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
});

after(async () => {
  await group?.stop();
  await browser?.close();
  if (node) {
    await stopTide(node);
    await removeDir(node.dataDir);
  }
});

async function open(hash: string, visible: string): Promise<void> {
  await page.goto(`${base}/${hash}`);
  await page.getByText(visible, { exact: false }).first().waitFor({ timeout: appearTimeoutMs });
}

test('every page loads without errors and shows real data', async () => {
  await open('#/', '1 / 1 up');
  await page.getByText('Throughput').first().waitFor({ timeout: appearTimeoutMs });
  await open('#/brokers', 'this node');
  await open('#/topics', 'dash-orders');
  await open('#/topics/dash-orders', 'Partitions');
  await page.locator('tr[data-partition="1"]').getByText('in sync').waitFor({ timeout: appearTimeoutMs });
  await open('#/messages?topic=dash-orders&partition=1', 'first order from the API');
  assert.equal(await page.getByText('source=test').count(), 1);
  await open('#/groups', 'dash-readers');
  const listed = page.locator('tr[data-group="dash-readers"]');
  await listed.getByText('Stable').waitFor({ timeout: appearTimeoutMs });
  assert.equal(await listed.locator('td.total-lag').textContent(), '3');
  await open('#/groups/dash-readers', 'Lag per partition');
  const partitionRow = page.locator('tr[data-topic="dash-orders"][data-partition="1"]');
  await partitionRow.locator('td.lag', { hasText: '3' }).waitFor({ timeout: appearTimeoutMs });
  const memberId = (await call(base, 'GET', '/api/v1/groups/dash-readers')).body.memberDetails[0].memberId;
  assert.deepEqual(await partitionRow.locator('td').allTextContents(), ['dash-orders', '1', '1', '4', '3', memberId], 'topic, partition, committed, high watermark, lag, member');
  await page.getByRole('cell', { name: 'admin-test-dash-readers', exact: true }).waitFor({ timeout: appearTimeoutMs });
  assert.equal(await page.locator('svg[aria-label="lag over time"]').count(), 1);
  assert.equal(await page.locator('#reset-offsets button[type="submit"]').isDisabled(), true, 'no reset while the group has members');
  await page.getByText('stop its consumers to reset offsets').waitFor({ timeout: appearTimeoutMs });
  await open('#/alerts', 'TideDiskAboveMaxUsedRatio');
  assert.deepEqual(problems, []);
});

test('the forms create a topic and produce a test message', async () => {
  await open('#/topics', 'Create a topic');
  await page.locator('#create-topic input[name="name"]').fill('dash-created');
  await page.locator('#create-topic input[name="partitions"]').fill('3');
  await page.locator('#create-topic textarea[name="configs"]').fill('retention.ms=3600000');
  await page.locator('#create-topic button[type="submit"]').click();
  await page.getByText('Created topic').waitFor({ timeout: appearTimeoutMs });
  const created = await call(base, 'GET', '/api/v1/topics/dash-created');
  assert.equal(created.body.partitions, 3);
  assert.equal(created.body.configs.find((c: any) => c.name === 'retention.ms').value, '3600000');

  await open('#/messages?topic=dash-created', 'Produce a test message');
  await page.locator('#produce input[name="key"]').fill('k');
  await page.locator('#produce textarea[name="value"]').fill('typed in the browser');
  await page.locator('#produce input[name="producePartition"]').fill('2');
  await page.locator('#produce button[type="submit"]').click();
  await page.getByText('Written to partition 2 at offset 0').waitFor({ timeout: appearTimeoutMs });
  await page.locator('td', { hasText: 'typed in the browser' }).waitFor({ timeout: appearTimeoutMs });
  const browsed = await call(base, 'GET', '/api/v1/topics/dash-created/partitions/2/messages');
  assert.deepEqual(browsed.body.messages.map((m: any) => [m.key, m.value]), [['k', 'typed in the browser']]);
  assert.deepEqual(problems, []);
});

test('the reset form moves a group without members to the latest offsets', async () => {
  const member = (await call(base, 'GET', '/api/v1/groups/dash-readers')).body.memberDetails[0].memberId;
  await open('#/groups/dash-readers', 'Reset offsets');
  await page.getByRole('cell', { name: member, exact: true }).first().waitFor({ timeout: appearTimeoutMs });
  await group!.stop();
  group = null;
  await waitFor('the group to become empty', async () => ((await call(base, 'GET', '/api/v1/groups/dash-readers')).body.members === 0 ? true : undefined));
  // The live refresh enables the button once the group is empty.
  const submit = page.locator('#reset-offsets button[type="submit"]');
  await page.getByText('The group has no members').waitFor({ timeout: appearTimeoutMs });
  assert.equal(await submit.isDisabled(), false);
  await page.locator('#reset-offsets select[name="to"]').selectOption('latest');
  await page.locator('#reset-offsets input[name="topic"]').fill('dash-orders');
  await submit.click();
  await page.getByText('Offsets reset on 2 partition(s); lag now 0.').waitFor({ timeout: appearTimeoutMs });
  await page.locator('tr[data-topic="dash-orders"][data-partition="1"] td.lag', { hasText: '0' }).waitFor({ timeout: appearTimeoutMs });
  const described = await call(base, 'GET', '/api/v1/groups/dash-readers');
  assert.deepEqual(described.body.offsets.map((o: any) => [o.partition, o.committedOffset, o.lag]), [[0, 0, 0], [1, 4, 0]]);
  assert.deepEqual(problems, []);
});
