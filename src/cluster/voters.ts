// The controller quorum as written on the command line: `1@host:port,2@host:port,3@host:port`.
import { ConfigError } from '../config/config-error.ts';
import { parseHostPort, type HostPort } from '../config/parse-value.ts';

export interface Voter extends HostPort {
  readonly nodeId: number;
}

/** A quorum of more than this many voters is refused: every voter is on every commit's path. */
export const votersMax = 9;

export function parseVoters(text: string, source = 'controller.quorum.voters'): Voter[] {
  const voters: Voter[] = [];
  for (const item of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const at = item.indexOf('@');
    if (at <= 0) throw new ConfigError(`${source}: "${item}" must look like id@host:port`);
    const idText = item.slice(0, at);
    if (!/^\d+$/.test(idText)) throw new ConfigError(`${source}: "${idText}" in "${item}" is not a node id`);
    const nodeId = Number(idText);
    // Raft uses 0 for "nobody"; node ids in a quorum start at 1.
    if (nodeId < 1 || nodeId > 2_147_483_647) throw new ConfigError(`${source}: node id ${nodeId} must be between 1 and 2147483647`);
    const address = parseHostPort(item.slice(at + 1), source);
    if (voters.some((voter) => voter.nodeId === nodeId)) throw new ConfigError(`${source}: node id ${nodeId} is listed twice`);
    voters.push({ nodeId, host: address.host, port: address.port });
  }
  if (voters.length === 0) throw new ConfigError(`${source}: no voters given`);
  if (voters.length > votersMax) throw new ConfigError(`${source}: ${voters.length} voters; at most ${votersMax} are supported`);
  return voters;
}

export function formatVoters(voters: readonly Voter[]): string {
  return voters.map((voter) => `${voter.nodeId}@${voter.host}:${voter.port}`).join(',');
}
