import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { enterCgroupScript, type Isolator, type TaskCgroup } from '../../../src/agent/isolation/index.ts';
import { waitFor } from '../wait.ts';

/** Where an implementation isolates tasks (a cgroup parent, a runtime's namespace), new for each test. */
export interface IsolationPlace {
  /** An isolator on this place as a (re)started agent detects it; several may be open on it at once. */
  open(): Promise<Isolator>;
  remove(): Promise<void>;
}

const LIMITS = { cpus: 0.1, mem: 32 };

/** The task cgroup of a prepared task, or undefined, as the interface says for each kind. */
async function prepare(isolator: Isolator, taskId: string): Promise<TaskCgroup | undefined> {
  const cgroup = await isolator.prepare(taskId, LIMITS);
  if (isolator.kind === 'none') {
    assert.equal(cgroup, undefined, 'no isolation: no cgroup');
    return undefined;
  }
  assert.ok(cgroup !== undefined, `${isolator.kind}: a cgroup`);
  assert.deepEqual([cgroup.taskId, cgroup.dirs.length > 0, cgroup.procsFiles.length > 0, cgroup.oomKilled()], [taskId, true, true, false]);
  return cgroup;
}

const found = async (isolator: Isolator): Promise<string[]> => [...(await isolator.existing()).keys()].sort();

/**
 * What every Isolator must do, from no isolation to cgroups to a container runtime (see
 * src/agent/isolation/index.ts): registers node:test tests that each run on a new place.
 */
export function isolatorContract(name: string, newPlace: () => Promise<IsolationPlace>): void {
  const onPlace = (title: string, run: (place: IsolationPlace) => Promise<void>): void => {
    test(`isolator contract (${name}): ${title}`, { timeout: 30_000 }, async () => {
      const place = await newPlace();
      try {
        await run(place);
      } finally {
        await place.remove();
      }
    });
  };

  onPlace('kind, reason and parent dirs agree', async (place) => {
    const isolator = await place.open();
    if (isolator.kind === 'none') {
      assert.ok((isolator.reason ?? '') !== '', 'no isolation says why');
      assert.deepEqual(isolator.parentDirs, []);
    } else {
      assert.ok(isolator.parentDirs.length > 0);
    }
  });

  onPlace('before the agent id is known nothing is found; a prepared task is found after a restart, and gone once destroyed', async (place) => {
    const earlier = await place.open();
    earlier.useAgent('S1');
    const cgroup = await prepare(earlier, 'web.1');
    const later = await place.open();
    assert.deepEqual(await found(later), []);
    later.useAgent('S1');
    assert.deepEqual(await found(later), cgroup === undefined ? [] : ['web.1']);
    const again = (await later.existing()).get('web.1');
    assert.deepEqual(again?.procsFiles, cgroup?.procsFiles);
    await again?.destroy();
    assert.deepEqual(await found(later), []);
    assert.equal(cgroup?.oomKilled() ?? false, false, 'no OOM verdict without an OOM kill, also after destroy');
  });

  onPlace('a task id used again is made afresh, not twice', async (place) => {
    const isolator = await place.open();
    isolator.useAgent('S1');
    await prepare(isolator, 'again.1');
    const second = await prepare(isolator, 'again.1');
    assert.deepEqual(await found(isolator), second === undefined ? [] : ['again.1']);
    await second?.destroy();
  });

  onPlace('agents sharing a place never find each other\'s tasks', async (place) => {
    const one = await place.open();
    one.useAgent('S1');
    const two = await place.open();
    two.useAgent('S2');
    const mine = await prepare(one, 'mine.1');
    const theirs = await prepare(two, 'theirs.1');
    assert.deepEqual(await found(one), mine === undefined ? [] : ['mine.1']);
    assert.deepEqual(await found(two), theirs === undefined ? [] : ['theirs.1']);
    await mine?.destroy();
    await theirs?.destroy();
  });

  onPlace('destroy kills what runs inside: the leader that entered, and what it started', async (place) => {
    const isolator = await place.open();
    isolator.useAgent('S1');
    const cgroup = await prepare(isolator, 'busy.1');
    if (cgroup === undefined) return;
    const child = spawn('/bin/sh', ['-c', `${enterCgroupScript(cgroup.procsFiles)}sleep 1000 & exec sleep 1000`], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    try {
      await waitFor('the leader and its child to be inside', () => {
        const pids = readFileSync(cgroup.procsFiles[0] ?? '', 'utf8').split('\n').filter(Boolean);
        return pids.length === 2 ? pids : undefined;
      });
      await cgroup.destroy();
      assert.equal(await exited, 'SIGKILL');
      assert.deepEqual(await found(isolator), []);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  onPlace('release keeps the agent\'s place while a task is left, and removes it once none is', async (place) => {
    const isolator = await place.open();
    isolator.useAgent('S1');
    const left = await prepare(isolator, 'left.1');
    await isolator.release();
    const restarted = await place.open();
    restarted.useAgent('S1');
    assert.deepEqual(await found(restarted), left === undefined ? [] : ['left.1']);
    await (await restarted.existing()).get('left.1')?.destroy();
    await restarted.release();
    for (const dir of restarted.parentDirs) assert.equal(existsSync(dir), false, `${dir} is removed`);
  });
}
