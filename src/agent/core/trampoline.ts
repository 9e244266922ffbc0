import { AgentError } from '../errors.ts';
import { runAsArgv, type RunAs } from './run-as.ts';

/**
 * Every task runs under a small `sh` that stays its process-group leader: it first moves itself
 * into the task's cgroups (so the command is limited from its first instruction), then runs the
 * command and writes its exit code to a file. That file is how an agent restarted after a crash
 * learns how a task ended while nobody was watching (a process that is not your child cannot be
 * waited for).
 */
const SCRIPT = [
  // A handler (unlike an ignore) is reset for the command: it still gets SIGTERM, while the
  // trampoline outlives it to record the exit code — and the kill grace period is honoured.
  "trap ':' TERM",
  'exit_file="$1"; shift',
  'n="$1"; shift',
  // The next n arguments are cgroup.procs files to join.
  'while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n - 1)); done',
  '"$@"',
  'code=$?',
  'echo "$code" > "$exit_file"',
  'exit "$code"',
].join('\n');

/**
 * The argv (after /bin/sh) that runs `cmd` through `sh -c`, or `args` directly, under the
 * trampoline, as the task user (`runAs`): the trampoline itself stays the agent's (it joins the
 * cgroups and writes the exit file, both the agent's; a task cannot signal it).
 */
export function trampolineArgs(command: { cmd?: string; args?: string[] }, exitFile: string, procsFiles: readonly string[], runAs: RunAs): string[] {
  const argv = command.cmd !== undefined ? ['/bin/sh', '-c', command.cmd] : [...(command.args ?? [])];
  if (argv.length === 0) throw new AgentError('ERR_AGENT_NO_COMMAND', 'the task has neither cmd nor args');
  return ['-c', SCRIPT, 'corral-task', exitFile, String(procsFiles.length), ...procsFiles, ...runAsArgv(argv, runAs)];
}
