// Serves the dashboard: plain HTML, CSS and ES modules from src/admin/dashboard, no build step and
// no external assets. Only the files listed here are served, so no path ever reaches the disk
// from a URL.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HttpRoute } from './http-server.ts';

const dashboardDir = join(import.meta.dirname, 'dashboard');

const files: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'api.js': 'text/javascript; charset=utf-8',
  'pages.js': 'text/javascript; charset=utf-8',
  'groups-pages.js': 'text/javascript; charset=utf-8',
  'chart.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

const securityHeaders = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function dashboardRoute(): HttpRoute {
  const cache = new Map<string, Buffer>();
  return async (request, response, url) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    let name: string | null = null;
    if (url.pathname === '/' || url.pathname === '/index.html') name = 'index.html';
    else if (url.pathname === '/favicon.ico') name = 'favicon.svg';
    else if (url.pathname.startsWith('/dashboard/')) name = url.pathname.slice('/dashboard/'.length);
    if (name === null) return false;
    const type = Object.hasOwn(files, name) ? files[name] : undefined;
    if (type === undefined) return false;
    let body = cache.get(name);
    if (!body) {
      body = await readFile(join(dashboardDir, name));
      cache.set(name, body);
    }
    response.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-cache', ...securityHeaders });
    response.end(request.method === 'HEAD' ? undefined : body);
    return true;
  };
}
