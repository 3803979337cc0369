// Evaluates the alert rules against the node's view of the cluster: a condition that holds for its
// rule's forMs becomes a firing alert; one that stops holding is resolved. Transitions are kept
// (bounded history) for the API and dashboard and queued to the webhooks without waiting.
import type { Logger } from '../util/log.ts';
import type { AlertRule, AlertSeverity } from './alert-rules.ts';
import type { ClusterHealth } from './cluster-health.ts';
import type { WebhookSender } from './webhook-sender.ts';

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface AlertView {
  name: string;
  severity: AlertSeverity;
  state: AlertState;
  labels: Record<string, string>;
  summary: string;
  description: string;
  /** When the condition was first seen true (ISO 8601). */
  activeSince: string;
  firingSince: string | null;
  resolvedAt: string | null;
}

interface ActiveAlert {
  rule: AlertRule;
  labels: Record<string, string>;
  description: string;
  activeSinceMs: number;
  firingSinceMs: number | null;
}

/** Resolved alerts kept for the API and dashboard. */
const maxResolvedHistory = 200;
/** Active (pending or firing) alert instances tracked; more are ignored with a log line. */
const maxActiveAlerts = 10_000;

export interface AlertEvaluatorOptions {
  rules: AlertRule[];
  health: () => ClusterHealth;
  webhooks: WebhookSender | null;
  logger: Logger;
  nowMs?: () => number;
}

function alertKey(name: string, labels: Record<string, string>): string {
  return `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
}

export class AlertEvaluator {
  private readonly active = new Map<string, ActiveAlert>();
  private readonly resolved: AlertView[] = [];
  private readonly nowMs: () => number;
  private timer: NodeJS.Timeout | null = null;
  private lastEvaluationMs: number | null = null;
  private lastHealth: ClusterHealth | null = null;

  constructor(private readonly options: AlertEvaluatorOptions) {
    this.nowMs = options.nowMs ?? Date.now;
  }

  get rules(): readonly AlertRule[] {
    return this.options.rules;
  }

  start(intervalMs: number): void {
    this.evaluateSafely();
    this.timer = setInterval(() => this.evaluateSafely(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.options.webhooks?.close();
  }

  private evaluateSafely(): void {
    try {
      this.evaluate();
    } catch (error) {
      this.options.logger.error('alert evaluation failed', { error: (error as Error).stack });
    }
  }

  /** One evaluation round; synchronous, so it can run on every API read without racing the timer. */
  evaluate(): void {
    const now = this.nowMs();
    const health = this.options.health();
    this.lastHealth = health;
    this.lastEvaluationMs = now;
    const seen = new Set<string>();
    for (const rule of this.options.rules) {
      for (const instance of rule.evaluate(health)) {
        const key = alertKey(rule.name, instance.labels);
        seen.add(key);
        let alert = this.active.get(key);
        if (!alert) {
          if (this.active.size >= maxActiveAlerts) {
            this.options.logger.warn('too many active alerts; ignoring more', { rule: rule.name, max: maxActiveAlerts });
            continue;
          }
          alert = { rule, labels: instance.labels, description: instance.description, activeSinceMs: now, firingSinceMs: null };
          this.active.set(key, alert);
        }
        alert.description = instance.description;
        if (alert.firingSinceMs === null && now - alert.activeSinceMs >= rule.forMs) {
          alert.firingSinceMs = now;
          this.options.logger.warn('alert firing', { alert: rule.name, labels: alert.labels, description: alert.description });
          this.notify(this.view(alert, 'firing', null));
        }
      }
    }
    for (const [key, alert] of this.active) {
      if (seen.has(key)) continue;
      this.active.delete(key);
      if (alert.firingSinceMs === null) continue; // pending that never fired: nothing to tell anyone
      const view = this.view(alert, 'resolved', now);
      this.resolved.unshift(view);
      if (this.resolved.length > maxResolvedHistory) this.resolved.length = maxResolvedHistory;
      this.options.logger.info('alert resolved', { alert: alert.rule.name, labels: alert.labels });
      this.notify(view);
    }
  }

  private view(alert: ActiveAlert, state: AlertState, resolvedAtMs: number | null): AlertView {
    return {
      name: alert.rule.name,
      severity: alert.rule.severity,
      state,
      labels: alert.labels,
      summary: alert.rule.summary,
      description: alert.description,
      activeSince: new Date(alert.activeSinceMs).toISOString(),
      firingSince: alert.firingSinceMs === null ? null : new Date(alert.firingSinceMs).toISOString(),
      resolvedAt: resolvedAtMs === null ? null : new Date(resolvedAtMs).toISOString(),
    };
  }

  private notify(alert: AlertView): void {
    const webhooks = this.options.webhooks;
    if (!webhooks || webhooks.size === 0) return;
    const health = this.lastHealth;
    webhooks.send({
      version: 1,
      status: alert.state,
      clusterId: health?.clusterId ?? null,
      nodeId: health?.nodeId ?? null,
      alert,
    });
  }

  /** Current state: firing and pending alerts, recent resolutions (newest first). */
  snapshot() {
    const firing: AlertView[] = [];
    const pending: AlertView[] = [];
    for (const alert of this.active.values()) {
      if (alert.firingSinceMs !== null) firing.push(this.view(alert, 'firing', null));
      else pending.push(this.view(alert, 'pending', null));
    }
    return {
      evaluatedAt: this.lastEvaluationMs === null ? null : new Date(this.lastEvaluationMs).toISOString(),
      firing,
      pending,
      resolved: [...this.resolved],
      rules: this.options.rules.map((rule) => ({ name: rule.name, severity: rule.severity, forMs: rule.forMs, summary: rule.summary })),
      webhooks: this.options.webhooks?.statuses() ?? [],
    };
  }
}
