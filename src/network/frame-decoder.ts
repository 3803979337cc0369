/**
 * Splits a TCP byte stream into Kafka frames (int32 size + payload). The size is checked against the
 * limit before any buffer for the payload is allocated, so a hostile prefix (a TLS record read as a
 * length, a 2 GiB claim) costs nothing but the closed connection.
 */
export class FrameTooLargeError extends Error {
  constructor(readonly sizeBytes: number, readonly limitBytes: number) {
    super(`frame of ${sizeBytes} bytes exceeds socket.request.max.bytes ${limitBytes}`);
  }
}

/** Frames that span socket chunks are assembled in shared arenas of this size (one allocation for many frames). */
const ARENA_BYTES = 1024 * 1024;

export class FrameDecoder {
  private chunks: Buffer[] = [];
  /** Unused tail of the current assembly arena; frames carved from it never overlap. */
  private arena: Buffer = Buffer.alloc(0);
  private bufferedBytes = 0;
  private expectedSizeBytes = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds bytes; returns every complete frame payload (without the size prefix), in order. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.expectedSizeBytes < 0) {
        if (this.bufferedBytes < 4) break;
        const size = this.peekInt32();
        if (size < 0 || size > this.maxFrameBytes) throw new FrameTooLargeError(size, this.maxFrameBytes);
        this.consume(4);
        this.expectedSizeBytes = size;
      }
      if (this.bufferedBytes < this.expectedSizeBytes) break;
      frames.push(this.consume(this.expectedSizeBytes));
      this.expectedSizeBytes = -1;
    }
    return frames;
  }

  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  private peekInt32(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.alloc(4);
    let copied = 0;
    for (const chunk of this.chunks) {
      copied += chunk.copy(head, copied, 0, Math.min(chunk.length, 4 - copied));
      if (copied === 4) break;
    }
    return head.readInt32BE(0);
  }

  /** Removes n bytes from the front; zero-copy when they sit in one chunk. */
  private consume(n: number): Buffer {
    this.bufferedBytes -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    // The frame spans chunks and must be contiguous: copy it into the arena (a fresh one when it
    // does not fit; frames bigger than an arena get their own buffer). Earlier frames keep their
    // slices of an old arena alive until their requests finish, which in-flight limits bound.
    if (n > this.arena.length) this.arena = n >= ARENA_BYTES / 4 ? Buffer.allocUnsafe(n) : Buffer.allocUnsafe(ARENA_BYTES);
    const out = this.arena.subarray(0, n);
    this.arena = this.arena.subarray(n);
    let copied = 0;
    while (copied < n) {
      const chunk = this.chunks[0]!;
      const take = Math.min(chunk.length, n - copied);
      chunk.copy(out, copied, 0, take);
      copied += take;
      if (take === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(take);
    }
    return out;
  }
}
