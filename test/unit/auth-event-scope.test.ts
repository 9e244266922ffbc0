import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EVENT_SCOPES, eventScope, eventVisible, type EventScope } from '../../src/auth/core/event-scope.ts';
import { filterReadable } from '../../src/auth/core/policy.ts';
import type { Grant, Identity } from '../../src/auth/types.ts';
import type { DeploymentPlan, EventType, StreamEvent } from '../../src/events/types.ts';

const t0 = '2026-01-01T00:00:00.000Z';
const plan = (...apps: string[]): DeploymentPlan => ({ id: 'd1', version: t0, steps: [{ actions: apps.map((app) => ({ action: 'StartApplication' as const, app })) }] });
const step = { actions: [{ action: 'ScaleApplication' as const, app: '/team-a/web' }] };
const task = { appId: '/team-a/web', taskId: 't1', instanceId: 't1', version: t0 };

/** One event of every type in the catalogue: typed as a full record, so a new type needs a row here too. */
const SAMPLES: { [T in EventType]: [Extract<StreamEvent, { eventType: T }>, EventScope] } = {
  api_post_event: [{ eventType: 'api_post_event', timestamp: t0, clientIp: '127.0.0.1', uri: '/v2/apps', appDefinition: { id: '/team-a/web', version: t0, labels: {}, portDefinitions: [], healthChecks: [] } }, { paths: ['/team-a/web'] }],
  status_update_event: [{ eventType: 'status_update_event', timestamp: t0, slaveId: 'a1', taskId: 't1', taskStatus: 'TASK_RUNNING', message: '', appId: '/team-a/web', host: 'h', ipAddresses: [], ports: [], version: t0 }, { paths: ['/team-a/web'] }],
  app_terminated_event: [{ eventType: 'app_terminated_event', timestamp: t0, appId: '/team-b/x' }, { paths: ['/team-b/x'] }],
  health_status_changed_event: [{ eventType: 'health_status_changed_event', timestamp: t0, ...task, alive: true }, { paths: ['/team-a/web'] }],
  failed_health_check_event: [{ eventType: 'failed_health_check_event', timestamp: t0, ...task, healthCheck: {} }, { paths: ['/team-a/web'] }],
  unhealthy_instance_kill_event: [{ eventType: 'unhealthy_instance_kill_event', timestamp: t0, ...task, reason: 'r', host: 'h', slaveId: 'a1' }, { paths: ['/team-a/web'] }],
  add_health_check_event: [{ eventType: 'add_health_check_event', timestamp: t0, appId: '/team-a/web', version: t0, healthCheck: {} }, { paths: ['/team-a/web'] }],
  remove_health_check_event: [{ eventType: 'remove_health_check_event', timestamp: t0, appId: '/team-a/web', version: t0, healthCheck: {} }, { paths: ['/team-a/web'] }],
  instance_health_changed_event: [{ eventType: 'instance_health_changed_event', timestamp: t0, instanceId: 't1', runSpecId: '/team-a/web', runSpecVersion: t0, healthy: true }, { paths: ['/team-a/web'] }],
  instance_changed_event: [{ eventType: 'instance_changed_event', timestamp: t0, id: 't1', condition: 'Running', runSpecId: '/team-b/x', agentId: 'a1', host: 'h', runSpecVersion: t0, goal: 'Running' }, { paths: ['/team-b/x'] }],
  deployment_info: [{ eventType: 'deployment_info', timestamp: t0, plan: plan('/team-a/web', '/team-b/x', '/team-a/web'), currentStep: step }, { paths: ['/team-a/web', '/team-b/x'] }],
  deployment_step_success: [{ eventType: 'deployment_step_success', timestamp: t0, plan: plan('/team-a/web'), currentStep: step }, { paths: ['/team-a/web'] }],
  deployment_step_failure: [{ eventType: 'deployment_step_failure', timestamp: t0, plan: plan('/team-b/x'), currentStep: step }, { paths: ['/team-b/x'] }],
  deployment_success: [{ eventType: 'deployment_success', timestamp: t0, id: 'd1', plan: plan() }, 'cluster'],
  deployment_failed: [{ eventType: 'deployment_failed', timestamp: t0, id: 'd1', plan: plan('/team-a/web'), reason: 'r' }, { paths: ['/team-a/web'] }],
  group_change_success: [{ eventType: 'group_change_success', timestamp: t0, groupId: '/team-a', version: t0 }, { paths: ['/team-a'] }],
  group_change_failed: [{ eventType: 'group_change_failed', timestamp: t0, groupId: '/', version: t0, reason: 'r' }, { paths: ['/'] }],
  event_stream_attached: [{ eventType: 'event_stream_attached', timestamp: t0, remoteAddress: '127.0.0.1' }, 'cluster'],
  event_stream_detached: [{ eventType: 'event_stream_detached', timestamp: t0, remoteAddress: '127.0.0.1' }, 'cluster'],
  resync_required: [{ eventType: 'resync_required', timestamp: t0, lastEventId: 1, oldestEventId: 5 }, 'addressee'],
  // Agents are the cluster's: their addresses are no team's business.
  agent_added_event: [{ eventType: 'agent_added_event', timestamp: t0, agent: { id: 'a1', hostname: 'n1', ip: '127.0.0.2', port: 5051 }, reregistered: false }, 'everyone'],
  agent_removed_event: [{ eventType: 'agent_removed_event', timestamp: t0, agentId: 'a1', reason: 'removed' }, 'everyone'],
  // A callback URL may carry a secret (a token in its query): the cluster's readers only.
  subscribe_event: [{ eventType: 'subscribe_event', timestamp: t0, clientIp: '127.0.0.1', callbackUrl: 'http://127.0.0.1:9/cb' }, 'cluster'],
  unsubscribe_event: [{ eventType: 'unsubscribe_event', timestamp: t0, clientIp: '127.0.0.1', callbackUrl: 'http://127.0.0.1:9/cb' }, 'cluster'],
  job_created: [{ eventType: 'job_created', timestamp: t0, job: { id: 'team-a.nightly', schedules: [] } }, { paths: ['/team-a/nightly'] }],
  job_updated: [{ eventType: 'job_updated', timestamp: t0, job: { id: 'team-a.nightly', schedules: [] } }, { paths: ['/team-a/nightly'] }],
  job_deleted: [{ eventType: 'job_deleted', timestamp: t0, job: { id: 'nightly', schedules: [] } }, { paths: ['/nightly'] }],
  job_run_started: [{ eventType: 'job_run_started', timestamp: t0, jobRun: { id: 'r1', jobId: 'team-a.nightly', status: 'INITIAL' } }, { paths: ['/team-a/nightly'] }],
  job_run_finished: [{ eventType: 'job_run_finished', timestamp: t0, jobRun: { id: 'r1', jobId: 'team-a.nightly', status: 'SUCCESS' } }, { paths: ['/team-a/nightly'] }],
  job_run_failed: [{ eventType: 'job_run_failed', timestamp: t0, jobRun: { id: 'r1', jobId: 'b.c.d', status: 'FAILED' } }, { paths: ['/b/c/d'] }],
};

test('every event type in the catalogue has a scope rule and a sample here', () => {
  assert.deepEqual(Object.keys(SAMPLES).sort(), Object.keys(EVENT_SCOPES).sort());
});

test('eventScope: the app paths an event concerns, or cluster, per event type', async (t) => {
  for (const [type, [event, expected]] of Object.entries(SAMPLES)) {
    await t.test(type, () => assert.deepEqual(eventScope(event), expected));
  }
});

const GRANTS: Grant[] = [
  { group: 'team-a', actions: ['read'], path: '/team-a' },
  { identity: 'root', actions: ['admin'], path: '/' },
  { identity: 'lb', actions: ['read'], path: '/' },
];
const member: Identity = { id: 'alice', kind: 'user', groups: ['team-a'] };
const nobody: Identity = { id: 'carol', kind: 'user' };
const root: Identity = { id: 'root', kind: 'user' };
const lb: Identity = { id: 'lb', kind: 'service' };

test('eventVisible: a subscriber receives the events of apps it may read; cluster ones need read on /; agents go to everyone', async (t) => {
  const cases: Array<[who: Identity, type: EventType, visible: boolean]> = [
    [member, 'api_post_event', true],
    [member, 'app_terminated_event', false],
    [member, 'instance_changed_event', false],
    [member, 'deployment_info', true], // one of its apps is in the plan
    [member, 'deployment_step_failure', false],
    [member, 'deployment_success', false], // a plan of no app: cluster
    [member, 'group_change_success', true],
    [member, 'group_change_failed', false],
    [member, 'event_stream_attached', false],
    [member, 'resync_required', true],
    [nobody, 'api_post_event', false],
    [nobody, 'deployment_info', false],
    [nobody, 'resync_required', true],
    [root, 'app_terminated_event', true],
    [root, 'event_stream_detached', true],
    [root, 'deployment_success', true],
    [lb, 'instance_changed_event', true],
    [lb, 'event_stream_attached', true],
    [lb, 'agent_added_event', true],
    [member, 'agent_added_event', true], // as the snapshot, which lists the agents to every reader
    [member, 'agent_removed_event', true],
    [nobody, 'agent_added_event', true],
  ];
  for (const [who, type, visible] of cases) {
    await t.test(`${who.id} ${type}`, () => {
      const mayRead = (path: string): boolean => filterReadable(GRANTS, who, [path]).length === 1;
      assert.equal(eventVisible(SAMPLES[type][0], mayRead), visible);
    });
  }
});
