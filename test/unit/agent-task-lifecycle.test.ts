import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { withDetectedResources } from '../../src/agent/core/resources.ts';
import { envScript } from '../../src/agent/core/run-as.ts';
import { terminalStatus } from '../../src/agent/core/task-exit.ts';
import { trampolineArgs } from '../../src/agent/core/trampoline.ts';

test('terminal status from what the agent observed, table', async (t) => {
  const base = { code: undefined, signal: undefined, killing: false, oomKilled: false };
  const cases = [
    { name: 'exit 0', exit: { ...base, code: 0 }, state: 'TASK_FINISHED', message: 'Command exited with status 0' },
    { name: 'exit 3', exit: { ...base, code: 3 }, state: 'TASK_FAILED', message: 'Command exited with status 3' },
    { name: 'command killed by SIGSEGV (sh reports 139)', exit: { ...base, code: 139 }, state: 'TASK_FAILED', message: 'Command terminated with signal SIGSEGV' },
    { name: 'killed on request', exit: { ...base, signal: 'SIGTERM', killing: true }, state: 'TASK_KILLED', message: 'Command terminated by a kill request' },
    { name: 'OOM wins over the rest', exit: { ...base, code: 137, killing: true, oomKilled: true }, state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LIMITATION_MEMORY' },
    { name: 'leader killed by a signal', exit: { ...base, signal: 'SIGKILL' }, state: 'TASK_FAILED', message: 'Command terminated with signal SIGKILL' },
    { name: 'nothing known (ended while the agent was down)', exit: base, state: 'TASK_FAILED', message: 'Task ended while the agent was not running; its exit status is unknown' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const status = terminalStatus(c.exit);
      assert.equal(status.state, c.state);
      if (c.message !== undefined) assert.equal(status.message, c.message);
      if (c.reason !== undefined) assert.equal(status.reason, c.reason);
    });
  }
});

test('the trampoline runs cmd and args, records the exit code, and refuses to run outside its cgroup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corral-trampoline-'));
  try {
    const exitFile = join(dir, 'exit_status');
    const agentEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', AGENT_ONLY: 'x' };
    const run = (command: { cmd?: string; args?: string[] }, procs: string[] = [], env: Record<string, string> = { PATH: agentEnv.PATH }): { status: number; out: string } => {
      // The task's environment arrives on fd 3, as the agent writes it.
      const envFile = join(dir, 'env');
      writeFileSync(envFile, envScript(env, Object.keys(agentEnv)).script);
      const fd = openSync(envFile, 'r');
      try {
        return { status: 0, out: execFileSync('/bin/sh', trampolineArgs(command, exitFile, procs, { switchTo: undefined, setpriv: '/usr/bin/setpriv' }), { encoding: 'utf8', env: agentEnv, stdio: ['ignore', 'pipe', 'pipe', fd] }) };
      } catch (err) {
        return { status: (err as { status: number }).status, out: '' };
      } finally {
        closeSync(fd);
      }
    };
    assert.deepEqual(run({ cmd: 'echo "$0 hi"; exit 0' }), { status: 0, out: '/bin/sh hi\n' });
    assert.equal(readFileSync(exitFile, 'utf8').trim(), '0');
    assert.equal(run({ cmd: 'exit 7' }).status, 7);
    assert.equal(readFileSync(exitFile, 'utf8').trim(), '7');
    assert.deepEqual(run({ args: ['printf', '%s|', 'a b', 'c'] }), { status: 0, out: 'a b|c|' });
    assert.equal(run({ cmd: 'true' }, [join(dir, 'no-such-dir', 'cgroup.procs')]).status, 125);
    // Exactly the task's environment: quotes and newlines intact, the agent's own variables gone.
    const value = `it's "quoted" $HOME \`x\`\nline 2`;
    assert.deepEqual(run({ cmd: 'printf "%s|%s" "$SECRET" "${AGENT_ONLY-unset}"' }, [], { PATH: agentEnv.PATH, SECRET: value }), { status: 0, out: `${value}|unset` });
    assert.throws(() => trampolineArgs({}, exitFile, [], { switchTo: undefined, setpriv: '/usr/bin/setpriv' }), { code: 'ERR_AGENT_NO_COMMAND', message: /neither cmd nor args/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resources left out are detected from the machine, with Mesos\' reserves', () => {
  const machine = { cores: 8, memMiB: 16384, diskMiB: 100_000 };
  assert.deepEqual(withDetectedResources([], machine), [
    { name: 'cpus', role: '*', scalar: 8 },
    { name: 'mem', role: '*', scalar: 15360 },
    { name: 'disk', role: '*', scalar: 94880 },
    { name: 'ports', role: '*', ranges: [{ begin: 31000, end: 32000 }] },
  ]);
  const small = withDetectedResources([{ name: 'cpus', role: 'prod', scalar: 1 }], { cores: 1, memMiB: 1500, diskMiB: 6000 });
  assert.deepEqual(small.map((r) => [r.name, r.role, r.scalar]), [['cpus', 'prod', 1], ['mem', '*', 750], ['disk', '*', 3000], ['ports', '*', undefined]]);
});
