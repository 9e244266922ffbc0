import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapAdmin } from '../../src/auth/core/bootstrap.ts';
import { FILTERED_ROUTES, filterListing } from '../../src/auth/core/listings.ts';
import { ROUTE_RULES, routeRequirement, type RouteRequirement } from '../../src/auth/core/route-actions.ts';
import type { Grant, Identity, TokenRecord } from '../../src/auth/types.ts';
import { buildServer } from '../../src/scheduler/api/server.ts';
import type { ApiContext } from '../../src/scheduler/api/context.ts';
import { emptyState, stateFromJson, stateToJson } from '../../src/scheduler/core/state-ops.ts';
import { isLoopbackHost } from '../../src/shared/address.ts';
import { createLogger } from '../../src/shared/log.ts';

const appOfTask = (taskId: string): string => (taskId === 'team-b_x.1' ? '/team-b/x' : '/unknown');
const EXISTING = new Set(['/team-a/web', '/team-a/a', '/team-b/x']);
const appExists = (appId: string): boolean => EXISTING.has(appId);
const appsOfDeployment = (id: string): string[] | undefined => ({ d: ['/team-a/web', '/team-b/x'], empty: [] })[id];

test('every scheduler route asks for what its table entry says', async (t) => {
  const cases: Array<[method: string, route: string, params: Record<string, string>, body: unknown, expected: RouteRequirement | undefined]> = [
    ['GET', '/ping', {}, undefined, 'open'],
    ['HEAD', '/ping', {}, undefined, 'open'],
    ['POST', '/corral/v1/agents/register', {}, {}, 'agent'],
    ['GET', '/v2/info', {}, undefined, 'authenticated'],
    ['DELETE', '/v2/leader', {}, undefined, { action: 'admin', paths: ['/'] }],
    ['GET', '/metrics', {}, undefined, { action: 'read', paths: ['/'] }],
    ['GET', '/v2/events', {}, undefined, 'authenticated'],
    ['GET', '/v2/eventSubscriptions', {}, undefined, { action: 'admin', paths: ['/'] }],
    ['POST', '/v2/eventSubscriptions', {}, undefined, { action: 'admin', paths: ['/'] }],
    ['DELETE', '/v2/eventSubscriptions', {}, undefined, { action: 'admin', paths: ['/'] }],
    ['GET', '/v2/apps', {}, undefined, 'filter-listing'],
    ['GET', '/v2/tasks', {}, undefined, 'filter-listing'],
    ['GET', '/v2/groups', {}, undefined, 'filter-listing'],
    ['GET', '/v2/groups/*', { '*': '' }, undefined, 'filter-listing'],
    ['GET', '/v2/groups/*', { '*': 'team-a/versions' }, undefined, { action: 'read', paths: ['/team-a'] }],
    ['POST', '/v2/apps', {}, { id: '/team-a/web' }, { action: 'create', paths: ['/team-a/web'] }],
    ['POST', '/v2/apps', {}, { id: 'team-a/web' }, { action: 'create', paths: ['/team-a/web'] }],
    ['POST', '/v2/apps', {}, { cmd: 'x' }, { action: 'create', paths: ['/'] }],
    ['PUT', '/v2/apps', {}, [{ id: '/team-a/a' }, { id: '/team-b/x' }], { action: 'update', paths: ['/team-a/a', '/team-b/x'] }],
    ['PUT', '/v2/apps', {}, [{ id: '/team-a/new' }], { action: 'create', paths: ['/team-a/new'] }],
    ['PUT', '/v2/apps', {}, [{ id: '/team-a/a' }, { id: '/team-b/b' }], { all: [{ action: 'create', paths: ['/team-b/b'] }, { action: 'update', paths: ['/team-a/a'] }] }],
    ['GET', '/v2/apps/*', { '*': 'team-a/web' }, undefined, { action: 'read', paths: ['/team-a/web'] }],
    ['GET', '/v2/apps/*', { '*': 'team-a/web/tasks' }, undefined, { action: 'read', paths: ['/team-a/web'] }],
    ['GET', '/v2/apps/*', { '*': 'team-a/web/versions/2026' }, undefined, { action: 'read', paths: ['/team-a/web'] }],
    ['PUT', '/v2/apps/*', { '*': 'team-a/web' }, {}, { action: 'update', paths: ['/team-a/web'] }],
    ['PUT', '/v2/apps/*', { '*': 'team-a/new' }, {}, { action: 'create', paths: ['/team-a/new'] }],
    ['PATCH', '/v2/apps/*', { '*': 'team-a/new' }, {}, { action: 'update', paths: ['/team-a/new'] }],
    ['PATCH', '/v2/apps/*', { '*': 'team-a/web' }, {}, { action: 'update', paths: ['/team-a/web'] }],
    ['POST', '/v2/apps/*', { '*': 'team-a/web/restart' }, undefined, { action: 'restart', paths: ['/team-a/web'] }],
    ['DELETE', '/v2/apps/*', { '*': 'team-b/x' }, undefined, { action: 'delete', paths: ['/team-b/x'] }],
    ['DELETE', '/v2/apps/*', { '*': 'team-b/x/tasks/t1' }, undefined, { action: 'kill-tasks', paths: ['/team-b/x'] }],
    ['POST', '/v2/groups', {}, { id: 'team-a' }, { action: 'create', paths: ['/team-a'] }],
    ['PUT', '/v2/groups', {}, {}, { action: 'update', paths: ['/'] }],
    ['PUT', '/v2/groups/*', { '*': 'team-a' }, {}, { action: 'update', paths: ['/team-a'] }],
    ['DELETE', '/v2/groups/*', { '*': 'team-b' }, undefined, { action: 'delete', paths: ['/team-b'] }],
    ['POST', '/v2/tasks/delete', {}, { ids: ['team-b_x.1'] }, { action: 'kill-tasks', paths: ['/team-b/x'] }],
    ['POST', '/v2/tasks/delete', {}, {}, { action: 'kill-tasks', paths: ['/'] }],
    ['DELETE', '/v2/queue/*', { '*': 'team-a/web/delay' }, undefined, { action: 'update', paths: ['/team-a/web'] }],
    ['DELETE', '/v2/deployments/:id', { id: 'd' }, undefined, { action: 'update', paths: ['/team-a/web', '/team-b/x'] }],
    ['DELETE', '/v2/deployments/:id', { id: 'empty' }, undefined, { action: 'update', paths: ['/'] }],
    ['DELETE', '/v2/deployments/:id', { id: 'unknown' }, undefined, { action: 'update', paths: ['/'] }],
    ['GET', '/v2/deployments', {}, undefined, 'filter-listing'],
    ['GET', '/v2/queue', {}, undefined, 'filter-listing'],
    ['GET', '/master/state', {}, undefined, 'filter-listing'],
    ['GET', '/master/state.json', {}, undefined, 'filter-listing'],
    ['GET', '/corral/v1/discovery', {}, undefined, 'filter-listing'],
    ['GET', '/state', {}, undefined, 'filter-listing'],
    ['GET', '/state.json', {}, undefined, 'filter-listing'],
    ['GET', '/master/tasks', {}, undefined, 'filter-listing'],
    ['GET', '/tasks', {}, undefined, 'filter-listing'],
    ['GET', '/master/frameworks', {}, undefined, 'filter-listing'],
    ['GET', '/master/slaves', {}, undefined, { action: 'read', paths: ['/'] }],
    ['GET', '/slaves', {}, undefined, { action: 'read', paths: ['/'] }],
    ['GET', '/master/roles', {}, undefined, { action: 'read', paths: ['/'] }],
    ['GET', '/master/state-summary', {}, undefined, { action: 'read', paths: ['/'] }],
    ['GET', '/flags', {}, undefined, { action: 'read', paths: ['/'] }],
    ['GET', '/master/flags', {}, undefined, { action: 'read', paths: ['/'] }],
    ['GET', '/metrics/snapshot', {}, undefined, { action: 'read', paths: ['/'] }],
    ['GET', '/redirect', {}, undefined, 'authenticated'],
    ['GET', '/master/redirect', {}, undefined, 'authenticated'],
    ['GET', '/health', {}, undefined, 'open'],
    ['GET', '/master/health', {}, undefined, 'open'],
    ['GET', '/version', {}, undefined, 'open'],
    // The web UI's static files (they hold no data; the calls they make carry the token).
    ['GET', '/', {}, undefined, 'open'],
    ['HEAD', '/ui', {}, undefined, 'open'],
    ['GET', '/ui/*', { '*': 'assets/index-abc.js' }, undefined, 'open'],
    ['DELETE', '/v2/auth/grants/:id', { id: 'g' }, undefined, { action: 'admin', paths: ['/'] }],
    ['DELETE', '/v2/auth/identities/:id', { id: 'i' }, undefined, { action: 'admin', paths: ['/'] }],
    ['GET', '/v2/auth/grants', {}, undefined, { action: 'admin', paths: ['/'] }],
    ['GET', '/v2/auth/identities', {}, undefined, { action: 'admin', paths: ['/'] }],
    ['POST', '/corral/v1/agents/:agentId/drain', { agentId: 'a' }, undefined, { action: 'admin', paths: ['/'] }],
    ['POST', '/corral/v1/tasks/:taskId/files-token', { taskId: 'team-b_x.1' }, undefined, { action: 'logs', paths: ['/team-b/x'] }],
    ['GET', '/corral/v1/tasks/:taskId/files/read', { taskId: 'team-b_x.1' }, undefined, { action: 'logs', paths: ['/team-b/x'] }],
    ['GET', '/corral/v1/tasks/:taskId/files/download', { taskId: 'team-b_x.1' }, undefined, { action: 'logs', paths: ['/team-b/x'] }],
    ['GET', '/corral/v1/reach/*', { '*': 'team-b/x' }, undefined, { action: 'read', paths: ['/team-b/x'] }],
    ['POST', '/corral/v1/agents/:agentId/token', { agentId: 'a' }, undefined, { action: 'read', paths: ['/'] }],
    ['POST', '/corral/v1/agents/:agentId/token', { agentId: 'a' }, { scope: 'metrics' }, { action: 'read', paths: ['/'] }],
    ['POST', '/corral/v1/agents/:agentId/token', { agentId: 'a' }, { scope: 'agent' }, { action: 'logs', paths: ['/'] }],
    ['GET', '/v2/auth/whoami', {}, undefined, 'authenticated'],
    ['POST', '/v2/auth/tokens', {}, {}, { action: 'admin', paths: ['/'] }],
    ['GET', '/v2/quotas', {}, undefined, 'filter-listing'],
    ['GET', '/v2/quotas/*', { '*': 'team-a/' }, undefined, { action: 'read', paths: ['/team-a'] }],
    ['PUT', '/v2/quotas/*', { '*': 'team-a' }, { cpus: 1 }, { action: 'admin', paths: ['/'] }],
    ['DELETE', '/v2/quotas/*', { '*': 'team-a' }, undefined, { action: 'admin', paths: ['/'] }],
    ['GET', '/v1/jobs', {}, undefined, 'filter-listing'],
    ['POST', '/v1/jobs', {}, { id: 'team-a.nightly', run: {} }, { action: 'create', paths: ['/team-a/nightly'] }],
    ['POST', '/v1/jobs', {}, { id: 'nightly' }, { action: 'create', paths: ['/nightly'] }],
    ['POST', '/v1/jobs', {}, { run: {} }, { action: 'create', paths: ['/'] }],
    ['GET', '/v1/jobs/:jobId', { jobId: 'team-a.nightly' }, undefined, { action: 'read', paths: ['/team-a/nightly'] }],
    ['PUT', '/v1/jobs/:jobId', { jobId: 'team-a.nightly' }, {}, { action: 'update', paths: ['/team-a/nightly'] }],
    ['DELETE', '/v1/jobs/:jobId', { jobId: 'team-b.x' }, undefined, { action: 'delete', paths: ['/team-b/x'] }],
    ['GET', '/v1/jobs/:jobId/schedules', { jobId: 'team-a.n' }, undefined, { action: 'read', paths: ['/team-a/n'] }],
    ['GET', '/v1/jobs/:jobId/runs', { jobId: 'team-a.n' }, undefined, { action: 'read', paths: ['/team-a/n'] }],
    ['POST', '/v1/jobs/:jobId/runs', { jobId: 'team-a.n' }, {}, { action: 'update', paths: ['/team-a/n'] }],
    ['GET', '/v1/jobs/:jobId/runs/:runId', { jobId: 'team-a.n', runId: 'r' }, undefined, { action: 'read', paths: ['/team-a/n'] }],
    ['POST', '/v1/jobs/:jobId/runs/:runId/actions/stop', { jobId: 'team-b.n', runId: 'r' }, undefined, { action: 'update', paths: ['/team-b/n'] }],
    ['POST', '/v1/jobs/:jobId/schedules', { jobId: 'team-a.n' }, {}, { action: 'update', paths: ['/team-a/n'] }],
    ['GET', '/v1/jobs/:jobId/schedules/:scheduleId', { jobId: 'team-a.n', scheduleId: 's' }, undefined, { action: 'read', paths: ['/team-a/n'] }],
    ['PUT', '/v1/jobs/:jobId/schedules/:scheduleId', { jobId: 'team-a.n', scheduleId: 's' }, {}, { action: 'update', paths: ['/team-a/n'] }],
    ['DELETE', '/v1/jobs/:jobId/schedules/:scheduleId', { jobId: 'team-a.n', scheduleId: 's' }, undefined, { action: 'update', paths: ['/team-a/n'] }],
    ['GET', '/v2/nothing', {}, undefined, undefined],
  ];
  for (const [method, route, params, body, expected] of cases) {
    await t.test(`${method} ${route} ${JSON.stringify(params)}`, () => {
      assert.deepEqual(routeRequirement({ method, route, params, body, appOfTask, appExists, appsOfDeployment }), expected);
    });
  }
});

const contextFor = (auth: boolean): ApiContext => ({ state: { current: emptyState(), onCommit: () => undefined }, logger: createLogger('test', 'silent'), maxVersions: 50, auth } as unknown as ApiContext);

test('with --auth the server registers a rule for every route, and every rule names a registered route', async () => {
  const server = buildServer(contextFor(true));
  for (const key of Object.keys(ROUTE_RULES)) {
    const [method = '', url = ''] = key.split(' ');
    assert.ok(server.hasRoute({ method: method as 'GET', url }), `${key} is in the table but not registered`);
  }
  await server.close();
});

test('a route without a rule stops an --auth server from starting', () => {
  const server = buildServer(contextFor(true));
  assert.throws(() => server.get('/v2/unlisted', async () => ({})), /no rule for GET \/v2\/unlisted/);
});

const alice: Identity = { id: 'alice', kind: 'user', groups: ['team-a'] };
const GRANTS: Grant[] = [{ group: 'team-a', actions: ['read'], path: '/team-a' }];

test('listings show only what the identity may read', async (t) => {
  const cases: Array<[name: string, route: string, payload: unknown, expected: unknown]> = [
    ['apps', '/v2/apps', { apps: [{ id: '/team-a/web' }, { id: '/team-b/x' }, { id: '/team-ab/x' }] }, { apps: [{ id: '/team-a/web' }] }],
    ['tasks', '/v2/tasks', { tasks: [{ appId: '/team-b/x' }, { appId: '/team-a/web' }] }, { tasks: [{ appId: '/team-a/web' }] }],
    [
      'group tree keeps the way to readable apps',
      '/v2/groups',
      { id: '/', apps: [{ id: '/top' }], groups: [{ id: '/team-a', apps: [{ id: '/team-a/web' }], groups: [] }, { id: '/team-b', apps: [{ id: '/team-b/x' }], groups: [] }] },
      { id: '/', apps: [], groups: [{ id: '/team-a', apps: [{ id: '/team-a/web' }], groups: [] }] },
    ],
    ['quotas', '/v2/quotas', { quotas: [{ group: '/' }, { group: '/team-a' }, { group: '/team-a/sub' }, { group: '/team-ab' }] }, { quotas: [{ group: '/team-a' }, { group: '/team-a/sub' }] }],
    ['errors pass', '/v2/apps', { message: 'x' }, { message: 'x' }],
    [
      'deployments with a readable app, whole',
      '/v2/deployments',
      [{ id: 'd1', affectedApps: ['/team-b/x', '/team-a/web'], steps: [] }, { id: 'd2', affectedApps: ['/team-b/x'] }, { id: 'd3', affectedApps: [] }],
      [{ id: 'd1', affectedApps: ['/team-b/x', '/team-a/web'], steps: [] }],
    ],
    ['deployment errors pass', '/v2/deployments', { message: 'x' }, { message: 'x' }],
    ['queue', '/v2/queue', { queue: [{ app: { id: '/team-b/x' }, count: 1 }, { app: { id: '/team-a/web' }, count: 2 }] }, { queue: [{ app: { id: '/team-a/web' }, count: 2 }] }],
    [
      'master state: tasks of readable apps, agents stay',
      '/master/state',
      { slaves: [{ id: 's1' }], frameworks: [{ id: 'f', tasks: [{ id: 'team-b_x.1' }, { id: 'team-a_web.1' }], unreachable_tasks: [{ id: 'team-b_x.1' }], completed_tasks: [] }] },
      { slaves: [{ id: 's1' }], frameworks: [{ id: 'f', tasks: [{ id: 'team-a_web.1' }], unreachable_tasks: [], completed_tasks: [] }] },
    ],
    [
      'mesos frameworks: tasks of readable apps',
      '/master/frameworks',
      { frameworks: [{ id: 'f', tasks: [{ id: 'team-b_x.1' }, { id: 'team-a_web.1' }], unreachable_tasks: [], completed_tasks: [{ id: 'team-b_x.2' }] }], completed_frameworks: [] },
      { frameworks: [{ id: 'f', tasks: [{ id: 'team-a_web.1' }], unreachable_tasks: [], completed_tasks: [] }], completed_frameworks: [] },
    ],
    ['jobs by their path', '/v1/jobs', [{ id: 'team-a.nightly' }, { id: 'team-b.x' }, { id: 'team-ab' }, { id: 'team-a' }], [{ id: 'team-a.nightly' }, { id: 'team-a' }]],
    ['job errors pass', '/v1/jobs', { message: 'x' }, { message: 'x' }],
    ['mesos tasks', '/master/tasks', { tasks: [{ id: 'team-b_x.1' }, { id: 'team-a_web.1' }] }, { tasks: [{ id: 'team-a_web.1' }] }],
    ['mesos tasks at the top level', '/tasks', { tasks: [{ id: 'team-b_x.1' }] }, { tasks: [] }],
    [
      'discovery snapshot: apps and tasks, agents stay',
      '/corral/v1/discovery',
      { eventId: 3, apps: [{ id: '/team-a/web' }, { id: '/team-b/x' }], tasks: [{ appId: '/team-b/x' }, { appId: '/team-a/web' }], agents: [{ id: 's1' }] },
      { eventId: 3, apps: [{ id: '/team-a/web' }], tasks: [{ appId: '/team-a/web' }], agents: [{ id: 's1' }] },
    ],
  ];
  const taskApp = (taskId: string): string => (taskId.startsWith('team-a_web') ? '/team-a/web' : appOfTask(taskId));
  for (const [name, route, payload, expected] of cases) {
    await t.test(name, () => assert.deepEqual(filterListing(route, payload, GRANTS, alice, taskApp), expected));
  }
});

test('every route the table filters is one filterListing trims (a filter-listing rule on another would show everything)', () => {
  const request = { params: { '*': '' }, body: undefined, appOfTask, appExists, appsOfDeployment };
  const filtered = Object.keys(ROUTE_RULES)
    .map((key) => key.split(' ') as [string, string])
    .filter(([method, route]) => routeRequirement({ ...request, method, route }) === 'filter-listing')
    .map(([, route]) => route);
  assert.deepEqual([...new Set(filtered)].sort(), [...FILTERED_ROUTES].sort());
});

test('bootstrap creates the admin only when no identity holds admin on /', async (t) => {
  const token: TokenRecord = { id: 't', identityId: 'admin', hash: 'h', createdAt: 0 };
  const cases: Array<[name: string, identities: Identity[], grants: Grant[], creates: boolean]> = [
    ['empty state', [], [], true],
    ['identities without admin', [alice], GRANTS, true],
    ['admin grant to a missing identity', [], [{ identity: 'admin', actions: ['admin'], path: '/' }], true],
    ['an admin exists', [alice], [{ group: 'team-a', actions: ['admin'], path: '/' }], false],
  ];
  for (const [name, identities, grants, creates] of cases) {
    await t.test(name, () => {
      const plan = bootstrapAdmin(identities, grants, token);
      assert.equal(plan !== undefined, creates);
      if (plan !== undefined) assert.deepEqual(plan.grant, { identity: 'admin', actions: ['admin'], path: '/' });
    });
  }
});

test('auth collections survive a snapshot, and snapshots from before them still load', () => {
  const state = emptyState();
  (state.tokens as Map<string, TokenRecord>).set('t', { id: 't', identityId: 'admin', hash: 'h', createdAt: 1 });
  const again = stateFromJson(JSON.parse(JSON.stringify(stateToJson(state))));
  assert.deepEqual([...again.tokens], [['t', { id: 't', identityId: 'admin', hash: 'h', createdAt: 1 }]]);
  const { identities: _i, grants: _g, tokens: _t, ...old } = stateToJson(emptyState());
  const loaded = stateFromJson(old as ReturnType<typeof stateToJson>);
  assert.equal(loaded.identities.size + loaded.grants.size + loaded.tokens.size, 0);
});

test('isLoopbackHost', async (t) => {
  const cases: Array<[string, boolean]> = [['127.0.0.1', true], ['127.1.2.3', true], ['localhost', true], ['::1', true], ['[::1]', true], ['0.0.0.0', false], ['10.0.0.1', false], ['::', false], ['example.com', false], ['127.0.0.1.nip.io', false]];
  for (const [host, expected] of cases) await t.test(host, () => assert.equal(isLoopbackHost(host), expected));
});
