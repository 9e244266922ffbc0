import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A child that prints `ready <port>` once listening (bench backends and forwarders). */
export interface ReadyChild {
  readonly child: ChildProcess;
  readonly port: number;
}

export function spawnReady(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ReadyChild> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const match = /^ready (\d+)$/.exec(line.trim());
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code} before it was ready`)));
  });
}

/** Stops a child by its pid and waits for it to exit. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** A tiny keep-alive HTTP backend in its own process, answering `hello world`. */
export function spawnBackend(): Promise<ReadyChild> {
  const script = "const s=require('http').createServer((q,r)=>{r.writeHead(200,{'content-type':'text/plain'});r.end('hello world\\n')});s.keepAliveTimeout=60000;s.listen(0,'127.0.0.1',()=>console.log('ready '+s.address().port))";
  return spawnReady(process.execPath, ['-e', script]);
}

export interface WrkResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx/3xx answers plus socket errors. */
  readonly failed: number;
  readonly requests: number;
}

/** Runs wrk (keep-alive, one thread) against a URL with a Host header and parses its report. */
export function runWrk(url: string, host: string, connections: number, seconds: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    execFile('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-H', `Host: ${host}`, url], { timeout: (seconds + 30) * 1000 }, (err, stdout) => {
      if (err) {
        reject(new Error(`wrk failed: ${err.message}`));
        return;
      }
      resolve(parseWrk(stdout));
    });
  });
}

export function parseWrk(text: string): WrkResult {
  const number = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? 0);
  const latency = (percent: string): number => {
    const match = new RegExp(`^\\s*${percent}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(text);
    if (!match) return NaN;
    const scale = match[2] === 'us' ? 0.001 : match[2] === 's' ? 1000 : 1;
    return Number(match[1]) * scale;
  };
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    failed: number(/Non-2xx or 3xx responses: (\d+)/) + errors,
    requests: number(/(\d+) requests in/),
  };
}

/** HAProxy's config equivalent to one corral vhost route: keep-alive both sides, round robin, one thread. */
export function haproxyConfig(port: number, backends: readonly number[], host: string): string {
  return [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  option http-keep-alive',
    '  http-reuse safe',
    `frontend fe`,
    `  bind 127.0.0.1:${port}`,
    '  option forwardfor',
    `  acl host_bench hdr(host) -i ${host}`,
    '  use_backend be if host_bench',
    'backend be',
    '  balance roundrobin',
    ...backends.map((p, i) => `  server s${i} 127.0.0.1:${p}`),
    '',
  ].join('\n');
}
