import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { ensureJoinToken } from '../../src/auth/secret-files.ts';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { startPart, tempDir } from './parts.ts';
import { marathonCall, type Answer } from './marathon-api.ts';
import { mountsUnder } from './oci-image.ts';
import { waitFor } from './wait.ts';

/**
 * A real scheduler and real agents on loopback for the agent integration tests, with what those
 * tests keep asking for: JSON calls, the event history, and a teardown that stops every process
 * (agents first), removes the temp dir and this run's cgroups, and reports task processes left over.
 */

import { removeCgroupParent } from './cgroups.ts';
import { pidsOf } from './processes.ts';

export { pidsOf };

/** The state letter and process group of a pid from /proc, or undefined once it is gone. */
function procStat(pid: number): { state: string; pgrp: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/** Exited: not in /proc, or a zombie waiting for whoever reaps orphans here. */
export function isGone(pid: number): boolean {
  const stat = procStat(pid);
  return stat === undefined || stat.state === 'Z';
}

/** Live (non-zombie) processes of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number).filter((pid) => {
    const stat = procStat(pid);
    return stat !== undefined && stat.pgrp === pgid && stat.state !== 'Z';
  });
}

/** The process groups (one per task) of the processes whose command line holds `text`. */
export function taskGroups(text: string): number[] {
  return [...new Set(pidsOf(text).map((pid) => procStat(Number(pid))?.pgrp).filter((pgrp) => pgrp !== undefined))].sort((a, b) => a - b);
}

/** A JSON body, loosely typed: integration tests read Marathon's JSON as it comes. */
export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ClusterEvent {
  id: number | undefined;
  type: string;
  data: Json;
}

export interface StartedAgent {
  part: PartProcess;
  /** The agent's own HTTP endpoint (/files, /metrics, /state). */
  endpoint: string;
  workDir: string;
  args: string[];
}

export interface AgentSpec {
  ip?: string;
  resources?: string;
  /** A spread of 100 host ports starting here is used when `resources` is not given. */
  portsBase?: number;
  /** The hostname the agent reports (default: its ip). */
  hostname?: string;
  /** More flags for the agent's command line. */
  args?: readonly string[];
}

/** 20000 + 1000·k for a random k: two test files running at once rarely share host ports. */
export const randomPortsBase = (): number => 20000 + 1000 * Math.floor(Math.random() * 40);

export class AgentCluster {
  readonly dir: string;
  /** A string to put in every task's command line, so teardown can find survivors with pgrep. */
  readonly marker: string;
  readonly master: string;
  readonly agents: StartedAgent[] = [];
  /** With `joinToken`: the file the scheduler and every agent get as --join-token-file. */
  readonly joinTokenFile: string | undefined;
  /** With a scheduler started with --auth: the Authorization every call to it carries. */
  authorization: string | undefined;
  #scheduler: PartProcess;
  readonly #schedulerArgs: string[];
  readonly #aborts: AbortController[] = [];
  readonly #cgroupParents: string[] = [];

  private constructor(dir: string, marker: string, scheduler: PartProcess, schedulerArgs: string[], joinTokenFile: string | undefined) {
    this.dir = dir;
    this.joinTokenFile = joinTokenFile;
    this.marker = marker;
    this.#scheduler = scheduler;
    this.master = String(scheduler.ready.api);
    // A restarted scheduler comes back where the agents look for it.
    this.#schedulerArgs = schedulerArgs.map((arg) => (arg === '127.0.0.1:0' ? new URL(this.master).host : arg));
  }

  /** `schedulerArgs` are added to the scheduler's command line; `joinToken` turns agent admission on (a fresh token). */
  static async start(name: string, options: { agentTimeout?: string; schedulerArgs?: string[]; joinToken?: boolean } = {}): Promise<AgentCluster> {
    const dir = tempDir(`corral-${name}-`);
    const marker = `corral-${name}-${randomUUID()}`;
    const joinTokenFile = options.joinToken === true ? join(dir, 'join.token') : undefined;
    if (joinTokenFile !== undefined) ensureJoinToken(joinTokenFile);
    const args = ['scheduler', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'scheduler'), '--agent-timeout', options.agentTimeout ?? '2s',
      ...(joinTokenFile !== undefined ? ['--join-token-file', joinTokenFile] : []), ...(options.schedulerArgs ?? [])];
    const scheduler = await startPart('scheduler', args, dir);
    return new AgentCluster(dir, marker, scheduler, args, joinTokenFile);
  }

  /**
   * Stops the scheduler (SIGTERM, or `signal`) and starts it again on the same address and data
   * dir, or on `dataDir` (an empty one: a scheduler that starts over).
   */
  async restartScheduler(options: { signal?: NodeJS.Signals; dataDir?: string } = {}): Promise<void> {
    this.#scheduler.child.kill(options.signal ?? 'SIGTERM');
    await this.#scheduler.exited;
    const args = [...this.#schedulerArgs];
    if (options.dataDir !== undefined) args[args.indexOf('--data-dir') + 1] = options.dataDir;
    this.#scheduler = await startPart('scheduler', args, this.dir);
  }

  /** Starts a stopped (or crashed) agent again with its own arguments and work dir. */
  async restartAgent(agent: StartedAgent): Promise<StartedAgent> {
    const n = this.agents.indexOf(agent) + 1;
    const part = await startPart(`agent-${n}`, agent.args, this.dir);
    const restarted = { ...agent, part, endpoint: String(part.ready.endpoint) };
    this.agents[n - 1] = restarted;
    return restarted;
  }

  /** The agent's argv; each agent gets its own work dir and its own cgroup parent. */
  agentArgs(spec: AgentSpec = {}): string[] {
    const n = this.agents.length + 1;
    const base = spec.portsBase ?? randomPortsBase();
    const parent = `corral-it-${this.marker.slice(-8)}-${n}`;
    this.#cgroupParents.push(parent);
    return ['agent', '--master', this.master, '--ip', spec.ip ?? `127.0.0.${10 + n}`, '--work-dir', join(this.dir, `agent-${n}`),
      '--cgroups-parent', parent, '--resources', spec.resources ?? `cpus:2;mem:1024;disk:1000;ports:[${base}-${base + 99}]`,
      ...(spec.hostname !== undefined ? ['--hostname', spec.hostname] : []), ...(this.joinTokenFile !== undefined ? ['--join-token-file', this.joinTokenFile] : []), ...(spec.args ?? [])];
  }

  async startAgent(spec: AgentSpec = {}): Promise<StartedAgent> {
    const args = this.agentArgs(spec);
    const workDir = args[args.indexOf('--work-dir') + 1] ?? '';
    const part = await startPart(`agent-${this.agents.length + 1}`, args, this.dir);
    const agent = { part, endpoint: String(part.ready.endpoint), workDir, args };
    this.agents.push(agent);
    return agent;
  }

  call(method: string, path: string, body?: unknown, base = this.master): Promise<Answer> {
    return marathonCall(base, method, path, body, base === this.master && this.authorization !== undefined ? { authorization: this.authorization } : {});
  }

  async get(path: string, base = this.master): Promise<Json> {
    const { status, json } = await this.call('GET', path, undefined, base);
    assert.equal(status, 200, `GET ${path}: ${JSON.stringify(json)}`);
    return json;
  }

  /** Posts an app (small cpus by default) and expects 201. */
  async postApp(app: Json): Promise<Json> {
    const { status, json } = await this.call('POST', '/v2/apps', { cpus: 0.1, mem: 32, ...app });
    assert.equal(status, 201, `POST /v2/apps ${String(app.id)}: ${JSON.stringify(json)}`);
    return json;
  }

  async tasks(appId?: string): Promise<Json[]> {
    const json = await this.get(appId === undefined ? '/v2/tasks' : `/v2/apps${appId}/tasks`);
    return json.tasks as Json[];
  }

  /** Waits until the app has exactly `count` tasks, all TASK_RUNNING. */
  running(appId: string, count: number, timeoutMs = 15000): Promise<Json[]> {
    return waitFor(`${count} running task(s) of ${appId}`, async () => {
      const tasks = await this.tasks(appId);
      return tasks.length === count && tasks.every((t) => t.state === 'TASK_RUNNING') ? tasks : undefined;
    }, timeoutMs);
  }

  /** Every event since the scheduler started (Last-Event-ID: 0), and those that follow, as they arrive. */
  async events(): Promise<EventLog> {
    const controller = new AbortController();
    this.#aborts.push(controller);
    const response = await request(`${this.master}/v2/events`, { headers: { 'last-event-id': '0', accept: 'text/event-stream' }, signal: controller.signal });
    assert.equal(response.statusCode, 200);
    const log = new EventLog();
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body) {
          buffer += decoder.decode(chunk as Buffer, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            log.add(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch {
        // aborted at teardown
      }
    })();
    return log;
  }

  /**
   * A file in a task's sandbox, read through the agent's /files/read (Mesos semantics) with the
   * token the scheduler issues for it (none without agent admission).
   */
  async readSandboxFile(agent: StartedAgent, taskId: string, file: string): Promise<string> {
    const grant = await this.call('POST', `/corral/v1/tasks/${encodeURIComponent(taskId)}/files-token`, {});
    assert.equal(grant.status, 200, JSON.stringify(grant.json));
    assert.equal(grant.json.url, agent.endpoint);
    const headers: Record<string, string> = typeof grant.json.token === 'string' ? { authorization: `Bearer ${grant.json.token}` } : {};
    const { status, json } = await marathonCall(agent.endpoint, 'GET', `/files/read?path=${encodeURIComponent(`${String(grant.json.sandbox)}/${file}`)}&offset=0`, undefined, headers);
    assert.equal(status, 200, JSON.stringify(json));
    return String(json.data);
  }

  /**
   * Stops agents (in reverse order) before the scheduler, removes the temp dir and the agents'
   * cgroup parents, and fails if any task process survived.
   */
  async stop(): Promise<void> {
    for (const controller of this.#aborts) controller.abort();
    await stopParts([...this.agents.map((a) => a.part)].reverse(), 5000);
    await stopParts([this.#scheduler], 5000);
    // A container test that failed half-way may have left a task's overlay mounted: the directory could not go.
    for (const point of mountsUnder(this.dir)) execFileSync('umount', ['-l', point]);
    if (process.env.KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
    for (const parent of this.#cgroupParents) removeCgroupParent(parent);
    // A task killed a moment ago may still be in its last exit steps.
    await waitFor('no task process left', () => (pidsOf(this.marker).length === 0 ? true : undefined), 5000).catch(() => undefined);
    assert.deepEqual(pidsOf(this.marker), [], 'no task process outlives its agent');
  }
}

/** Events as they arrive on one `/v2/events` stream. */
export class EventLog {
  readonly events: ClusterEvent[] = [];

  add(frame: string): void {
    let type = 'message';
    let id: number | undefined;
    const data: string[] = [];
    for (const line of frame.split('\n')) {
      if (line.startsWith('event:')) type = line.slice(6).trim();
      else if (line.startsWith('id:')) id = Number(line.slice(3).trim());
      else if (line.startsWith('data:')) data.push(line.slice(5).trim());
    }
    if (data.length === 0) return;
    this.events.push({ id, type, data: JSON.parse(data.join('\n')) as Json });
  }

  /** Events of one type matching `where`, so far. */
  find(type: string, where: (data: Json) => boolean = () => true): Json[] {
    return this.events.filter((e) => e.type === type && where(e.data)).map((e) => e.data);
  }

  /** The first event of `type` matching `where`, waiting for it. */
  waitFor(type: string, where: (data: Json) => boolean = () => true, timeoutMs = 15000): Promise<Json> {
    return waitFor(`a ${type}`, () => this.find(type, where)[0], timeoutMs);
  }
}
