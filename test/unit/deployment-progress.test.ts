import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressDeployments, type EvaluatedApps } from '../../src/scheduler/core/deployments.ts';
import { evaluationChanges, type Evaluation } from '../../src/scheduler/core/reconcile.ts';
import type { ClusterState, Deployment } from '../../src/scheduler/types.ts';
import { NOW, agent, app, instance, state } from '../support/scheduler-fixtures.ts';

const db = app({ id: '/shop/db', instances: 1 });
const web = app({ id: '/shop/web', instances: 1, dependencies: ['/shop/db'] });
const other = app({ id: '/other', instances: 1 });

/** db first, then web (two steps). */
const shop: Deployment = {
  id: 'd1', affectedApps: ['/shop/db', '/shop/web'], currentStep: 0, targets: { '/shop/db': 1, '/shop/web': 1 },
  original: { '/shop/db': null, '/shop/web': null }, startedAt: NOW,
  plan: { id: 'd1', version: NOW, steps: [{ actions: [{ action: 'StartApplication', app: '/shop/db' }] }, { actions: [{ action: 'StartApplication', app: '/shop/web' }] }] },
};

function withDeployment(s: ClusterState, deployment: Deployment): ClusterState {
  return { ...s, deployments: new Map([[deployment.id, deployment]]) };
}

const dbRunning = instance('db1', db, 'a');
const webRunning = instance('web1', web, 'a');

test('progressDeployments: which deployments move on, and what that writes', async (t) => {
  const cases: Array<{ name: string; s: ClusterState; apps: EvaluatedApps; ops: string[]; events: string[] }> = [
    {
      name: 'first step not done: nothing',
      s: withDeployment(state({ apps: [db, web], agents: [agent('a')] }), shop),
      apps: { acted: new Set() }, ops: [], events: [],
    },
    {
      name: 'first step done: announced, deployment stored at the next step',
      s: withDeployment(state({ apps: [db, web], agents: [agent('a')], instances: [dbRunning] }), shop),
      apps: { acted: new Set() }, ops: ['put deployments d1 step 1'], events: ['deployment_step_success 0'],
    },
    {
      name: 'every step done at once: both announced, then the deployment succeeds and goes',
      s: withDeployment(state({ apps: [db, web], agents: [agent('a')], instances: [dbRunning, webRunning] }), shop),
      apps: { acted: new Set() }, ops: ['del deployments d1'], events: ['deployment_step_success 0', 'deployment_step_success 1', 'deployment_success'],
    },
    {
      name: 'last step done from a later current step: only that step is announced',
      s: withDeployment(state({ apps: [db, web], agents: [agent('a')], instances: [dbRunning, webRunning] }), { ...shop, currentStep: 1 }),
      apps: { acted: new Set() }, ops: ['del deployments d1'], events: ['deployment_step_success 1', 'deployment_success'],
    },
    {
      name: 'the evaluation acted on one of its apps: not judged yet',
      s: withDeployment(state({ apps: [db, web], agents: [agent('a')], instances: [dbRunning, webRunning] }), shop),
      apps: { acted: new Set(['/shop/web']) }, ops: [], events: [],
    },
    {
      name: 'a partial evaluation that did not look at its apps: not judged',
      s: withDeployment(state({ apps: [db, web, other], agents: [agent('a')], instances: [dbRunning, webRunning] }), shop),
      apps: { acted: new Set(), looked: new Set(['/other']) }, ops: [], events: [],
    },
    {
      name: 'a partial evaluation that looked at one of its apps: judged',
      s: withDeployment(state({ apps: [db, web], agents: [agent('a')], instances: [dbRunning, webRunning] }), shop),
      apps: { acted: new Set(), looked: new Set(['/shop/db']) }, ops: ['del deployments d1'], events: ['deployment_step_success 0', 'deployment_step_success 1', 'deployment_success'],
    },
    {
      name: 'an instance of an older configuration still there: not done',
      s: withDeployment(state({ apps: [db, web], agents: [agent('a')], instances: [dbRunning, instance('db0', db, 'a', { configVersion: 'old' })] }), shop),
      apps: { acted: new Set() }, ops: [], events: [],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const { ops, events } = progressDeployments(c.s, c.apps, NOW);
      assert.deepEqual(ops.map((op) => `${op.op} ${op.coll} ${op.key}${op.op === 'put' && op.coll === 'deployments' ? ` step ${op.value.currentStep}` : ''}`), c.ops);
      assert.deepEqual(events.map((e) => (e.eventType === 'deployment_step_success' ? `${e.eventType} ${e.plan.steps.indexOf(e.currentStep)}` : e.eventType)), c.events);
      for (const event of events) assert.equal(event.timestamp, NOW, 'time comes from the caller');
    });
  }
});

test('evaluationChanges: launches, stops and expunges, and the deployments they leave alone', async (t) => {
  const empty: Evaluation = { launch: [], stop: [], expunge: [], replace: [], relaunched: [], unplaced: [], waiting: [], runs: { ops: [], events: [] } };
  const staging = instance('web2', web, 'a', { state: 'TASK_STAGING' });
  const old = instance('web0', web, 'a', { configVersion: 'old' });
  const unreachable = instance('web3', web, 'a', { state: 'TASK_UNREACHABLE' });
  // At web's step; web is done but for its instance of an older configuration.
  const base = withDeployment(state({ apps: [db, web], agents: [agent('a')], instances: [dbRunning, webRunning, old, unreachable] }), { ...shop, currentStep: 1 });
  const cases: Array<{ name: string; evaluation: Evaluation; ops: string[]; events: string[] }> = [
    { name: 'nothing decided: the deployment is judged, and not done', evaluation: empty, ops: [], events: [] },
    {
      name: 'a launch is stored and announced as TASK_STAGING',
      evaluation: { ...empty, launch: [staging] }, ops: ['put instances web2'], events: ['status_update_event TASK_STAGING', 'instance_changed_event'],
    },
    {
      name: 'a stop keeps the instance, killing, until the agent confirms',
      evaluation: { ...empty, stop: [old] }, ops: ['patch instances web0'], events: ['status_update_event TASK_KILLING', 'instance_changed_event'],
    },
    {
      name: 'an expunge forgets the instance as TASK_GONE',
      evaluation: { ...empty, expunge: [unreachable] }, ops: ['del instances web3'], events: ['status_update_event TASK_GONE', 'instance_changed_event'],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const { ops, events } = evaluationChanges(base, c.evaluation, undefined, NOW);
      assert.deepEqual(ops.map((op) => `${op.op} ${op.coll} ${op.key}`), c.ops);
      assert.deepEqual(events.map((e) => (e.eventType === 'status_update_event' ? `${e.eventType} ${e.taskStatus}` : e.eventType)), c.events);
    });
  }
  await t.test('a deployment whose apps the evaluation acted on waits for the next evaluation, even when done', () => {
    const done = withDeployment(state({ apps: [db, web], agents: [agent('a')], instances: [dbRunning, webRunning, unreachable] }), { ...shop, currentStep: 1 });
    for (const evaluation of [{ ...empty, expunge: [unreachable] }, { ...empty, waiting: ['/shop/web'] }]) {
      assert.deepEqual(evaluationChanges(done, evaluation, undefined, NOW).events.filter((e) => e.eventType.startsWith('deployment_')), []);
    }
  });
  await t.test('once nothing else is there, the deployment finishes in the same commit', () => {
    const done = withDeployment(state({ apps: [db, web], agents: [agent('a')], instances: [dbRunning, webRunning] }), { ...shop, currentStep: 1 });
    const { ops, events } = evaluationChanges(done, empty, undefined, NOW);
    assert.deepEqual(ops.map((op) => `${op.op} ${op.coll} ${op.key}`), ['del deployments d1']);
    assert.deepEqual(events.map((e) => e.eventType), ['deployment_step_success', 'deployment_success']);
  });
});
