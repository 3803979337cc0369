// Record-block codecs by Kafka attribute id: 0 none, 1 gzip, 2 snappy, 3 lz4 (frame), 4 zstd.
// Every decompression is capped on OUTPUT size and the cap is enforced before the big allocation
// (declared sizes are read from the stream's own framing first), so a zip bomb in a batch costs
// an error, not the node's memory.
import { gzip, gunzip, gzipSync, gunzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import snappy from 'snappy';
import lz4 from 'lz4-napi';
import * as zstd from '@bokuweb/zstd-wasm';

export const CompressionCodec = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;
export type CompressionCodec = (typeof CompressionCodec)[keyof typeof CompressionCodec];
export const compressionNames: Record<CompressionCodec, string> = { 0: 'none', 1: 'gzip', 2: 'snappy', 3: 'lz4', 4: 'zstd' };

export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

export type CompressionErrorKind = 'corrupt' | 'too-large' | 'unsupported';

export class CompressionError extends Error {
  override readonly name = 'CompressionError';
  readonly kind: CompressionErrorKind;
  /** The Kafka error code to answer with when this came from a client's batch. */
  readonly kafkaErrorCode: number;

  constructor(kind: CompressionErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.kafkaErrorCode = kind === 'too-large' ? 10 : kind === 'unsupported' ? 76 : 2;
  }
}

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

// ---------------------------------------------------------------- zstd (WASM, initialised once)

let zstdReady: Promise<void> | null = null;
let zstdInitialised = false;

/** Loads the zstd WASM module; every zstd call awaits it. Call early to make the sync helpers usable. */
export function initCompression(): Promise<void> {
  zstdReady ??= zstd.init().then(() => { zstdInitialised = true; });
  return zstdReady;
}

function requireZstdSync(): void {
  if (!zstdInitialised) throw new Error('zstd used before `await initCompression()`');
}

// ---------------------------------------------------------------- public API

export async function compress(codec: number, data: Buffer): Promise<Buffer> {
  switch (codec) {
    case CompressionCodec.NONE: return data;
    case CompressionCodec.GZIP: return gzipAsync(data);
    // Raw snappy block: librdkafka writes it and both librdkafka and the Java client read it.
    case CompressionCodec.SNAPPY: return snappy.compress(data);
    case CompressionCodec.LZ4: return lz4.compressFrame(data);
    case CompressionCodec.ZSTD: await initCompression(); return zstdCompress(data);
    default: throw new CompressionError('unsupported', `compression codec ${codec}`);
  }
}

/** Synchronous compress; zstd needs `await initCompression()` first. */
export function compressSync(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case CompressionCodec.NONE: return data;
    case CompressionCodec.GZIP: return gzipSync(data);
    case CompressionCodec.SNAPPY: return snappy.compressSync(data);
    case CompressionCodec.LZ4: return lz4.compressFrameSync(data);
    case CompressionCodec.ZSTD: requireZstdSync(); return zstdCompress(data);
    default: throw new CompressionError('unsupported', `compression codec ${codec}`);
  }
}

/** Decompresses `data`, refusing (CompressionError 'too-large') any output above `maxOutputBytes`. */
export async function decompress(codec: number, data: Buffer, maxOutputBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Promise<Buffer> {
  switch (codec) {
    case CompressionCodec.NONE: return capNone(data, maxOutputBytes);
    case CompressionCodec.GZIP: return gunzipAsync(data, { maxOutputLength: maxOutputBytes }).catch((err: unknown) => { throw gzipError(err, maxOutputBytes); });
    case CompressionCodec.SNAPPY: return snappyDecompress(data, maxOutputBytes);
    case CompressionCodec.LZ4: return lz4Decompress(data, maxOutputBytes);
    case CompressionCodec.ZSTD: await initCompression(); return zstdDecompress(data, maxOutputBytes);
    default: throw new CompressionError('unsupported', `compression codec ${codec}`);
  }
}

/** Synchronous decompress (same caps); zstd needs `await initCompression()` first. */
export function decompressSync(codec: number, data: Buffer, maxOutputBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Buffer {
  switch (codec) {
    case CompressionCodec.NONE: return capNone(data, maxOutputBytes);
    case CompressionCodec.GZIP:
      try { return gunzipSync(data, { maxOutputLength: maxOutputBytes }); } catch (err) { throw gzipError(err, maxOutputBytes); }
    case CompressionCodec.SNAPPY: return snappyDecompress(data, maxOutputBytes);
    case CompressionCodec.LZ4: return lz4DecompressSync(data, maxOutputBytes);
    case CompressionCodec.ZSTD: requireZstdSync(); return zstdDecompress(data, maxOutputBytes);
    default: throw new CompressionError('unsupported', `compression codec ${codec}`);
  }
}

function capNone(data: Buffer, maxOutputBytes: number): Buffer {
  if (data.length > maxOutputBytes) throw tooLarge(data.length, maxOutputBytes);
  return data;
}

function tooLarge(size: number | string, maxOutputBytes: number): CompressionError {
  return new CompressionError('too-large', `decompressed size ${size} exceeds the ${maxOutputBytes}-byte cap`);
}

function gzipError(err: unknown, maxOutputBytes: number): CompressionError {
  const code = (err as { code?: string }).code;
  if (code === 'ERR_BUFFER_TOO_LARGE') return tooLarge('over the cap', maxOutputBytes);
  return new CompressionError('corrupt', `gzip: ${(err as Error).message}`);
}

// ---------------------------------------------------------------- snappy

// snappy-java ("xerial") stream: 8-byte magic, int32 version, int32 compatible version, then
// chunks of int32 big-endian length + a raw snappy block.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

export function isXerialSnappy(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_BYTES && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

/** Wraps raw snappy blocks in xerial framing (what the Java client writes); for tests and tools. */
export function xerialSnappyFrame(data: Buffer, chunkBytes = 32 * 1024): Buffer {
  const parts: Buffer[] = [XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])];
  for (let start = 0; start < data.length; start += chunkBytes) {
    const block = snappy.compressSync(data.subarray(start, start + chunkBytes));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

function snappyDecompress(data: Buffer, maxOutputBytes: number): Buffer {
  if (!isXerialSnappy(data)) return snappyBlock(data, maxOutputBytes);
  const chunks: Buffer[] = [];
  let total = 0;
  let position = XERIAL_HEADER_BYTES;
  // Each chunk consumes at least 4 bytes, so the loop is bounded by data.length.
  while (position < data.length) {
    if (position + 4 > data.length) throw new CompressionError('corrupt', 'snappy: truncated xerial chunk length');
    const blockBytes = data.readInt32BE(position);
    position += 4;
    if (blockBytes < 0 || blockBytes > data.length - position) throw new CompressionError('corrupt', `snappy: xerial chunk of ${blockBytes} bytes past the end`);
    const block = data.subarray(position, position + blockBytes);
    position += blockBytes;
    const chunk = snappyBlock(block, maxOutputBytes - total);
    total += chunk.length;
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** A raw snappy block starts with its uncompressed length as an unsigned varint: checked before decoding. */
function snappyBlock(block: Buffer, maxOutputBytes: number): Buffer {
  let declared = 0;
  let scale = 1;
  let index = 0;
  for (; index < 5; index++) {
    if (index >= block.length) throw new CompressionError('corrupt', 'snappy: truncated length preamble');
    const byte = block[index]!;
    declared += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) break;
    scale *= 128;
  }
  if (index === 5) throw new CompressionError('corrupt', 'snappy: length preamble too long');
  if (declared > maxOutputBytes) throw tooLarge(declared, maxOutputBytes);
  try {
    const out = snappy.uncompressSync(block, { asBuffer: true }) as Buffer;
    if (out.length !== declared) throw new Error(`decoded ${out.length} bytes, preamble said ${declared}`);
    return out;
  } catch (err) {
    throw new CompressionError('corrupt', `snappy: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------- lz4 (frame format)

const LZ4_FRAME_MAGIC = 0x184d2204;
const LZ4_SKIPPABLE_MASK = 0xfffffff0;
const LZ4_SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_BLOCK_MAX_BYTES: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

/**
 * Walks the frame structure (no decoding) and returns an upper bound of the output: each
 * compressed block yields at most the frame's block maximum. Refuses the input when that bound
 * is over the cap, so the decoder below it can never be asked for more. (Bound, not exact: data
 * within one block maximum of the cap may be refused; with Kafka's 64 KiB blocks that is noise.)
 */
export function lz4FrameOutputBound(data: Buffer): number {
  let bound = 0;
  let position = 0;
  const need = (bytes: number, what: string) => {
    if (position + bytes > data.length) throw new CompressionError('corrupt', `lz4: truncated ${what}`);
  };
  // Every iteration of both loops consumes at least 4 bytes: bounded by data.length.
  while (position < data.length) {
    need(4, 'magic');
    const magic = data.readUInt32LE(position);
    position += 4;
    if ((magic & LZ4_SKIPPABLE_MASK) >>> 0 === LZ4_SKIPPABLE_MAGIC) {
      need(4, 'skippable frame size');
      const skip = data.readUInt32LE(position);
      position += 4;
      need(skip, 'skippable frame');
      position += skip;
      continue;
    }
    if (magic !== LZ4_FRAME_MAGIC) throw new CompressionError('corrupt', `lz4: bad frame magic 0x${magic.toString(16)}`);
    need(2, 'frame descriptor');
    const flags = data[position]!;
    const blockDescriptor = data[position + 1]!;
    position += 2;
    if (flags >> 6 !== 1) throw new CompressionError('corrupt', `lz4: frame version ${flags >> 6}`);
    const blockChecksum = (flags & 0x10) !== 0;
    const contentSizePresent = (flags & 0x08) !== 0;
    const contentChecksum = (flags & 0x04) !== 0;
    const dictionaryId = (flags & 0x01) !== 0;
    const blockMaxBytes = LZ4_BLOCK_MAX_BYTES[(blockDescriptor >> 4) & 0x07];
    if (blockMaxBytes === undefined) throw new CompressionError('corrupt', `lz4: block size id ${(blockDescriptor >> 4) & 7}`);
    if (contentSizePresent) { need(8, 'content size'); position += 8; }
    if (dictionaryId) { need(4, 'dictionary id'); position += 4; }
    need(1, 'header checksum');
    position += 1;
    for (;;) {
      need(4, 'block size');
      const word = data.readUInt32LE(position);
      position += 4;
      if (word === 0) break;
      const uncompressed = (word & 0x80000000) !== 0;
      const blockBytes = word & 0x7fffffff;
      if (blockBytes > blockMaxBytes) throw new CompressionError('corrupt', `lz4: block of ${blockBytes} bytes over the frame's ${blockMaxBytes}`);
      need(blockBytes + (blockChecksum ? 4 : 0), 'block');
      position += blockBytes + (blockChecksum ? 4 : 0);
      bound += uncompressed ? blockBytes : blockMaxBytes;
    }
    if (contentChecksum) { need(4, 'content checksum'); position += 4; }
  }
  return bound;
}

async function lz4Decompress(data: Buffer, maxOutputBytes: number): Promise<Buffer> {
  checkLz4Bound(data, maxOutputBytes);
  try {
    return await lz4.decompressFrame(data);
  } catch (err) {
    throw new CompressionError('corrupt', `lz4: ${(err as Error).message}`);
  }
}

function lz4DecompressSync(data: Buffer, maxOutputBytes: number): Buffer {
  checkLz4Bound(data, maxOutputBytes);
  try {
    return lz4.decompressFrameSync(data);
  } catch (err) {
    throw new CompressionError('corrupt', `lz4: ${(err as Error).message}`);
  }
}

function checkLz4Bound(data: Buffer, maxOutputBytes: number): void {
  const bound = lz4FrameOutputBound(data);
  if (bound > maxOutputBytes) throw tooLarge(`up to ${bound}`, maxOutputBytes);
}

// ---------------------------------------------------------------- zstd

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_DST_SIZE_TOO_SMALL = -70;
const ZSTD_FIRST_CAPACITY_BYTES = 256 * 1024;

function zstdCompress(data: Buffer): Buffer {
  const out = zstd.compress(data, 3);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** The Frame_Content_Size of the first frame, or null when the frame does not declare it. */
export function zstdDeclaredSize(data: Buffer): number | null {
  if (data.length < 6 || data.readUInt32LE(0) !== ZSTD_MAGIC) throw new CompressionError('corrupt', 'zstd: bad frame magic');
  const descriptor = data[4]!;
  const sizeFlag = descriptor >> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 0x03]!;
  const sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][sizeFlag]!;
  if (sizeBytes === 0) return null;
  const at = 5 + (singleSegment ? 0 : 1) + dictionaryIdBytes;
  if (at + sizeBytes > data.length) throw new CompressionError('corrupt', 'zstd: truncated frame header');
  switch (sizeBytes) {
    case 1: return data[at]!;
    case 2: return data.readUInt16LE(at) + 256;
    case 4: return data.readUInt32LE(at);
    default: return data.readUInt32LE(at) + data.readUInt32LE(at + 4) * 2 ** 32;
  }
}

function zstdDecompress(data: Buffer, maxOutputBytes: number): Buffer {
  const declared = zstdDeclaredSize(data);
  if (declared !== null) {
    if (declared > maxOutputBytes) throw tooLarge(declared, maxOutputBytes);
    // The library sizes its output to the declared size; a frame that lies gets dstSize_tooSmall.
    const out = zstdAttempt(data, declared);
    if (out === null) throw new CompressionError('corrupt', 'zstd: output larger than the frame declares');
    return out;
  }
  // No declared size (streaming producers, e.g. zstd-jni): grow the output window by doubling up
  // to the cap, so normal batches stay cheap and a bomb stops at the cap.
  let capacity = Math.min(maxOutputBytes, Math.max(ZSTD_FIRST_CAPACITY_BYTES, data.length * 8));
  // At most log2(cap / first capacity) + 1 attempts.
  for (;;) {
    const out = zstdAttempt(data, capacity);
    if (out !== null) return out;
    if (capacity >= maxOutputBytes) throw tooLarge('over the cap', maxOutputBytes);
    capacity = Math.min(maxOutputBytes, capacity * 2);
  }
}

/** One decode into `capacity` bytes; null when the output did not fit, CompressionError when corrupt. */
function zstdAttempt(data: Buffer, capacity: number): Buffer | null {
  try {
    const out = zstd.decompress(data, { defaultHeapSize: Math.max(1, capacity) });
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    const message = (err as Error).message;
    if (message.endsWith(`code ${ZSTD_DST_SIZE_TOO_SMALL}`)) return null;
    throw new CompressionError('corrupt', `zstd: ${message}`);
  }
}
