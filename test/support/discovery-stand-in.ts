import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVENTS_PATH, SNAPSHOT_PATH } from '../../src/events/client.ts';
import { SSE_HEARTBEAT, formatSseFrame } from '../../src/events/core/sse.ts';
import type {
  ApiPostEvent, AppTerminatedEvent, ClusterEvent, DiscoveryApp, DiscoverySnapshot, DiscoveryTask, InstanceHealthChangedEvent, StatusUpdateEvent, TaskState,
} from '../../src/events/types.ts';
import { EMPTY_VIEW, applyEvent, viewFromSnapshot, type ClusterView } from '../../src/events/core/view.ts';

/** The scheduler's interval: followers drop a stream that stays silent for 15 s. */
const HEARTBEAT_MS = 5000;
/** Bounds memory in churn benchmarks; a follower resuming from further back is told to resync. */
const HISTORY_LIMIT = 10_000;

/**
 * The scheduler's discovery contract and nothing else: `GET /corral/v1/discovery` answers the
 * current view, `GET /v2/events` streams what `publish` is given (ids, Last-Event-ID replay,
 * heartbeats). Lets DNS and LB tests and benchmarks drive the real followers with thousands of
 * instances, or more changes per second than real task launches allow, without launching a
 * scheduler. Events are folded into the view the way followers fold them, so a follower that
 * reconnects reads a snapshot consistent with the stream.
 */
export class DiscoveryStandIn {
  readonly #server: Server;
  readonly #streams = new Set<ServerResponse>();
  /** Frames as sent, so a late follower resumes by Last-Event-ID as from the scheduler. */
  readonly #history: { id: number; frame: string }[] = [];
  #view: ClusterView;
  readonly #heartbeat = setInterval(() => {
    for (const stream of this.#streams) stream.write(SSE_HEARTBEAT);
  }, HEARTBEAT_MS).unref();

  private constructor(server: Server, view: ClusterView) {
    this.#server = server;
    this.#view = view;
  }

  /** Listens on 127.0.0.1, port 0, starting from `snapshot` or an empty cluster. */
  static async start(snapshot?: DiscoverySnapshot): Promise<DiscoveryStandIn> {
    const server = createServer();
    const standIn = new DiscoveryStandIn(server, snapshot === undefined ? EMPTY_VIEW : viewFromSnapshot(snapshot));
    server.on('request', (request, response) => standIn.#answer(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return standIn;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The cluster as of the last published event: what a synced follower should see. */
  get view(): ClusterView {
    return this.#view;
  }

  /** Commits one event: folds it into the view and sends it to every follower; returns its id. */
  publish(event: ClusterEvent): number {
    const id = this.#view.eventId + 1;
    this.#view = applyEvent(this.#view, id, event);
    const frame = formatSseFrame(event, id);
    this.#history.push({ id, frame });
    if (this.#history.length > HISTORY_LIMIT) this.#history.splice(0, this.#history.length - HISTORY_LIMIT);
    for (const stream of this.#streams) stream.write(frame);
    return id;
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    for (const stream of this.#streams) stream.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #answer(request: IncomingMessage, response: ServerResponse): void {
    const { pathname } = new URL(request.url ?? '/', 'http://x');
    if (pathname === SNAPSHOT_PATH) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(snapshotOf(this.#view)));
    } else if (pathname === EVENTS_PATH) {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      response.flushHeaders();
      this.#replay(request.headers['last-event-id'], response);
      this.#streams.add(response);
      response.on('close', () => this.#streams.delete(response));
    } else {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
    }
  }

  /**
   * As the scheduler: no Last-Event-ID means live events only, and one from before the kept
   * history (trimmed, or older than the seed snapshot) can only be answered by a new snapshot.
   */
  #replay(header: string | string[] | undefined, response: ServerResponse): void {
    if (typeof header !== 'string' || !/^\d+$/.test(header)) return;
    const after = Number(header);
    const oldest = this.#history[0]?.id ?? this.#view.eventId + 1;
    if (after < oldest - 1) {
      response.write(formatSseFrame({ eventType: 'resync_required', timestamp: new Date().toISOString(), lastEventId: after, oldestEventId: oldest }));
      return;
    }
    for (const { id, frame } of this.#history) if (id > after) response.write(frame);
  }
}

function snapshotOf(view: ClusterView): DiscoverySnapshot {
  const { eventId, leader, masters, agents } = view;
  return { eventId, apps: [...view.apps.values()], tasks: [...view.tasks.values()], leader, masters: masters && [...masters], agents: agents && [...agents] };
}

/** Builders for the events followers act on; fields a test does not name get fixed values. */
export function appPosted(app: DiscoveryApp): ApiPostEvent {
  return { eventType: 'api_post_event', timestamp: new Date().toISOString(), clientIp: '127.0.0.1', uri: '/v2/apps', appDefinition: { ...app } };
}

export function appTerminated(appId: string): AppTerminatedEvent {
  return { eventType: 'app_terminated_event', timestamp: new Date().toISOString(), appId };
}

/** What a status update needs of its task; a whole `DiscoveryTask` will do. */
export type TaskSketch = Pick<DiscoveryTask, 'id' | 'appId' | 'host'> & Partial<Pick<DiscoveryTask, 'slaveId' | 'ipAddresses' | 'ports' | 'version'>>;

/** Puts `task` in `state` (a terminal state removes it). The agent defaults to `fake-agent-S0`. */
export function statusUpdate(task: TaskSketch, state: TaskState): StatusUpdateEvent {
  return {
    eventType: 'status_update_event',
    timestamp: new Date().toISOString(),
    slaveId: task.slaveId ?? 'fake-agent-S0',
    taskId: task.id,
    taskStatus: state,
    message: '',
    appId: task.appId,
    host: task.host,
    ipAddresses: task.ipAddresses ?? [],
    ports: task.ports ?? [],
    version: task.version ?? '2024-01-01T00:00:00.000Z',
  };
}

export function healthChanged(task: Pick<DiscoveryTask, 'id' | 'appId' | 'version'>, healthy: boolean): InstanceHealthChangedEvent {
  return { eventType: 'instance_health_changed_event', timestamp: new Date().toISOString(), instanceId: task.id, runSpecId: task.appId, runSpecVersion: task.version, healthy };
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
