import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registrationTasks } from '../../src/agent/core/registration-tasks.ts';
import type { TaskStatusUpdate } from '../../src/shared/agent-protocol.ts';

const update = (taskId: string, state: TaskStatusUpdate['state'], message = `${taskId} ${state}`): TaskStatusUpdate => ({ uuid: `${taskId}-${state}`, taskId, state, message, timestamp: 't' });

test('registrationTasks: the running tasks plus the ends still waiting in the outbox', () => {
  const cases: Array<[name: string, running: Array<{ taskId: string; state: TaskStatusUpdate['state'] }>, pending: TaskStatusUpdate[], expected: Array<{ taskId: string; state: string; message?: string }>]> = [
    ['nothing pending: the running tasks', [{ taskId: 'a', state: 'TASK_RUNNING' }], [], [{ taskId: 'a', state: 'TASK_RUNNING' }]],
    ['a task ended, its update not yet acknowledged: reported ended, with its message', [{ taskId: 'a', state: 'TASK_RUNNING' }], [update('b', 'TASK_RUNNING'), update('b', 'TASK_FAILED', 'Command terminated with signal SIGKILL')],
      [{ taskId: 'a', state: 'TASK_RUNNING' }, { taskId: 'b', state: 'TASK_FAILED', message: 'Command terminated with signal SIGKILL' }]],
    ['a pending non-terminal update of a task not running: not reported', [], [update('b', 'TASK_RUNNING')], []],
    ['a running task with a pending update: reported once, as running', [{ taskId: 'a', state: 'TASK_RUNNING' }], [update('a', 'TASK_RUNNING')], [{ taskId: 'a', state: 'TASK_RUNNING' }]],
    ['two terminal updates of one task: the last', [], [update('c', 'TASK_KILLING'), update('c', 'TASK_KILLED'), update('c', 'TASK_FAILED')], [{ taskId: 'c', state: 'TASK_FAILED', message: 'c TASK_FAILED' }]],
  ];
  for (const [name, running, pending, expected] of cases) assert.deepEqual(registrationTasks(running, pending), expected, name);
});
