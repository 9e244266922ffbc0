import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClusterEvent, DiscoverySnapshot } from '../../src/events/types.ts';

/**
 * Just enough of the scheduler for a follower: the discovery snapshot (held back until
 * `releaseSnapshot`, to observe the unsynced state) and an SSE stream tests push events into.
 */
export class FakeScheduler {
  readonly #server: http.Server;
  readonly #streams = new Set<http.ServerResponse>();
  #snapshot: DiscoverySnapshot;
  #release: () => void = () => undefined;
  readonly #released: Promise<void>;

  private constructor(snapshot: DiscoverySnapshot) {
    this.#snapshot = snapshot;
    this.#released = new Promise((resolve) => (this.#release = resolve));
    this.#server = http.createServer((request, response) => void this.#handle(request, response));
  }

  static async start(snapshot: DiscoverySnapshot): Promise<FakeScheduler> {
    const fake = new FakeScheduler(snapshot);
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  releaseSnapshot(): void {
    this.#release();
  }

  push(eventId: number, event: ClusterEvent): void {
    for (const stream of this.#streams) stream.write(`id: ${eventId}\nevent: ${event.eventType}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  get streams(): number {
    return this.#streams.size;
  }

  async close(): Promise<void> {
    this.#release();
    for (const stream of this.#streams) stream.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname === '/corral/v1/discovery') {
      await this.#released;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.#snapshot));
    } else if (url.pathname === '/v2/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      response.write(': attached\n\n');
      this.#streams.add(response);
      response.on('close', () => this.#streams.delete(response));
    } else {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
    }
  }
}
