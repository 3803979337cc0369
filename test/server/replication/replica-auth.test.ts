// Proves the replica identity check (CVE-2018-1288): only a client id carrying the HMAC of the
// claimed broker's current incarnation and epoch passes; a plain client id, another broker's
// proof, an old broker epoch, a wrong cluster id and an unknown broker are all refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetadataImageBuilder } from '../../../src/controller/metadata-image-builder.ts';
import { replicaClientId, verifyReplica } from '../../../src/server/replication/replica-auth.ts';

function imageWithBrokers() {
  const builder = new MetadataImageBuilder();
  builder.apply([
    { type: 'cluster', clusterId: 'cluster-r' },
    { type: 'register-broker', nodeId: 1, incarnationId: 'inc-one', brokerEpoch: 4, host: '127.0.0.1', port: 9001, rack: null, internalHost: '127.0.0.1', internalPort: 9101 },
    { type: 'register-broker', nodeId: 2, incarnationId: 'inc-two', brokerEpoch: 5, host: '127.0.0.1', port: 9002, rack: null, internalHost: '127.0.0.1', internalPort: 9102 },
  ], 1);
  return builder.image();
}

test('only the claimed broker current incarnation passes', () => {
  const image = imageWithBrokers();
  assert.equal(verifyReplica(image, replicaClientId('cluster-r', 1, 4, 'inc-one'), 1), true);
  assert.equal(verifyReplica(image, replicaClientId('cluster-r', 2, 5, 'inc-two'), 2), true);
  const refused: Array<[string | null, number]> = [
    [null, 1],
    ['kafkajs', 1],
    ['tide-replica.1.4.forged', 1],
    [replicaClientId('cluster-r', 1, 4, 'inc-one'), 2],          // broker 1's proof claiming to be 2
    [replicaClientId('cluster-r', 1, 3, 'inc-one'), 1],          // an older registration
    [replicaClientId('other-cluster', 1, 4, 'inc-one'), 1],
    [replicaClientId('cluster-r', 1, 4, 'guessed'), 1],
    [replicaClientId('cluster-r', 9, 1, 'inc-nine'), 9],         // not registered
    [`${replicaClientId('cluster-r', 1, 4, 'inc-one')}.extra`, 1],
    ['tide-replica.' + 'x'.repeat(500), 1],
  ];
  for (const [clientId, replicaId] of refused) assert.equal(verifyReplica(image, clientId, replicaId), false, String(clientId));
});

test('a re-registered broker is checked against its new incarnation, not a remembered proof', () => {
  const image = imageWithBrokers();
  const oldId = replicaClientId('cluster-r', 1, 4, 'inc-one');
  assert.equal(verifyReplica(image, oldId, 1), true);
  const builder = new MetadataImageBuilder();
  builder.apply([
    { type: 'cluster', clusterId: 'cluster-r' },
    { type: 'register-broker', nodeId: 1, incarnationId: 'inc-one-again', brokerEpoch: 6, host: '127.0.0.1', port: 9001, rack: null, internalHost: '127.0.0.1', internalPort: 9101 },
  ], 1);
  const restarted = builder.image();
  assert.equal(verifyReplica(restarted, oldId, 1), false);
  assert.equal(verifyReplica(restarted, replicaClientId('cluster-r', 1, 6, 'inc-one'), 1), false, 'new epoch, old incarnation');
  assert.equal(verifyReplica(restarted, replicaClientId('cluster-r', 1, 6, 'inc-one-again'), 1), true);
  assert.equal(verifyReplica(image, replicaClientId('cluster-r', 1, 6, 'inc-one-again'), 1), false, 'the old image still knows only epoch 4');
});
