// `tide topic create|list|describe|delete|alter-config|add-partitions`.
import { CliError } from './cli-error.ts';
import {
  addPartitions, alterTopicConfigs, createTopic, deleteTopic, describeTopicConfigs, listOffsets,
  EARLIEST_TIMESTAMP, LATEST_TIMESTAMP,
} from './client/topic-admin.ts';
import { withClient } from './client/tide-client.ts';
import {
  bootstrapOption, dispatch, expectPositional, jsonOption, parseKeyValues, parseOptions, printJson, printTable,
  type OptionSpec,
} from './command-kit.ts';

const MAX_PARTITIONS = 100_000;
const MAX_REPLICATION_FACTOR = 32;

export function run(args: string[]): Promise<number> {
  return dispatch('topic', args, {
    create: { summary: 'create a topic', run: create },
    list: { summary: 'list topics', run: list },
    describe: { summary: 'partitions (leader, replicas, ISR, offsets) and configs of a topic', run: describe },
    delete: { summary: 'delete a topic and its data', run: remove },
    'alter-config': { summary: 'set or delete topic configs', run: alterConfig },
    'add-partitions': { summary: 'raise the partition count', run: addPartitionsCommand },
  });
}

async function create(args: string[]): Promise<number> {
  const specs: OptionSpec[] = [
    { name: 'partitions', value: 'N', help: 'partition count (default: the broker\'s num.partitions)' },
    { name: 'replication-factor', value: 'N', help: 'replicas per partition (default: the broker\'s default.replication.factor)' },
    { name: 'config', value: 'KEY=VALUE', repeatable: true, help: 'a topic config, e.g. retention.ms=86400000' },
    bootstrapOption, jsonOption,
  ];
  const usage = 'tide topic create NAME [--partitions N] [--replication-factor N] [--config k=v ...]';
  const options = parseOptions(args, specs, `usage: ${usage}`);
  if (!options) return 0;
  const [name] = expectPositional(options, ['NAME'], usage);
  const partitions = options.int('partitions', -1, 1, MAX_PARTITIONS);
  const replicationFactor = options.int('replication-factor', -1, 1, MAX_REPLICATION_FACTOR);
  const configs = parseKeyValues(options.all('config'), '--config');
  const created = await withClient(options.bootstrap(), (client) => createTopic(client, { name: name!, partitions, replicationFactor, configs }));
  if (options.json()) printJson({ name, ...created, configs });
  else process.stdout.write(`created topic ${name} with ${created.partitions} partition(s), replication factor ${created.replicationFactor}\n`);
  return 0;
}

async function list(args: string[]): Promise<number> {
  const specs: OptionSpec[] = [{ name: 'internal', help: 'include internal topics (__consumer_offsets)' }, bootstrapOption, jsonOption];
  const options = parseOptions(args, specs, 'usage: tide topic list [--internal] [--json]');
  if (!options) return 0;
  expectPositional(options, [], 'tide topic list');
  const metadata = await withClient(options.bootstrap(), (client) => client.metadata(null));
  const topics = metadata.topics
    .filter((topic) => options.has('internal') || !topic.isInternal)
    .map((topic) => ({
      name: topic.name ?? '',
      partitions: topic.partitions.length,
      replicationFactor: Math.max(0, ...topic.partitions.map((p) => p.replicaNodes.length)),
      internal: topic.isInternal,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (options.json()) printJson(topics);
  else if (topics.length === 0) process.stdout.write('no topics (create one with tide topic create NAME)\n');
  else printTable(['TOPIC', 'PARTITIONS', 'REPLICATION'], topics.map((t) => [t.name, t.partitions, t.replicationFactor]));
  return 0;
}

async function describe(args: string[]): Promise<number> {
  const specs: OptionSpec[] = [{ name: 'all-configs', help: 'show every config, not only those set on the topic' }, bootstrapOption, jsonOption];
  const usage = 'tide topic describe NAME [--all-configs] [--json]';
  const options = parseOptions(args, specs, `usage: ${usage}`);
  if (!options) return 0;
  const [name] = expectPositional(options, ['NAME'], usage);
  const description = await withClient(options.bootstrap(), async (client) => {
    const metadata = await client.topicMetadata(name!);
    const indexes = metadata.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b);
    const online = metadata.partitions.filter((p) => p.leaderId >= 0).map((p) => p.partitionIndex);
    const [logStart, highWatermark, configs] = await Promise.all([
      listOffsets(client, name!, online, EARLIEST_TIMESTAMP),
      listOffsets(client, name!, online, LATEST_TIMESTAMP),
      describeTopicConfigs(client, name!),
    ]);
    const partitions = indexes.map((index) => {
      const p = metadata.partitions.find((entry) => entry.partitionIndex === index)!;
      return {
        partition: index,
        leader: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicaNodes,
        isr: p.isrNodes,
        offlineReplicas: p.offlineReplicas,
        logStartOffset: logStart.get(index) ?? null,
        highWatermark: highWatermark.get(index) ?? null,
      };
    });
    return { name: name!, topicId: metadata.topicId, internal: metadata.isInternal, partitions, configs };
  });
  if (options.json()) {
    printJson({ ...description, configs: Object.fromEntries(description.configs.map((c) => [c.name, c.value])) });
    return 0;
  }
  process.stdout.write(`topic ${description.name}  id ${description.topicId}  partitions ${description.partitions.length}\n\n`);
  printTable(
    ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'LOG-START', 'HIGH-WATERMARK'],
    description.partitions.map((p) => [
      p.partition, p.leader < 0 ? 'none' : p.leader, p.replicas.join(','), p.isr.join(','), p.logStartOffset ?? '-', p.highWatermark ?? '-',
    ]),
  );
  const shown = description.configs.filter((c) => options.has('all-configs') || !c.isDefault);
  process.stdout.write(`\nconfigs${options.has('all-configs') ? '' : ' (set on the topic; --all-configs for every one)'}:\n`);
  if (shown.length === 0) process.stdout.write('  (none)\n');
  for (const config of shown) process.stdout.write(`  ${config.name}=${config.value ?? (config.isSensitive ? '(sensitive)' : '(null)')}\n`);
  return 0;
}

async function remove(args: string[]): Promise<number> {
  const usage = 'tide topic delete NAME';
  const options = parseOptions(args, [bootstrapOption, jsonOption], `usage: ${usage}`);
  if (!options) return 0;
  const [name] = expectPositional(options, ['NAME'], usage);
  await withClient(options.bootstrap(), (client) => deleteTopic(client, name!));
  if (options.json()) printJson({ name, deleted: true });
  else process.stdout.write(`deleted topic ${name}\n`);
  return 0;
}

async function alterConfig(args: string[]): Promise<number> {
  const specs: OptionSpec[] = [
    { name: 'set', value: 'KEY=VALUE', repeatable: true, help: 'set a topic config' },
    { name: 'delete', value: 'KEY', repeatable: true, help: 'remove a topic config (back to the broker default)' },
    bootstrapOption, jsonOption,
  ];
  const usage = 'tide topic alter-config NAME --set k=v ... --delete k ...';
  const options = parseOptions(args, specs, `usage: ${usage}`);
  if (!options) return 0;
  const [name] = expectPositional(options, ['NAME'], usage);
  const set = parseKeyValues(options.all('set'), '--set');
  const removed = options.all('delete');
  if (Object.keys(set).length === 0 && removed.length === 0) throw new CliError(`nothing to change; give --set k=v or --delete k (usage: ${usage})`);
  await withClient(options.bootstrap(), (client) => alterTopicConfigs(client, name!, set, removed));
  if (options.json()) printJson({ name, set, deleted: removed });
  else process.stdout.write(`updated configs of topic ${name}\n`);
  return 0;
}

async function addPartitionsCommand(args: string[]): Promise<number> {
  const specs: OptionSpec[] = [{ name: 'count', value: 'N', help: 'the new total number of partitions' }, bootstrapOption, jsonOption];
  const usage = 'tide topic add-partitions NAME --count N';
  const options = parseOptions(args, specs, `usage: ${usage}`);
  if (!options) return 0;
  const [name] = expectPositional(options, ['NAME'], usage);
  if (!options.has('count')) throw new CliError(`--count N is required (the new total); usage: ${usage}`);
  const count = options.int('count', 0, 1, MAX_PARTITIONS);
  await withClient(options.bootstrap(), (client) => addPartitions(client, name!, count));
  if (options.json()) printJson({ name, partitions: count });
  else process.stdout.write(`topic ${name} now has ${count} partitions\n`);
  return 0;
}
