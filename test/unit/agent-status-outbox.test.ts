import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { StatusOutbox } from '../../src/agent/status-outbox.ts';
import type { TaskStatusUpdate } from '../../src/shared/agent-protocol.ts';

const update = (n: number): TaskStatusUpdate => ({ uuid: `u${n}`, taskId: `t${n}`, state: 'TASK_RUNNING', message: '', timestamp: 't' });

test('status outbox: what was written and not acknowledged comes back, in order, after a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'corral-outbox-'));
  try {
    const first = new StatusOutbox(dir);
    assert.deepEqual(first.load(), []);
    await Promise.all([1, 2, 3, 4].map((n) => first.add(update(n))));
    first.acknowledge(['u2']);
    await first.close();
    appendFileSync(join(dir, 'pending.jsonl'), '{"uuid":"torn'); // a crash mid-write
    const second = new StatusOutbox(dir);
    assert.deepEqual(second.load().map((u) => u.uuid), ['u1', 'u3', 'u4']);
    second.acknowledge(['u1']);
    await second.close();
    assert.deepEqual(new StatusOutbox(dir).load().map((u) => u.uuid), ['u3', 'u4'], 'the compacted files still hold the rest');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
