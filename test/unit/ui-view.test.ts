import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentRows, portCount } from '../../src/ui/core/agents.ts';
import { appRows, byGroup, groupOf, NO_FILTER } from '../../src/ui/core/app-list.ts';
import { diffVersions } from '../../src/ui/core/diff.ts';
import { endpoints, formatAge, taskAddresses } from '../../src/ui/core/format.ts';
import type { App, QueueEntry, Task } from '../../src/ui/core/marathon.ts';
import { parseRoute, routeHash, type Route } from '../../src/ui/core/routes.ts';
import { appStatus, healthCounts, healthSegments, taskHealth } from '../../src/ui/core/status.ts';
import { apiProblem, detailsByField, lineOfPath } from '../../src/ui/core/validation.ts';
import { FIRST_BYTES, foldRead, START, type Tail } from '../../src/ui/core/tail.ts';

const queued = (over: Partial<QueueEntry> = {}): QueueEntry => ({ app: { id: '/a' }, count: 1, delay: { timeLeftSeconds: 0, overdue: true }, reason: 'insufficient mem on 2 agents', ...over });
const app = (over: Partial<App> = {}): App => ({ id: '/a', instances: 2, cpus: 0.1, mem: 32, version: 'v1', deployments: [], tasks: [], ...over });
const task = (over: Partial<Task> = {}): Task => ({ id: 't', appId: '/a', host: 'h', ports: [], state: 'TASK_RUNNING', version: 'v1', ...over });

test('appStatus: derived from the app and its queue entry (table-driven)', () => {
  const cases: Array<[string, App, QueueEntry | undefined, string, string | undefined]> = [
    ['running', app(), undefined, 'Running', undefined],
    ['no instances asked', app({ instances: 0 }), undefined, 'Suspended', undefined],
    ['a deployment', app({ deployments: [{ id: 'd' }] }), undefined, 'Deploying', undefined],
    ['suspending is a deployment too', app({ instances: 0, deployments: [{ id: 'd' }] }), undefined, 'Deploying', undefined],
    ['unplaced: waiting, with the reason', app({ deployments: [{ id: 'd' }] }), queued(), 'Waiting', 'insufficient mem on 2 agents'],
    ['unplaced without a reason', app(), queued({ reason: '' }), 'Waiting', '1 instance(s) not placed yet'],
    ['backoff in force', app(), queued({ delay: { timeLeftSeconds: 12, overdue: false }, reason: '' }), 'Delayed', 'launch delayed 12s after failures'],
    ['backoff with a reason', app(), queued({ delay: { timeLeftSeconds: 3, overdue: false } }), 'Delayed', 'launch delayed 3s after failures; insufficient mem on 2 agents'],
    ['an empty queue entry is no wait', app(), queued({ count: 0 }), 'Running', undefined],
  ];
  for (const [name, a, q, status, reason] of cases) assert.deepEqual(appStatus(a, q), { status, ...(reason !== undefined ? { reason } : {}) }, name);
});

test('taskHealth and healthCounts: the health bar (table-driven)', () => {
  const cases: Array<[string, Partial<Task>, string | undefined]> = [
    ['staging', { state: 'TASK_STAGING' }, 'staged'],
    ['starting', { state: 'TASK_STARTING' }, 'staged'],
    ['running, no checks', {}, 'unknown'],
    ['running, checks alive', { healthCheckResults: [{ alive: true }, { alive: true }] }, 'healthy'],
    ['running, one check failing', { healthCheckResults: [{ alive: true }, { alive: false }] }, 'unhealthy'],
    ['a health event overrides old results', { healthy: false, healthCheckResults: [{ alive: true }] }, 'unhealthy'],
    ['healthy by event', { healthy: true }, 'healthy'],
    ['killing is not counted', { state: 'TASK_KILLING' }, undefined],
  ];
  for (const [name, t, expected] of cases) assert.equal(taskHealth(task(t)), expected, name);

  const counts = healthCounts(app({ instances: 5, tasks: [task({ healthy: true }), task({ healthy: false }), task(), task({ state: 'TASK_STAGING' })] }));
  assert.deepEqual(counts, { healthy: 1, unhealthy: 1, unknown: 1, staged: 1, asked: 5 });
  assert.deepEqual(healthSegments(counts).map((s) => [s.health, s.fraction]), [['healthy', 0.2], ['unhealthy', 0.2], ['unknown', 0.2], ['staged', 0.2]]);
  // Scaling down: more present than asked, the bar is as wide as what is there.
  assert.deepEqual(healthSegments({ healthy: 4, unhealthy: 0, unknown: 0, staged: 0, asked: 2 }), [{ health: 'healthy', count: 4, fraction: 1 }]);
  assert.deepEqual(healthSegments({ healthy: 0, unhealthy: 0, unknown: 0, staged: 0, asked: 0 }), []);
});

test('appRows: search by id or label, filter by status and health (table-driven)', () => {
  const apps = [
    app({ id: '/web/api', labels: { team: 'blue', HAPROXY_GROUP: 'external' } }),
    app({ id: '/web/site', instances: 0 }),
    app({ id: '/batch/etl', labels: { team: 'red' }, tasks: [task({ healthy: false })] }),
  ];
  const queue = new Map([['/web/site', queued({ app: { id: '/web/site' } })]]);
  const cases: Array<[string, Partial<typeof NO_FILTER>, string[]]> = [
    ['everything, by id', {}, ['/batch/etl', '/web/api', '/web/site']],
    ['part of the id', { search: 'WEB/' }, ['/web/api', '/web/site']],
    ['label key=value', { search: 'team=red' }, ['/batch/etl']],
    ['label key', { search: 'haproxy_group' }, ['/web/api']],
    ['part of a label value', { search: 'extern' }, ['/web/api']],
    ['by status', { status: 'Waiting' }, ['/web/site']],
    ['by health', { health: 'unhealthy' }, ['/batch/etl']],
    ['nothing matches', { search: 'team=green' }, []],
  ];
  for (const [name, filter, ids] of cases) assert.deepEqual(appRows(apps, queue, { ...NO_FILTER, ...filter }).map((r) => r.app.id), ids, name);
  assert.deepEqual(byGroup(appRows(apps, queue, NO_FILTER)).map((g) => [g.group, g.rows.length]), [['/batch', 1], ['/web', 2]]);
  assert.deepEqual(['/a', '/g/a', '/g/h/a'].map(groupOf), ['/', '/g', '/g/h']);
});

test('diffVersions: leaf by leaf, version fields ignored (table-driven)', () => {
  const cases: Array<[string, unknown, unknown, unknown[]]> = [
    ['same but the version', { id: '/a', version: '1', versionInfo: { x: 1 } }, { id: '/a', version: '2', versionInfo: { x: 2 } }, []],
    ['a scalar changed', { mem: 32 }, { mem: 64 }, [{ path: '/mem', kind: 'changed', before: 32, after: 64 }]],
    ['a label added, one removed', { labels: { a: '1' } }, { labels: { b: '2' } }, [
      { path: '/labels/a', kind: 'removed', before: '1' }, { path: '/labels/b', kind: 'added', after: '2' }]],
    ['inside an array', { hc: [{ path: '/' }] }, { hc: [{ path: '/health' }] }, [{ path: '/hc/0/path', kind: 'changed', before: '/', after: '/health' }]],
    ['an emptied object is a leaf', { env: { A: '1' } }, { env: {} }, [
      { path: '/env', kind: 'added', after: {} }, { path: '/env/A', kind: 'removed', before: '1' }]],
    ['a key with a slash stays one step', { labels: { 'a/b': 'x' } }, { labels: { 'a/b': 'y' } }, [{ path: '/labels/a~1b', kind: 'changed', before: 'x', after: 'y' }]],
  ];
  for (const [name, before, after, expected] of cases) assert.deepEqual(diffVersions(before, after), expected, name);
});

test('apiProblem and detailsByField: a 422 beside the fields it names (table-driven)', () => {
  const body = JSON.stringify({ message: 'Object is not valid', details: [{ path: '/cpus', errors: ['must be >= 0'] }, { path: '/healthChecks(0)/path', errors: ['bad'] }, { path: '/mem', errors: ['a', 'b'] }] });
  const problem = apiProblem(422, body);
  assert.equal(problem.message, 'Object is not valid');
  const { byField, other } = detailsByField(problem.details, ['/cpus', '/mem', '/id']);
  assert.deepEqual([...byField], [['/cpus', ['must be >= 0']], ['/mem', ['a', 'b']]]);
  assert.deepEqual(other, [{ path: '/healthChecks/0/path', errors: ['bad'] }]);

  const cases: Array<[number, string, string]> = [
    [409, '{"message":"App is locked by one or more deployments."}', 'App is locked by one or more deployments.'],
    [502, '<html>bad gateway</html>', 'HTTP 502: <html>bad gateway</html>'],
    [500, '', 'HTTP 500'],
    [404, '{"unexpected":true}', 'HTTP 404'],
  ];
  for (const [status, text, message] of cases) assert.equal(apiProblem(status, text).message, message, text);

  const json = JSON.stringify({ id: '/a', cpus: -1, healthChecks: [{ path: 'x' }] }, null, 2);
  assert.deepEqual(['/cpus', '/healthChecks(0)/path', '/missing', '/'].map((p) => lineOfPath(json, p)), [3, 6, undefined, undefined]);
});

test('parseRoute and routeHash: every page round-trips (table-driven)', () => {
  const cases: Array<[string, Route]> = [
    ['', { page: 'apps', search: '' }],
    ['#/apps', { page: 'apps', search: '' }],
    ['#/apps?q=team%3Dred', { page: 'apps', search: 'team=red' }],
    ['#/app?id=%2Fweb%2Fapi&tab=config', { page: 'app', id: '/web/api', tab: 'config' }],
    ['#/app?id=%2Fweb%2Fapi&tab=instances', { page: 'app', id: '/web/api', tab: 'instances' }],
    ['#/new', { page: 'new' }],
    ['#/deployments', { page: 'deployments' }],
    ['#/agents', { page: 'agents' }],
    ['#/jobs', { page: 'jobs' }],
    ['#/job?id=team-a.nightly', { page: 'job', id: 'team-a.nightly' }],
    ['#/new-job', { page: 'new-job' }],
    ['#/quotas', { page: 'quotas' }],
    ['#/app?id=%2Fweb&tab=reach', { page: 'app', id: '/web', tab: 'reach' }],
  ];
  for (const [hash, route] of cases) {
    assert.deepEqual(parseRoute(hash), route, hash);
    assert.deepEqual(parseRoute(routeHash(route)), route, `round trip of ${hash}`);
  }
  assert.deepEqual(parseRoute('#/app?id=/x&tab=nope'), { page: 'app', id: '/x', tab: 'instances' });
  assert.deepEqual(parseRoute('#/app'), { page: 'apps', search: '' });
  assert.deepEqual(parseRoute('#/nowhere'), { page: 'apps', search: '' });
});

test('agentRows: resources used against total, joined with draining (table-driven)', () => {
  const rows = agentRows(
    [{ id: 'S1', hostname: 'b', resources: { cpus: 4, mem: 4096, disk: 100, ports: '[23000-23999]' }, used_resources: { cpus: 0.5, mem: 64, disk: 0, ports: '[23000-23001, 23005-23005]' }, attributes: { rack: 'r1' } }],
    [{ id: 'S1', hostname: 'b', draining: true, connected: true, endpoint: 'http://127.0.0.1:1' }, { id: 'S2', hostname: 'a', connected: false }],
  );
  assert.deepEqual(rows.map((r) => [r.id, r.draining, r.connected]), [['S2', false, false], ['S1', true, true]]);
  assert.deepEqual([rows[1]?.cpus, rows[1]?.mem, rows[1]?.ports], [{ used: 0.5, total: 4 }, { used: 64, total: 4096 }, { used: 3, total: 1000 }]);
  assert.deepEqual(rows[0]?.cpus, { used: 0, total: 0 });
  const cases: Array<[unknown, number]> = [['[1-1]', 1], ['[10-19,30-39]', 20], ['', 0], [undefined, 0], ['[5-4]', 0]];
  for (const [ranges, count] of cases) assert.equal(portCount(ranges), count, String(ranges));
});

test('agentRows: the roles an agent reserves resources for, in words (table-driven)', () => {
  const cases: Array<[Record<string, Record<string, number | string>> | undefined, string[]]> = [
    [undefined, []],
    [{}, []],
    [{ web: { cpus: 2, gpus: 0, mem: 512, disk: 0, ports: '[31000-31009]' }, batch: { cpus: 1, gpus: 0, mem: 0, disk: 100 } }, ['batch: 1 cpus, 100 MiB disk', 'web: 2 cpus, 512 MiB, 10 ports']],
  ];
  for (const [reserved, roles] of cases) {
    const [row] = agentRows([{ id: 'S1', hostname: 'a', resources: {}, used_resources: {}, ...(reserved === undefined ? {} : { reserved_resources: reserved }) }], []);
    assert.deepEqual(row?.roles, roles);
  }
});

test('formatAge and endpoints (table-driven)', () => {
  const now = Date.parse('2026-01-02T00:00:00Z');
  const cases: Array<[string | undefined, string]> = [
    ['2026-01-01T23:59:18Z', '42s'], ['2026-01-01T23:55:00Z', '5m'], ['2026-01-01T21:00:00Z', '3h'],
    ['2025-12-30T00:00:00Z', '3d'], [undefined, '—'], ['garbage', '—'], ['2026-01-02T00:00:05Z', '0s'],
  ];
  for (const [iso, text] of cases) assert.equal(formatAge(iso, now), text, String(iso));
  assert.deepEqual(endpoints('127.0.0.11', [23000, 23001]), ['127.0.0.11:23000', '127.0.0.11:23001']);
  assert.deepEqual(endpoints('::1', [80]), ['[::1]:80']);
  assert.deepEqual(endpoints('h', []), ['h']);
});

test('foldRead: a log tail from read answers (table-driven)', () => {
  const at = (next: number, text = '', cut = false): Tail => ({ next, text, cut });
  const cases: Array<[string, Tail, { data: string; offset: number }, number, number | undefined, Tail]> = [
    ['the size of a small file: read it all', START, { data: '', offset: 100 }, 0, undefined, at(0)],
    ['the size of a large file: its last 64 KiB', START, { data: '', offset: FIRST_BYTES + 10 }, 0, undefined, at(10, '', true)],
    ['data appended, next after its bytes', at(0), { data: 'hé\n', offset: 0 }, 4, undefined, at(4, 'hé\n')],
    ['nothing new', at(4, 'a\n'), { data: '', offset: 4 }, 0, undefined, at(4, 'a\n')],
    ['more data', at(2, 'a\n'), { data: 'b\n', offset: 2 }, 2, undefined, at(4, 'a\nb\n')],
    ['past the keep: the front is dropped at a line start', at(6, 'aaa\nb\n'), { data: 'cc\n', offset: 6 }, 3, 6, at(9, 'b\ncc\n', true)],
    ['past the keep without a line start', at(0), { data: 'abcdefgh', offset: 0 }, 8, 3, at(8, 'fgh', true)],
    ['rotated: the answer is from before next', at(50, 'old\n'), { data: 'new\n', offset: 0 }, 4, undefined, at(0, 'old\n[the file was rotated]\n')],
    ['rotated with nothing shown yet', at(50), { data: '', offset: 3 }, 0, undefined, at(0)],
  ];
  for (const [name, tail, answer, bytes, keep, want] of cases) assert.deepEqual(foldRead(tail, answer, bytes, keep), want, name);
});

test('taskAddresses: host ports, the container port beside each mapped one, the task\'s own IP (table-driven)', () => {
  const own = (ip: string) => [{ ipAddress: ip, protocol: 'IPv4' }];
  const cases: Array<[name: string, task: Parameters<typeof taskAddresses>[0], mappings: Parameters<typeof taskAddresses>[1], expected: ReturnType<typeof taskAddresses>]> = [
    ['host network: host:port, no IP of its own', { host: '127.0.0.11', ports: [23000, 23001], ipAddresses: own('127.0.0.11') }, undefined, { endpoints: ['127.0.0.11:23000', '127.0.0.11:23001'] }],
    ['host network, older answer without ipAddresses', { host: 'h', ports: [] }, undefined, { endpoints: ['h'] }],
    ['bridge: host port → container port, and the IP', { host: '127.0.0.11', ports: [31005], ipAddresses: own('172.31.0.5') }, [{ containerPort: 8080, hostPort: 0 }], { endpoints: ['127.0.0.11:31005 → 8080'], ip: '172.31.0.5' }],
    [
      'bridge, containerPort 0: the host port\'s number inside too',
      { host: '127.0.0.11', ports: [31005, 31006], ipAddresses: own('172.31.0.5') },
      [{ containerPort: 80, hostPort: 0 }, { containerPort: 0, hostPort: 0 }],
      { endpoints: ['127.0.0.11:31005 → 80', '127.0.0.11:31006 → 31006'], ip: '172.31.0.5' },
    ],
    [
      'container network: a mapping without host port is at the task\'s IP',
      { host: '127.0.0.11', ports: [31007], ipAddresses: own('100.64.1.9') },
      [{ containerPort: 80 }, { containerPort: 9000, hostPort: 0 }],
      { endpoints: ['100.64.1.9:80', '127.0.0.11:31007 → 9000'], ip: '100.64.1.9' },
    ],
    ['container network, no ports', { host: '127.0.0.11', ports: [], ipAddresses: own('100.64.1.9') }, [], { endpoints: ['127.0.0.11'], ip: '100.64.1.9' }],
    ['IPv6 task address', { host: '::1', ports: [80], ipAddresses: [{ ipAddress: 'fd00::5', protocol: 'IPv6' }] }, [{ containerPort: 8080, hostPort: 0 }], { endpoints: ['[::1]:80 → 8080'], ip: 'fd00::5' }],
  ];
  for (const [name, task, mappings, expected] of cases) assert.deepEqual(taskAddresses(task, mappings), expected, name);
});
