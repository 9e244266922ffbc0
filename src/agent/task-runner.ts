import { chmod, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskState } from '../events/types.ts';
import type { HealthResult, PersistentVolumeMount, TaskLaunch } from '../shared/agent-protocol.ts';
import type { Logger } from '../shared/log.ts';
import { AgentError } from './errors.ts';
import type { HealthTarget } from './health/probes.ts';
import { terminalStatus, type ObservedExit } from './core/task-exit.ts';
import { buildTaskEnv } from './core/task-env.ts';
import { healthEndpoints } from './core/health-endpoints.ts';
import { CONTAINER_SANDBOX } from './containers/core/oci-spec.ts';
import { trampolineArgs } from './core/trampoline.ts';
import type { RunAs } from './core/run-as.ts';
import { decideTaskUser, taskUserName, type Account, type TaskUserSettings } from './core/task-user.ts';
import { spawnWithTaskEnv } from './run-as.ts';
import { chownTree, lookupAccount, unreachableBy } from './task-user.ts';
import { processStartTime, TaskCheckpoints, type TaskCheckpoint } from './task-checkpoint.ts';

export interface TaskReport {
  taskId: string;
  state: TaskState;
  message: string;
  exitStatus?: number;
  reason?: string;
  health?: HealthResult[];
  /** The task's addresses on its bridge or container network (with TASK_RUNNING). */
  ipAddresses?: string[];
}

/** A task's cgroups, as the isolator hands them out. */
export interface TaskCgroup {
  readonly procsFiles: readonly string[];
  oomKilled(): boolean;
  destroy(): Promise<void>;
}

/** The parts of the isolator the runner uses (see ./isolation). */
export interface TaskIsolation {
  prepare(taskId: string, limits: { cpus: number; mem: number }): Promise<TaskCgroup | undefined>;
  existing(): Promise<Map<string, TaskCgroup>>;
}

/** The parts of the container runtime the runner uses (see ./containers). */
export interface TaskContainers {
  /** Pulls and unpacks the task's image and writes its runtime config; the argv runs it in the foreground. `signal`: the task is killed, stop waiting. */
  prepare(task: TaskLaunch, sandbox: string, env: Readonly<Record<string, string>>, progress: (message: string) => void, mounts?: ReadonlyArray<{ source: string; destination: string; readonly: boolean }>, signal?: AbortSignal): Promise<{ argv: string[]; user: { uid: number; gid: number }; ipAddresses?: string[] }>;
  /** A task's addresses on its network (kept while it is attached): an adopted task's health checks need them. */
  addresses?(taskId: string): Promise<string[]>;
  kill(taskId: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  remove(taskId: string): Promise<void>;
  list(): Promise<string[]>;
}

/** The parts of the persistent volume store the runner uses (see volume-store.ts). */
export interface TaskVolumes {
  prepare(task: TaskLaunch, sandbox: string): Promise<void>;
  own(task: TaskLaunch, owner: { uid: number; gid: number }): Promise<void>;
  mounts(task: TaskLaunch): Array<{ source: string; destination: string; readonly: boolean }>;
}

export type { HealthTarget } from './health/probes.ts';

/** Who tasks run as: the agent's settings, its own account, and where setpriv is. */
export interface TaskUsers {
  settings: TaskUserSettings;
  agent: Account;
  setpriv: string;
}

export interface TaskRunnerOptions {
  workDir: string;
  host: string;
  /** What tasks and the agent's own task processes inherit from the agent (PATH, LANG, TZ). */
  baseEnv: Record<string, string>;
  users: TaskUsers;
  logger: Logger;
  report: (report: TaskReport) => void;
  isolation: TaskIsolation;
  /** Runs tasks with an image; absent when the agent lacks the tools (`containersUnavailable` says why). */
  containers?: TaskContainers;
  containersUnavailable?: string;
  /** Local persistent volumes (TaskLaunch.persistentVolumes). */
  volumes?: TaskVolumes;
  /** Puts the task's artifacts in its sandbox; throws with an operator-readable message. */
  fetch: (task: TaskLaunch, sandbox: string, signal: AbortSignal) => Promise<void>;
  /** Starts the task's health checks; results are reported as they change. */
  startHealth: (task: TaskLaunch, target: HealthTarget, onChange: (results: HealthResult[]) => void) => { stop(): void };
  /** Told when a task's process starts and when it has ended (logs, metrics). */
  onStarted?: (taskId: string, sandbox: string) => void;
  onEnded?: (taskId: string, sandbox: string, state: TaskState) => void;
  /** How often adopted tasks (not children of this agent) are checked for their end. */
  adoptedPollMs?: number;
}

interface RunningTask {
  launch: TaskLaunch;
  sandbox: string;
  /** Known once the task's user is resolved (at launch, or from the checkpoint). */
  runAs?: RunAs;
  state: TaskState;
  /** Set once spawned: the trampoline's pid, which is the group id. */
  pgid?: number;
  startTime?: string;
  /** Its addresses on its bridge or container network. */
  ipAddresses?: string[];
  cgroup?: TaskCgroup;
  health?: { stop(): void };
  killTimer?: NodeJS.Timeout;
  poll?: NodeJS.Timeout;
  fetching: AbortController;
  /** Killed for going past a limit the agent enforces (a volume's size): it ends TASK_FAILED with this. */
  limitation?: { message: string; reason: string };
  exited: Promise<void>;
  resolveExit: () => void;
}

/**
 * Runs tasks as process groups in sandboxes, under a trampoline that joins the task's cgroups
 * and records the exit code. Launches, process groups and kills are checkpointed, so an agent
 * restarted after a crash adopts the tasks still running and reports those that ended while it
 * was down. Kill is SIGTERM to the group, then SIGKILL after the grace period; when a task ends,
 * what is left of its group is killed too, so nothing is orphaned.
 */
export class TaskRunner {
  readonly #options: TaskRunnerOptions;
  readonly #checkpoints: TaskCheckpoints;
  readonly #tasks = new Map<string, RunningTask>();
  /** Recently ended task ids: a launch resent after the task ended must not run it again. */
  readonly #endedIds = new Set<string>();
  /** Tasks found ended at recovery: reported with the next registration, then forgotten. */
  #endedWhileDown: Array<{ taskId: string; state: TaskState; message: string }> = [];
  #shuttingDown = false;
  /** Ends still being cleaned up (cgroup removal), so shutdown can wait for them. */
  readonly #finishing = new Set<Promise<void>>();

  constructor(options: TaskRunnerOptions) {
    this.#options = options;
    this.#checkpoints = new TaskCheckpoints(options.workDir);
  }

  /** What the agent reports when it registers: running tasks and those that ended while it was down. */
  list(): Array<{ taskId: string; state: TaskState; message?: string }> {
    return [...[...this.#tasks.values()].map((t) => ({ taskId: t.launch.taskId, state: t.state })), ...this.#endedWhileDown];
  }

  /** The scheduler has heard about the tasks that ended while the agent was down. */
  registered(): void {
    this.#endedWhileDown = [];
  }

  /**
   * Takes back the tasks of an earlier run of this agent: running ones are adopted (same
   * process, watched by polling), ended ones are remembered for the next registration.
   */
  async recover(): Promise<{ adopted: number; ended: number }> {
    const cgroups = await this.#options.isolation.existing();
    let adopted = 0;
    for (const checkpoint of this.#checkpoints.list()) {
      const { launch } = checkpoint;
      const cgroup = cgroups.get(launch.taskId);
      if (this.#isAlive(checkpoint)) {
        this.#adopt(checkpoint, cgroup);
        adopted += 1;
        continue;
      }
      const status = checkpoint.process === undefined
        ? { state: 'TASK_LOST' as const, message: 'the agent restarted before the task started' }
        : terminalStatus({ code: this.#checkpoints.exitCode(launch.taskId), signal: undefined, killing: checkpoint.killing, oomKilled: cgroup?.oomKilled() ?? false });
      if (checkpoint.process !== undefined) killGroup(checkpoint.process.pgid, 'SIGKILL');
      if (launch.container !== undefined) await this.#options.containers?.remove(launch.taskId);
      await cgroup?.destroy();
      await this.#checkpoints.remove(launch.taskId);
      this.#endedIds.add(launch.taskId);
      this.#endedWhileDown.push({ taskId: launch.taskId, state: status.state, message: status.message });
    }
    // A container whose task is not adopted (its checkpoint lost, or from a run that crashed mid-launch) is never left running.
    for (const taskId of (await this.#options.containers?.list()) ?? []) {
      if (this.#tasks.has(taskId)) continue;
      this.#options.logger.warn({ taskId }, 'a container of no running task was left: killing and removing it');
      await this.#options.containers?.remove(taskId);
    }
    return { adopted, ended: this.#endedWhileDown.length };
  }

  launch(task: TaskLaunch): void {
    if (this.#tasks.has(task.taskId) || this.#endedIds.has(task.taskId)) return; // a resent launch
    if (this.#shuttingDown) {
      // A launch that crossed the shutdown must not start a process nobody will kill.
      this.#options.report({ taskId: task.taskId, state: 'TASK_LOST', message: 'agent is shutting down' });
      return;
    }
    const sandbox = join(this.#options.workDir, 'sandboxes', task.taskId);
    const running = this.#track(task, sandbox, 'TASK_STARTING');
    this.#start(running).catch((err: unknown) => {
      // Whatever stops a launch (a failed fetch, a sandbox that cannot be made) ends it visibly.
      // A fetch or an image that fails says so itself: its message is the status message.
      const fetchFailed = err instanceof AgentError && (err.code === 'ERR_AGENT_FETCH' || err.code === 'ERR_AGENT_IMAGE' || err.code === 'ERR_AGENT_VOLUME');
      this.#options.logger.error({ taskId: task.taskId, err: (err as Error).message }, 'launch failed');
      void this.#finish(running, running.state === 'TASK_KILLING'
        ? { state: 'TASK_KILLED', message: 'Killed before it started' }
        : { state: 'TASK_FAILED', message: fetchFailed ? (err as Error).message : `Failed to launch: ${(err as Error).message}`, reason: fetchFailed ? 'REASON_CONTAINER_LAUNCH_FAILED' : 'REASON_EXECUTOR_TERMINATED' });
    });
  }

  /** Starts killing a task; resolves when it has ended. Unknown tasks are reported killed (idempotent). */
  kill(taskId: string, gracePeriodMs?: number): Promise<void> {
    const running = this.#tasks.get(taskId);
    if (running === undefined) {
      this.#options.report({ taskId, state: 'TASK_KILLED', message: 'Task unknown to the agent' });
      return Promise.resolve();
    }
    if (running.state !== 'TASK_KILLING') {
      this.#setState(running, 'TASK_KILLING', '');
      running.health?.stop();
      running.fetching.abort();
      this.#signal(running, gracePeriodMs ?? running.launch.killGracePeriodMs);
      // Noted for a restarted agent (it reports TASK_KILLED, not a failure); best effort.
      this.#checkpoints.markKilling(taskId).catch(() => undefined);
    }
    return running.exited;
  }

  /** Running tasks that have persistent volumes (for the agent's disk usage checks). */
  withVolumes(): Array<{ taskId: string; volumes: PersistentVolumeMount[] }> {
    return [...this.#tasks.values()].filter((t) => t.state === 'TASK_RUNNING' && (t.launch.persistentVolumes?.length ?? 0) > 0)
      .map((t) => ({ taskId: t.launch.taskId, volumes: t.launch.persistentVolumes ?? [] }));
  }

  /** Whether a task not yet ended uses one of these volumes. */
  usesVolume(persistenceIds: readonly string[]): boolean {
    return [...this.#tasks.values()].some((t) => (t.launch.persistentVolumes ?? []).some((v) => persistenceIds.includes(v.persistenceId)));
  }

  /** Kills a task that went past a limit the agent enforces: it ends TASK_FAILED with `message` and Mesos' `reason`. */
  limit(taskId: string, message: string, reason: string): void {
    const running = this.#tasks.get(taskId);
    if (running === undefined || running.limitation !== undefined) return;
    running.limitation = { message, reason };
    this.#options.logger.warn({ taskId, reason, message }, 'task killed: over its limit');
    void this.kill(taskId);
  }

  /** Refuses launches from now on and kills every task; resolves when all have ended. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    await Promise.all([...this.#tasks.keys()].map((taskId) => this.kill(taskId)));
    await Promise.all(this.#finishing);
  }

  /** Stops watching without touching the tasks (they live on for the next run to adopt). */
  detach(): void {
    for (const running of this.#tasks.values()) {
      clearInterval(running.poll);
      clearTimeout(running.killTimer);
      running.health?.stop();
    }
  }

  #track(launch: TaskLaunch, sandbox: string, state: TaskState): RunningTask {
    let resolveExit: () => void = () => undefined;
    const exited = new Promise<void>((resolve) => (resolveExit = resolve));
    const running: RunningTask = { launch, sandbox, state, fetching: new AbortController(), exited, resolveExit };
    this.#tasks.set(launch.taskId, running);
    return running;
  }

  async #start(running: RunningTask): Promise<void> {
    const { launch: task, sandbox } = running;
    // The agent's alone until it is the task user's: fetched files are not for other users to read meanwhile.
    await mkdir(sandbox, { recursive: true, mode: 0o700 });
    await this.#checkpoints.saveLaunch(task);
    this.#options.report({ taskId: task.taskId, state: 'TASK_STARTING', message: '' });
    if (task.container !== undefined) {
      await this.#startContainer(running);
      return;
    }
    const account = await this.#taskUser(task);
    await this.#volumes(task, sandbox, account.switchTo ?? this.#options.users.agent);
    const runAs: RunAs = { switchTo: account.switchTo, setpriv: this.#options.users.setpriv };
    await this.#checkpoints.saveUser(task.taskId, runAs);
    running.runAs = runAs;
    await this.#options.fetch(task, sandbox, running.fetching.signal);
    if (runAs.switchTo !== undefined) {
      // Made and fetched by the agent, then the task's; closed to other users (it may hold secrets).
      await chownTree(sandbox, runAs.switchTo);
      await chmod(sandbox, 0o750);
      const unreachable = await unreachableBy(sandbox, runAs.switchTo);
      if (unreachable !== undefined) throw new AgentError('ERR_AGENT_TASK_USER', unreachable);
    }
    await this.#spawn(running, task);
  }

  /**
   * A task with an image: the trampoline runs crun instead of the command (the user is the
   * image's, inside the container; crun itself needs the agent's root). The sandbox goes to the
   * container's user, as it goes to a process task's.
   */
  async #startContainer(running: RunningTask): Promise<void> {
    const { launch: task, sandbox } = running;
    const containers = this.#options.containers;
    if (containers === undefined) throw new AgentError('ERR_AGENT_IMAGE', `This agent cannot run images: ${this.#options.containersUnavailable ?? 'no container runtime'}`);
    const runAs: RunAs = { switchTo: undefined, setpriv: this.#options.users.setpriv };
    await this.#checkpoints.saveUser(task.taskId, runAs);
    running.runAs = runAs;
    await this.#options.fetch(task, sandbox, running.fetching.signal);
    if (running.state !== 'TASK_STARTING') throw killedBeforeStart();
    const env = buildTaskEnv(task, this.#options.host, CONTAINER_SANDBOX, {});
    await this.#volumes(task, sandbox);
    const prepared = await containers.prepare(task, sandbox, env, (message) => {
      if (running.state === 'TASK_STARTING') this.#options.report({ taskId: task.taskId, state: 'TASK_STARTING', message });
    }, this.#options.volumes?.mounts(task) ?? [], running.fetching.signal);
    await this.#options.volumes?.own(task, prepared.user);
    if (prepared.ipAddresses !== undefined) running.ipAddresses = prepared.ipAddresses;
    if (prepared.user.uid !== 0) {
      await chownTree(sandbox, { name: String(prepared.user.uid), ...prepared.user });
      await chmod(sandbox, 0o750);
    }
    await this.#spawn(running, { args: prepared.argv }, this.#options.baseEnv);
  }

  /** The task's persistent volumes, made (or kept) and in its sandbox; `owner` gets them. */
  async #volumes(task: TaskLaunch, sandbox: string, owner?: { uid: number; gid: number }): Promise<void> {
    if ((task.persistentVolumes?.length ?? 0) === 0) return;
    const volumes = this.#options.volumes;
    if (volumes === undefined) throw new AgentError('ERR_AGENT_VOLUME', 'this agent keeps no persistent volumes');
    await volumes.prepare(task, sandbox);
    if (owner !== undefined) await volumes.own(task, owner);
  }

  /** The account the task runs as, or an ERR_AGENT_TASK_USER saying why it may not run. */
  async #taskUser(task: TaskLaunch): Promise<{ switchTo: Account | undefined }> {
    const { settings, agent } = this.#options.users;
    const wanted = taskUserName(task.user, settings);
    const name = 'self' in wanted ? agent.name : wanted.name;
    const account = 'self' in wanted ? agent : await lookupAccount(name);
    const decision = decideTaskUser(name, account, agent, settings);
    if (!decision.ok) throw new AgentError('ERR_AGENT_TASK_USER', decision.reason);
    return { switchTo: decision.switchTo };
  }

  /** Spawns `command` under the trampoline; `processEnv` is what it gets instead of the task's environment (crun's own). */
  async #spawn(running: RunningTask, command: { cmd?: string; args?: string[] }, processEnv?: Record<string, string>): Promise<void> {
    const { launch: task, sandbox } = running;
    const { baseEnv, logger } = this.#options;
    if (running.state !== 'TASK_STARTING') throw killedBeforeStart();
    running.cgroup = await this.#options.isolation.prepare(task.taskId, { cpus: task.cpus, mem: task.mem });
    if (running.state !== 'TASK_STARTING') throw killedBeforeStart();
    const env = this.#taskEnv(task, sandbox);
    const runAs = running.runAs ?? { switchTo: undefined, setpriv: this.#options.users.setpriv };
    // The task writes its own files: output survives an agent restart and never waits on the agent.
    const out = await open(join(sandbox, 'stdout'), 'a');
    const err = await open(join(sandbox, 'stderr'), 'a');
    try {
      if (runAs.switchTo !== undefined) {
        await out.chown(runAs.switchTo.uid, runAs.switchTo.gid);
        await err.chown(runAs.switchTo.uid, runAs.switchTo.gid);
      }
      if (running.state !== 'TASK_STARTING') throw killedBeforeStart();
      const { child, skipped } = spawnWithTaskEnv(['/bin/sh', ...trampolineArgs(command, this.#checkpoints.exitFile(task.taskId), running.cgroup?.procsFiles ?? [], runAs)], {
        agentEnv: baseEnv,
        env: processEnv ?? env,
        cwd: sandbox,
        stdio: ['ignore', out.fd, err.fd],
      });
      if (skipped.length > 0) logger.warn({ taskId: task.taskId, names: skipped }, 'environment variables that are not shell names (or hold a NUL) are not passed to the task');
      child.on('error', (error) => {
        if (child.pid === undefined) void this.#finish(running, { state: 'TASK_FAILED', message: `Failed to launch: ${error.message}` });
      });
      child.on('exit', (code, signal) => void this.#ended(running, { code: code ?? undefined, signal: signal ?? undefined }));
      if (child.pid === undefined) return;
      running.pgid = child.pid;
      await this.#checkpoints.saveProcess(task.taskId, child.pid);
      logger.info({ taskId: task.taskId, taskPid: child.pid, ports: task.ports, cgroup: running.cgroup !== undefined, uid: runAs.switchTo?.uid ?? this.#options.users.agent.uid, image: task.container?.image }, 'task started');
      this.#options.onStarted?.(task.taskId, sandbox);
      // A kill may have come in while the process was being noted: it stays killing.
      if (running.state !== 'TASK_STARTING') return;
      running.state = 'TASK_RUNNING';
      this.#options.report({ taskId: task.taskId, state: 'TASK_RUNNING', message: '', ...(running.ipAddresses !== undefined ? { ipAddresses: running.ipAddresses } : {}) });
      this.#watchHealth(running, env);
    } finally {
      await out.close();
      await err.close();
    }
  }

  #adopt(checkpoint: TaskCheckpoint, cgroup: TaskCgroup | undefined): void {
    const { launch } = checkpoint;
    const sandbox = join(this.#options.workDir, 'sandboxes', launch.taskId);
    const running = this.#track(launch, sandbox, checkpoint.killing ? 'TASK_KILLING' : 'TASK_RUNNING');
    running.pgid = checkpoint.process?.pgid;
    running.startTime = checkpoint.process?.startTime;
    if (checkpoint.runAs !== undefined) running.runAs = checkpoint.runAs;
    if (cgroup !== undefined) running.cgroup = cgroup;
    // Not our child: its end shows as its pid going away (or being someone else's).
    running.poll = setInterval(() => {
      if (!this.#isAlive(checkpoint)) void this.#ended(running, { code: undefined, signal: undefined });
    }, this.#options.adoptedPollMs ?? 250);
    this.#options.logger.info({ taskId: launch.taskId, pgid: running.pgid, state: running.state }, 'task adopted from an earlier run');
    this.#options.onStarted?.(launch.taskId, sandbox);
    if (checkpoint.killing) this.#signal(running, launch.killGracePeriodMs);
    else if (launch.container?.network !== undefined && this.#options.containers?.addresses !== undefined) {
      // Its health checks may need its address on its network (kept by the network's state).
      void this.#options.containers.addresses(launch.taskId).then((ips) => {
        running.ipAddresses = ips;
        if (this.#tasks.get(launch.taskId) === running && running.state === 'TASK_RUNNING') this.#watchHealth(running, this.#taskEnv(launch, sandbox));
      });
    } else this.#watchHealth(running, this.#taskEnv(launch, sandbox));
  }

  /** The task's environment as its command (and a COMMAND health check) sees it; in a container the sandbox is at its mount point. */
  #taskEnv(task: TaskLaunch, sandbox: string): Record<string, string> {
    return task.container !== undefined
      ? buildTaskEnv(task, this.#options.host, CONTAINER_SANDBOX, this.#options.baseEnv)
      : buildTaskEnv(task, this.#options.host, sandbox, this.#options.baseEnv);
  }

  #isAlive(checkpoint: TaskCheckpoint): boolean {
    const process = checkpoint.process;
    return process !== undefined && process.startTime !== undefined && processStartTime(process.pgid) === process.startTime;
  }

  #watchHealth(running: RunningTask, env: Record<string, string>): void {
    if (running.launch.healthChecks.length === 0) return;
    const runAs = running.runAs ?? { switchTo: undefined, setpriv: this.#options.users.setpriv };
    const target = { ...healthEndpoints(running.launch, this.#options.host, running.ipAddresses), env, cwd: running.sandbox, runAs, agentEnv: this.#options.baseEnv };
    running.health = this.#options.startHealth(running.launch, target, (health) => {
      if (this.#tasks.get(running.launch.taskId) !== running || running.state !== 'TASK_RUNNING') return;
      this.#options.report({ taskId: running.launch.taskId, state: running.state, message: '', health });
    });
  }

  #signal(running: RunningTask, gracePeriodMs: number): void {
    if (running.pgid === undefined) return; // not spawned yet: the launch sees the kill
    const pgid = running.pgid;
    const { taskId, container } = running.launch;
    const containers = container === undefined ? undefined : this.#options.containers;
    // A container's processes are in a session of their own: crun signals its pid 1 (which, as
    // in Docker, ignores SIGTERM unless it handles it), the trampoline waits for crun's exit.
    if (containers !== undefined) void containers.kill(taskId, 'SIGTERM');
    else killGroup(pgid, 'SIGTERM');
    running.killTimer = setTimeout(() => {
      if (containers !== undefined) void containers.kill(taskId, 'SIGKILL');
      killGroup(pgid, 'SIGKILL');
    }, gracePeriodMs);
  }

  async #ended(running: RunningTask, observed: Pick<ObservedExit, 'code' | 'signal'>): Promise<void> {
    if (this.#tasks.get(running.launch.taskId) !== running) return;
    if (running.pgid !== undefined) killGroup(running.pgid, 'SIGKILL');
    const code = this.#checkpoints.exitCode(running.launch.taskId) ?? observed.code;
    const status = running.limitation !== undefined
      ? { state: 'TASK_FAILED' as const, ...running.limitation }
      : terminalStatus({ code, signal: observed.signal, killing: running.state === 'TASK_KILLING', oomKilled: running.cgroup?.oomKilled() ?? false });
    await this.#finish(running, status);
  }

  async #finish(running: RunningTask, status: { state: TaskState; message: string; reason?: string; exitStatus?: number }): Promise<void> {
    const { taskId } = running.launch;
    if (this.#tasks.get(taskId) !== running) return;
    this.#tasks.delete(taskId);
    this.#endedIds.add(taskId);
    if (this.#endedIds.size > 10_000) this.#endedIds.delete(this.#endedIds.values().next().value as string);
    clearTimeout(running.killTimer);
    clearInterval(running.poll);
    running.health?.stop();
    // Reported first: removing the cgroup may wait for the kernel to let go of it.
    this.#options.logger.info({ taskId, ...status }, 'task ended');
    this.#options.onEnded?.(taskId, running.sandbox, status.state);
    this.#options.report({ taskId, ...status });
    const cleanup = (async () => {
      if (running.launch.container !== undefined) {
        await this.#options.containers?.remove(taskId).catch((err: unknown) => this.#options.logger.warn({ taskId, err: (err as Error).message }, 'cannot remove the task container'));
      }
      await running.cgroup?.destroy().catch((err: unknown) => this.#options.logger.warn({ taskId, err: (err as Error).message }, 'cannot remove the task cgroup'));
      await this.#checkpoints.remove(taskId).catch(() => undefined);
    })();
    this.#finishing.add(cleanup);
    await cleanup;
    this.#finishing.delete(cleanup);
    running.resolveExit();
  }

  #setState(running: RunningTask, state: TaskState, message: string): void {
    running.state = state;
    this.#options.report({ taskId: running.launch.taskId, state, message });
  }
}

const killedBeforeStart = (): AgentError => new AgentError('ERR_AGENT_KILLED_BEFORE_START', 'killed before it started');

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
