// Small JSON-over-HTTP helpers for the admin API tests.
export interface JsonReply {
  status: number;
  body: any;
}

export async function call(base: string, method: string, path: string, body?: unknown, rawBody?: string): Promise<JsonReply> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body !== undefined || rawBody !== undefined ? { 'content-type': 'application/json' } : {},
    body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: the test sees the text
  }
  return { status: response.status, body: parsed };
}

/** Sums every sample of a metric (all label sets) in Prometheus text, or null when absent. */
export function metricValue(text: string, name: string, labelFilter = ''): number | null {
  let total: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (labelFilter !== '' && !rest.includes(labelFilter)) continue;
    total = (total ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
