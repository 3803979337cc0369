// `tide produce TOPIC`: one record per stdin line, sent in blocks (a block is flushed when it holds
// enough records or bytes, or when stdin pauses), a summary and periodic progress on stderr.
import { createInterface } from 'node:readline';
import { CompressionCodec } from '../protocol/compression.ts';
import type { RecordInput } from '../protocol/records.ts';
import { CliError } from './cli-error.ts';
import { Producer } from './client/producer.ts';
import { withClient } from './client/tide-client.ts';
import { bootstrapOption, parseKeyValues, parseOptions, printJson, type OptionSpec } from './command-kit.ts';

const BLOCK_RECORDS_MAX = 10_000;
// Uncompressed bytes per block: keeps every partition's batch under the default 1 MiB message limit.
const BLOCK_BYTES_MAX = 512 * 1024;
const DEFAULT_PROGRESS_EVERY = 100_000;
const REQUEST_TIMEOUT_MS = 30_000;
// Interactive input: a block is sent once stdin has been quiet this long.
const LINGER_MS = 100;

const compressionByName: Record<string, number> = {
  none: CompressionCodec.NONE, gzip: CompressionCodec.GZIP, snappy: CompressionCodec.SNAPPY, lz4: CompressionCodec.LZ4, zstd: CompressionCodec.ZSTD,
};
const acksByName: Record<string, number> = { '0': 0, '1': 1, all: -1, '-1': -1 };

const specs: OptionSpec[] = [
  { name: 'key', value: 'K', help: 'the key of every record' },
  { name: 'key-separator', value: 'SEP', help: 'split each line at the first SEP into key and value' },
  { name: 'header', value: 'KEY=VALUE', repeatable: true, help: 'a header on every record' },
  { name: 'acks', value: '0|1|all', help: 'acknowledgement to wait for (default all)' },
  { name: 'partition', value: 'N', help: 'send every record to this partition (default: by key hash, else spread)' },
  { name: 'compression', value: 'CODEC', help: 'none, gzip, snappy, lz4 or zstd (default none)' },
  { name: 'progress-every', value: 'N', help: `report progress on stderr every N records (default ${DEFAULT_PROGRESS_EVERY}; 0 for never)` },
  bootstrapOption,
  { name: 'json', help: 'print the summary as JSON on stdout' },
];

const usage = 'tide produce TOPIC [--key K | --key-separator SEP] [--header k=v ...] [--acks 0|1|all] [--compression gzip] < lines.txt';

export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args, specs, `usage: ${usage}\n\nSends each line of stdin as one record.`);
  if (!options) return 0;
  if (options.positional.length !== 1) throw new CliError(`expected TOPIC; usage: ${usage}`);
  const topic = options.positional[0]!;
  const acks = acksByName[options.get('acks') ?? 'all'];
  if (acks === undefined) throw new CliError(`--acks must be 0, 1 or all, got "${options.get('acks')}"`);
  const compression = compressionByName[options.get('compression') ?? 'none'];
  if (compression === undefined) throw new CliError(`--compression must be one of ${Object.keys(compressionByName).join(', ')}, got "${options.get('compression')}"`);
  if (options.has('key') && options.has('key-separator')) throw new CliError('give --key or --key-separator, not both');
  const separator = options.get('key-separator');
  if (separator === '') throw new CliError('--key-separator cannot be empty');
  const fixedKey = options.get('key');
  const headers = Object.entries(parseKeyValues(options.all('header'), '--header')).map(([key, value]) => ({ key, value }));
  const partition = options.has('partition') ? options.int('partition', 0, 0, 1_000_000) : null;
  const progressEvery = options.int('progress-every', DEFAULT_PROGRESS_EVERY, 0);

  const startedAt = performance.now();
  const summary = await withClient(options.bootstrap(), async (client) => {
    const producer = new Producer(client, { topic, acks, compression, partition, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    await producer.start();
    let block: Array<RecordInput & { key: Buffer | null }> = [];
    let blockBytes = 0;
    let sent = 0;
    let lineNumber = 0;
    let nextProgressAt = progressEvery;
    const partitionsTouched = new Set<number>();
    const flush = async () => {
      if (block.length === 0) return;
      const ranges = await producer.send(block);
      for (const range of ranges) partitionsTouched.add(range.partition);
      sent += block.length;
      block = [];
      blockBytes = 0;
      if (progressEvery > 0 && sent >= nextProgressAt) {
        const seconds = (performance.now() - startedAt) / 1000;
        process.stderr.write(`... ${sent} records sent (${Math.round(sent / Math.max(seconds, 0.001))}/s)\n`);
        nextProgressAt = Math.floor(sent / progressEvery + 1) * progressEvery;
      }
    };
    // Flushes run one at a time, in order; reading pauses while one is in flight so memory stays bounded.
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    let chain: Promise<void> = Promise.resolve();
    let failure: unknown = null;
    let lingerTimer: NodeJS.Timeout | null = null;
    const enqueueFlush = () => {
      if (lingerTimer) clearTimeout(lingerTimer);
      lingerTimer = null;
      lines.pause();
      chain = chain.then(flush).then(() => {
        lines.resume();
      }, (error: unknown) => {
        failure ??= error;
        lines.close();
      });
    };
    await new Promise<void>((resolve) => {
      lines.on('line', (line) => {
        if (failure) return;
        lineNumber++;
        try {
          block.push(toRecord(line, lineNumber, fixedKey, separator, headers));
        } catch (error) {
          failure = error;
          lines.close();
          return;
        }
        blockBytes += line.length + 64;
        if (block.length >= BLOCK_RECORDS_MAX || blockBytes >= BLOCK_BYTES_MAX) enqueueFlush();
        else if (!lingerTimer) lingerTimer = setTimeout(enqueueFlush, LINGER_MS);
      });
      lines.once('close', () => resolve());
    });
    if (lingerTimer) clearTimeout(lingerTimer);
    if (!failure) enqueueFlush();
    await chain;
    if (failure) throw failure;
    return { topic, records: sent, partitions: [...partitionsTouched].sort((a, b) => a - b) };
  });
  const seconds = (performance.now() - startedAt) / 1000;
  if (options.json()) printJson({ ...summary, seconds: Number(seconds.toFixed(3)) });
  const acked = acks === 0 ? ' (acks=0: not confirmed)' : '';
  process.stderr.write(`produced ${summary.records} records to ${topic} in ${seconds.toFixed(2)} s${acked}\n`);
  return 0;
}

function toRecord(line: string, lineNumber: number, fixedKey: string | undefined, separator: string | undefined, headers: RecordInput['headers']): RecordInput & { key: Buffer | null } {
  const timestamp = Date.now();
  if (separator !== undefined) {
    const at = line.indexOf(separator);
    if (at === -1) throw new CliError(`line ${lineNumber} has no key separator "${separator}"; every line must be KEY${separator}VALUE`);
    return { key: Buffer.from(line.slice(0, at)), value: line.slice(at + separator.length), headers, timestamp };
  }
  return { key: fixedKey === undefined ? null : Buffer.from(fixedKey), value: line, headers, timestamp };
}
