// A tiny router for the JSON API: patterns with :params, typed errors that become 4xx answers,
// and a bounded JSON body reader. Anything under /api/v1 that no route claims is a 404 in JSON.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, type HttpRoute } from './http-server.ts';

/** Largest JSON body accepted by the API (a test message plus headers fits easily). */
export const maxRequestBodyBytes = 1024 * 1024;

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export const badRequest = (message: string) => new ApiError(400, message);
export const notFound = (message: string) => new ApiError(404, message);

export interface ApiRequest {
  request: IncomingMessage;
  response: ServerResponse;
  url: URL;
  params: Record<string, string>;
  body(): Promise<unknown>;
}

/** A handler returns [status, body] to answer with JSON, or null when it already answered. */
export type ApiHandler = (request: ApiRequest) => Promise<[number, unknown] | null> | [number, unknown] | null;

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;          // e.g. /api/v1/topics/:name
  handler: ApiHandler;
}

interface CompiledRoute extends ApiRoute {
  pattern: RegExp;
  names: string[];
}

function compile(route: ApiRoute): CompiledRoute {
  const names: string[] = [];
  const source = route.path.split('/').map((part) => {
    if (!part.startsWith(':')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    names.push(part.slice(1));
    return '([^/]+)';
  }).join('/');
  return { ...route, pattern: new RegExp(`^${source}/?$`), names };
}

export function apiRouter(prefix: string, routes: ApiRoute[]): HttpRoute {
  const compiled = routes.map(compile);
  return async (request, response, url) => {
    if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) return false;
    let pathMatched = false;
    for (const route of compiled) {
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== request.method) continue;
      const params: Record<string, string> = {};
      try {
        route.names.forEach((name, index) => { params[name] = decodeURIComponent(match[index + 1]!); });
      } catch {
        sendJson(response, 400, { error: 'malformed percent-encoding in the path' });
        return true;
      }
      try {
        const answer = await route.handler({ request, response, url, params, body: () => readJsonBody(request) });
        if (answer !== null) sendJson(response, answer[0], answer[1]);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (response.headersSent) response.destroy();
        else sendJson(response, error.status, { error: error.message });
      }
      return true;
    }
    if (pathMatched) {
      const allowed = compiled.filter((route) => route.pattern.test(url.pathname)).map((route) => route.method);
      response.setHeader('allow', allowed.join(', '));
      sendJson(response, 405, { error: `${request.method} is not allowed on ${url.pathname} (allowed: ${allowed.join(', ')})` });
      return true;
    }
    sendJson(response, 404, { error: `no such resource: ${request.method} ${url.pathname}` });
    return true;
  };
}

export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxRequestBodyBytes) {
      request.destroy();
      throw new ApiError(413, `request body larger than ${maxRequestBodyBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw badRequest('request body is empty; expected a JSON object');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`request body is not valid JSON: ${(error as Error).message}`);
  }
}

// ------------------------------------------------------------------ body field checks

export function expectObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

export function optionalInt(body: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badRequest(`"${field}" must be a whole number from ${min} to ${max}`);
  }
  return value;
}

export function optionalString(body: Record<string, unknown>, field: string): string | null | undefined {
  const value = body[field];
  if (value === undefined || value === null) return value as undefined | null;
  if (typeof value !== 'string') throw badRequest(`"${field}" must be a string or null`);
  return value;
}

/** `{"k": "v"}` with string values (numbers and booleans are taken as their text). */
export function stringMap(value: unknown, what: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  const object = expectObject(value, what);
  const result: Record<string, string> = {};
  for (const [key, entry] of Object.entries(object)) {
    if (typeof entry === 'string') result[key] = entry;
    else if (typeof entry === 'number' || typeof entry === 'boolean') result[key] = String(entry);
    else throw badRequest(`${what}.${key} must be a string`);
  }
  return result;
}

/** A query parameter as a whole number, or the default when absent. */
export function queryInt(url: URL, name: string, fallback: number | undefined, min: number, max: number): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw badRequest(`query parameter ${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw badRequest(`query parameter ${name} must be from ${min} to ${max}, got ${value}`);
  return value;
}
