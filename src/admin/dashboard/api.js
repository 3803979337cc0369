// Calls the node's JSON API under /api/v1 (same origin). Errors carry the API's own message.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(method, path, body) {
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try { parsed = text === '' ? null : JSON.parse(text); } catch { parsed = { error: text }; }
  if (!response.ok) throw new ApiError(response.status, parsed?.error ?? `HTTP ${response.status}`);
  return parsed;
}

export const get = (path) => api('GET', path);
