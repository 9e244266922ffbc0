import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SNAPSHOT_PATH, EVENTS_PATH } from '../../src/events/client.ts';
import { SSE_HEARTBEAT, formatSseFrame } from '../../src/events/sse.ts';
import type { ClusterEvent, DiscoverySnapshot, StatusUpdateEvent } from '../../src/events/types.ts';

/**
 * The scheduler's discovery contract and nothing else: `GET /corral/v1/discovery` answers the
 * snapshot it holds, `GET /v2/events` streams what `publish` is given. Lets DNS tests and
 * benchmarks drive `corral dns` with thousands of instances without launching processes.
 */
export class FakeScheduler {
  readonly #server: Server;
  readonly #streams = new Set<ServerResponse>();
  /** Every published frame, so a follower connecting late resumes by Last-Event-ID as from the scheduler. */
  readonly #history: { id: number; frame: string }[] = [];
  #snapshot: DiscoverySnapshot;
  #eventId: number;
  /** As the scheduler does: followers drop a stream that stays silent for 15 s. */
  readonly #heartbeat = setInterval(() => {
    for (const stream of this.#streams) stream.write(SSE_HEARTBEAT);
  }, 5000).unref();

  private constructor(server: Server, snapshot: DiscoverySnapshot) {
    this.#server = server;
    this.#snapshot = snapshot;
    this.#eventId = snapshot.eventId;
  }

  static async start(snapshot: DiscoverySnapshot, port = 0): Promise<FakeScheduler> {
    const server = createServer();
    const fake = new FakeScheduler(server, snapshot);
    server.on('request', (request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      if (url.pathname === SNAPSHOT_PATH) {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(fake.#snapshot));
      } else if (url.pathname === EVENTS_PATH) {
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        response.flushHeaders();
        const after = Number(request.headers['last-event-id'] ?? fake.#eventId);
        for (const { id, frame } of fake.#history) if (id > after) response.write(frame);
        fake.#streams.add(response);
        response.on('close', () => fake.#streams.delete(response));
      } else {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Followers connected to the event stream. */
  get subscribers(): number {
    return this.#streams.size;
  }

  /** Sends one committed event to every follower; returns its id. */
  publish(event: ClusterEvent): number {
    this.#eventId += 1;
    const frame = formatSseFrame(event, this.#eventId);
    this.#history.push({ id: this.#eventId, frame });
    for (const stream of this.#streams) stream.write(frame);
    return this.#eventId;
  }

  /** Replaces what the next snapshot read returns. */
  setSnapshot(snapshot: DiscoverySnapshot): void {
    this.#snapshot = snapshot;
    this.#eventId = Math.max(this.#eventId, snapshot.eventId);
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    for (const stream of this.#streams) stream.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A status update that puts a task of `appId` on `host` in `state`. */
export function statusUpdate(taskId: string, appId: string, host: string, state: StatusUpdateEvent['taskStatus'], ports: number[] = []): StatusUpdateEvent {
  return {
    eventType: 'status_update_event',
    timestamp: new Date().toISOString(),
    slaveId: 'fake-agent-S0',
    taskId,
    taskStatus: state,
    message: '',
    appId,
    host,
    ipAddresses: [],
    ports,
    version: '2024-01-01T00:00:00.000Z',
  };
}

/**
 * A snapshot of `apps` apps with `perApp` running instances each, placed round-robin on agents
 * at 127.2.x.y: at least 8 agents, about 50 instances per agent in larger clusters.
 */
export function syntheticSnapshot(apps: number, perApp: number): DiscoverySnapshot {
  const agents = Math.max(8, Math.ceil((apps * perApp) / 50));
  const agentIp = (agent: number): string => `127.2.${Math.floor(agent / 250) % 250}.${(agent % 250) + 1}`;
  const snapshot: DiscoverySnapshot = {
    eventId: 1,
    apps: [],
    tasks: [],
    leader: '127.0.0.1:8080',
    masters: ['127.0.0.1:8080'],
    agents: Array.from({ length: agents }, (_, agent) => ({ id: `fake-agent-S${agent}`, hostname: agentIp(agent), ip: agentIp(agent) })),
  };
  for (let a = 0; a < apps; a++) {
    const id = `/app-${a}`;
    snapshot.apps.push({ id, version: '2024-01-01T00:00:00.000Z', labels: {}, portDefinitions: [{ port: 10000 + a, protocol: 'tcp', name: 'http' }], healthChecks: [] });
    for (let i = 0; i < perApp; i++) {
      const n = a * perApp + i;
      snapshot.tasks.push({
        id: `app-${a}.${i}`,
        appId: id,
        slaveId: `fake-agent-S${n % agents}`,
        host: agentIp(n % agents),
        ipAddresses: [],
        ports: [20000 + (n % 40000)],
        state: 'TASK_RUNNING',
        version: '2024-01-01T00:00:00.000Z',
      });
    }
  }
  return snapshot;
}
