// Every Kafka API this node serves, one handler per file. ApiVersions advertises exactly this list.
import type { ApiHandler } from './api-handler.ts';
import { createApiVersionsHandler } from './api-versions.ts';
import { fetchHandler } from './fetch.ts';
import { listOffsetsHandler } from './list-offsets.ts';
import { metadataHandler } from './metadata.ts';
import { produceHandler } from './produce.ts';

export const allHandlers: ApiHandler[] = [];

allHandlers.push(
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  createApiVersionsHandler(() => allHandlers),
);
