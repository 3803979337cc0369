// The load generator, after kafka-producer-perf-test but without a client library in the way:
// record batches are built once (a small pool, reused: the broker rewrites baseOffset in its own
// copy of the bytes only), then each connection keeps a fixed number of Produce requests in
// flight. Latency is per request, from the write to the whole response. Runs stop by themselves
// at a deadline, a byte budget or a request budget, whichever comes first.
import { randomBytes } from 'node:crypto';
import { produceCodec, type ProduceRequest } from '../src/protocol/messages/produce.ts';
import { buildRecordBatchSync } from '../src/protocol/records.ts';
import { BATCH_HEADER_BYTES } from '../src/protocol/record-batch.ts';
import { BenchConnection } from './connection.ts';
import { CpuMeter, type CpuUse } from './cpu.ts';
import { elapsedSince, LatencyRecorder, throughput, type LatencySummaryMs, type Throughput } from './stats.ts';

const PRODUCE_VERSION = 9;
const REQUEST_TIMEOUT_MS = 30_000;
// A record without key or headers costs its value plus at most this many bytes of framing
// (length, attributes, timestamp and offset deltas, key and value lengths, header count).
const RECORD_FRAMING_BYTES = 9;
const MAX_REQUESTS_PER_RUN = 2_000_000;

/** Where a group of connections sends: one broker and the partitions it leads. */
export interface ProducerRoute {
  port: number;
  partitions: number[];
}

export interface ProducerOptions {
  port: number;
  topic: string;
  partitions: number;
  /** Per broker (a cluster): `connections` connections to each route, each cycling over its partitions. Default: `port`, partitions 0..partitions-1. */
  routes?: ProducerRoute[];
  /** Connections per route. */
  connections: number;
  inFlightPerConnection: number;
  /** Caps the requests in flight over all connections (spread evenly) instead of inFlightPerConnection each. */
  inFlightTotal?: number;
  recordBytes: number;
  batchBytes: number;
  acks: 1 | -1;
  durationMs: number;
  maxBytes: number;
  /** Run this long first, unmeasured, so JIT and page cache settle. */
  warmupMs: number;
  batchPoolSize?: number;
  /** The node's pid (or every node's, in a cluster), to report its CPU use next to the client's. */
  nodePid?: number | number[];
}

export interface ProduceResult extends Throughput {
  recordsPerBatch: number;
  batchBytes: number;
  requests: number;
  messages: number;
  /** Record batch bytes on the wire, which is what the broker writes to disk. */
  wireMbPerSec: number;
  elapsedMs: number;
  latencyMs: LatencySummaryMs;
  errors: number;
  firstError: string | null;
  cpu: CpuUse;
}

interface Pool {
  batches: Buffer[];
  recordsPerBatch: number;
}

export function buildBatchPool(recordBytes: number, batchBytes: number, poolSize: number): Pool {
  const recordsPerBatch = Math.max(1, Math.floor((batchBytes - BATCH_HEADER_BYTES) / (recordBytes + RECORD_FRAMING_BYTES)));
  const batches: Buffer[] = [];
  for (let index = 0; index < poolSize; index++) {
    // Random values: a compressing disk or a deduplicating layer cannot flatter the numbers.
    const values = randomBytes(recordsPerBatch * recordBytes);
    const records = Array.from({ length: recordsPerBatch }, (_, record) => ({ value: values.subarray(record * recordBytes, (record + 1) * recordBytes) }));
    batches.push(buildRecordBatchSync({ records }));
  }
  return { batches, recordsPerBatch };
}

export async function runProducer(options: ProducerOptions): Promise<ProduceResult> {
  const pool = buildBatchPool(options.recordBytes, options.batchBytes, options.batchPoolSize ?? 8);
  const routes = options.routes ?? [{ port: options.port, partitions: Array.from({ length: options.partitions }, (_, partition) => partition) }];
  const connections = await Promise.all(routes.flatMap((route) => Array.from({ length: options.connections }, async (): Promise<RoutedConnection> => {
    return { connection: await BenchConnection.open(route.port), partitions: route.partitions, inFlightMax: 0, sent: 0 };
  })));
  spreadInFlight(connections, options);
  try {
    const warmup = options.warmupMs > 0
      ? await pipeline(connections, pool, options, options.warmupMs, options.maxBytes, new LatencyRecorder())
      : null;
    const latency = new LatencyRecorder();
    const cpuMeter = new CpuMeter(options.nodePid);
    // A failed warmup means a broken node: report its error rather than measure the wreck.
    const run = warmup?.firstError
      ? { ...warmup, requests: 0, elapsedNs: 0 }
      : await pipeline(connections, pool, options, options.durationMs, options.maxBytes, latency);
    const cpu = cpuMeter.stop();
    const batchBytes = pool.batches[0]!.length;
    const messages = run.requests * pool.recordsPerBatch;
    return {
      ...throughput(messages, messages * options.recordBytes, run.elapsedNs),
      wireMbPerSec: throughput(run.requests, run.requests * batchBytes, run.elapsedNs).mbPerSec,
      recordsPerBatch: pool.recordsPerBatch,
      batchBytes,
      requests: run.requests,
      messages,
      elapsedMs: Math.round(run.elapsedNs / 1e6),
      latencyMs: latency.summary(),
      errors: run.errors,
      firstError: run.firstError,
      cpu,
    };
  } finally {
    for (const routed of connections) routed.connection.close();
  }
}

interface RoutedConnection {
  connection: BenchConnection;
  partitions: number[];
  inFlightMax: number;
  sent: number;
}

function spreadInFlight(connections: RoutedConnection[], options: ProducerOptions): void {
  connections.forEach((routed, index) => {
    routed.inFlightMax = options.inFlightTotal === undefined
      ? options.inFlightPerConnection
      : Math.floor(options.inFlightTotal / connections.length) + (index < options.inFlightTotal % connections.length ? 1 : 0);
  });
}

interface PipelineRun {
  requests: number; // answered without error
  errors: number;
  firstError: string | null;
  elapsedNs: number;
}

function pipeline(connections: RoutedConnection[], pool: Pool, options: ProducerOptions, durationMs: number, maxBytes: number, latency: LatencyRecorder): Promise<PipelineRun> {
  const startNs = process.hrtime.bigint();
  const deadlineNs = startNs + BigInt(durationMs) * 1_000_000n;
  const batchBytes = pool.batches[0]!.length;
  const maxRequests = Math.min(MAX_REQUESTS_PER_RUN, Math.max(1, Math.floor(maxBytes / batchBytes)));
  const run: PipelineRun = { requests: 0, errors: 0, firstError: null, elapsedNs: 0 };
  let sent = 0;
  let stopped = false;
  let outstanding = 0;
  let finished = false;

  return new Promise<PipelineRun>((resolve) => {
    const finishIfIdle = () => {
      if (outstanding > 0 || finished || !stopped) return;
      finished = true;
      run.elapsedNs = elapsedSince(startNs);
      resolve(run);
    };
    const stop = (error: string | null) => {
      if (error !== null && run.firstError === null) run.firstError = error;
      stopped = true;
    };
    const pump = (routed: RoutedConnection) => {
      const connection = routed.connection;
      while (!stopped && connection.inFlight < routed.inFlightMax) {
        if (sent >= maxRequests || process.hrtime.bigint() >= deadlineNs) {
          stop(null);
          break;
        }
        const batch = pool.batches[sent % pool.batches.length]!;
        const request: ProduceRequest = {
          transactionalId: null,
          acks: options.acks,
          timeoutMs: REQUEST_TIMEOUT_MS,
          topicData: [{ name: options.topic, partitionData: [{ index: routed.partitions[routed.sent % routed.partitions.length]!, records: batch }] }],
        };
        sent++;
        routed.sent++;
        outstanding++;
        connection.send(produceCodec, PRODUCE_VERSION, request).then(
          ({ body, latencyNs }) => {
            const partition = body.responses[0]?.partitionResponses[0];
            if (!partition || partition.errorCode !== 0) {
              run.errors++;
              stop(`produce error ${partition?.errorCode ?? 'missing partition'}: ${partition?.errorMessage ?? ''}`);
            } else {
              run.requests++;
              latency.add(latencyNs);
            }
            outstanding--;
            pump(routed);
            finishIfIdle();
          },
          (error: Error) => {
            run.errors++;
            stop(error.message);
            outstanding--;
            finishIfIdle();
          },
        );
      }
      finishIfIdle();
    };
    for (const connection of connections) pump(connection);
  });
}
