// Injected randomness. Consensus code never calls Math.random: it takes a Random so that a seeded
// simulation replays the same election timeouts, and a real node seeds the same generator from the OS.
import { randomBytes } from 'node:crypto';

export interface Random {
  /** A uniformly distributed integer in [0, 2^32). */
  nextUint32(): number;
  /** A uniformly distributed integer in [0, bound); bound must be a positive integer below 2^32. */
  nextInt(bound: number): number;
  /** A uniformly distributed float in [0, 1). */
  nextFloat(): number;
}

const twoTo32 = 0x1_0000_0000;

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counter): 128 bits of state, passes PractRand, and needs
 * only 32-bit integer arithmetic, which JavaScript does exactly. Seeds are integers up to 2^53 - 1
 * so that any seed printed by the simulator can be typed back in.
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    const low = seed >>> 0;
    const high = Math.floor(seed / twoTo32) >>> 0;
    // Distinct constants keep seed 0 from starting in the all-zero state.
    this.a = low ^ 0x9e3779b9;
    this.b = high ^ 0x243f6a88;
    this.c = low ^ 0xb7e15162;
    this.d = 1;
    // Discard the first outputs, as the sfc32 author recommends, so nearby seeds diverge.
    for (let round = 0; round < 15; round++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  nextInt(bound: number): number {
    if (!Number.isInteger(bound) || bound <= 0 || bound > twoTo32) throw new RangeError(`bound must be an integer in [1, 2^32], got ${bound}`);
    // Rejection sampling removes the modulo bias; the loop ends with probability > 1/2 per round.
    const limit = twoTo32 - (twoTo32 % bound);
    for (let attempt = 0; attempt < 64; attempt++) {
      const value = this.nextUint32();
      if (value < limit) return value % bound;
    }
    return this.nextUint32() % bound;
  }

  nextFloat(): number {
    return this.nextUint32() / twoTo32;
  }

  /** A generator for a sub-stream (one per node, one per link) that does not disturb this one's sequence later. */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32() * 0x20_0000 + (this.nextUint32() & 0x1f_ffff));
  }
}

/** A generator seeded from the operating system, for real nodes. */
export function systemRandom(): SeededRandom {
  const bytes = randomBytes(8);
  const seed = bytes.readUInt32LE(0) + (bytes.readUInt32LE(4) & 0x1f_ffff) * twoTo32;
  return new SeededRandom(seed);
}
