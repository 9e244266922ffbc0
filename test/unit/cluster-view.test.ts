import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DiscoveryApp, StatusUpdateEvent } from '../../src/events/types.ts';
import { EMPTY_VIEW, applyEvent, isServing, viewFromSnapshot, withLeader } from '../../src/events/core/view.ts';
import { appDefinitionJson, discoveryApp } from '../../src/scheduler/core/marathon-json.ts';
import { app } from '../support/scheduler-fixtures.ts';

const web: DiscoveryApp = { id: '/web', version: 'v1', labels: {}, portDefinitions: [{ port: 10000, protocol: 'tcp' }], healthChecks: [] };
const status = (taskId: string, taskStatus: StatusUpdateEvent['taskStatus']): StatusUpdateEvent => ({
  eventType: 'status_update_event', timestamp: 't', slaveId: 's', taskId, taskStatus, message: '', appId: '/web', host: '127.0.0.11', ipAddresses: [], ports: [31000], version: 'v1',
});

test('cluster view folds events in order and ignores replays', () => {
  let view = viewFromSnapshot({ eventId: 10, apps: [], tasks: [] });
  view = applyEvent(view, 11, { eventType: 'api_post_event', timestamp: 't', clientIp: '', uri: '', appDefinition: { ...web, cmd: 'x' } });
  view = applyEvent(view, 12, status('w1', 'TASK_RUNNING'));
  assert.deepEqual(view.apps.get('/web'), web, 'only discovery fields are kept');
  assert.equal(view.tasks.get('w1')?.state, 'TASK_RUNNING');
  assert.equal(applyEvent(view, 12, status('w1', 'TASK_KILLED')), view, 'an event at or below the view id changes nothing');
  view = applyEvent(view, 13, status('w1', 'TASK_KILLING'));
  assert.equal(isServing(view.tasks.get('w1')!, view.apps.get('/web')), false);
  view = applyEvent(view, 14, status('w1', 'TASK_KILLED'));
  assert.equal(view.tasks.size, 0);
  view = applyEvent(view, 15, status('w2', 'TASK_RUNNING'));
  view = applyEvent(view, 16, { eventType: 'app_terminated_event', timestamp: 't', appId: '/web' });
  assert.deepEqual([view.apps.size, view.tasks.size, view.eventId], [0, 0, 16]);
});

test('serving rule: running, app known, healthy when checks exist', () => {
  const task = { id: 't', appId: '/web', slaveId: 's', host: 'h', ipAddresses: [], ports: [], state: 'TASK_RUNNING' as const, version: 'v' };
  assert.equal(isServing(task, web), true);
  assert.equal(isServing(task, undefined), false);
  assert.equal(isServing({ ...task, state: 'TASK_STAGING' }, web), false);
  const checked = { ...web, healthChecks: [{ protocol: 'HTTP' }] };
  assert.equal(isServing(task, checked), false);
  assert.equal(isServing({ ...task, healthy: true }, checked), true);
  assert.equal(EMPTY_VIEW.eventId, 0);
});

test('views stay as they were while thousands of later events are folded (and their tasks rebased)', () => {
  let view = viewFromSnapshot({ eventId: 0, apps: [web], tasks: [] });
  const model = new Map<string, string>();
  const kept: Array<{ view: typeof view; states: Array<[string, string]> }> = [];
  for (let n = 1; n <= 5000; n += 1) {
    // Tasks start, run and end in a rolling window, so the view keeps changing in every way.
    const taskId = `w${n % 1500}`;
    const state = n % 7 === 0 ? 'TASK_KILLED' : n % 2 === 0 ? 'TASK_RUNNING' : 'TASK_STAGING';
    view = applyEvent(view, n, status(taskId, state));
    if (state === 'TASK_KILLED') model.delete(taskId);
    else model.set(taskId, state);
    if (n % 250 === 0) kept.push({ view, states: [...model].sort() });
  }
  for (const { view: old, states } of kept) {
    assert.deepEqual([...old.tasks.values()].map((t): [string, string] => [t.id, t.state]).sort(), states, `view ${old.eventId}`);
    assert.equal(old.tasks.size, states.length);
  }
});

test('withLeader: the new leader of a failover, first of the masters; nothing to do otherwise', () => {
  const base = { eventId: 9, apps: [], tasks: [] };
  const cases: Array<[name: string, leader: string | undefined, masters: string[] | undefined, named: string, expected: { leader?: string; masters?: string[] } | 'same']> = [
    ['the new leader moves to the front', 'a:1', ['a:1', 'b:2', 'c:3'], 'c:3', { leader: 'c:3', masters: ['c:3', 'a:1', 'b:2'] }],
    ['a leader not listed is added', 'a:1', ['a:1'], 'd:4', { leader: 'd:4', masters: ['d:4', 'a:1'] }],
    ['no masters listed: the leader alone', 'a:1', undefined, 'b:2', { leader: 'b:2' }],
    ['the same leader: the same view', 'a:1', ['a:1', 'b:2'], 'a:1', 'same'],
    ['a view naming no leader stays so', undefined, undefined, 'b:2', 'same'],
  ];
  for (const [name, leader, masters, named, expected] of cases) {
    const view = viewFromSnapshot({ ...base, ...(leader === undefined ? {} : { leader }), ...(masters === undefined ? {} : { masters }) });
    const next = withLeader(applyEvent(view, 10, status('w1', 'TASK_RUNNING')), named);
    if (expected === 'same') {
      assert.equal(withLeader(view, named), view, name);
      continue;
    }
    assert.deepEqual({ leader: next.leader, masters: next.masters }, { leader: expected.leader, masters: expected.masters }, name);
    assert.equal(next.changed, undefined, `${name}: consumers rebuild`);
    assert.equal(next.eventId, 10, name);
    assert.equal(next.tasks.size, 1, name);
  }
});

test('agent events: added (new or re-registered with a new address) and removed, by agent id (table-driven)', () => {
  const a1 = { id: 'a-S1', hostname: 'n1', ip: '127.0.0.20', port: 5051 };
  const a2 = { id: 'a-S2', hostname: 'n2', ip: '127.0.0.21', port: 5052 };
  const t = '2026-01-01T00:00:00.000Z';
  const added = (agent: typeof a1, reregistered = false) => ({ eventType: 'agent_added_event' as const, timestamp: t, agent, reregistered });
  const removed = (agentId: string) => ({ eventType: 'agent_removed_event' as const, timestamp: t, agentId, reason: 'removed' as const });
  const cases: { about: string; from: readonly (typeof a1)[] | undefined; event: ReturnType<typeof added> | ReturnType<typeof removed>; agents: readonly (typeof a1)[] | undefined; same?: boolean }[] = [
    { about: 'a snapshot without agents learns its first one', from: undefined, event: added(a1), agents: [a1] },
    { about: 'a new agent joins the others', from: [a1], event: added(a2), agents: [a1, a2] },
    { about: 'a re-registration replaces the address', from: [a1, a2], event: added({ ...a1, ip: '127.0.0.30' }, true), agents: [a2, { ...a1, ip: '127.0.0.30' }] },
    { about: 'a removed agent leaves', from: [a1, a2], event: removed(a1.id), agents: [a2] },
    { about: 'removing an unknown agent keeps the agents as they were', from: [a1], event: removed('a-S9'), agents: [a1], same: true },
  ];
  for (const c of cases) {
    const view = c.from === undefined ? viewFromSnapshot({ eventId: 3, apps: [], tasks: [] }) : viewFromSnapshot({ eventId: 3, apps: [], tasks: [], agents: [...c.from] });
    const next = applyEvent(view, 4, c.event);
    assert.equal(next.eventId, 4, c.about);
    assert.deepEqual(next.agents, c.agents, c.about);
    // Consumers compare the agents by reference to know whether to rebuild what depends on them.
    assert.equal(next.agents === view.agents, c.same === true, c.about);
  }
});

test('api_post_event keeps the networks and the port mappings of container networking, nothing else of container (table-driven)', () => {
  const mappings = [{ containerPort: 80, hostPort: 0, servicePort: 10001, protocol: 'tcp' as const, name: 'http' }];
  const cases: { about: string; posted: Record<string, unknown>; expected: DiscoveryApp }[] = [
    { about: 'host networking, no container', posted: { container: null }, expected: web },
    {
      about: 'bridge with mappings',
      posted: { networks: [{ mode: 'container/bridge' }], container: { type: 'DOCKER', docker: { image: 'busybox' }, volumes: [], portMappings: mappings } },
      expected: { ...web, networks: [{ mode: 'container/bridge' }], container: { portMappings: mappings } },
    },
    {
      about: 'a named network, a container without mappings',
      posted: { networks: [{ mode: 'container', name: 'dev' }], container: { type: 'MESOS', volumes: [] } },
      expected: { ...web, networks: [{ mode: 'container', name: 'dev' }], container: { portMappings: [] } },
    },
  ];
  for (const c of cases) {
    const view = applyEvent(EMPTY_VIEW, 1, { eventType: 'api_post_event', timestamp: 't', clientIp: '', uri: '', appDefinition: { ...web, cmd: 'x', ...c.posted } });
    assert.deepEqual(view.apps.get('/web'), c.expected, c.about);
  }
});

test('an app folded from api_post_event equals the discovery snapshot\'s (host, image, bridge, named network)', () => {
  const image = { type: 'DOCKER', docker: { image: 'busybox' } };
  const cases: Record<string, Record<string, unknown>> = {
    'host network': { cmd: 'x', portDefinitions: [{ port: 10000 }] },
    'host network with an image': { container: image, portDefinitions: [{ port: 10000 }] },
    'bridge with a mapping': { networks: [{ mode: 'container/bridge' }], container: { ...image, portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 10001, name: 'http' }] } },
    'bridge without mappings': { networks: [{ mode: 'container/bridge' }], container: image },
    'a named network': { networks: [{ mode: 'container', name: 'dev' }], container: { ...image, portMappings: [{ containerPort: 80 }] } },
  };
  for (const [about, fields] of Object.entries(cases)) {
    const definition = app({ id: '/web', ...fields });
    const view = applyEvent(EMPTY_VIEW, 1, { eventType: 'api_post_event', timestamp: 't', clientIp: '', uri: '', appDefinition: appDefinitionJson(definition) });
    assert.deepEqual(view.apps.get('/web'), discoveryApp(definition), about);
  }
});
