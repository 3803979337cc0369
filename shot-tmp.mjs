import { chromium } from 'playwright-core';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
page.on('console', (m) => console.log('console', m.type(), m.text()));
page.on('pageerror', (e) => console.log('pageerror', e.message));
for (const hash of ['#/', '#/topics', '#/topics/orders', '#/messages?topic=orders&partition=2', '#/groups', '#/alerts', '#/brokers']) {
  await page.goto('http://127.0.0.1:18931/' + hash);
  await page.waitForTimeout(800);
  await page.screenshot({ path: `/tmp/shot-${hash.replace(/[^a-z]/g, '')||'home'}.png`, fullPage: true });
}
await browser.close();
