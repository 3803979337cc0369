// GET /api/v1/cluster/quorum on the HTTP port: this node's view of the controller quorum (active
// controller, term, voters, its own role, applied metadata offset and broker state).
import { sendJson, type HttpRoute } from '../admin/http-server.ts';
import type { QuorumState } from './cluster-membership.ts';

export const quorumRoutePath = '/api/v1/cluster/quorum';

export function quorumRoute(state: () => QuorumState | null): HttpRoute {
  return (request, response, url) => {
    if (request.method !== 'GET' || url.pathname !== quorumRoutePath) return false;
    const current = state();
    if (current === null) sendJson(response, 200, { mode: 'single-node' });
    else sendJson(response, 200, { mode: 'cluster', ...current });
    return true;
  };
}
