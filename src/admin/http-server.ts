import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../util/log.ts';

export type HttpRoute = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<boolean> | boolean;

/** The node's HTTP port: routes are tried in order; the first that answers wins, else 404 as JSON. */
export class HttpServer {
  private server: Server | null = null;
  private boundPort = 0;

  constructor(private readonly routes: HttpRoute[], private readonly logger: Logger) {}

  get port(): number {
    return this.boundPort;
  }

  async start(host: string, port: number): Promise<void> {
    const server = createServer((request, response) => void this.serve(request, response));
    server.keepAliveTimeout = 5000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : port;
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    try {
      for (const route of this.routes) {
        if (await route(request, response, url)) return;
      }
      sendJson(response, 404, { error: `no such resource: ${request.method} ${url.pathname}` });
    } catch (error) {
      this.logger.error('HTTP request failed', { path: url.pathname, error: (error as Error).stack });
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
      else response.destroy();
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/** /healthz answers while the process serves; /readyz once the node is ready (503 before and while stopping). */
export function healthRoutes(isReady: () => boolean): HttpRoute {
  return (request, response, url) => {
    if (request.method !== 'GET') return false;
    if (url.pathname === '/healthz') {
      sendJson(response, 200, { status: 'ok' });
      return true;
    }
    if (url.pathname === '/readyz') {
      const ready = isReady();
      sendJson(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
      return true;
    }
    return false;
  };
}
