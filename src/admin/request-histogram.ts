// The per-API request duration histogram, observed once per Kafka request. prom-client's Histogram
// builds a label object, validates and hashes it on every observation, which was ~3 % of a node's
// CPU at one record per request; this one keeps a bucket array per API and hands prom-client's
// registry the same series (`_bucket` with `le`, `_sum`, `_count`) only when scraped.

interface Series {
  /** Per bucket (not cumulative); the last slot counts values above the largest bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

export class RequestHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly bounds: readonly number[],
  ) {}

  observe(label: string, value: number): void {
    let series = this.series.get(label);
    if (series === undefined) {
      series = { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(label, series);
    }
    let bucket = 0;
    while (bucket < this.bounds.length && value > this.bounds[bucket]!) bucket++;
    series.counts[bucket]!++;
    series.sum += value;
    series.count++;
  }

  /** What prom-client's Registry asks every metric for at scrape time. */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const [label, series] of this.series) {
      let cumulative = 0;
      this.bounds.forEach((bound, index) => {
        cumulative += series.counts[index]!;
        values.push({ value: cumulative, labels: { le: bound, [this.labelName]: label }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: series.count, labels: { le: '+Inf', [this.labelName]: label }, metricName: `${this.name}_bucket` });
      values.push({ value: series.sum, labels: { [this.labelName]: label }, metricName: `${this.name}_sum` });
      values.push({ value: series.count, labels: { [this.labelName]: label }, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
