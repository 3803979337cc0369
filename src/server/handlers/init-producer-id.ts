import {
  initProducerIdCodec,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../protocol/messages/init-producer-id.ts';
import type { ApiHandler } from './api-handler.ts';

/**
 * InitProducerId: a producer id for an idempotent producer, or (v3+, id and epoch given) the same
 * id with the next epoch. Transactional ids are refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED
 * (see ProducerIdService). All versions 0-5: kafkajs sends v1, librdkafka up to v4, platformatic 3-5.
 */
export const initProducerIdHandler: ApiHandler<InitProducerIdRequest, InitProducerIdResponse> = {
  codec: initProducerIdCodec,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, context) {
    const result = await context.broker.producerIds.initProducerId(request);
    return { throttleTimeMs: 0, ...result };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 };
  },
};
