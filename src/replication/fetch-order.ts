// The order in which a follower lists its partitions in each Fetch to one leader. The leader fills
// its answer in request order up to the request's byte limit, so a fixed order lets the first few
// partitions take every answer while the others, behind as well, get nothing and fall out of the
// ISR. As Kafka's fetch sessions do, the partitions that got records last go to the back.
export class FetchOrder<T extends object> {
  /** Answers that carried records, and the last of them in which each item got some. */
  private answersWithData = 0;
  private readonly lastAnswerWithData = new WeakMap<T, number>();

  /** `entries` sorted for the next request by their item: never served first, then least recently served (stable). */
  order<E>(entries: readonly E[], itemOf: (entry: E) => T): E[] {
    return [...entries].sort((a, b) => (this.lastAnswerWithData.get(itemOf(a)) ?? 0) - (this.lastAnswerWithData.get(itemOf(b)) ?? 0));
  }

  /** One answer arrived; `withRecords` are the items it carried records for. */
  answered(withRecords: readonly T[]): void {
    if (withRecords.length === 0) return;
    this.answersWithData++;
    for (const item of withRecords) this.lastAnswerWithData.set(item, this.answersWithData);
  }
}
