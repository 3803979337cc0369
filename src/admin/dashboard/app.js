// The dashboard shell: hash routing, a live refresh every few seconds, the status line and the
// firing-alerts badge.
import { get } from './api.js';
import { groupPage, groupsPage } from './groups-pages.js';
import { alertsPage, brokersPage, messagesPage, overviewPage, topicPage, topicsPage } from './pages.js';

const refreshIntervalMs = 5000;

const routes = [
  [/^\/?$/, 'overview', overviewPage],
  [/^\/brokers$/, 'brokers', brokersPage],
  [/^\/topics$/, 'topics', topicsPage],
  [/^\/topics\/([^/]+)$/, 'topics', topicPage, ['name']],
  [/^\/messages$/, 'messages', messagesPage],
  [/^\/groups$/, 'groups', groupsPage],
  [/^\/groups\/([^/]+)$/, 'groups', groupPage, ['id']],
  [/^\/alerts$/, 'alerts', alertsPage],
];

const pageRoot = document.getElementById('page');
const status = document.getElementById('status');
const badge = document.getElementById('alert-badge');
let refreshCurrent = null;
let generation = 0;

function resolveRoute() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, queryString] = hash.split('?');
  const params = Object.fromEntries(new URLSearchParams(queryString ?? ''));
  for (const [pattern, nav, page, names] of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    (names ?? []).forEach((name, index) => { params[name] = decodeURIComponent(match[index + 1]); });
    return { nav, page, params };
  }
  return { nav: null, page: null, params };
}

async function refresh() {
  const mine = generation;
  try {
    await Promise.all([refreshCurrent?.(), refreshBadge()]);
    if (mine !== generation) return;
    status.className = 'status';
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (mine !== generation) return;
    status.className = 'status error';
    status.textContent = `update failed: ${error.message}`;
  }
}

async function refreshBadge() {
  const alerts = await get('/alerts');
  badge.textContent = String(alerts.firing.length);
  badge.classList.toggle('hidden', alerts.firing.length === 0);
}

function navigate() {
  generation++;
  const { nav, page, params } = resolveRoute();
  for (const link of document.querySelectorAll('#nav a')) link.classList.toggle('active', link.dataset.page === nav);
  if (!page) {
    pageRoot.replaceChildren(Object.assign(document.createElement('div'), { className: 'empty', textContent: 'No such page.' }));
    refreshCurrent = null;
    return;
  }
  refreshCurrent = page(pageRoot, params);
  void refresh();
}

window.addEventListener('hashchange', navigate);
navigate();
setInterval(() => void refresh(), refreshIntervalMs);
