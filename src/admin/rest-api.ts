// Everything a node serves on its HTTP port besides /healthz and /readyz: /metrics, the JSON API
// under /api/v1 and the dashboard. tide-node.ts adds createAdminRoutes(services, { groups }) to its routes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrokerConfig } from '../config/broker-config.ts';
import type { BrokerServices } from '../server/broker-services.ts';
import { builtInAlertRules, defaultAlertThresholds } from './alert-rules.ts';
import { AlertEvaluator } from './alerts.ts';
import { apiRouter, type ApiRoute } from './api-router.ts';
import { clusterHealth, countPartitions } from './cluster-health.ts';
import { dashboardRoute } from './dashboard-files.ts';
import { groupRoutes, type GroupsView } from './groups-api.ts';
import { LagHistory } from './lag-history.ts';
import type { HttpRoute } from './http-server.ts';
import { messageRoutes } from './messages-api.ts';
import { createNodeMetrics } from './metrics.ts';
import { ThroughputHistory } from './throughput-history.ts';
import { topicRoutes } from './topics-api.ts';
import { parseWebhookUrls, WebhookSender } from './webhook-sender.ts';

const tideVersion = (() => {
  try {
    return String(JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')).version);
  } catch {
    return 'unknown';
  }
})();

/** A config key that may not be defined yet (proposed alert.* keys): its number, else the fallback. */
function optionalNumber(config: BrokerConfig, key: string, fallback: number): number {
  const raw = config.string(key);
  if (raw === null) return fallback;
  const value = Number(raw);
  return Number.isFinite(value) ? value : fallback;
}

export interface AdminOptions {
  /** The node's view of the consumer groups it coordinates (src/server/groups/groups-view.ts). */
  groups?: GroupsView | null;
  /** The Raft term of the metadata quorum as this node sees it (cluster mode); null on a single node. */
  raftTerm?: () => number | null;
}

export interface AdminRuntime {
  routes: HttpRoute[];
  alerts: AlertEvaluator;
}

export function createAdminRuntime(services: BrokerServices, options: AdminOptions = {}): AdminRuntime {
  const { config } = services;
  const groups = options.groups ?? null;
  const metrics = createNodeMetrics(services, groups, options.raftTerm ?? (() => null));
  const webhooks = new WebhookSender(parseWebhookUrls(config.string('alert.webhook.urls')), services.logger.child('alert-webhooks'));
  const alerts = new AlertEvaluator({
    rules: builtInAlertRules({
      brokerDownForMs: optionalNumber(config, 'alert.broker.down.for.ms', defaultAlertThresholds.brokerDownForMs),
      underReplicatedForMs: optionalNumber(config, 'alert.under.replicated.for.ms', defaultAlertThresholds.underReplicatedForMs),
      underMinIsrForMs: optionalNumber(config, 'alert.under.min.isr.for.ms', defaultAlertThresholds.underMinIsrForMs),
      noControllerForMs: optionalNumber(config, 'alert.no.controller.for.ms', defaultAlertThresholds.noControllerForMs),
      consumerLagMax: optionalNumber(config, 'alert.consumer.lag.max', defaultAlertThresholds.consumerLagMax),
      consumerLagForMs: optionalNumber(config, 'alert.consumer.lag.for.ms', defaultAlertThresholds.consumerLagForMs),
    }),
    health: () => ({ ...clusterHealth(services), consumerLag: groups?.lagSnapshot() ?? [] }),
    webhooks,
    logger: services.logger.child('alerts'),
  });
  alerts.start(optionalNumber(config, 'alert.evaluation.interval.ms', 5000));
  const history = new ThroughputHistory();
  history.start(5000);
  const lagHistory = groups ? new LagHistory(() => groups.lagSnapshot()) : null;
  lagHistory?.start(5000);
  services.shutdownSignal.addEventListener('abort', () => {
    alerts.stop();
    history.stop();
    lagHistory?.stop();
  }, { once: true });

  const metricsRoute: HttpRoute = async (request, response, url) => {
    if (request.method !== 'GET' || url.pathname !== '/metrics') return false;
    const text = await metrics.scrape();
    response.writeHead(200, { 'content-type': metrics.registry.contentType, 'content-length': Buffer.byteLength(text) });
    response.end(text);
    return true;
  };

  const generalRoutes: ApiRoute[] = [
    {
      method: 'GET', path: '/api/v1/cluster', handler: () => {
        const health = clusterHealth(services);
        return [200, {
          clusterId: health.clusterId,
          nodeId: health.nodeId,
          version: tideVersion,
          controller: { id: health.controllerId, active: health.controllerActive },
          brokers: health.brokers.map((broker) => ({ ...broker, self: broker.nodeId === services.nodeId })),
          partitions: countPartitions(health.partitions),
          topics: services.metadata.image().topicsByName.size,
          disk: health.disk,
        }];
      },
    },
    {
      method: 'GET', path: '/api/v1/alerts', handler: () => {
        // Evaluate now so the answer reflects the present, not the last timer tick.
        alerts.evaluate();
        return [200, alerts.snapshot()];
      },
    },
    {
      method: 'GET', path: '/api/v1/stats', handler: () => [200, { samples: history.history() }],
    },
  ];

  const api = apiRouter('/api/v1', [...generalRoutes, ...topicRoutes(services), ...messageRoutes(services), ...groupRoutes(groups, lagHistory)]);
  return { routes: [metricsRoute, api, dashboardRoute()], alerts };
}

/** The routes tide-node.ts serves after /healthz and /readyz. */
export function createAdminRoutes(services: BrokerServices, options: AdminOptions = {}): HttpRoute[] {
  return createAdminRuntime(services, options).routes;
}
