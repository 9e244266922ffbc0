import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { failDeployment } from '../core/deployment-changes.ts';
import { deploymentJson } from '../core/marathon-json.ts';
import { identityOf } from './auth-hook.ts';
import type { ApiContext } from './context.ts';
import { commitChange } from './route-helpers.ts';

export function registerDeploymentRoutes(server: FastifyInstance, { state }: ApiContext): void {
  server.get('/v2/deployments', async () => {
    const current = state.current;
    return [...current.deployments.values()].map((d) => deploymentJson(d, current));
  });

  // COMPAT(marathon): DELETE rolls the deployment back (a new deployment, 200); with force=true
  // it only stops it where it is (202).
  server.delete('/v2/deployments/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const force = (request.query as { force?: string }).force === 'true';
    const now = new Date().toISOString();
    const writer = identityOf(request);
    const change = await commitChange(state, (s) => failDeployment(s, id, force ? 'stopped by request (force=true)' : 'rolled back by request', !force, {
      now, deploymentId: randomUUID(), force: false, clientIp: request.ip, uri: request.url,
      // A rollback that brings back an app running as root needs run-as-root (src/auth/core/root-tasks.ts).
      ...(writer !== undefined ? { writer } : {}),
    }));
    if (force || change.rollback === undefined) return reply.code(202).send();
    return reply.header('Marathon-Deployment-Id', change.rollback.id).send({ deploymentId: change.rollback.id, version: now });
  });
}
