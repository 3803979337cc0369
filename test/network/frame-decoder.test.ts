// Proves the frame decoder: any split of the byte stream into chunks yields the same frames;
// frames assembled across chunks (in a shared arena) never overlap, so a handler that rewrites
// its frame in place (Produce assigns offsets in the request bytes) cannot touch another frame;
// and the size limit is checked before anything is allocated for the payload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder, FrameTooLargeError } from '../../src/network/frame-decoder.ts';

function framed(payloads: Buffer[]): Buffer {
  return Buffer.concat(payloads.flatMap((payload) => {
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length, 0);
    return [size, payload];
  }));
}

test('every chunking of the stream decodes to the same frames, and frames never share bytes', () => {
  fc.assert(fc.property(
    fc.array(fc.uint8Array({ minLength: 0, maxLength: 3000 }), { minLength: 1, maxLength: 30 }),
    fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 40 }),
    (arrays, cuts) => {
      const payloads = arrays.map((array) => Buffer.from(array));
      const stream = framed(payloads);
      const decoder = new FrameDecoder(1 << 20);
      const frames: Buffer[] = [];
      let at = 0;
      // Bounded by the stream length: each round consumes at least one byte.
      for (let round = 0; at < stream.length; round++) {
        const end = Math.min(stream.length, at + cuts[round % cuts.length]!);
        frames.push(...decoder.push(Buffer.from(stream.subarray(at, end))));
        at = end;
      }
      assert.equal(frames.length, payloads.length);
      frames.forEach((frame, index) => assert.deepEqual(frame, payloads[index]));
      assert.equal(decoder.pendingBytes, 0);
      // Overwrite every frame in place; each must still differ from the others only by its own writes.
      frames.forEach((frame, index) => frame.fill(index & 0xff));
      frames.forEach((frame, index) => assert.ok(frame.every((byte) => byte === (index & 0xff)), `frame ${index} was overwritten by another frame`));
    },
  ), { numRuns: 200 });
});

test('a frame larger than the limit is refused from its size prefix alone', () => {
  const decoder = new FrameDecoder(1000);
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(2 ** 31 - 1, 0);
  assert.throws(() => decoder.push(prefix), FrameTooLargeError);
  const negative = new FrameDecoder(1000);
  prefix.writeInt32BE(-1, 0);
  assert.throws(() => negative.push(prefix), FrameTooLargeError);
});

test('frames bigger than the assembly arena arrive whole', () => {
  const payload = Buffer.alloc(3 * 1024 * 1024, 7);
  const stream = framed([Buffer.from('small'), payload, Buffer.from('tail')]);
  const decoder = new FrameDecoder(8 * 1024 * 1024);
  const frames: Buffer[] = [];
  for (let at = 0; at < stream.length; at += 65536) frames.push(...decoder.push(stream.subarray(at, at + 65536)));
  assert.deepEqual(frames.map((frame) => frame.length), [5, payload.length, 4]);
  assert.ok(frames[1]!.equals(payload));
  assert.equal(frames[2]!.toString(), 'tail');
});
