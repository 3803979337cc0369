// Delivers alert notifications as JSON POSTs. Each URL has its own bounded queue drained by one
// loop, so notifications to a URL arrive in order and a slow or dead receiver never blocks the
// broker or the other receivers. Failed deliveries are retried with exponential backoff.
import type { Logger } from '../util/log.ts';

export interface WebhookOptions {
  /** Notifications waiting per URL; the oldest is dropped (and logged) beyond this. */
  maxQueued: number;
  maxAttempts: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  requestTimeoutMs: number;
}

export const defaultWebhookOptions: WebhookOptions = {
  maxQueued: 1000,
  maxAttempts: 5,
  retryBaseDelayMs: 1000,
  retryMaxDelayMs: 30_000,
  requestTimeoutMs: 5000,
};

export interface WebhookStatus {
  /** Scheme, host and path only: the query string often carries a token. */
  target: string;
  delivered: number;
  failed: number;
  dropped: number;
  queued: number;
  lastError: string | null;
}

class WebhookTarget {
  readonly queue: string[] = [];
  status: WebhookStatus;
  draining = false;

  constructor(readonly url: string) {
    const parsed = new URL(url);
    this.status = { target: `${parsed.protocol}//${parsed.host}${parsed.pathname}`, delivered: 0, failed: 0, dropped: 0, queued: 0, lastError: null };
  }
}

/** Comma-separated http(s) URLs → list; throws naming the bad entry. */
export function parseWebhookUrls(raw: string | null): string[] {
  if (raw === null || raw.trim() === '') return [];
  return raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '').map((entry) => {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new Error(`alert webhook "${entry}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`alert webhook "${entry}" must be http or https`);
    return url.toString();
  });
}

export class WebhookSender {
  private readonly targets: WebhookTarget[];
  private readonly options: WebhookOptions;
  private closed = false;
  private readonly abort = new AbortController();

  constructor(urls: readonly string[], private readonly logger: Logger, options: Partial<WebhookOptions> = {}) {
    this.targets = urls.map((url) => new WebhookTarget(url));
    this.options = { ...defaultWebhookOptions, ...options };
  }

  get size(): number {
    return this.targets.length;
  }

  /** Queues the payload for every URL and returns at once. */
  send(payload: unknown): void {
    if (this.closed || this.targets.length === 0) return;
    const body = JSON.stringify(payload);
    for (const target of this.targets) {
      if (target.queue.length >= this.options.maxQueued) {
        target.queue.shift();
        target.status.dropped++;
        this.logger.warn('alert webhook queue full: dropped the oldest notification', { target: target.status.target });
      }
      target.queue.push(body);
      target.status.queued = target.queue.length;
      if (!target.draining) void this.drain(target);
    }
  }

  statuses(): WebhookStatus[] {
    return this.targets.map((target) => ({ ...target.status }));
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
  }

  private async drain(target: WebhookTarget): Promise<void> {
    target.draining = true;
    try {
      // Bounded: each round removes one queued notification.
      while (!this.closed && target.queue.length > 0) {
        const body = target.queue[0]!;
        const delivered = await this.deliver(target, body);
        target.queue.shift();
        target.status.queued = target.queue.length;
        if (delivered) target.status.delivered++;
        else target.status.failed++;
      }
    } finally {
      target.draining = false;
    }
  }

  private async deliver(target: WebhookTarget, body: string): Promise<boolean> {
    for (let attempt = 1; attempt <= this.options.maxAttempts && !this.closed; attempt++) {
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.requestTimeoutMs)]),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return true;
        target.status.lastError = `HTTP ${response.status}`;
      } catch (error) {
        target.status.lastError = (error as Error).message;
      }
      if (attempt < this.options.maxAttempts) {
        const delayMs = Math.min(this.options.retryMaxDelayMs, this.options.retryBaseDelayMs * 2 ** (attempt - 1));
        await sleep(delayMs, this.abort.signal);
      }
    }
    if (!this.closed) this.logger.warn('alert webhook delivery failed; giving up on this notification', { target: target.status.target, attempts: this.options.maxAttempts, error: target.status.lastError });
    return false;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
