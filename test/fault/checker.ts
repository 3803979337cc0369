// The history checker of the fault runs, after Jepsen's Kafka queue checker (RELIABILITY.md §1).
// Producers record every send (value, partition, producer and its send order, outcome: acked at
// an offset, definitely failed, or indeterminate); readers record every pass over a partition in
// the order records arrived; samplers record high watermarks and committed group offsets over
// time. check() counts every anomaly and keeps a few examples of each.
//
// Vocabulary:
//   lost                 acked, but in no read (the headline number); split into
//     lostWrite          ... while a later offset of that partition was read (a hole), and
//     unseen             ... with nothing later read (the tail is gone, or the drain stopped short)
//   duplicate            one value at two offsets
//   inconsistentOffset   one offset holding two values across reads and acknowledgements
//   ackedOffsetMismatch  a value read at an offset other than the one it was acked with
//   unexpected           a value read that nobody sent
//   failedVisible        a send reported as definitely failed, yet read (Jepsen's G1a)
//   nonmonotonicPoll     a read pass going back (or standing still) in offsets
//   pollSkip             a read pass jumping over offsets
//   nonmonotonicSend     one producer's later send acked at a lower offset of the same partition
//   hwBackwards          a partition's high watermark decreasing between two samples (samples that
//                        carry a leader epoch older than one already seen come from a deposed
//                        leader that has not heard yet: stale, counted apart, not compared)
//   committedBackwards   a group's committed offset decreasing between two samples
export type SendOutcome =
  | { kind: 'acked'; offset: number }
  | { kind: 'failed'; error?: string }
  | { kind: 'indeterminate'; error?: string };

export interface SendRecord {
  value: string;
  partition: number;
  producer: string;
  /** Order in which this producer issued its sends (per producer, increasing). */
  sequence: number;
  outcome: SendOutcome;
  /** When the outcome was known (ms, any clock shared with the other samples). */
  completedAtMs?: number;
}

export interface ReadPass {
  reader: string;
  partition: number;
  /** Records in the order this pass received them. */
  records: { offset: number; value: string }[];
}

export interface HighWatermarkSample {
  partition: number;
  atMs: number;
  highWatermark: number;
  /** The answering leader's epoch (ListOffsets v4+), when known. */
  leaderEpoch?: number;
  /** Which node answered, for examples. */
  node?: number;
}

export interface CommittedOffsetSample {
  group: string;
  partition: number;
  atMs: number;
  offset: number;
}

export interface History {
  sends: SendRecord[];
  reads: ReadPass[];
  highWatermarks?: HighWatermarkSample[];
  committedOffsets?: CommittedOffsetSample[];
}

export const ANOMALY_KINDS = [
  'lost', 'duplicate', 'inconsistentOffset', 'ackedOffsetMismatch', 'unexpected', 'failedVisible',
  'nonmonotonicPoll', 'pollSkip', 'nonmonotonicSend', 'hwBackwards', 'committedBackwards',
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export interface CheckCounts {
  sends: number;
  acked: number;
  failed: number;
  indeterminate: number;
  indeterminateVisible: number;
  distinctValuesRead: number;
  lost: number;
  lostWrite: number;
  unseen: number;
  duplicate: number;
  inconsistentOffset: number;
  ackedOffsetMismatch: number;
  unexpected: number;
  failedVisible: number;
  nonmonotonicPoll: number;
  pollSkip: number;
  nonmonotonicSend: number;
  hwBackwards: number;
  committedBackwards: number;
  /** High-watermark samples from a leader epoch older than one already seen (not compared). */
  staleHighWatermarks: number;
}

export interface CheckReport {
  /** No anomaly of any kind in ANOMALY_KINDS. */
  valid: boolean;
  counts: CheckCounts;
  /** Up to MAX_EXAMPLES per anomaly kind, as short strings. */
  examples: Partial<Record<AnomalyKind | 'unseen' | 'lostWrite', string[]>>;
}

const MAX_EXAMPLES = 5;

export function check(history: History): CheckReport {
  const counts: CheckCounts = {
    sends: history.sends.length, acked: 0, failed: 0, indeterminate: 0, indeterminateVisible: 0, distinctValuesRead: 0,
    lost: 0, lostWrite: 0, unseen: 0, duplicate: 0, inconsistentOffset: 0, ackedOffsetMismatch: 0, unexpected: 0,
    failedVisible: 0, nonmonotonicPoll: 0, pollSkip: 0, nonmonotonicSend: 0, hwBackwards: 0, committedBackwards: 0,
    staleHighWatermarks: 0,
  };
  const examples: CheckReport['examples'] = {};
  const note = (kind: keyof CheckReport['examples'], text: string) => {
    const list = (examples[kind] ??= []);
    if (list.length < MAX_EXAMPLES) list.push(text);
  };

  // What was read: value -> offsets per partition, offset -> values, highest offset read.
  const readOffsets = new Map<string, Set<number>>(); // `${partition}/${value}` -> offsets
  const offsetValues = new Map<string, Set<string>>(); // `${partition}@${offset}` -> values
  const highestRead = new Map<number, number>();
  const valuesRead = new Set<string>();
  for (const pass of history.reads) {
    let previous: number | null = null;
    for (const record of pass.records) {
      valuesRead.add(record.value);
      addTo(readOffsets, `${pass.partition}/${record.value}`, record.offset);
      addTo(offsetValues, `${pass.partition}@${record.offset}`, record.value);
      highestRead.set(pass.partition, Math.max(highestRead.get(pass.partition) ?? -1, record.offset));
      if (previous !== null && record.offset <= previous) {
        counts.nonmonotonicPoll++;
        note('nonmonotonicPoll', `${pass.reader} p${pass.partition}: offset ${record.offset} after ${previous}`);
      } else if (previous !== null && record.offset > previous + 1) {
        counts.pollSkip++;
        note('pollSkip', `${pass.reader} p${pass.partition}: offset ${record.offset} after ${previous}`);
      }
      previous = record.offset;
    }
  }
  counts.distinctValuesRead = valuesRead.size;

  const sentValues = new Set<string>();
  for (const send of history.sends) {
    sentValues.add(send.value);
    const offsets = readOffsets.get(`${send.partition}/${send.value}`);
    const visible = offsets !== undefined && offsets.size > 0;
    if (send.outcome.kind === 'failed') {
      counts.failed++;
      if (visible) {
        counts.failedVisible++;
        note('failedVisible', `${send.value} p${send.partition} failed (${send.outcome.error ?? 'error'}) but read at ${[...offsets].join(',')}`);
      }
      continue;
    }
    if (send.outcome.kind === 'indeterminate') {
      counts.indeterminate++;
      if (visible) counts.indeterminateVisible++;
      continue;
    }
    counts.acked++;
    const ackedOffset = send.outcome.offset;
    // The acknowledgement is a claim about the offset, as good as a read of it.
    addTo(offsetValues, `${send.partition}@${ackedOffset}`, send.value);
    if (!visible) {
      counts.lost++;
      const laterRead = (highestRead.get(send.partition) ?? -1) > ackedOffset;
      if (laterRead) counts.lostWrite++;
      else counts.unseen++;
      note('lost', `${send.value} acked at p${send.partition}@${ackedOffset}, never read`);
      note(laterRead ? 'lostWrite' : 'unseen', `${send.value} p${send.partition}@${ackedOffset}`);
    } else if (!offsets.has(ackedOffset)) {
      counts.ackedOffsetMismatch++;
      note('ackedOffsetMismatch', `${send.value} acked at p${send.partition}@${ackedOffset}, read at ${[...offsets].join(',')}`);
    }
  }

  for (const [key, offsets] of readOffsets) {
    if (offsets.size > 1) {
      counts.duplicate++;
      note('duplicate', `${key} at offsets ${[...offsets].sort((a, b) => a - b).join(',')}`);
    }
    const value = key.slice(key.indexOf('/') + 1);
    if (!sentValues.has(value)) {
      counts.unexpected++;
      note('unexpected', `${key} read but never sent`);
    }
  }
  for (const [key, values] of offsetValues) {
    if (values.size > 1) {
      counts.inconsistentOffset++;
      note('inconsistentOffset', `${key} holds ${[...values].slice(0, 4).join(' | ')}`);
    }
  }

  checkSendOrder(history.sends, counts, note);
  const freshHighWatermarks = withoutStaleEpochs(history.highWatermarks ?? []);
  counts.staleHighWatermarks = (history.highWatermarks?.length ?? 0) - freshHighWatermarks.length;
  checkMonotonic(freshHighWatermarks, (sample) => `p${sample.partition}`, (sample) => sample.highWatermark, (key, from, to) => {
    counts.hwBackwards++;
    note('hwBackwards', `${key}: high watermark ${from} -> ${to}`);
  });
  checkMonotonic(history.committedOffsets ?? [], (sample) => `${sample.group}/p${sample.partition}`, (sample) => sample.offset, (key, from, to) => {
    counts.committedBackwards++;
    note('committedBackwards', `${key}: committed ${from} -> ${to}`);
  });

  const valid = ANOMALY_KINDS.every((kind) => counts[kind] === 0);
  return { valid, counts, examples };
}

function checkSendOrder(sends: SendRecord[], counts: CheckCounts, note: (kind: 'nonmonotonicSend', text: string) => void): void {
  const byProducerPartition = new Map<string, SendRecord[]>();
  for (const send of sends) {
    if (send.outcome.kind !== 'acked') continue;
    const key = `${send.producer}/p${send.partition}`;
    const list = byProducerPartition.get(key) ?? [];
    list.push(send);
    byProducerPartition.set(key, list);
  }
  for (const [key, list] of byProducerPartition) {
    list.sort((a, b) => a.sequence - b.sequence);
    for (let index = 1; index < list.length; index++) {
      const before = list[index - 1]!.outcome as { offset: number };
      const after = list[index]!.outcome as { offset: number };
      if (after.offset <= before.offset) {
        counts.nonmonotonicSend++;
        note('nonmonotonicSend', `${key}: send #${list[index]!.sequence} acked at ${after.offset} after #${list[index - 1]!.sequence} at ${before.offset}`);
      }
    }
  }
}

/** Drops samples (in time order) whose leader epoch is below the highest already seen for their partition. */
function withoutStaleEpochs(samples: HighWatermarkSample[]): HighWatermarkSample[] {
  const highestEpoch = new Map<number, number>();
  return [...samples].sort((a, b) => a.atMs - b.atMs).filter((sample) => {
    if (sample.leaderEpoch === undefined || sample.leaderEpoch < 0) return true;
    const highest = highestEpoch.get(sample.partition) ?? -1;
    if (sample.leaderEpoch < highest) return false;
    highestEpoch.set(sample.partition, sample.leaderEpoch);
    return true;
  });
}

/** Samples in time order per key; `onBackwards` for every decrease. */
function checkMonotonic<T extends { atMs: number }>(samples: T[], keyOf: (sample: T) => string, valueOf: (sample: T) => number, onBackwards: (key: string, from: number, to: number) => void): void {
  const ordered = [...samples].sort((a, b) => a.atMs - b.atMs);
  const last = new Map<string, number>();
  for (const sample of ordered) {
    const key = keyOf(sample);
    const value = valueOf(sample);
    const previous = last.get(key);
    if (previous !== undefined && value < previous) onBackwards(key, previous, value);
    last.set(key, value);
  }
}

function addTo<V>(map: Map<string, Set<V>>, key: string, value: V): void {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}

/** One line per nonzero count, for logs and assertion messages. */
export function summarize(report: CheckReport): string {
  const parts = Object.entries(report.counts).filter(([, value]) => value !== 0).map(([key, value]) => `${key}=${value}`);
  const shown = Object.entries(report.examples).map(([kind, list]) => `${kind}: ${list!.join('; ')}`);
  return [parts.join(' '), ...shown].join('\n');
}
