import type { ConnectionInfo } from '../../network/connection.ts';
import type { ApiCodec } from '../../protocol/messages/index.ts';
import type { BrokerServices } from '../broker-services.ts';

export interface RequestContext {
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly connection: ConnectionInfo;
  readonly broker: BrokerServices;
}

/**
 * One Kafka API: the versions advertised, the codec, and the service call. `servedFrom` lets a
 * handler advertise old versions that some clients need to see in the range (librdkafka < 2.11
 * switches features off otherwise) while answering them with UNSUPPORTED_VERSION.
 */
export interface ApiHandler<Request = any, Response = any> {
  readonly codec: ApiCodec<Request, Response>;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly servedFrom?: number;
  /** Returns the response, or null when none is due (Produce with acks=0). */
  handle(request: Request, context: RequestContext): Promise<Response | null> | Response | null;
  /** The response to send when the whole request fails with one error code. */
  errorResponse(request: Request, errorCode: number, context: RequestContext): Response;
}
