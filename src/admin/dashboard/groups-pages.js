// The consumer-group pages: the list of groups with their total lag, and one group with its
// members, lag per partition, lag over time and the offset reset form. Like pages.js, the static
// parts are built once and the refresh only replaces the data areas.
import { api, get } from './api.js';
import { lagChart } from './chart.js';
import { card, formatNumber, h, pill, replace, table } from './dom.js';
import { field, showResult } from './pages.js';

const stateKind = (state) => (state === 'Stable' ? 'ok' : state === 'Empty' ? 'muted' : state === 'Dead' ? 'bad' : 'warn');

export function groupsPage(root) {
  const body = h('div');
  replace(root, h('h1', {}, 'Consumer groups'), body);
  return async () => {
    const { available, groups } = await get('/groups');
    if (!available) {
      replace(body, h('div', { class: 'empty', id: 'groups-unavailable' }, 'No consumer group data: this node does not serve the groups API.'));
      return;
    }
    replace(body, table(['Group', 'State', 'Protocol', { text: 'Members', class: 'num' }, { text: 'Total lag', class: 'num' }], groups.map((group) => h('tr', { 'data-group': group.groupId },
      h('td', {}, h('a', { href: `#/groups/${encodeURIComponent(group.groupId)}` }, group.groupId)),
      h('td', {}, pill(group.state, stateKind(group.state))),
      h('td', {}, group.protocol ?? '–'),
      h('td', { class: 'num' }, formatNumber(group.members)),
      h('td', { class: 'num total-lag' }, formatNumber(group.totalLag)))), 'No consumer groups yet: they appear when a consumer joins one or commits offsets.'));
  };
}

/** The reset form: what to reset to, optionally limited to one topic (or one partition for "offset"). */
function resetForm(groupId, onDone) {
  const target = h('select', { name: 'to' },
    h('option', { value: 'latest' }, 'latest (skip everything)'),
    h('option', { value: 'earliest' }, 'earliest (re-read everything)'),
    h('option', { value: 'timestamp' }, 'time'),
    h('option', { value: 'offset' }, 'offset'));
  const topic = h('input', { name: 'topic', placeholder: 'all committed topics' });
  const partition = h('input', { name: 'partition', type: 'number', min: 0, placeholder: 'for offset' });
  const offset = h('input', { name: 'offset', type: 'number', min: 0, placeholder: 'for offset' });
  const time = h('input', { name: 'time', type: 'datetime-local' });
  const submit = h('button', { type: 'submit' }, 'Reset offsets');
  const hint = h('p', { class: 'hint' });
  const result = h('div', { class: 'message' });
  const form = h('form', { class: 'inline', id: 'reset-offsets' },
    field('Reset to', target), field('Topic', topic), field('Partition', partition), field('Offset', offset), field('Time', time), submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = { to: target.value };
    if (topic.value.trim() !== '') body.topic = topic.value.trim();
    if (target.value === 'offset') {
      body.partition = Number(partition.value);
      body.offset = Number(offset.value);
    }
    if (target.value === 'timestamp') body.timestampMs = new Date(time.value).getTime();
    void showResult(result, api('POST', `/groups/${encodeURIComponent(groupId)}/offsets`, body),
      (answer) => `Offsets reset on ${answer.offsets.length} partition(s); lag now ${formatNumber(answer.offsets.reduce((sum, o) => sum + (o.lag ?? 0), 0))}.`)
      .then(onDone);
  });
  return {
    element: h('div', { class: 'panel spaced' }, h('h2', {}, 'Reset offsets'), hint, form, result),
    /** Resets are refused while the group has members, so the button says so instead of failing. */
    update(members) {
      submit.disabled = members > 0;
      replace(hint, members > 0
        ? `The group has ${members} member(s): stop its consumers to reset offsets.`
        : 'The group has no members: its next consumer starts from the reset offsets.');
    },
  };
}

export function groupPage(root, params) {
  const groupId = params.id;
  const summary = h('div', { class: 'cards' });
  const chart = h('div');
  const lags = h('div');
  const members = h('div');
  let refresh = async () => {};
  const reset = resetForm(groupId, () => refresh());
  replace(root,
    h('h1', {}, 'Consumer group ', h('span', { class: 'mono' }, groupId)),
    summary,
    h('h2', {}, 'Lag over time'),
    h('div', { class: 'panel' }, h('div', { class: 'legend' }, h('span', { class: 'lag' }, 'total lag (messages)')), chart),
    h('h2', {}, 'Lag per partition'), lags,
    h('h2', {}, 'Members'), members,
    reset.element);
  refresh = async () => {
    const [group, history] = await Promise.all([get(`/groups/${encodeURIComponent(groupId)}`), get(`/groups/${encodeURIComponent(groupId)}/lag-history`)]);
    replace(summary,
      card('State', pill(group.state, stateKind(group.state)), group.protocol ? `assignor ${group.protocol}` : ''),
      card('Members', formatNumber(group.members), group.leaderId ? 'leader elected' : 'no leader'),
      card('Total lag', formatNumber(group.totalLag), 'messages behind the high watermark'),
      card('Generation', String(group.generationId), group.protocolType || ''));
    replace(chart, lagChart(history.samples, formatNumber));
    replace(lags, table(['Topic', { text: 'Partition', class: 'num' }, { text: 'Committed', class: 'num' }, { text: 'High watermark', class: 'num' }, { text: 'Lag', class: 'num' }, 'Member'],
      group.offsets.map((o) => h('tr', { 'data-topic': o.topic, 'data-partition': o.partition, class: o.lag > 0 ? 'warn' : '' },
        h('td', {}, h('a', { href: `#/topics/${encodeURIComponent(o.topic)}` }, o.topic)),
        h('td', { class: 'num' }, String(o.partition)),
        h('td', { class: 'num' }, formatNumber(o.committedOffset)),
        h('td', { class: 'num' }, formatNumber(o.highWatermark)),
        h('td', { class: 'num lag' }, formatNumber(o.lag)),
        h('td', { class: 'mono' }, o.memberId ?? '–'))), 'No committed offsets yet.'));
    replace(members, table(['Member', 'Instance', 'Client', 'Host', 'Assignment'], group.memberDetails.map((m) => h('tr', {},
      h('td', { class: 'mono' }, m.memberId, m.memberId === group.leaderId ? ' ' : null, m.memberId === group.leaderId ? pill('leader', 'muted') : null),
      h('td', { class: 'mono' }, m.groupInstanceId ?? '–'),
      h('td', {}, m.clientId),
      h('td', {}, m.clientHost),
      h('td', { class: 'mono' }, m.assignment.map((a) => `${a.topic}[${a.partitions.join(',')}]`).join(' ') || '–'))),
    `No members: the group is ${group.state}${group.offsets.length > 0 ? ' and keeps its committed offsets' : ''}.`));
    reset.update(group.members);
  };
  return refresh;
}
