// Length-prefixed frames: int32 size, then header, then body. The server uses the response
// builders; test clients and tools use the request builders and response parsers.
// Builders return chunks (record Buffers are embedded, not copied) for socket.writev or
// cork/write; frameToBuffer joins them when one Buffer is easier.

import type { ApiCodec } from './api-codec.ts';
import {
  decodeRequestHeaderPrefix,
  decodeRequestHeaderRest,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
} from './header.ts';
import type { ParsedRequestHeader } from './header.ts';
import { ProtocolError } from './protocol-error.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export const FRAME_SIZE_BYTES = 4;
const UNSUPPORTED_VERSION = 35;

export function encodeResponseFrame<Res>(
  codec: ApiCodec<unknown, Res>,
  version: number,
  correlationId: number,
  body: Res,
): Buffer[] {
  const writer = new Writer(512);
  const sizeOffset = writer.reserveInt32();
  encodeResponseHeader(writer, codec.responseHeaderVersion(version), correlationId);
  codec.encodeResponse(writer, version, body);
  writer.patchInt32(sizeOffset, writer.length - FRAME_SIZE_BYTES);
  return writer.toChunks();
}

export function encodeRequestFrame<Req>(
  codec: ApiCodec<Req, unknown>,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: Req,
): Buffer[] {
  const writer = new Writer(512);
  const sizeOffset = writer.reserveInt32();
  const header: ParsedRequestHeader = { apiKey: codec.apiKey, apiVersion: version, correlationId, clientId };
  encodeRequestHeader(writer, codec.requestHeaderVersion(version), header);
  codec.encodeRequest(writer, version, body);
  writer.patchInt32(sizeOffset, writer.length - FRAME_SIZE_BYTES);
  return writer.toChunks();
}

export function frameToBuffer(chunks: Buffer[]): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

// payload = the frame without its 4 size bytes.
export function decodeResponsePayload<Res>(
  codec: ApiCodec<unknown, Res>,
  version: number,
  payload: Buffer,
): { correlationId: number; body: Res } {
  const reader = new Reader(payload);
  const correlationId = decodeResponseHeader(reader, codec.responseHeaderVersion(version));
  const body = codec.decodeResponse(reader, version);
  return { correlationId, body };
}

export interface DecodedRequest {
  header: ParsedRequestHeader;
  codec: ApiCodec;
  body: unknown;
  trailingBytes: number; // bytes after the body (Kafka ignores them; worth a log line)
}

// The whole request path in one call, in the safe order: prefix, codec lookup and version
// check, then the rest of the header, then the body. Throws ProtocolError (errorCode 35 for
// an unknown version; 42 otherwise) without decoding past the point of failure.
export function decodeRequestPayload(
  payload: Buffer,
  lookup: (apiKey: number) => ApiCodec | undefined,
): DecodedRequest {
  const reader = new Reader(payload);
  const prefix = decodeRequestHeaderPrefix(reader);
  const codec = lookup(prefix.apiKey);
  if (!codec) throw new ProtocolError(`unknown api key ${prefix.apiKey}`);
  if (prefix.apiVersion < codec.minVersion || prefix.apiVersion > codec.maxVersion) {
    throw new ProtocolError(`${codec.name} version ${prefix.apiVersion} not supported`, UNSUPPORTED_VERSION);
  }
  const { clientId } = decodeRequestHeaderRest(reader, codec.requestHeaderVersion(prefix.apiVersion));
  const body: unknown = codec.decodeRequest(reader, prefix.apiVersion);
  return { header: { ...prefix, clientId }, codec, body, trailingBytes: reader.remaining };
}
