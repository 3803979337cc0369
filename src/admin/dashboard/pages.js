// The dashboard's pages. Each page builds its static parts (headings, forms) once and returns a
// refresh function that the app calls on navigation and every few seconds, which only replaces
// the data areas, so typing into a form is never interrupted by the live refresh.
import { api, get } from './api.js';
import { rates, throughputChart } from './chart.js';
import { card, formatBytes, formatNumber, formatTime, h, pill, replace, table } from './dom.js';

export function showResult(element, promise, success) {
  replace(element);
  element.className = 'message';
  return promise.then((value) => {
    element.className = 'message ok';
    replace(element, success(value));
    return value;
  }, (error) => {
    element.className = 'message error';
    replace(element, error.message);
    return null;
  });
}

function parseConfigLines(text) {
  const configs = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const at = trimmed.indexOf('=');
    if (at <= 0) throw new Error(`config line "${trimmed}" is not key=value`);
    configs[trimmed.slice(0, at).trim()] = trimmed.slice(at + 1).trim();
  }
  return configs;
}

export function field(label, input) {
  return h('label', { class: 'field' }, label, input);
}

function alertRows(alerts) {
  return alerts.map((alert) => h('tr', { class: alert.state === 'firing' ? (alert.severity === 'critical' ? 'bad' : 'warn') : '' },
    h('td', {}, alert.name),
    h('td', {}, pill(alert.severity, alert.severity === 'critical' ? 'bad' : 'warn')),
    h('td', {}, pill(alert.state, alert.state === 'firing' ? 'bad' : alert.state === 'pending' ? 'warn' : 'ok')),
    h('td', { class: 'mono' }, Object.entries(alert.labels).map(([k, v]) => `${k}=${v}`).join(' ') || '–'),
    h('td', {}, alert.description),
    h('td', {}, formatTime(alert.resolvedAt ?? alert.firingSince ?? alert.activeSince))));
}
const alertHeaders = ['Alert', 'Severity', 'State', 'Labels', 'Description', 'Since'];

// ------------------------------------------------------------------ overview

export function overviewPage(root) {
  const cards = h('div', { class: 'cards' });
  const chart = h('div');
  const alerts = h('div');
  replace(root,
    h('h1', {}, 'Overview'),
    cards,
    h('h2', {}, 'Throughput'),
    h('div', { class: 'panel' }, h('div', { class: 'legend' }, h('span', { class: 'in' }, 'bytes in'), h('span', { class: 'out' }, 'bytes out')), chart),
    h('h2', {}, 'Firing alerts'),
    alerts);
  return async () => {
    const [cluster, stats, alertState] = await Promise.all([get('/cluster'), get('/stats'), get('/alerts')]);
    const up = cluster.brokers.filter((b) => b.state === 'online').length;
    const p = cluster.partitions;
    const points = rates(stats.samples);
    const latest = points[points.length - 1];
    replace(cards,
      card('Brokers', `${up} / ${cluster.brokers.length} up`, `cluster ${cluster.clusterId}`),
      card('Controller', cluster.controller.active ? `node ${cluster.controller.id}` : 'none', cluster.controller.active ? 'active' : 'no active controller'),
      card('Topics', formatNumber(cluster.topics), `${formatNumber(p.total)} partitions`),
      card('Partitions', `${formatNumber(p.online)} online`, `${p.offline} offline · ${p.underReplicated} under-replicated · ${p.underMinIsr} under min ISR`),
      card('Throughput', `${formatBytes(latest?.bytesIn ?? 0)}/s in`, `${formatBytes(latest?.bytesOut ?? 0)}/s out · ${formatNumber(Math.round(latest?.messagesIn ?? 0))} msg/s`),
      card('Disk', `${(cluster.disk.usedRatio * 100).toFixed(1)}%`, `refuses appends above ${(cluster.disk.maxUsedRatio * 100).toFixed(0)}%`));
    replace(chart, throughputChart(points, formatBytes));
    replace(alerts, table(alertHeaders, alertRows(alertState.firing), 'No alerts are firing.'));
  };
}

// ------------------------------------------------------------------ brokers

export function brokersPage(root) {
  const body = h('div');
  replace(root, h('h1', {}, 'Brokers'), body);
  return async () => {
    const cluster = await get('/cluster');
    replace(body, table(['Node', 'Address', 'Rack', 'State', 'Role'], cluster.brokers.map((broker) => h('tr', { class: broker.state === 'online' ? '' : 'bad' },
      h('td', {}, String(broker.nodeId), broker.self ? ' (this node)' : ''),
      h('td', { class: 'mono' }, `${broker.host}:${broker.port}`),
      h('td', {}, broker.rack ?? '–'),
      h('td', {}, pill(broker.state, broker.state === 'online' ? 'ok' : 'bad')),
      h('td', {}, broker.nodeId === cluster.controller.id ? 'controller' : 'broker')))));
  };
}

// ------------------------------------------------------------------ topics

export function topicsPage(root) {
  const list = h('div');
  const name = h('input', { name: 'name', required: true, placeholder: 'orders', pattern: '[a-zA-Z0-9._\\-]+' });
  const partitions = h('input', { name: 'partitions', type: 'number', min: 1, value: 1 });
  const replication = h('input', { name: 'replicationFactor', type: 'number', min: 1, value: 1 });
  const configs = h('textarea', { name: 'configs', placeholder: 'retention.ms=86400000' });
  const result = h('div', { class: 'message' });
  let refresh = async () => {};
  const form = h('form', { class: 'inline', id: 'create-topic' },
    field('Name', name), field('Partitions', partitions), field('Replication factor', replication), field('Configs (key=value per line)', configs),
    h('button', { type: 'submit' }, 'Create topic'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    let parsed;
    try { parsed = parseConfigLines(configs.value); } catch (error) { replace(result, error.message); result.className = 'message error'; return; }
    void showResult(result, api('POST', '/topics', { name: name.value.trim(), partitions: Number(partitions.value), replicationFactor: Number(replication.value), configs: parsed }),
      (topic) => [`Created topic `, h('a', { href: `#/topics/${encodeURIComponent(topic.name)}` }, topic.name), '.'])
      .then((topic) => { if (topic) { name.value = ''; configs.value = ''; void refresh(); } });
  });
  replace(root, h('h1', {}, 'Topics'), h('div', { class: 'panel' }, h('h2', {}, 'Create a topic'), form, result), list);
  refresh = async () => {
    const { topics } = await get('/topics');
    replace(list, table(['Topic', { text: 'Partitions', class: 'num' }, { text: 'Replication', class: 'num' }, { text: 'Messages', class: 'num' }, 'Health', ''], topics.map((topic) => {
      const problem = topic.offlinePartitions > 0 ? 'bad' : topic.underReplicatedPartitions + topic.underMinIsrPartitions > 0 ? 'warn' : '';
      return h('tr', { class: problem },
        h('td', {}, h('a', { href: `#/topics/${encodeURIComponent(topic.name)}` }, topic.name)),
        h('td', { class: 'num' }, formatNumber(topic.partitions)),
        h('td', { class: 'num' }, formatNumber(topic.replicationFactor)),
        h('td', { class: 'num' }, formatNumber(topic.messages)),
        h('td', {}, topic.offlinePartitions > 0 ? pill(`${topic.offlinePartitions} offline`, 'bad')
          : topic.underMinIsrPartitions > 0 ? pill(`${topic.underMinIsrPartitions} under min ISR`, 'bad')
            : topic.underReplicatedPartitions > 0 ? pill(`${topic.underReplicatedPartitions} under-replicated`, 'warn') : pill('healthy', 'ok')),
        h('td', {}, h('a', { href: `#/messages?topic=${encodeURIComponent(topic.name)}` }, 'browse')));
    }), 'No topics yet: create one above, or let a producer create it.'));
  };
  return refresh;
}

export function topicPage(root, params) {
  const topicName = params.name;
  const partitionsArea = h('div');
  const configsArea = h('div');
  const summary = h('div', { class: 'cards' });
  const result = h('div', { class: 'message' });
  const configKey = h('input', { name: 'key', placeholder: 'retention.ms', required: true });
  const configValue = h('input', { name: 'value', placeholder: 'value (empty: back to default)' });
  const partitionCount = h('input', { name: 'count', type: 'number', min: 1 });
  let refresh = async () => {};
  const configForm = h('form', { class: 'inline' }, field('Config', configKey), field('Value', configValue), h('button', { type: 'submit' }, 'Set config'));
  configForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = configValue.value.trim() === '' ? { delete: [configKey.value.trim()] } : { set: { [configKey.value.trim()]: configValue.value.trim() } };
    void showResult(result, api('PATCH', `/topics/${encodeURIComponent(topicName)}/configs`, body), () => 'Config updated.').then(() => refresh());
  });
  const partitionForm = h('form', { class: 'inline' }, field('Total partitions', partitionCount), h('button', { type: 'submit', class: 'secondary' }, 'Add partitions'));
  partitionForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void showResult(result, api('POST', `/topics/${encodeURIComponent(topicName)}/partitions`, { count: Number(partitionCount.value) }), (t) => `Topic now has ${t.partitions} partitions.`).then(() => refresh());
  });
  const deleteButton = h('button', { type: 'button', class: 'danger' }, 'Delete topic');
  deleteButton.addEventListener('click', () => {
    if (!window.confirm(`Delete topic ${topicName} and all its messages?`)) return;
    void showResult(result, api('DELETE', `/topics/${encodeURIComponent(topicName)}`), () => 'Deleted.').then((done) => { if (done) location.hash = '#/topics'; });
  });
  replace(root,
    h('h1', {}, 'Topic ', h('span', { class: 'mono' }, topicName)),
    summary,
    h('h2', {}, 'Partitions'), partitionsArea,
    h('h2', {}, 'Configs'), configsArea,
    h('div', { class: 'panel' }, configForm, h('p'), partitionForm, h('p'), h('a', { href: `#/messages?topic=${encodeURIComponent(topicName)}` }, 'Browse messages'), ' ', deleteButton, result));
  refresh = async () => {
    const topic = await get(`/topics/${encodeURIComponent(topicName)}`);
    if (partitionCount.value === '') partitionCount.value = String(topic.partitions);
    replace(summary,
      card('Partitions', formatNumber(topic.partitions), `replication factor ${topic.replicationFactor}`),
      card('Messages', formatNumber(topic.messages), 'log start to high watermark'),
      card('Under-replicated', formatNumber(topic.underReplicatedPartitions), `${topic.underMinIsrPartitions} under min ISR · ${topic.offlinePartitions} offline`),
      card('Topic id', h('span', { class: 'mono' }, topic.topicId.slice(0, 12) + '…'), topic.internal ? 'internal' : ''));
    replace(partitionsArea, table(['Partition', 'Leader', 'Replicas', 'ISR', { text: 'Log start', class: 'num' }, { text: 'High watermark', class: 'num' }, { text: 'Log end', class: 'num' }, 'State'],
      topic.partitionDetails.map((p) => h('tr', { class: p.offline || p.underMinIsr ? 'bad' : p.underReplicated ? 'warn' : '', 'data-partition': p.partition },
        h('td', {}, h('a', { href: `#/messages?topic=${encodeURIComponent(topicName)}&partition=${p.partition}` }, String(p.partition))),
        h('td', {}, p.leader < 0 ? 'none' : String(p.leader)),
        h('td', {}, p.replicas.join(', ')),
        h('td', {}, p.isr.join(', ')),
        h('td', { class: 'num' }, formatNumber(p.logStartOffset)),
        h('td', { class: 'num' }, formatNumber(p.highWatermark)),
        h('td', { class: 'num' }, formatNumber(p.logEndOffset)),
        h('td', {}, p.offline ? pill('offline', 'bad') : p.underMinIsr ? pill('under min ISR', 'bad') : p.underReplicated ? pill('under-replicated', 'warn') : pill('in sync', 'ok'))))));
    replace(configsArea, table(['Config', 'Value', 'Source'], topic.configs.map((c) => h('tr', {},
      h('td', { class: 'mono' }, c.name), h('td', { class: 'mono' }, c.value), h('td', {}, c.source === 'topic' ? pill('topic', 'ok') : pill('default', 'muted'))))));
  };
  return refresh;
}

// ------------------------------------------------------------------ messages

export function messagesPage(root, params) {
  const topicSelect = h('select', { name: 'topic' });
  const partitionInput = h('input', { name: 'partition', type: 'number', min: 0, value: params.partition ?? 0 });
  const offsetInput = h('input', { name: 'offset', type: 'number', min: 0, placeholder: 'log start' });
  const timeInput = h('input', { name: 'time', type: 'datetime-local' });
  const limitInput = h('input', { name: 'limit', type: 'number', min: 1, max: 500, value: 50 });
  const results = h('div');
  const browseInfo = h('div', { class: 'message' });
  const browseForm = h('form', { class: 'inline', id: 'browse' },
    field('Topic', topicSelect), field('Partition', partitionInput), field('From offset', offsetInput), field('or from time', timeInput), field('Limit', limitInput),
    h('button', { type: 'submit' }, 'Show messages'));

  const keyInput = h('input', { name: 'key', placeholder: '(none)' });
  const valueInput = h('textarea', { name: 'value', placeholder: 'message value' });
  const headersInput = h('input', { name: 'headers', placeholder: 'name=value, name=value' });
  const producePartition = h('input', { name: 'producePartition', type: 'number', min: 0, placeholder: 'by key' });
  const produceResult = h('div', { class: 'message' });
  const produceForm = h('form', { class: 'inline', id: 'produce' },
    field('Key', keyInput), field('Value', valueInput), field('Headers', headersInput), field('Partition', producePartition),
    h('button', { type: 'submit' }, 'Produce test message'));

  const browse = async () => {
    const topic = topicSelect.value;
    if (!topic) { replace(results, h('div', { class: 'empty' }, 'No topics yet.')); return; }
    const query = new URLSearchParams({ limit: limitInput.value || '50' });
    if (timeInput.value) query.set('timestamp', String(new Date(timeInput.value).getTime()));
    else if (offsetInput.value !== '') query.set('offset', offsetInput.value);
    const page = await get(`/topics/${encodeURIComponent(topic)}/partitions/${Number(partitionInput.value)}/messages?${query}`);
    replace(browseInfo, `Partition ${page.partition}: log start ${formatNumber(page.logStartOffset)}, high watermark ${formatNumber(page.highWatermark)}; showing ${page.messages.length} from offset ${formatNumber(page.startOffset)}.`);
    browseInfo.className = 'message';
    const render = (text, encoding) => (text === null ? h('span', { class: 'pill muted' }, 'null') : [text, encoding === 'base64' ? ' ' : null, encoding === 'base64' ? pill('base64', 'muted') : null]);
    replace(results, table([{ text: 'Offset', class: 'num' }, 'Timestamp', 'Key', 'Value', 'Headers'], page.messages.map((m) => h('tr', {},
      h('td', { class: 'num' }, String(m.offset)),
      h('td', {}, formatTime(m.timestamp)),
      h('td', { class: 'mono' }, render(m.key, m.keyEncoding)),
      h('td', { class: 'mono' }, render(m.value, m.valueEncoding)),
      h('td', { class: 'mono' }, m.headers.map((header) => `${header.key}=${header.value ?? 'null'}`).join(', ')))), 'No messages in this range.'));
  };
  browseForm.addEventListener('submit', (event) => {
    event.preventDefault();
    browse().catch((error) => { browseInfo.className = 'message error'; replace(browseInfo, error.message); });
  });
  produceForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const headers = {};
    for (const part of headersInput.value.split(',')) {
      const at = part.indexOf('=');
      if (part.trim() === '') continue;
      if (at <= 0) { produceResult.className = 'message error'; replace(produceResult, `header "${part.trim()}" is not name=value`); return; }
      headers[part.slice(0, at).trim()] = part.slice(at + 1).trim();
    }
    const body = { key: keyInput.value === '' ? null : keyInput.value, value: valueInput.value, headers };
    if (producePartition.value !== '') body.partition = Number(producePartition.value);
    void showResult(produceResult, api('POST', `/topics/${encodeURIComponent(topicSelect.value)}/messages`, body), (r) => `Written to partition ${r.partition} at offset ${r.offset}.`)
      .then((written) => { if (written) { partitionInput.value = String(written.partition); void browse().catch(() => {}); } });
  });

  replace(root, h('h1', {}, 'Messages'),
    h('div', { class: 'panel' }, browseForm, browseInfo),
    results,
    h('div', { class: 'panel' }, h('h2', {}, 'Produce a test message'), produceForm, produceResult));

  let wantedTopic = params.topic ?? null;
  return async () => {
    const { topics } = await get('/topics');
    const current = wantedTopic ?? topicSelect.value;
    const names = topics.map((t) => t.name);
    if (names.join('\n') !== [...topicSelect.options].map((o) => o.value).join('\n')) {
      replace(topicSelect, names.map((name) => h('option', { value: name }, name)));
    }
    if (current && names.includes(current)) topicSelect.value = current;
    wantedTopic = null;
    // Live: new messages in the shown range appear without pressing the button again.
    await browse();
  };
}

// ------------------------------------------------------------------ alerts

export function alertsPage(root) {
  const firing = h('div');
  const pending = h('div');
  const resolved = h('div');
  const rules = h('div');
  const webhooks = h('div');
  replace(root, h('h1', {}, 'Alerts'),
    h('h2', {}, 'Firing'), firing, h('h2', {}, 'Pending'), pending, h('h2', {}, 'Recently resolved'), resolved,
    h('h2', {}, 'Rules'), rules, h('h2', {}, 'Webhooks'), webhooks);
  return async () => {
    const state = await get('/alerts');
    replace(firing, table(alertHeaders, alertRows(state.firing), 'No alerts are firing.'));
    replace(pending, table(alertHeaders, alertRows(state.pending), 'Nothing pending.'));
    replace(resolved, table(alertHeaders, alertRows(state.resolved), 'No alert has resolved since the node started.'));
    replace(rules, table(['Rule', 'Severity', 'Fires after', 'Meaning'], state.rules.map((rule) => h('tr', {},
      h('td', {}, rule.name), h('td', {}, pill(rule.severity, rule.severity === 'critical' ? 'bad' : 'warn')),
      h('td', {}, rule.forMs === 0 ? 'at once' : `${rule.forMs / 1000} s`), h('td', {}, rule.summary)))));
    replace(webhooks, table(['Target', { text: 'Delivered', class: 'num' }, { text: 'Failed', class: 'num' }, { text: 'Queued', class: 'num' }, 'Last error'], state.webhooks.map((w) => h('tr', {},
      h('td', { class: 'mono' }, w.target), h('td', { class: 'num' }, formatNumber(w.delivered)), h('td', { class: 'num' }, formatNumber(w.failed)),
      h('td', { class: 'num' }, formatNumber(w.queued)), h('td', {}, w.lastError ?? '–'))), 'No webhooks configured (alert.webhook.urls).'));
  };
}
