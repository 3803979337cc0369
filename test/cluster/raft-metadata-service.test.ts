// Proves the cluster MetadataService: committed entries build the image; change listeners run off
// the apply path, in order, and a slow listener never sees an image older than one it saw; a
// forwarded CreateTopics is answered only after this node's listeners have seen the committing
// offset; an unreachable controller becomes REQUEST_TIMED_OUT for the client; controllerId is
// the Raft leader's id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControllerUnavailableError } from '../../src/cluster/controller-rpc.ts';
import { RaftMetadataService, type ForwardToController } from '../../src/cluster/raft-metadata-service.ts';
import type { ClusterMetadataImage } from '../../src/controller/metadata-image-builder.ts';
import { encodeRecords } from '../../src/controller/metadata-records.ts';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { silentLogger } from '../../src/util/log.ts';

const topicId = 'a'.repeat(32);

test('entries build the image; listeners see offsets in order; controllerId follows the leader', async () => {
  const service = new RaftMetadataService(silentLogger, 1000);
  const seen: number[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  service.onChange(async (image) => {
    seen.push((image as ClusterMetadataImage).appliedOffset);
    if (seen.length === 1) await gate;
  });
  service.applyEntry(1, encodeRecords([{ type: 'cluster', clusterId: 'c1' }]));
  service.applyEntry(2, new Uint8Array(0));
  service.applyEntry(3, encodeRecords([
    { type: 'topic', name: 't', topicId, configs: {}, internal: false },
    { type: 'partition', topicId, partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
  ]));
  assert.equal(service.image().topicsByName.get('t')?.partitions.length, 1, 'the image is current at once');
  assert.equal(service.visibleOffset, -1, 'listeners have not finished yet');
  const waited = service.waitForOffset(3, 5000);
  release();
  assert.equal(await waited, true);
  assert.deepEqual(seen, [1, 3], 'the slow first round folds offsets 2 and 3 into the next');
  service.setControllerId(2);
  assert.equal(service.image().controllerId, 2);
  assert.equal(service.image().clusterId, 'c1');
});

test('a forwarded change is answered after the local image applied it', async () => {
  const service = new RaftMetadataService(silentLogger, 5000);
  const forward: ForwardToController = async (method) => {
    assert.equal(method, 'createTopic');
    // The commit reaches this node a little after the controller answered.
    setTimeout(() => service.applyEntry(1, encodeRecords([{ type: 'topic', name: 'late', topicId, configs: {}, internal: false }])), 50);
    return { errorCode: 0, errorMessage: null, topicId, offset: 1 } as never;
  };
  service.setForwarder(forward);
  const result = await service.createTopic({ name: 'late', numPartitions: 1, replicationFactor: 1, assignments: [], configs: {} }, false);
  assert.deepEqual(result, { errorCode: 0, errorMessage: null, topicId });
  assert.ok(service.image().topicsByName.has('late'));
});

test('an unreachable controller is REQUEST_TIMED_OUT', async () => {
  const service = new RaftMetadataService(silentLogger, 1000);
  service.setForwarder(async () => { throw new ControllerUnavailableError('nobody home'); });
  const result = await service.deleteTopic('x');
  assert.equal(result.errorCode, ErrorCode.REQUEST_TIMED_OUT);
});
