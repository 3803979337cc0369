// The contract between the generated message codecs (messages/) and the rest of Tide:
// what the network layer needs to route a request and answer it in the same version.

import { ProtocolError } from './protocol-error.ts';
import type { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

const UNSUPPORTED_VERSION = 35;
const API_KEY_CONTROLLED_SHUTDOWN = 7;
const API_KEY_API_VERSIONS = 18;

export interface ApiCodec<Req = any, Res = any> {
  apiKey: number;
  name: string; // e.g. 'Produce'
  minVersion: number; // validVersions from the schema
  maxVersion: number;
  flexibleFrom: number | null; // first flexible version, null if never flexible
  listeners: readonly string[]; // 'broker', 'controller', 'zkBroker'
  latestVersionUnstable: boolean; // Kafka does not advertise maxVersion by default
  requestHeaderVersion(version: number): number; // 1 or 2 (0 only for ControlledShutdown v0)
  responseHeaderVersion(version: number): number; // 0 or 1; ApiVersions responses always 0
  // All four throw ProtocolError (errorCode UNSUPPORTED_VERSION) for a version outside
  // [minVersion, maxVersion]; the decoders throw ProtocolError on malformed input.
  decodeRequest(reader: Reader, version: number): Req;
  encodeRequest(writer: Writer, version: number, body: Req): void;
  decodeResponse(reader: Reader, version: number): Res;
  encodeResponse(writer: Writer, version: number, body: Res): void;
}

// Codec of a versioned structure that is not an API message (ConsumerProtocolSubscription,
// headers, KRaft control records).
export interface DataCodec<T> {
  name: string;
  minVersion: number;
  maxVersion: number;
  flexibleFrom: number | null;
  decode(reader: Reader, version: number): T;
  encode(writer: Writer, version: number, value: T): void;
}

type ReadFunction<T> = (reader: Reader, version: number) => T;
type WriteFunction<T> = (writer: Writer, value: T, version: number) => void;

export interface ApiDefinition<Req, Res> {
  apiKey: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  flexibleFrom: number | null;
  listeners: readonly string[];
  latestVersionUnstable: boolean;
  readRequest: ReadFunction<Req>;
  writeRequest: WriteFunction<Req>;
  readResponse: ReadFunction<Res>;
  writeResponse: WriteFunction<Res>;
}

function checkVersion(name: string, version: number, minVersion: number, maxVersion: number): void {
  if (!(version >= minVersion && version <= maxVersion)) {
    throw new ProtocolError(
      `${name} version ${version} outside supported ${minVersion}-${maxVersion}`,
      UNSUPPORTED_VERSION,
    );
  }
}

export function defineApi<Req, Res>(definition: ApiDefinition<Req, Res>): ApiCodec<Req, Res> {
  const { apiKey, name, minVersion, maxVersion, flexibleFrom } = definition;
  const { readRequest, writeRequest, readResponse, writeResponse } = definition;
  const isFlexible = (version: number): boolean => flexibleFrom !== null && version >= flexibleFrom;
  return {
    apiKey,
    name,
    minVersion,
    maxVersion,
    flexibleFrom,
    listeners: definition.listeners,
    latestVersionUnstable: definition.latestVersionUnstable,
    requestHeaderVersion(version) {
      // Header v0 (no client id) survives only for ControlledShutdown v0 (RequestHeader.json).
      if (apiKey === API_KEY_CONTROLLED_SHUTDOWN && version === 0) return 0;
      return isFlexible(version) ? 2 : 1;
    },
    responseHeaderVersion(version) {
      // A client must be able to read an ApiVersions answer before it knows what we speak.
      if (apiKey === API_KEY_API_VERSIONS) return 0;
      return isFlexible(version) ? 1 : 0;
    },
    decodeRequest(reader, version) {
      checkVersion(name, version, minVersion, maxVersion);
      return readRequest(reader, version);
    },
    encodeRequest(writer, version, body) {
      checkVersion(name, version, minVersion, maxVersion);
      writeRequest(writer, body, version);
    },
    decodeResponse(reader, version) {
      checkVersion(name, version, minVersion, maxVersion);
      return readResponse(reader, version);
    },
    encodeResponse(writer, version, body) {
      checkVersion(name, version, minVersion, maxVersion);
      writeResponse(writer, body, version);
    },
  };
}

export interface DataDefinition<T> {
  name: string;
  minVersion: number;
  maxVersion: number;
  flexibleFrom: number | null;
  read: ReadFunction<T>;
  write: WriteFunction<T>;
}

export function defineData<T>(definition: DataDefinition<T>): DataCodec<T> {
  const { name, minVersion, maxVersion, flexibleFrom, read, write } = definition;
  return {
    name,
    minVersion,
    maxVersion,
    flexibleFrom,
    decode(reader, version) {
      checkVersion(name, version, minVersion, maxVersion);
      return read(reader, version);
    },
    encode(writer, version, value) {
      checkVersion(name, version, minVersion, maxVersion);
      write(writer, value, version);
    },
  };
}
