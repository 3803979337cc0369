// The simulator's single scheduler: a binary min-heap keyed by (virtual time, sequence number), so
// events at the same instant run in the order they were scheduled and every run replays exactly.

interface Slot<E> {
  timeMs: number;
  sequence: number;
  event: E;
}

export class EventQueue<E> {
  private readonly heap: Slot<E>[] = [];
  private nextSequence = 0;

  get size(): number {
    return this.heap.length;
  }

  schedule(timeMs: number, event: E): void {
    const slot: Slot<E> = { timeMs, sequence: this.nextSequence++, event };
    const heap = this.heap;
    heap.push(slot);
    let at = heap.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!before(slot, heap[parent]!)) break;
      heap[at] = heap[parent]!;
      at = parent;
    }
    heap[at] = slot;
  }

  pop(): { timeMs: number; event: E } | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let at = 0;
      for (;;) {
        const left = 2 * at + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
        if (!before(heap[child]!, last)) break;
        heap[at] = heap[child]!;
        at = child;
      }
      heap[at] = last;
    }
    return { timeMs: top.timeMs, event: top.event };
  }
}

function before<E>(a: Slot<E>, b: Slot<E>): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.sequence < b.sequence);
}
