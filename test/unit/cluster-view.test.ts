import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DiscoveryApp, StatusUpdateEvent } from '../../src/events/types.ts';
import { EMPTY_VIEW, applyEvent, isServing, viewFromSnapshot } from '../../src/events/view.ts';

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
