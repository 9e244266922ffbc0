import { createServer, type Server, type ServerResponse } from 'node:http';
import { formatSseFrame, SSE_HEARTBEAT } from '../../src/events/sse.ts';
import type { ClusterEvent, DiscoveryApp, DiscoveryTask, TaskState } from '../../src/events/types.ts';
import { EMPTY_VIEW, applyEvent, type ClusterView } from '../../src/events/view.ts';
import { listenOn, closeServer } from './lb-fixtures.ts';

/**
 * A scheduler-compatible discovery endpoint for LB tests and benches that need more route
 * changes per second than real task launches allow: the snapshot (`/corral/v1/discovery`) and the
 * event stream (`/v2/events`, ids, `Last-Event-ID` replay) speaking exactly the scheduler's wire
 * format, fed by the caller with Marathon events. The LB under test is the real one.
 */
export class DiscoveryServer {
  #view: ClusterView = EMPTY_VIEW;
  readonly #history: { id: number; event: ClusterEvent }[] = [];
  readonly #streams = new Set<ServerResponse>();
  readonly #server: Server;
  #heartbeat: NodeJS.Timeout | undefined;
  port = 0;

  constructor() {
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/corral/v1/discovery') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ eventId: this.#view.eventId, apps: [...this.#view.apps.values()], tasks: [...this.#view.tasks.values()] }));
        return;
      }
      if (url.pathname === '/v2/events') {
        const from = Number(req.headers['last-event-id'] ?? 0);
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        for (const { id, event } of this.#history) if (id > from) res.write(formatSseFrame(event, id));
        this.#streams.add(res);
        res.once('close', () => this.#streams.delete(res));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'not found' }));
    });
  }

  async start(): Promise<this> {
    this.port = await listenOn(this.#server);
    this.#heartbeat = setInterval(() => {
      for (const stream of this.#streams) stream.write(SSE_HEARTBEAT);
    }, 2000);
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get view(): ClusterView {
    return this.#view;
  }

  /** Commits one event: folds it into the snapshot and sends it to every open stream. */
  emit(event: ClusterEvent): number {
    const id = this.#view.eventId + 1;
    this.#view = applyEvent(this.#view, id, event);
    this.#history.push({ id, event });
    if (this.#history.length > 10_000) this.#history.splice(0, this.#history.length - 10_000);
    const frame = formatSseFrame(event, id);
    for (const stream of this.#streams) stream.write(frame);
    return id;
  }

  postApp(app: DiscoveryApp): number {
    return this.emit({ eventType: 'api_post_event', clientIp: '127.0.0.1', uri: '/v2/apps', appDefinition: { ...app }, timestamp: new Date().toISOString() });
  }

  status(task: DiscoveryTask, state: TaskState): number {
    return this.emit({
      eventType: 'status_update_event', slaveId: task.slaveId, taskId: task.id, taskStatus: state, message: '', appId: task.appId, host: task.host,
      ipAddresses: task.ipAddresses, ports: task.ports, version: task.version, timestamp: new Date().toISOString(),
    });
  }

  health(task: DiscoveryTask, healthy: boolean): number {
    return this.emit({
      eventType: 'instance_health_changed_event', instanceId: task.id, runSpecId: task.appId, runSpecVersion: task.version, healthy, timestamp: new Date().toISOString(),
    });
  }

  terminate(appId: string): number {
    return this.emit({ eventType: 'app_terminated_event', appId, timestamp: new Date().toISOString() });
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    for (const stream of this.#streams) stream.destroy();
    await closeServer(this.#server);
  }
}
