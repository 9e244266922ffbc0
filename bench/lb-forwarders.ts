/**
 * `node --import tsx bench/lb-forwarders.ts <kind> <backend-port>...`: one minimal reverse proxy on
 * 127.0.0.1:0, round robin over the backends, keep-alive to them, printing `ready <port>`.
 * Kinds: `http-proxy` (npm, from BENCH_HTTP_PROXY_DIR), `http-proxy-3`, `undici` (node:http
 * server + undici Agent.stream, what corral lb uses), `node-http` (node:http client with a
 * keep-alive Agent). Same work for each, so that only the forwarding library differs.
 */
import { Agent as HttpAgent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Agent as UndiciAgent } from 'undici';
import { ProxyServer } from 'http-proxy-3';

type Forward = (req: IncomingMessage, res: ServerResponse, port: number) => void;

const [kind = 'undici', ...portTexts] = process.argv.slice(2);
const ports = portTexts.map(Number);
let next = 0;
const fail = (res: ServerResponse): void => {
  if (!res.headersSent) res.writeHead(502);
  res.end();
};

function httpProxyForward(): Forward {
  interface HttpProxy {
    web(req: IncomingMessage, res: ServerResponse, options: { target: string }, callback: (err: Error) => void): void;
  }
  const dir = process.env.BENCH_HTTP_PROXY_DIR ?? '/tmp/corral-bench-http-proxy';
  const library = createRequire(join(dir, 'index.js'))('http-proxy') as { createProxyServer(options: object): HttpProxy };
  const proxy = library.createProxyServer({ agent: new HttpAgent({ keepAlive: true, maxFreeSockets: 256 }) });
  return (req, res, port) => proxy.web(req, res, { target: `http://127.0.0.1:${port}` }, () => fail(res));
}

function httpProxy3Forward(): Forward {
  const proxy = new ProxyServer({ agent: new HttpAgent({ keepAlive: true, maxFreeSockets: 256 }) });
  return (req, res, port) => proxy.web(req, res, { target: `http://127.0.0.1:${port}` }, () => fail(res));
}

function undiciForward(): Forward {
  const agent = new UndiciAgent({ keepAliveTimeout: 4000 });
  return (req, res, port) => {
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    delete req.headers.connection;
    agent
      .stream(
        { origin: `http://127.0.0.1:${port}`, path: req.url ?? '/', method: (req.method ?? 'GET') as 'GET', headers: req.headers as Record<string, string>, body: hasBody ? req : null },
        ({ statusCode, headers }) => {
          const outgoing = headers as Record<string, string>;
          delete outgoing.connection;
          delete outgoing['keep-alive'];
          delete outgoing['transfer-encoding'];
          res.writeHead(statusCode, outgoing);
          return res;
        },
      )
      .catch(() => fail(res));
  };
}

function nodeHttpForward(): Forward {
  const agent = new HttpAgent({ keepAlive: true, maxFreeSockets: 256 });
  return (req, res, port) => {
    delete req.headers.connection;
    const upstream = request({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers, agent }, (answer) => {
      delete answer.headers.connection;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => fail(res));
    req.pipe(upstream);
  };
}

const forwards: Record<string, () => Forward> = { 'http-proxy': httpProxyForward, 'http-proxy-3': httpProxy3Forward, undici: undiciForward, 'node-http': nodeHttpForward };
const make = forwards[kind];
if (make === undefined || ports.length === 0) {
  process.stderr.write(`usage: lb-forwarders.ts ${Object.keys(forwards).join('|')} <backend-port>...\n`);
  process.exit(2);
}
const forward = make();
const server = createServer((req, res) => {
  next = (next + 1) % ports.length;
  forward(req, res, ports[next] ?? 0);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`ready ${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
