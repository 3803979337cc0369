// Builds DOM nodes from data without ever parsing data as HTML: every string becomes a text node.

/** h('td', { class: 'num' }, 'text', child) */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

export function table(headers, rows, emptyText = 'Nothing here yet.') {
  if (rows.length === 0) return h('div', { class: 'empty' }, emptyText);
  return h('table', {},
    h('thead', {}, h('tr', {}, headers.map((header) => (typeof header === 'string' ? h('th', {}, header) : h('th', { class: header.class }, header.text))))),
    h('tbody', {}, rows));
}

export function pill(text, kind) {
  return h('span', { class: `pill ${kind}` }, text);
}

export function card(label, value, detail) {
  return h('div', { class: 'card' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value), detail ? h('div', { class: 'detail' }, detail) : null);
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatNumber(value) {
  return value === null || value === undefined ? '–' : Number(value).toLocaleString('en-US');
}

export function formatTime(value) {
  if (value === null || value === undefined) return '–';
  const date = typeof value === 'number' ? new Date(value) : new Date(String(value));
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}
