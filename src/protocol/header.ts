// Request and response headers, split so the network layer can refuse a request before
// decoding anything version-dependent (KAFKA-5062: an unknown api key or version must not
// make us parse the rest of a frame with the wrong grammar):
//
//   const prefix = decodeRequestHeaderPrefix(reader);        // 8 bytes: key, version, id
//   const codec = apiCodecs.get(prefix.apiKey);               // unknown key -> close
//   check prefix.apiVersion against the advertised range      // else UNSUPPORTED_VERSION
//   const { clientId } = decodeRequestHeaderRest(reader, codec.requestHeaderVersion(v));
//   const body = codec.decodeRequest(reader, v);
//
// Header versions (RequestHeader.json / ResponseHeader.json):
//   request v0: api key int16, api version int16, correlation id int32 (ControlledShutdown v0)
//   request v1: + client id, nullable string with an int16 length (never compact)
//   request v2: + tagged fields (flexible request versions)
//   response v0: correlation id; v1: + tagged fields (flexible versions, but never ApiVersions)
//
// Client id limit: its int16 length caps it at 32767 bytes, and the length is checked
// against the bytes left in the frame before anything is decoded.

import { ProtocolError } from './protocol-error.ts';
import type { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

export const REQUEST_HEADER_PREFIX_BYTES = 8;

export interface RequestHeaderPrefix {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
}

export interface ParsedRequestHeader extends RequestHeaderPrefix {
  clientId: string | null; // null in header v0 or when the client sent a null id
}

export function decodeRequestHeaderPrefix(reader: Reader): RequestHeaderPrefix {
  if (reader.remaining < REQUEST_HEADER_PREFIX_BYTES) {
    throw new ProtocolError(`request header needs ${REQUEST_HEADER_PREFIX_BYTES} bytes, got ${reader.remaining}`);
  }
  const apiKey = reader.readInt16();
  const apiVersion = reader.readInt16();
  const correlationId = reader.readInt32();
  return { apiKey, apiVersion, correlationId };
}

// The rest of the header after the prefix; unknown tagged fields are skipped.
export function decodeRequestHeaderRest(reader: Reader, headerVersion: number): { clientId: string | null } {
  checkHeaderVersion(headerVersion, 2, 'request');
  const clientId = headerVersion >= 1 ? reader.readNullableString() : null;
  if (headerVersion >= 2) reader.skipTaggedFields();
  return { clientId };
}

export function decodeRequestHeader(reader: Reader, headerVersion: number): ParsedRequestHeader {
  const prefix = decodeRequestHeaderPrefix(reader);
  const { clientId } = decodeRequestHeaderRest(reader, headerVersion);
  return { ...prefix, clientId };
}

export function encodeRequestHeader(writer: Writer, headerVersion: number, header: ParsedRequestHeader): void {
  checkHeaderVersion(headerVersion, 2, 'request');
  writer.writeInt16(header.apiKey);
  writer.writeInt16(header.apiVersion);
  writer.writeInt32(header.correlationId);
  if (headerVersion >= 1) writer.writeNullableString(header.clientId);
  if (headerVersion >= 2) writer.writeEmptyTaggedFields();
}

export function encodeResponseHeader(writer: Writer, headerVersion: number, correlationId: number): void {
  checkHeaderVersion(headerVersion, 1, 'response');
  writer.writeInt32(correlationId);
  if (headerVersion >= 1) writer.writeEmptyTaggedFields();
}

// Returns the correlation id; tagged fields (none defined) are skipped.
export function decodeResponseHeader(reader: Reader, headerVersion: number): number {
  checkHeaderVersion(headerVersion, 1, 'response');
  const correlationId = reader.readInt32();
  if (headerVersion >= 1) reader.skipTaggedFields();
  return correlationId;
}

function checkHeaderVersion(headerVersion: number, maxVersion: number, kind: string): void {
  // A caller passing a bad header version is a bug, not bad input.
  if (!(headerVersion >= 0 && headerVersion <= maxVersion)) {
    throw new RangeError(`${kind} header version ${headerVersion} outside 0-${maxVersion}`);
  }
}
