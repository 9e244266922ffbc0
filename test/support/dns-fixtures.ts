import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DiscoveryApp, DiscoveryTask } from '../../src/events/types.ts';
import type { ClusterView } from '../../src/events/view.ts';
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
