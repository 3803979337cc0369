// Who may fetch as a replica (CVE-2018-1288: a client that sends Fetch with a broker's replica id
// could move the ISR and the high watermark, and so lose data). Tide's choice: replica traffic
// uses the ordinary Kafka listener, and a follower proves it is broker N by the client id of its
// requests: `tide-replica.<N>.<brokerEpoch>.<hmac>`, where hmac = HMAC-SHA256 keyed with N's
// incarnation id over the cluster id, N and the broker epoch. The incarnation id is random per
// process start and known only to the metadata quorum (it travels on the internal listener, never
// in Kafka Metadata or the HTTP API), so a Kafka client cannot forge it; the broker epoch must be
// N's current registration, so a dead incarnation's fetches are refused too (KIP-903's concern).
// The internal listener must therefore stay reachable to nodes only (see docs on deployment).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isClusterMetadataImage } from '../../controller/metadata-image-builder.ts';
import type { MetadataImage } from '../../controller/metadata-image.ts';

const prefix = 'tide-replica';
const clientIdLengthMax = 160;

export function replicaClientId(clusterId: string, nodeId: number, brokerEpoch: number, incarnationId: string): string {
  return `${prefix}.${nodeId}.${brokerEpoch}.${proof(clusterId, nodeId, brokerEpoch, incarnationId)}`;
}

/**
 * The broker id a request's client id proves, or null. `replicaId` is what the request claims; it
 * must be the proven broker, registered with this very epoch and not fenced.
 */
export function verifyReplica(image: MetadataImage, clientId: string | null, replicaId: number): boolean {
  if (clientId === null || clientId.length > clientIdLengthMax || !clientId.startsWith(`${prefix}.`)) return false;
  const parts = clientId.split('.');
  if (parts.length !== 4) return false;
  const nodeId = Number(parts[1]);
  const brokerEpoch = Number(parts[2]);
  if (!Number.isSafeInteger(nodeId) || !Number.isSafeInteger(brokerEpoch) || nodeId !== replicaId) return false;
  if (!isClusterMetadataImage(image)) return false;
  const broker = image.brokers.get(nodeId);
  if (broker === undefined || broker.brokerEpoch !== brokerEpoch) return false;
  const expected = Buffer.from(expectedProof(image.clusterId, nodeId, brokerEpoch, broker.incarnationId), 'utf8');
  const given = Buffer.from(parts[3]!, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * Each follower sends its proof with every Fetch; an HMAC per request was a visible share of a
 * leader's CPU at one record per request, so the last proof per registered broker is kept.
 */
const expectedProofs = new Map<number, { clusterId: string; brokerEpoch: number; incarnationId: string; proof: string }>();

function expectedProof(clusterId: string, nodeId: number, brokerEpoch: number, incarnationId: string): string {
  const cached = expectedProofs.get(nodeId);
  if (cached !== undefined && cached.clusterId === clusterId && cached.brokerEpoch === brokerEpoch && cached.incarnationId === incarnationId) return cached.proof;
  const computed = proof(clusterId, nodeId, brokerEpoch, incarnationId);
  expectedProofs.set(nodeId, { clusterId, brokerEpoch, incarnationId, proof: computed });
  return computed;
}

function proof(clusterId: string, nodeId: number, brokerEpoch: number, incarnationId: string): string {
  return createHmac('sha256', incarnationId).update(`${clusterId}:${nodeId}:${brokerEpoch}`).digest('base64url');
}
