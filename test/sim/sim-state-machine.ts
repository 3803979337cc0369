// The simulated application: its whole state is the count of applied entries and a running hash of
// their data, so "applied states identical" is one number compared per index, and a snapshot is
// twelve bytes.
import type { Entry } from '../../src/raft/core/types.ts';

const fnvOffset = 0x811c9dc5;
const fnvPrime = 0x01000193;

export class SimStateMachine {
  constructor(public appliedIndex = 0, public hash = fnvOffset) {}

  /** Applies the next entry; returns false (a violation) if it is not the next index. */
  apply(entry: Entry): boolean {
    if (entry.index !== this.appliedIndex + 1) return false;
    let hash = this.hash;
    hash = Math.imul(hash ^ (entry.index & 0xff), fnvPrime);
    hash = Math.imul(hash ^ ((entry.index >>> 8) & 0xff), fnvPrime);
    hash = Math.imul(hash ^ ((entry.index >>> 16) & 0xff), fnvPrime);
    for (const byte of entry.data) hash = Math.imul(hash ^ byte, fnvPrime);
    this.hash = hash >>> 0;
    this.appliedIndex = entry.index;
    return true;
  }

  snapshotData(): Uint8Array {
    const data = new Uint8Array(12);
    const view = new DataView(data.buffer);
    view.setFloat64(0, this.appliedIndex);
    view.setUint32(8, this.hash);
    return data;
  }

  static fromSnapshot(data: Uint8Array): SimStateMachine {
    if (data.length === 0) return new SimStateMachine();
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return new SimStateMachine(view.getFloat64(0), view.getUint32(8));
  }
}
