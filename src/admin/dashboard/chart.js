// Small SVG line charts: throughput (bytes/s in and out, from cumulative samples) and group lag.
const svgNs = 'http://www.w3.org/2000/svg';

function svg(tag, attributes) {
  const element = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/** Per-second rates between consecutive cumulative samples. */
export function rates(samples) {
  const points = [];
  for (let index = 1; index < samples.length; index++) {
    const previous = samples[index - 1];
    const current = samples[index];
    const seconds = (current.timeMs - previous.timeMs) / 1000;
    if (seconds <= 0) continue;
    points.push({
      timeMs: current.timeMs,
      bytesIn: Math.max(0, (current.bytesIn - previous.bytesIn) / seconds),
      bytesOut: Math.max(0, (current.bytesOut - previous.bytesOut) / seconds),
      messagesIn: Math.max(0, (current.messagesIn - previous.messagesIn) / seconds),
    });
  }
  return points;
}

/**
 * A line chart of points [{timeMs, ...}] with one line per series [field, cssClass]; values are
 * scaled from 0 to the largest one, labelled with formatAxis.
 */
export function lineChart(points, series, formatAxis, ariaLabel) {
  const width = 800;
  const height = 180;
  const left = 70;
  const bottom = 22;
  const root = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': ariaLabel });
  const max = Math.max(1, ...points.flatMap((p) => series.map(([field]) => p[field] ?? 0)));
  const first = points[0]?.timeMs ?? 0;
  const span = Math.max(1, (points[points.length - 1]?.timeMs ?? 1) - first);
  const x = (timeMs) => left + ((timeMs - first) / span) * (width - left - 10);
  const y = (value) => height - bottom - (value / max) * (height - bottom - 10);
  root.append(svg('line', { class: 'axis', x1: left, y1: height - bottom, x2: width - 10, y2: height - bottom }));
  root.append(svg('line', { class: 'axis', x1: left, y1: 10, x2: left, y2: height - bottom }));
  const top = svg('text', { x: 4, y: 16 });
  top.textContent = formatAxis(max);
  const zero = svg('text', { x: 4, y: height - bottom });
  zero.textContent = '0';
  const minutes = svg('text', { x: left, y: height - 4 });
  minutes.textContent = points.length > 1 ? `last ${Math.round(span / 60000) || '<1'} min` : 'collecting…';
  root.append(top, zero, minutes);
  for (const [field, cssClass] of series) {
    // Unknown values (null) are left out of the line rather than drawn as zero.
    const known = points.filter((p) => p[field] !== null && p[field] !== undefined);
    if (known.length < 2) continue;
    const path = known.map((p, index) => `${index === 0 ? 'M' : 'L'}${x(p.timeMs).toFixed(1)},${y(p[field]).toFixed(1)}`).join(' ');
    root.append(svg('path', { class: cssClass, d: path }));
  }
  return root;
}

export function throughputChart(points, formatValue) {
  return lineChart(points, [['bytesIn', 'in'], ['bytesOut', 'out']], (max) => `${formatValue(max)}/s`, 'throughput over time');
}

/** Total lag of a group over time, from GET /groups/:id/lag-history samples. */
export function lagChart(samples, formatValue) {
  return lineChart(samples, [['totalLag', 'lag']], formatValue, 'lag over time');
}
