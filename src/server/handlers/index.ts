// Every Kafka API this node serves, one handler per file. ApiVersions advertises exactly this list.
import type { ApiHandler } from './api-handler.ts';
import { alterConfigsHandler } from './alter-configs.ts';
import { createApiVersionsHandler } from './api-versions.ts';
import { createPartitionsHandler } from './create-partitions.ts';
import { createTopicsHandler } from './create-topics.ts';
import { deleteRecordsHandler } from './delete-records.ts';
import { deleteTopicsHandler } from './delete-topics.ts';
import { describeClusterHandler } from './describe-cluster.ts';
import { describeConfigsHandler } from './describe-configs.ts';
import { fetchHandler } from './fetch.ts';
import { incrementalAlterConfigsHandler } from './incremental-alter-configs.ts';
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
  createTopicsHandler,
  deleteTopicsHandler,
  deleteRecordsHandler,
  describeConfigsHandler,
  alterConfigsHandler,
  createPartitionsHandler,
  incrementalAlterConfigsHandler,
  describeClusterHandler,
);
