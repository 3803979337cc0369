// Proves the shipped monitoring files stay in step with the code: the Prometheus rules file names
// every built-in alert rule, and every tide_* metric the rules and the Grafana dashboard query is
// one that src/admin/metrics.ts exports (or is listed as not yet exported).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtInAlertRules } from '../../src/admin/alert-rules.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
const rulesText = readFileSync(join(repoRoot, 'deploy/prometheus/tide-alerts.yml'), 'utf8');
const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/tide-dashboard.json'), 'utf8'));
const metricsSource = readFileSync(join(repoRoot, 'src/admin/metrics.ts'), 'utf8');
/** Metrics a file may query ahead of the feature that exports them (none today). */
const notYetExported = new Set<string>();

function exported(name: string): boolean {
  const base = name.replace(/_(bucket|count|sum)$/, '');
  return metricsSource.includes(`'${base}'`) || notYetExported.has(base);
}

test('the Prometheus rules file carries every built-in rule', () => {
  const names = [...rulesText.matchAll(/^\s*- alert: (\w+)$/gm)].map((match) => match[1]);
  for (const rule of builtInAlertRules()) assert.ok(names.includes(rule.name), `${rule.name} is in tide-alerts.yml`);
});

test('every tide_* metric queried exists', () => {
  const expressions = [
    ...[...rulesText.matchAll(/expr: (.+)$/gm)].map((match) => match[1]!),
    ...dashboard.panels.flatMap((panel: any) => panel.targets.map((target: any) => target.expr as string)),
  ];
  assert.ok(expressions.length > 10);
  for (const expression of expressions) {
    for (const [name] of expression.matchAll(/tide_[a-z_]+/g)) assert.ok(exported(name), `${name} (in "${expression}") is exported`);
  }
  assert.equal(new Set(dashboard.panels.map((panel: any) => panel.id)).size, dashboard.panels.length, 'panel ids are unique');
});
