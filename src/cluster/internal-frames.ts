// Frames on the internal (node-to-node) listener:
//   frame    = size:int32 kind:u8 body                 size counts kind and body
//   Raft     body = an encoded Raft message (src/raft/raft-message-codec.ts), one way, no answer
//   Request  body = correlationId:u32 JSON               a controller RPC (controller-rpc.ts)
//   Response body = correlationId:u32 JSON               its answer, on the same connection
// The size is checked against a limit before anything is allocated (network/frame-decoder.ts).

export const FrameKind = { Raft: 1, Request: 2, Response: 3 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Large enough for the biggest Raft message the codec accepts (a 120 MiB snapshot) plus headers. */
export const internalFrameBytesMax = 130 * 1024 * 1024;
/** JSON bodies of controller RPCs stay far below the Raft limit. */
export const rpcBodyBytesMax = 32 * 1024 * 1024;

export class InternalFrameError extends Error {
  override name = 'InternalFrameError';
}

export function encodeRaftFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame.writeInt32BE(1 + message.length, 0);
  frame.writeUInt8(FrameKind.Raft, 4);
  frame.set(message, 5);
  return frame;
}

export function encodeJsonFrame(kind: typeof FrameKind.Request | typeof FrameKind.Response, correlationId: number, value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  if (json.length > rpcBodyBytesMax) throw new InternalFrameError(`controller rpc body of ${json.length} bytes exceeds ${rpcBodyBytesMax}`);
  const frame = Buffer.allocUnsafe(9 + json.length);
  frame.writeInt32BE(5 + json.length, 0);
  frame.writeUInt8(kind, 4);
  frame.writeUInt32BE(correlationId >>> 0, 5);
  json.copy(frame, 9);
  return frame;
}

export type DecodedFrame =
  | { kind: typeof FrameKind.Raft; message: Uint8Array }
  | { kind: typeof FrameKind.Request | typeof FrameKind.Response; correlationId: number; value: unknown };

/** Decodes one frame payload (after the size prefix); throws InternalFrameError on anything malformed. */
export function decodeFrame(payload: Buffer): DecodedFrame {
  if (payload.length < 1) throw new InternalFrameError('empty frame');
  const kind = payload.readUInt8(0);
  if (kind === FrameKind.Raft) return { kind, message: payload.subarray(1) };
  if (kind === FrameKind.Request || kind === FrameKind.Response) {
    if (payload.length < 5) throw new InternalFrameError('rpc frame shorter than its header');
    if (payload.length - 5 > rpcBodyBytesMax) throw new InternalFrameError(`rpc body of ${payload.length - 5} bytes exceeds ${rpcBodyBytesMax}`);
    const correlationId = payload.readUInt32BE(1);
    let value: unknown;
    try {
      value = JSON.parse(payload.subarray(5).toString('utf8'));
    } catch (error) {
      throw new InternalFrameError(`rpc body is not JSON: ${(error as Error).message}`);
    }
    return { kind, correlationId, value };
  }
  throw new InternalFrameError(`unknown frame kind ${kind}`);
}
