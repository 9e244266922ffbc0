import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { checkHost, hostAllowList, type HostAllowList } from './core/browser.ts';

/** The names a server answers to (core/browser.ts `hostAllowList`), with this machine's name. */
export const serverHostAllowList = (input: { listenHost: string; allowedHosts: readonly string[]; names?: readonly string[] }): HostAllowList =>
  hostAllowList({ ...input, machineHostname: hostname() });

/**
 * DNS rebinding: a request by a name the server is not known by is refused, 403 with a message.
 * Answered here, not through a server's error table: the scheduler, a standby and the agent ask it.
 */
export function registerHostCheck(app: FastifyInstance, allowedHosts: HostAllowList, server: 'scheduler' | 'agent' = 'scheduler'): void {
  if (allowedHosts === 'any') return;
  app.addHook('onRequest', async (request, reply) => {
    const host = checkHost(request.headers.host, allowedHosts, server);
    if (!host.ok) return reply.code(403).send({ message: host.reason });
    return undefined;
  });
}
