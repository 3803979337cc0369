// Proves partitionForGroup places groups where Kafka does: Java's String.hashCode (UTF-16 code
// units, 32-bit overflow) and Kafka's Utils.abs (Integer.MIN_VALUE -> 0), checked against known
// Java values and an independent BigInt implementation of the same definition.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { javaStringHashCode, kafkaAbs, partitionForGroup } from '../../src/coordinator/group-partition.ts';

/** s[0]*31^(n-1) + ... + s[n-1], reduced to a signed 32-bit int: the JDK's documented definition. */
function referenceHashCode(text: string): number {
  let hash = 0n;
  for (let index = 0; index < text.length; index++) hash = (hash * 31n + BigInt(text.charCodeAt(index))) % 2n ** 32n;
  return Number(BigInt.asIntN(32, hash));
}

describe('javaStringHashCode', () => {
  it('matches values known from the JDK', () => {
    assert.equal(javaStringHashCode(''), 0);
    assert.equal(javaStringHashCode('hello'), 99162322);
    assert.equal(javaStringHashCode('Aa'), javaStringHashCode('BB'));
    assert.equal(javaStringHashCode('polygenelubricants'), -2147483648);
  });

  it('agrees with the BigInt definition for any string, including surrogate pairs', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (text) => javaStringHashCode(text) === referenceHashCode(text)));
  });
});

describe('partitionForGroup', () => {
  it('uses Utils.abs, which maps Integer.MIN_VALUE to partition 0', () => {
    assert.equal(kafkaAbs(-2147483648), 0);
    assert.equal(partitionForGroup('polygenelubricants', 50), 0);
  });

  it('differs from masking the sign bit for negative hashes, as Kafka does', () => {
    const text = 'my-group';
    const hash = javaStringHashCode(text);
    assert.equal(hash, referenceHashCode(text));
    assert.equal(hash, -1906497762);
    assert.equal(partitionForGroup(text, 50), 12);
    assert.notEqual(partitionForGroup(text, 50), (hash & 0x7fffffff) % 50, 'masking would say 36');
  });

  it('always lands in range', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 1000 }), (groupId, count) => {
        const partition = partitionForGroup(groupId, count);
        return Number.isInteger(partition) && partition >= 0 && partition < count;
      }),
    );
    assert.throws(() => partitionForGroup('g', 0), RangeError);
  });
});
