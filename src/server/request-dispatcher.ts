import { CloseConnectionError, type ConnectionInfo, type FrameHandler } from '../network/connection.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { decodeRequestHeaderRest, encodeResponseHeader } from '../protocol/header.ts';
import { ProtocolError } from '../protocol/protocol-error.ts';
import { Reader } from '../protocol/reader.ts';
import { Writer } from '../protocol/writer.ts';
import type { Logger } from '../util/log.ts';
import { timeRequest } from '../admin/metrics.ts';
import type { BrokerServices } from './broker-services.ts';
import type { ApiHandler, RequestContext } from './handlers/api-handler.ts';

const apiVersionsKey = 18;
const maxClientIdBytes = 32 * 1024;

/**
 * Turns one request frame into one response frame. The 8 fixed header bytes (api key, version,
 * correlation id) are checked before anything else is decoded (KAFKA-5062): an unknown API closes
 * the connection; an unsupported version is answered UNSUPPORTED_VERSION; a malformed body closes
 * the connection with one log line. Nothing here can take the node down.
 */
export class RequestDispatcher implements FrameHandler {
  private readonly handlers = new Map<number, ApiHandler>();

  constructor(handlers: readonly ApiHandler[], private readonly services: () => BrokerServices | null, private readonly logger: Logger) {
    for (const handler of handlers) this.handlers.set(handler.codec.apiKey, handler);
  }

  /** The advertised ranges, for ApiVersions. */
  advertisedVersions(): Array<{ apiKey: number; minVersion: number; maxVersion: number }> {
    return [...this.handlers.values()]
      .map((handler) => ({ apiKey: handler.codec.apiKey, minVersion: handler.minVersion, maxVersion: handler.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  handle(frame: Buffer, connection: ConnectionInfo): Promise<Buffer[] | null> | Buffer[] | null {
    if (frame.length < 8) throw new CloseConnectionError(`request frame of ${frame.length} bytes is shorter than a request header`);
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const correlationId = frame.readInt32BE(4);
    const handler = this.handlers.get(apiKey);
    if (!handler) throw new CloseConnectionError(`unknown or unsupported API key ${apiKey} (version ${apiVersion}, correlation id ${correlationId})`);
    const broker = this.services();
    if (!broker) throw new CloseConnectionError('node is still starting');

    const served = apiVersion >= (handler.servedFrom ?? handler.minVersion) && apiVersion <= handler.maxVersion;
    if (!served && apiKey === apiVersionsKey) return this.apiVersionsFallback(correlationId);
    if (apiVersion < handler.codec.minVersion || apiVersion > handler.codec.maxVersion) {
      // Without a schema for this version there is no way to encode any answer.
      throw new CloseConnectionError(`${handler.codec.name} version ${apiVersion} is not supported (supported ${handler.minVersion}-${handler.maxVersion})`);
    }

    const reader = new Reader(frame, 8);
    let clientId: string | null = null;
    let request: unknown;
    try {
      clientId = decodeRequestHeaderRest(reader, handler.codec.requestHeaderVersion(apiVersion)).clientId;
      if (clientId !== null && clientId.length > maxClientIdBytes) throw new ProtocolError(`client id longer than ${maxClientIdBytes} characters`);
      request = handler.codec.decodeRequest(reader, apiVersion);
    } catch (error) {
      if (error instanceof ProtocolError) {
        throw new CloseConnectionError(`malformed ${handler.codec.name} v${apiVersion} request (correlation id ${correlationId}, client ${clientId ?? '-'}): ${error.message}`);
      }
      throw error;
    }

    const context: RequestContext = { apiVersion, correlationId, clientId, connection, broker };
    if (!served) {
      return this.encode(handler, context, handler.errorResponse(request, ErrorCode.UNSUPPORTED_VERSION, context));
    }
    const startedNs = process.hrtime.bigint();
    let result: ReturnType<ApiHandler['handle']>;
    try {
      result = handler.handle(request, context);
    } catch (error) {
      timeRequest(handler.codec.name, startedNs);
      return this.failed(handler, request, context, error);
    }
    if (result instanceof Promise) {
      return result.then(
        (response) => {
          timeRequest(handler.codec.name, startedNs);
          return response === null ? null : this.encode(handler, context, response);
        },
        (error) => {
          timeRequest(handler.codec.name, startedNs);
          return this.failed(handler, request, context, error);
        },
      );
    }
    timeRequest(handler.codec.name, startedNs);
    return result === null ? null : this.encode(handler, context, result);
  }

  /** A handler bug must not leave the client hanging: log it and answer with UNKNOWN_SERVER_ERROR. */
  private failed(handler: ApiHandler, request: unknown, context: RequestContext, error: unknown): Buffer[] {
    this.logger.error(`${handler.codec.name} handler failed`, {
      correlationId: context.correlationId,
      clientId: context.clientId,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    return this.encode(handler, context, handler.errorResponse(request, ErrorCode.UNKNOWN_SERVER_ERROR, context));
  }

  private encode(handler: ApiHandler, context: RequestContext, response: unknown): Buffer[] {
    const writer = new Writer(256);
    encodeResponseHeader(writer, handler.codec.responseHeaderVersion(context.apiVersion), context.correlationId);
    handler.codec.encodeResponse(writer, context.apiVersion, response);
    return writer.toChunks();
  }

  /** An ApiVersions request of a version we do not know: a v0 body with UNSUPPORTED_VERSION and our ranges. */
  private apiVersionsFallback(correlationId: number): Buffer[] {
    const ranges = this.advertisedVersions();
    const writer = new Writer(16 + ranges.length * 6);
    writer.writeInt32(correlationId);
    writer.writeInt16(ErrorCode.UNSUPPORTED_VERSION);
    writer.writeInt32(ranges.length);
    for (const range of ranges) {
      writer.writeInt16(range.apiKey);
      writer.writeInt16(range.minVersion);
      writer.writeInt16(range.maxVersion);
    }
    return writer.toChunks();
  }
}
