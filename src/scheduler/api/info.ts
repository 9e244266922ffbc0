import type { FastifyInstance } from 'fastify';
import type { DiscoverySnapshot } from '../../events/types.ts';
import { SNAPSHOT_PATH } from '../../events/client.ts';
import { discoveryAgent, discoveryApp, discoveryTask } from '../core/marathon-json.ts';
import type { ApiContext } from './context.ts';

export const CORRAL_VERSION = '0.1.0';

export function registerInfoRoutes(server: FastifyInstance, context: ApiContext): void {
  const { state } = context;

  server.get('/ping', async (_request, reply) => reply.type('text/plain').send('pong'));

  server.get('/v2/leader', async () => ({ leader: context.advertised }));

  // Marathon's abdication; the lead goes once this answer is out (the hold is released, another scheduler takes it).
  server.delete('/v2/leader', async (_request, reply) => {
    const { abdicate } = context;
    if (abdicate === undefined) return reply.code(409).send({ message: 'this scheduler is the only one (the file store): there is nobody to hand the lead to; run several with --store etcd' });
    reply.raw.once('finish', abdicate);
    return { message: 'Leadership abdicated' };
  });

  server.get('/v2/info', async () => ({
    name: 'corral',
    version: CORRAL_VERSION,
    elected: true,
    leader: context.advertised,
    frameworkId: String(state.current.meta.get('clusterId') ?? ''),
    marathon_config: { hostname: context.advertised.split(':')[0], task_launch_timeout: 300000 },
    http_config: { http_port: Number(context.advertised.split(':').at(-1)) },
    event_subscriber: null,
    // Beyond Marathon: what the store recovered from at start-up, so a dropped torn tail or a
    // damaged snapshot is seen by more than one WARN line.
    corral_store: { type: context.storeType, ...context.storeRecovery },
  }));

  // The discovery view and the event id it is consistent with: both read in one tick.
  server.get(SNAPSHOT_PATH, async (): Promise<DiscoverySnapshot> => {
    const current = state.current;
    return {
      eventId: state.lastEventId,
      apps: [...current.apps.values()].map(discoveryApp),
      tasks: [...current.instances.values()].map((i) => discoveryTask(i, current.apps.get(i.appId))),
      leader: context.advertised,
      masters: [context.advertised],
      // The agents agent_added_event / agent_removed_event follow: the unreachable ones are out.
      agents: [...current.agents.values()].filter((agent) => agent.unreachableSince === undefined).map(discoveryAgent),
    };
  });
}
