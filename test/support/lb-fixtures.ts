import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type AddressInfo, type Server as TcpServer } from 'node:net';
import type { DiscoveryApp, DiscoveryTask } from '../../src/events/types.ts';
import type { ClusterView } from '../../src/events/core/view.ts';

/** Builders for hand-made cluster views: only what a test cares about has to be spelled out. */
export function app(id: string, labels: Record<string, string> = {}, servicePorts: number[] = [10000], extra: Partial<DiscoveryApp> = {}): DiscoveryApp {
  return {
    id,
    version: '2024-01-01T00:00:00.000Z',
    labels,
    portDefinitions: servicePorts.map((port) => ({ port, protocol: 'tcp' as const })),
    healthChecks: [],
    ...extra,
  };
}

export function task(appId: string, n: number, ports: number[], extra: Partial<DiscoveryTask> = {}): DiscoveryTask {
  return {
    id: `${appId.replace(/^\//, '').replaceAll('/', '_')}.task-${n}`,
    appId,
    slaveId: 'agent-1',
    host: '127.0.0.11',
    ipAddresses: [],
    ports,
    state: 'TASK_RUNNING',
    version: '2024-01-01T00:00:00.000Z',
    ...extra,
  };
}

export function view(apps: DiscoveryApp[], tasks: DiscoveryTask[], eventId = 1): ClusterView {
  return { eventId, apps: new Map(apps.map((a) => [a.id, a])), tasks: new Map(tasks.map((t) => [t.id, t])) };
}

export interface NamedBackend {
  server: Server;
  port: number;
  /** TCP connections accepted so far (pooling keeps this low). */
  readonly connections: number;
  /** Requests for `/slow…` received and not yet answered. */
  readonly held: number;
  /** Answers every held `/slow…` request. */
  release(): void;
  close(): Promise<void>;
}

/**
 * A real HTTP backend on 127.0.0.1:0 that answers with its name and the request it received;
 * `/redirect` answers 302 to `/login`; `/slow…` waits for `release()`.
 */
export async function startNamedBackend(name: string): Promise<NamedBackend> {
  let connections = 0;
  let held: (() => void)[] = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name, url: req.url, method: req.method, headers: req.headers, body }));
    };
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/login', 'content-length': '0' });
      res.end();
    } else if (req.url?.startsWith('/slow')) {
      held.push(answer);
    } else {
      answer();
    }
  });
  server.on('connection', () => (connections += 1));
  const port = await listenOn(server);
  return {
    server,
    port,
    get connections() {
      return connections;
    },
    get held() {
      return held.length;
    },
    release() {
      const waiting = held;
      held = [];
      for (const answer of waiting) answer();
    },
    close: () => closeServer(server),
  };
}

/** A TCP backend that answers every chunk with `<name>:<chunk>`. */
export async function startTcpEcho(name: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createTcpServer((socket) => {
    socket.on('data', (chunk) => socket.write(`${name}:${chunk.toString()}`));
    socket.on('error', () => undefined);
  });
  const port = await listenOn(server);
  return { port, close: () => closeServer(server) };
}

/** A port that was free a moment ago (bind and release): for listeners whose port comes from a table. */
export async function freePort(): Promise<number> {
  const server = createTcpServer();
  const port = await listenOn(server);
  await closeServer(server);
  return port;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection (no pooling, so nothing lingers after the test). */
export function httpGet(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends `text` over TCP and resolves with the first answer. */
export function tcpExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(text));
    socket.setTimeout(3000, () => socket.destroy(new Error('tcp exchange timed out')));
    socket.once('data', (chunk) => {
      resolve(chunk.toString());
      socket.destroy();
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed without an answer')));
  });
}

export function listenOn(server: Server | TcpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export function closeServer(server: Server | TcpServer): Promise<void> {
  return new Promise((resolve) => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * Writes raw bytes (a malformed or hostile request) and collects everything the server sends
 * until it closes the connection; resolves with the status line and the whole text.
 */
export function rawHttp(port: number, text: string, timeoutMs = 10_000): Promise<{ statusLine: string; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(text));
    let received = '';
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`server kept the connection open for ${timeoutMs} ms`)));
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.once('error', reject);
    socket.once('close', (hadError) => {
      if (!hadError) resolve({ statusLine: received.split('\r\n')[0] ?? '', text: received });
    });
  });
}
