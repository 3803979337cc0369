// Produce latency at a fixed rate, open loop (as wrk2 does): message i is due at start + i/rate
// whatever happened to earlier ones, one record per Produce request, and its latency runs from
// when it was due to its acknowledgement. A closed loop (send the next one when the last is
// answered) stops sending while the broker stalls, and so hides the stall from the percentiles
// (coordinated omission). The schedule runs on timers (Node's are ~1 ms coarse), so a request may
// leave up to a millisecond after it was due; `serviceLatencyMs` (from the write) shows that part.
import { produceCodec, type ProduceRequest } from '../src/protocol/messages/produce.ts';
import { BenchConnection } from './connection.ts';
import { CpuMeter, type CpuUse } from './cpu.ts';
import { buildBatchPool, type ProducerRoute } from './pipelined-producer.ts';
import { elapsedSince, LatencyRecorder, type LatencySummaryMs } from './stats.ts';

const PRODUCE_VERSION = 9;
const REQUEST_TIMEOUT_MS = 30_000;
const BATCH_POOL_SIZE = 64;
/** More than this unanswered means the broker cannot keep the rate: stop instead of queueing without bound. */
const MAX_OUTSTANDING = 20_000;
/** After the last send, answers may take this long before the run gives up on them. */
const DRAIN_TIMEOUT_MS = 30_000;

export interface OpenLoopOptions {
  routes: ProducerRoute[];
  topic: string;
  connectionsPerRoute: number;
  recordBytes: number;
  ratePerSec: number;
  durationMs: number;
  warmupMs: number;
  acks: 1 | -1;
  nodePid?: number | number[];
}

export interface OpenLoopResult {
  ratePerSec: number;
  /** What the run achieved (answered messages over the measured time). */
  achievedMsgsPerSec: number;
  messages: number;
  errors: number;
  firstError: string | null;
  /** From when each message was due to its answer: the figure to compare. */
  latencyMs: LatencySummaryMs;
  /** The same during the warm-up (null without one): what freshly started nodes give. */
  warmupLatencyMs: LatencySummaryMs | null;
  /** From the write to the answer: without the client's timer lateness. */
  serviceLatencyMs: LatencySummaryMs;
  /** How late the client wrote requests relative to their schedule. */
  sendLagMs: LatencySummaryMs;
  cpu: CpuUse;
}

interface Target {
  connection: BenchConnection;
  partitions: number[];
  sent: number;
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const pool = buildBatchPool(options.recordBytes, 1, BATCH_POOL_SIZE);
  const targets = await Promise.all(options.routes.flatMap((route) => Array.from({ length: options.connectionsPerRoute }, async (): Promise<Target> => ({
    connection: await BenchConnection.open(route.port), partitions: route.partitions, sent: 0,
  }))));
  try {
    const warmup = options.warmupMs > 0 ? await schedule(targets, pool.batches, options, options.warmupMs, { latency: new LatencyRecorder() }) : null;
    const cpuMeter = new CpuMeter(options.nodePid);
    const measured = await schedule(targets, pool.batches, options, options.durationMs, {
      latency: new LatencyRecorder(), service: new LatencyRecorder(), sendLag: new LatencyRecorder(),
    });
    const cpu = cpuMeter.stop();
    return {
      ratePerSec: options.ratePerSec,
      achievedMsgsPerSec: Math.round(measured.answered / (measured.elapsedNs / 1e9)),
      messages: measured.answered,
      errors: measured.errors,
      firstError: measured.firstError,
      latencyMs: measured.recorders!.latency.summary(),
      warmupLatencyMs: warmup?.recorders?.latency.summary() ?? null,
      serviceLatencyMs: measured.recorders!.service!.summary(),
      sendLagMs: measured.recorders!.sendLag!.summary(),
      cpu,
    };
  } finally {
    for (const target of targets) target.connection.close();
  }
}

interface Recorders {
  latency: LatencyRecorder;
  service?: LatencyRecorder;
  sendLag?: LatencyRecorder;
}

interface ScheduleRun {
  answered: number;
  errors: number;
  firstError: string | null;
  elapsedNs: number;
  recorders: Recorders | null;
}

function schedule(targets: Target[], batches: Buffer[], options: OpenLoopOptions, durationMs: number, recorders: Recorders | null): Promise<ScheduleRun> {
  const total = Math.max(1, Math.round((options.ratePerSec * durationMs) / 1000));
  const intervalNs = 1e9 / options.ratePerSec;
  const startNs = process.hrtime.bigint();
  const run: ScheduleRun = { answered: 0, errors: 0, firstError: null, elapsedNs: 0, recorders };
  let next = 0;
  let outstanding = 0;
  let stopped = false;

  return new Promise<ScheduleRun>((resolve) => {
    let drainTimer: NodeJS.Timeout | null = null;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      if (drainTimer) clearTimeout(drainTimer);
      run.elapsedNs = elapsedSince(startNs);
      resolve(run);
    };
    const fail = (message: string) => {
      run.errors++;
      if (run.firstError === null) run.firstError = message;
      stopped = true;
    };
    const settle = () => {
      outstanding--;
      if ((stopped || next >= total) && outstanding === 0) finish();
    };
    const sendDue = () => {
      const nowNs = elapsedSince(startNs);
      // Every message due by now goes out now; a late timer sends its backlog at once.
      while (!stopped && next < total && next * intervalNs <= nowNs) {
        if (outstanding >= MAX_OUTSTANDING) {
          fail(`more than ${MAX_OUTSTANDING} requests unanswered: the rate is above what the cluster sustains`);
          break;
        }
        const dueNs = next * intervalNs;
        const target = targets[next % targets.length]!;
        const request: ProduceRequest = {
          transactionalId: null, acks: options.acks, timeoutMs: REQUEST_TIMEOUT_MS,
          topicData: [{ name: options.topic, partitionData: [{ index: target.partitions[target.sent % target.partitions.length]!, records: batches[next % batches.length]! }] }],
        };
        target.sent++;
        next++;
        outstanding++;
        recorders?.sendLag?.add(Math.max(0, elapsedSince(startNs) - dueNs));
        target.connection.send(produceCodec, PRODUCE_VERSION, request).then(
          ({ body, latencyNs }) => {
            const partition = body.responses[0]?.partitionResponses[0];
            if (!partition || partition.errorCode !== 0) {
              fail(`produce error ${partition?.errorCode ?? 'missing partition'}: ${partition?.errorMessage ?? ''}`);
            } else {
              run.answered++;
              recorders?.latency.add(elapsedSince(startNs) - dueNs);
              recorders?.service?.add(latencyNs);
            }
            settle();
          },
          (error: Error) => {
            fail(error.message);
            settle();
          },
        );
      }
      if (stopped || next >= total) {
        if (outstanding === 0) finish();
        else drainTimer = setTimeout(() => { fail(`answers missing ${DRAIN_TIMEOUT_MS} ms after the last send`); finish(); }, DRAIN_TIMEOUT_MS);
        return;
      }
      const waitMs = Math.max(0, (next * intervalNs - elapsedSince(startNs)) / 1e6);
      setTimeout(sendDue, Math.floor(waitMs));
    };
    sendDue();
  });
}
