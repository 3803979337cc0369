import { apiVersionsCodec, type ApiVersionsRequest, type ApiVersionsResponse } from '../../protocol/messages/api-versions.ts';
import type { ApiHandler } from './api-handler.ts';

/** ApiVersions is answered before anything else (and before authentication) with every advertised range. */
export function createApiVersionsHandler(advertised: () => ApiHandler[]): ApiHandler<ApiVersionsRequest, ApiVersionsResponse> {
  const response = (errorCode: number): ApiVersionsResponse => ({
    errorCode,
    apiKeys: advertised()
      .map((handler) => ({ apiKey: handler.codec.apiKey, minVersion: handler.minVersion, maxVersion: handler.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  });
  return {
    codec: apiVersionsCodec,
    minVersion: 0,
    maxVersion: 4,
    handle: () => response(0),
    errorResponse: (_request, errorCode) => response(errorCode),
  };
}
