import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldEvent, viewOf, type ClusterView, type StreamEvent } from '../../src/ui/core/cluster.ts';
import type { App } from '../../src/ui/core/marathon.ts';
import { parseSse } from '../../src/ui/core/sse.ts';

const T = '2026-01-01T00:00:00.000Z';
const app: App = { id: '/a', instances: 1, cpus: 0.1, mem: 32, version: 'v1', deployments: [], tasks: [] };
const plan = { id: 'd1', version: 'v2', steps: [{ actions: [{ action: 'StartApplication', app: '/a' }] }, { actions: [{ action: 'ScaleApplication', app: '/a' }] }] };
const status = (taskStatus: string, over: Record<string, unknown> = {}): StreamEvent => ({
  eventType: 'status_update_event', timestamp: T, appId: '/a', taskId: 't1', taskStatus, host: 'h1', slaveId: 'S0', ports: [23000], version: 'v1', ...over,
});

const fold = (view: ClusterView, events: StreamEvent[]): ClusterView => events.reduce((v, e) => foldEvent(v, e).view, view);

test('foldEvent: each event on the view (table-driven)', () => {
  const start = viewOf([app], [], []);
  const cases: Array<[string, StreamEvent[], (v: ClusterView) => unknown, unknown]> = [
    ['a task stages', [status('TASK_STAGING')], (v) => v.apps.get('/a')?.tasks?.map((t) => [t.state, t.host, t.ports, t.stagedAt]), [['TASK_STAGING', 'h1', [23000], T]]],
    ['then runs, start time kept', [status('TASK_STAGING'), status('TASK_RUNNING', { timestamp: 'later' })], (v) => v.apps.get('/a')?.tasks?.map((t) => [t.state, t.startedAt]), [['TASK_RUNNING', 'later']]],
    ['then is healthy', [status('TASK_RUNNING'), { eventType: 'instance_health_changed_event', instanceId: 't1', runSpecId: '/a', healthy: true }], (v) => v.apps.get('/a')?.tasks?.[0]?.healthy, true],
    ['a terminal state removes the task', [status('TASK_RUNNING'), status('TASK_KILLED')], (v) => v.apps.get('/a')?.tasks, []],
    ['a task of an unknown app is ignored', [status('TASK_RUNNING', { appId: '/nope' })], (v) => [...v.apps.keys()], ['/a']],
    ['health of an unknown task is ignored', [{ eventType: 'instance_health_changed_event', instanceId: 'x', runSpecId: '/a', healthy: true }], (v) => v.apps.get('/a')?.tasks, []],
    ['a new app', [{ eventType: 'api_post_event', appDefinition: { ...app, id: '/b' } }], (v) => [...v.apps.keys()], ['/a', '/b']],
    ['a changed app keeps its tasks', [status('TASK_RUNNING'), { eventType: 'api_post_event', appDefinition: { ...app, instances: 3, version: 'v2' } }],
      (v) => [v.apps.get('/a')?.instances, v.apps.get('/a')?.tasks?.length], [3, 1]],
    ['an app destroyed', [{ eventType: 'app_terminated_event', appId: '/a' }], (v) => v.apps.size, 0],
    ['a deployment starts', [{ eventType: 'deployment_info', plan, currentStep: plan.steps[1] }],
      (v) => [v.deployments.get('d1')?.currentStep, v.deployments.get('d1')?.totalSteps, v.deployments.get('d1')?.affectedApps, v.apps.get('/a')?.deployments], [2, 2, ['/a'], [{ id: 'd1' }]]],
    ['and finishes', [{ eventType: 'deployment_info', plan, currentStep: plan.steps[0] }, { eventType: 'deployment_success', id: 'd1', plan }],
      (v) => [v.deployments.size, v.apps.get('/a')?.deployments], [0, []]],
    ['or fails', [{ eventType: 'deployment_info', plan, currentStep: plan.steps[0] }, { eventType: 'deployment_failed', id: 'd1', plan, reason: 'x' }],
      (v) => [v.deployments.size, v.apps.get('/a')?.deployments], [0, []]],
    ['events it does not show change nothing', [{ eventType: 'event_stream_attached', remoteAddress: '127.0.0.1' }], (v) => v === start, true],
    ['malformed events change nothing', [{ eventType: 'status_update_event' }, { eventType: 'api_post_event' }, { eventType: 'deployment_info' }], (v) => v === start, true],
  ];
  for (const [name, events, pick, expected] of cases) assert.deepEqual(pick(fold(start, events)), expected, name);
});

test('foldEvent: what to read again, and the view is never changed in place', () => {
  const start = viewOf([app], [], [{ app: { id: '/a' }, count: 1, delay: { timeLeftSeconds: 0, overdue: true } }]);
  const cases: Array<[StreamEvent, string | undefined]> = [
    [status('TASK_FAILED'), 'queue'],
    [{ eventType: 'api_post_event', appDefinition: app }, 'queue'],
    [{ eventType: 'deployment_success', id: 'x', plan: { ...plan, id: 'x' } }, 'queue'],
    [{ eventType: 'agent_added_event' }, 'agents'],
    [{ eventType: 'resync_required', lastEventId: 3 }, 'all'],
    [{ eventType: 'instance_health_changed_event', instanceId: 't1', runSpecId: '/a', healthy: true }, undefined],
  ];
  for (const [event, refresh] of cases) assert.equal(foldEvent(start, event).refresh, refresh, event.eventType);
  const snapshot = JSON.stringify([...start.apps]);
  fold(start, [status('TASK_RUNNING'), { eventType: 'app_terminated_event', appId: '/a' }]);
  assert.equal(JSON.stringify([...start.apps]), snapshot);
  assert.equal(fold(start, [{ eventType: 'app_terminated_event', appId: '/a' }]).queue.size, 0);
});

test('foldEvent: replaying events from before a snapshot converges on the live state', () => {
  const events: StreamEvent[] = [
    { eventType: 'api_post_event', appDefinition: app },
    { eventType: 'deployment_info', plan, currentStep: plan.steps[0] },
    status('TASK_STAGING'),
    status('TASK_RUNNING'),
    { eventType: 'instance_health_changed_event', instanceId: 't1', runSpecId: '/a', healthy: true },
    { eventType: 'deployment_success', id: 'd1', plan },
  ];
  const live = fold(viewOf([], [], []), events);
  // A snapshot taken after event 4, replayed from event 2.
  const snapshot = fold(viewOf([], [], []), events.slice(0, 4));
  assert.deepEqual(fold(snapshot, events.slice(1)), live);
});

test('parseSse: frames, comments, split chunks and CRLF (table-driven)', () => {
  const cases: Array<[string, string, Array<{ id?: string; event?: string; data: string }>, string]> = [
    ['one frame', 'id: 7\nevent: x\ndata: {"a":1}\n\n', [{ id: '7', event: 'x', data: '{"a":1}' }], ''],
    ['retry and heartbeat only', 'retry: 500\n\n: ping\n\n', [], ''],
    ['a frame cut in the middle', 'id: 1\ndata: {"a"', [], 'id: 1\ndata: {"a"'],
    ['two frames and a rest', 'data: a\n\ndata: b\n\ndata: c', [{ data: 'a' }, { data: 'b' }], 'data: c'],
    ['multi-line data', 'data: a\ndata: b\n\n', [{ data: 'a\nb' }], ''],
    ['CRLF line ends', 'id: 2\r\ndata: x\r\n\r\n', [{ id: '2', data: 'x' }], ''],
    ['no space after the colon', 'data:x\n\n', [{ data: 'x' }], ''],
  ];
  for (const [name, text, frames, rest] of cases) assert.deepEqual(parseSse(text), { frames, rest }, name);
  // Fed in pieces, the same frames come out.
  const whole = 'id: 1\ndata: one\n\nid: 2\ndata: two\n\n';
  let buffer = '';
  const seen: string[] = [];
  for (const char of whole) {
    const parsed = parseSse(buffer + char);
    buffer = parsed.rest;
    seen.push(...parsed.frames.map((f) => `${f.id}:${f.data}`));
  }
  assert.deepEqual(seen, ['1:one', '2:two']);
});
