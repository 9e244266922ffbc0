import { createServer, type ServerResponse } from 'node:http';
import type { ClusterEvent, DiscoverySnapshot } from '../../src/events/types.ts';
import { closeServer, listenOn } from './lb-fixtures.ts';

/**
 * Just enough of a scheduler for a follower: the discovery snapshot and an SSE stream that the
 * test pushes events into. Lets LB tests run without src/scheduler.
 */
export interface FakeMaster {
  readonly url: string;
  push(eventId: number, event: ClusterEvent): void;
  close(): Promise<void>;
}

export async function startFakeMaster(snapshot: DiscoverySnapshot): Promise<FakeMaster> {
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/corral/v1/discovery') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(snapshot));
      return;
    }
    if (path === '/v2/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': attached\n\n');
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: 'not found' }));
  });
  const port = await listenOn(server);
  return {
    url: `http://127.0.0.1:${port}`,
    push(eventId, event) {
      for (const res of streams) res.write(`id: ${eventId}\nevent: ${event.eventType}\ndata: ${JSON.stringify(event)}\n\n`);
    },
    close: () => closeServer(server),
  };
}
