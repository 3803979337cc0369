// `tide cluster info` (cluster id, controller, brokers), `tide cluster health` (exit 0 when
// every partition has a leader and enough in-sync replicas, and /readyz answers 200 when --http
// is given; exit 1 listing the problems otherwise) and `tide cluster elect-leaders` (ElectLeaders:
// preferred, or with --unclean an unclean election; exit 0 when every partition was elected or
// needed no election).
import { request } from 'node:http';
import { ErrorCode, errorName } from '../protocol/error-codes.ts';
import { describeClusterCodec } from '../protocol/messages/describe-cluster.ts';
import { electLeadersCodec, type ElectLeadersRequestTopicPartitions } from '../protocol/messages/elect-leaders.ts';
import { CliError } from './cli-error.ts';
import { parseHostPort, withClient } from './client/tide-client.ts';
import { check } from './client/kafka-errors.ts';
import { topicConfigValue } from './client/topic-admin.ts';
import { bootstrapOption, dispatch, expectPositional, jsonOption, parseInteger, parseOptions, printJson, printTable, type OptionSpec } from './command-kit.ts';

const READYZ_TIMEOUT_MS = 5000;
const DEFAULT_MIN_INSYNC_REPLICAS = 1;

export function run(args: string[]): Promise<number> {
  return dispatch('cluster', args, {
    info: { summary: 'cluster id, controller, brokers and (with --http) the controller quorum', run: info },
    health: { summary: 'exit 0 when every partition is led and in sync enough, else 1 listing problems', run: health },
    'elect-leaders': { summary: 'move leadership back to preferred replicas (or, with --unclean, revive leaderless partitions)', run: electLeaders },
  });
}

interface ClusterInfo {
  clusterId: string | null;
  controllerId: number;
  brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null }>;
  /** GET /api/v1/cluster/quorum of the node given with --http. */
  quorum?: QuorumView | { error: string };
}

interface QuorumView {
  mode: 'single-node' | 'cluster';
  nodeId?: number;
  role?: string;
  controllerId?: number;
  term?: number;
  voters?: Array<{ nodeId: number; host: string; port: number }>;
  appliedOffset?: number;
  brokerState?: string;
}

async function info(args: string[]): Promise<number> {
  const httpSpec: OptionSpec = { name: 'http', value: 'HOST:PORT', help: 'also show the controller quorum (term, voters) as this node\'s HTTP port reports it' };
  const options = parseOptions(args, [bootstrapOption, httpSpec, jsonOption], 'usage: tide cluster info [--http HOST:PORT] [--json]');
  if (!options) return 0;
  expectPositional(options, [], 'tide cluster info');
  const http = options.get('http');
  const httpAddress = http === undefined ? undefined : parseHostPort(http, '--http');
  const cluster = await withClient(options.bootstrap(), async (client): Promise<ClusterInfo> => {
    if (client.bootstrap.supports(describeClusterCodec)) {
      const { body } = await client.bootstrap.send(describeClusterCodec, { includeClusterAuthorizedOperations: false, endpointType: 1 });
      check('cluster', body.errorCode, body.errorMessage);
      return {
        clusterId: body.clusterId,
        controllerId: body.controllerId,
        brokers: body.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack })),
      };
    }
    const metadata = await client.metadata([]);
    return { clusterId: metadata.clusterId, controllerId: metadata.controllerId, brokers: metadata.brokers.map((b) => ({ ...b })) };
  });
  cluster.brokers.sort((a, b) => a.nodeId - b.nodeId);
  if (httpAddress) cluster.quorum = await getQuorum(httpAddress.host, httpAddress.port);
  if (options.json()) {
    printJson(cluster);
    return 0;
  }
  process.stdout.write(`cluster ${cluster.clusterId ?? '(no id)'}  controller ${cluster.controllerId < 0 ? 'none' : cluster.controllerId}\n\n`);
  printTable(['BROKER', 'ADDRESS', 'RACK', 'ROLE'], cluster.brokers.map((b) => [
    b.nodeId, `${b.host}:${b.port}`, b.rack ?? '-', b.nodeId === cluster.controllerId ? 'controller' : '',
  ]));
  if (cluster.quorum) process.stdout.write(`\n${describeQuorum(cluster.quorum)}\n`);
  return 0;
}

function describeQuorum(quorum: QuorumView | { error: string }): string {
  if ('error' in quorum) return `quorum: unknown (${quorum.error})`;
  if (quorum.mode === 'single-node') return 'quorum: single node (its own controller)';
  const voters = (quorum.voters ?? []).map((voter) => `${voter.nodeId}@${voter.host}:${voter.port}`).join(',');
  return `quorum: active controller ${quorum.controllerId !== undefined && quorum.controllerId >= 0 ? quorum.controllerId : 'none'}, term ${quorum.term}, voters ${voters}\n` +
    `node ${quorum.nodeId}: ${quorum.role}, metadata applied to offset ${quorum.appliedOffset}, broker ${quorum.brokerState}`;
}

function getQuorum(host: string, port: number): Promise<QuorumView | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/api/v1/cluster/quorum', method: 'GET', timeout: READYZ_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        // A quorum view is small; anything larger is not one.
        if (body.length < 1024 * 1024) body += chunk;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve({ error: `HTTP ${res.statusCode}` });
        try {
          resolve(JSON.parse(body) as QuorumView);
        } catch {
          resolve({ error: 'answer is not JSON' });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${READYZ_TIMEOUT_MS} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

interface HealthReport {
  healthy: boolean;
  brokers: number;
  partitions: number;
  problems: string[];
  warnings: string[];
  readyz?: { status: number | null; error?: string };
}

async function health(args: string[]): Promise<number> {
  const specs: OptionSpec[] = [{ name: 'http', value: 'HOST:PORT', help: 'also check GET /readyz on this node\'s HTTP port' }, bootstrapOption, jsonOption];
  const options = parseOptions(args, specs, 'usage: tide cluster health [--http HOST:PORT] [--json]');
  if (!options) return 0;
  expectPositional(options, [], 'tide cluster health');
  const http = options.get('http');
  const httpAddress = http === undefined ? undefined : parseHostPort(http, '--http');
  const report = await withClient(options.bootstrap(), async (client): Promise<HealthReport> => {
    const metadata = await client.metadata(null);
    const topics = metadata.topics.filter((t) => t.errorCode === 0).map((t) => t.name ?? '');
    const minIsrByTopic = await topicConfigValue(client, topics, 'min.insync.replicas');
    const problems: string[] = [];
    const warnings: string[] = [];
    let partitions = 0;
    if (metadata.controllerId < 0) problems.push('no active controller');
    for (const topic of metadata.topics) {
      const name = topic.name ?? '?';
      if (topic.errorCode !== 0) {
        problems.push(`topic ${name}: metadata error ${topic.errorCode}`);
        continue;
      }
      const minIsr = Number(minIsrByTopic.get(name) ?? DEFAULT_MIN_INSYNC_REPLICAS);
      for (const p of topic.partitions) {
        partitions++;
        const where = `${name}/${p.partitionIndex}`;
        if (p.leaderId < 0) problems.push(`${where}: offline (no leader; replicas ${p.replicaNodes.join(',')})`);
        else if (p.isrNodes.length < minIsr) problems.push(`${where}: ISR ${p.isrNodes.join(',')} below min.insync.replicas ${minIsr}`);
        else if (p.isrNodes.length < p.replicaNodes.length) warnings.push(`${where}: under-replicated (ISR ${p.isrNodes.join(',')} of ${p.replicaNodes.join(',')})`);
      }
    }
    return { healthy: problems.length === 0, brokers: metadata.brokers.length, partitions, problems, warnings };
  });
  if (httpAddress) {
    report.readyz = await getReadyz(httpAddress.host, httpAddress.port);
    if (report.readyz.status !== 200) {
      report.problems.push(`GET http://${http}/readyz: ${report.readyz.status ?? report.readyz.error} (node not ready)`);
      report.healthy = false;
    }
  }
  if (options.json()) printJson(report);
  else {
    process.stdout.write(`${report.healthy ? 'healthy' : 'UNHEALTHY'}: ${report.brokers} broker(s), ${report.partitions} partition(s)${report.readyz ? `, /readyz ${report.readyz.status ?? 'unreachable'}` : ''}\n`);
    for (const problem of report.problems) process.stdout.write(`  problem: ${problem}\n`);
    for (const warning of report.warnings) process.stdout.write(`  warning: ${warning}\n`);
  }
  return report.healthy ? 0 : 1;
}

function getReadyz(host: string, port: number): Promise<{ status: number | null; error?: string }> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/readyz', method: 'GET', timeout: READYZ_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? null });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${READYZ_TIMEOUT_MS} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ status: null, error: error.code ?? error.message }));
    req.end();
  });
}

interface ElectionRow { topic: string; partition: number; result: string; message: string | null }

async function electLeaders(args: string[]): Promise<number> {
  const specs: OptionSpec[] = [
    { name: 'topic', value: 'TOPIC', repeatable: true, help: 'only this topic\'s partitions (default: every partition of the cluster)' },
    { name: 'partition', value: 'N', repeatable: true, help: 'only this partition (needs exactly one --topic)' },
    { name: 'unclean', help: 'unclean election: a leaderless partition gets a live replica even outside the ISR (MAY LOSE ACKNOWLEDGED MESSAGES)' },
    bootstrapOption, jsonOption,
  ];
  const usage = 'usage: tide cluster elect-leaders [--topic TOPIC]... [--partition N]... [--unclean] [--json]';
  const options = parseOptions(args, specs, usage);
  if (!options) return 0;
  expectPositional(options, [], 'tide cluster elect-leaders');
  const topicNames = options.all('topic');
  const partitions = options.all('partition').map((text) => parseInteger(text, '--partition', 0, 2 ** 31 - 1));
  if (partitions.length > 0 && topicNames.length !== 1) throw new CliError('--partition needs exactly one --topic', 2);
  const rows = await withClient(options.bootstrap(), async (client): Promise<ElectionRow[]> => {
    if (!client.bootstrap.supports(electLeadersCodec)) throw new CliError('the broker does not support ElectLeaders', 1);
    let topicPartitions: ElectLeadersRequestTopicPartitions[] | null = null;
    if (topicNames.length > 0) {
      topicPartitions = [];
      for (const topic of topicNames) {
        const ids = partitions.length > 0 ? partitions : (await client.topicMetadata(topic).catch(() => null))?.partitions.map((p) => p.partitionIndex) ?? [0];
        topicPartitions.push({ topic, partitions: ids });
      }
    }
    const { body } = await client.bootstrap.send(electLeadersCodec, { electionType: options.has('unclean') ? 1 : 0, topicPartitions, timeoutMs: 30_000 });
    if (body.errorCode !== ErrorCode.NONE) check('elect-leaders', body.errorCode);
    return body.replicaElectionResults.flatMap((topic) => topic.partitionResult.map((p) => ({
      topic: topic.topic, partition: p.partitionId, result: p.errorCode === ErrorCode.NONE ? 'elected' : errorName(p.errorCode), message: p.errorMessage,
    })));
  });
  rows.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  const failed = rows.filter((row) => row.result !== 'elected' && row.result !== 'ELECTION_NOT_NEEDED');
  if (options.json()) printJson({ results: rows });
  else if (rows.length === 0) process.stdout.write('no partition needed an election\n');
  else printTable(['TOPIC', 'PARTITION', 'RESULT', 'DETAIL'], rows.map((row) => [row.topic, row.partition, row.result, row.message ?? '']));
  return failed.length === 0 ? 0 : 1;
}
