import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DiscoveryApp, DiscoveryTask } from '../../src/events/types.ts';
import type { ClusterView } from '../../src/events/core/view.ts';
import { createLogger, type Logger } from '../../src/shared/log.ts';

const run = promisify(execFile);

export const DOMAIN = 'mesos';
export const TTL = 60;

export function silentLogger(): Logger {
  return createLogger('dns-test', 'silent');
}

/** Deterministic [0, 1) numbers (mulberry32), so shuffles are repeatable. */
export function seededRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function app(id: string, overrides: Partial<DiscoveryApp> = {}): DiscoveryApp {
  return { id, version: '2024-01-01T00:00:00.000Z', labels: {}, portDefinitions: [], healthChecks: [], ...overrides };
}

export function task(id: string, appId: string, overrides: Partial<DiscoveryTask> = {}): DiscoveryTask {
  return {
    id,
    appId,
    slaveId: 'a1b2-2410-0',
    host: '127.0.0.11',
    ipAddresses: [],
    ports: [],
    state: 'TASK_RUNNING',
    version: '2024-01-01T00:00:00.000Z',
    ...overrides,
  };
}

export function viewOf(apps: readonly DiscoveryApp[], tasks: readonly DiscoveryTask[], eventId = 7): ClusterView {
  return { eventId, apps: new Map(apps.map((a) => [a.id, a])), tasks: new Map(tasks.map((t) => [t.id, t])) };
}

/**
 * A cluster with serving and non-serving instances:
 * - /prod/backend/api (health checked): `test` serving (canonical api-backend-prod-iffe9-0),
 *   `api.sick` failing, `api.unknown` without a result yet.
 * - /web (no checks): the fixture task `nginx.48dc…` on agent …-S3 (canonical web-jhy6r-s3) and a
 *   second instance on 127.0.0.12; `web.killing` draining; `web.staging` not running yet.
 * - a task whose app is gone.
 */
export function sampleView(): ClusterView {
  const api = app('/prod/backend/api', {
    portDefinitions: [
      { port: 10000, protocol: 'tcp', name: 'http' },
      { port: 10001, protocol: 'udp,tcp' },
    ],
    healthChecks: [{ protocol: 'HTTP', path: '/health' }],
  });
  const web = app('/web', { portDefinitions: [{ port: 10002, protocol: 'tcp' }] });
  return viewOf(
    [api, web],
    [
      task('test', api.id, { ports: [31000, 31001], healthy: true }),
      task('api.sick', api.id, { ports: [31010, 31011], healthy: false, host: '127.0.0.99' }),
      task('api.unknown', api.id, { ports: [31020, 31021], host: '127.0.0.98' }),
      task('nginx.48dccce7-90bc-11e6-ae70-70b3d5800001', web.id, {
        slaveId: '20160107-001256-134875658-5050-27524-S3',
        host: '127.0.0.12',
        ports: [31002],
      }),
      task('web.second', web.id, { ports: [31003] }),
      task('web.killing', web.id, { state: 'TASK_KILLING', ports: [31004], host: '127.0.0.97' }),
      task('web.staging', web.id, { state: 'TASK_STAGING', ports: [31005], host: '127.0.0.96' }),
      task('orphan.1', '/gone', { ports: [31006], host: '127.0.0.95' }),
    ],
  );
}

/** Runs dig against a loopback server; returns its stdout. */
export async function dig(port: number, args: readonly string[]): Promise<string> {
  const { stdout } = await run('/usr/bin/dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args], { timeout: 10_000 });
  return stdout;
}

/** The `status:` of a full dig reply (NOERROR, NXDOMAIN...). */
export function digStatus(output: string): string | undefined {
  return /status: ([A-Z]+)/.exec(output)?.[1];
}

/** The `flags:` of a full dig reply (qr aa tc ...). */
export function digFlags(output: string): string[] {
  return (/flags: ([a-z ]+);/.exec(output)?.[1] ?? '').trim().split(/\s+/);
}

export function lines(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .sort();
}

/** One app of `count` instances on distinct loopback IPs (127.1.x.y), one tcp port each. */
export function bigAppView(appId: string, count: number): ClusterView {
  const big = app(appId, { portDefinitions: [{ port: 10000, protocol: 'tcp' }] });
  const tasks = Array.from({ length: count }, (_, i) =>
    task(`${appId.slice(1).replaceAll('/', '_')}.${i}`, big.id, { host: `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, ports: [20000 + (i % 40000)] }),
  );
  return viewOf([big], tasks);
}

export interface QueryOptions {
  id?: number;
  /** Adds an OPT record. */
  edns?: { size: number; version?: number; dnssecOk?: boolean };
  rd?: boolean;
}

/** A standard query in wire format, written by hand so tests do not share the server's encoder. */
export function query(name: string, type: number, options: QueryOptions = {}): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(options.id ?? 0x4242, 0);
  header.writeUInt16BE(options.rd === false ? 0 : 0x0100, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(options.edns === undefined ? 0 : 1, 10);
  const qname = Buffer.concat([...labels.map((label) => Buffer.concat([Buffer.from([Buffer.byteLength(label)]), Buffer.from(label)])), Buffer.from([0])]);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  const parts = [header, qname, tail];
  if (options.edns !== undefined) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(options.edns.size, 3);
    opt.writeUInt32BE((((options.edns.version ?? 0) << 16) | (options.edns.dnssecOk === true ? 0x8000 : 0)) >>> 0, 5);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}
