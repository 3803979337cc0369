// The consuming side of the benchmark: one connection, one Fetch in flight (as a Kafka consumer
// has per broker), every partition in each request. Messages are counted from the batch headers
// (offsets), not decoded, so the figure is what the broker can serve rather than what a client
// library can parse. Two uses:
// - read from the start: no stop signal; ends once every partition reached its high watermark.
// - tail: follows the log end with long polls while a producer runs; after `stopSignal` fires it
//   keeps going until it reached the high watermark, and reports how long that catch-up took.
import { fetchCodec, type FetchRequest } from '../src/protocol/messages/fetch.ts';
import { ZERO_UUID } from '../src/protocol/reader.ts';
import { iterateBatches } from '../src/protocol/record-batch.ts';
import { BenchConnection } from './connection.ts';
import { CpuMeter, type CpuUse } from './cpu.ts';
import { elapsedSince, LatencyRecorder, round, throughput, type LatencySummaryMs, type Throughput } from './stats.ts';

const FETCH_VERSION = 12;
const MAX_FETCHES = 1_000_000;

export interface ConsumeOptions {
  port: number;
  topic: string;
  partitions: number;
  /** Value size of the produced records, to report payload MB/s next to the producer's. */
  recordBytes: number;
  startOffsets: number[];
  /** Hard bound on the whole run. */
  durationMs: number;
  maxWaitMs: number;
  fetchMaxBytes: number;
  partitionMaxBytes: number;
  /** The node's pid, to report its CPU use next to the client's. */
  nodePid?: number;
}

export interface ConsumeResult extends Throughput {
  messages: number;
  wireMbPerSec: number;
  fetches: number;
  meanFetchBytes: number;
  elapsedMs: number;
  fetchLatencyMs: LatencySummaryMs;
  /** Tail only: from the stop signal to having read up to the high watermark. */
  catchUpMs: number | null;
  /** Where each partition ended, to start the next phase from. */
  endOffsets: number[];
  /** False when the duration bound ended the run before the consumer caught up. */
  caughtUp: boolean;
  cpu: CpuUse;
}

export async function consume(options: ConsumeOptions, stopSignal?: AbortSignal): Promise<ConsumeResult> {
  const connection = await BenchConnection.open(options.port);
  const positions = [...options.startOffsets];
  const highWatermarks = positions.map(() => -1);
  const latency = new LatencyRecorder();
  const cpuMeter = new CpuMeter(options.nodePid);
  const startNs = process.hrtime.bigint();
  const deadlineMs = Date.now() + options.durationMs;
  // Without a signal the run is a read of a finished log: stopped from the start.
  let stopNs: bigint | null = !stopSignal || stopSignal.aborted ? startNs : null;
  let caughtUpNs: bigint | null = null;
  stopSignal?.addEventListener('abort', () => { stopNs ??= process.hrtime.bigint(); }, { once: true });
  let messages = 0;
  let wireBytes = 0;
  let fetches = 0;
  try {
    while (fetches < MAX_FETCHES && Date.now() < deadlineMs) {
      // Long-poll only while following a live producer; a finished log answers at once.
      const maxWaitMs = stopNs === null ? options.maxWaitMs : 0;
      const { body, latencyNs } = await connection.send(fetchCodec, FETCH_VERSION, fetchRequest(options, positions, maxWaitMs));
      fetches++;
      latency.add(latencyNs);
      if (body.errorCode !== 0) throw new Error(`fetch error ${body.errorCode}`);
      for (const partition of body.responses[0]?.partitions ?? []) {
        if (partition.errorCode !== 0) throw new Error(`fetch error ${partition.errorCode} on partition ${partition.partitionIndex}`);
        const index = partition.partitionIndex;
        highWatermarks[index] = partition.highWatermark;
        for (const batch of iterateBatches(partition.records ?? Buffer.alloc(0))) {
          const first = Math.max(batch.baseOffset, positions[index]!);
          if (batch.lastOffset < first) continue;
          messages += batch.lastOffset - first + 1;
          wireBytes += batch.sizeBytes;
          positions[index] = batch.lastOffset + 1;
        }
      }
      if (stopNs !== null && positions.every((position, index) => position >= highWatermarks[index]! && highWatermarks[index]! >= 0)) {
        caughtUpNs = process.hrtime.bigint();
        break;
      }
    }
  } finally {
    connection.close();
  }
  const elapsedNs = elapsedSince(startNs);
  const cpu = cpuMeter.stop();
  return {
    ...throughput(messages, messages * options.recordBytes, elapsedNs),
    wireMbPerSec: throughput(0, wireBytes, elapsedNs).mbPerSec,
    messages,
    fetches,
    meanFetchBytes: fetches === 0 ? 0 : Math.round(wireBytes / fetches),
    elapsedMs: Math.round(elapsedNs / 1e6),
    fetchLatencyMs: latency.summary(),
    catchUpMs: stopSignal && stopNs !== null && caughtUpNs !== null ? round(Number(caughtUpNs - stopNs) / 1e6, 1) : null,
    endOffsets: positions,
    caughtUp: caughtUpNs !== null,
    cpu,
  };
}

function fetchRequest(options: ConsumeOptions, positions: number[], maxWaitMs: number): FetchRequest {
  return {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1 },
    maxWaitMs,
    minBytes: 1,
    maxBytes: options.fetchMaxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{
      topic: options.topic,
      topicId: ZERO_UUID,
      partitions: positions.map((fetchOffset, partition) => ({
        partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1,
        partitionMaxBytes: options.partitionMaxBytes, replicaDirectoryId: ZERO_UUID,
      })),
    }],
    forgottenTopicsData: [],
    rackId: '',
  };
}
