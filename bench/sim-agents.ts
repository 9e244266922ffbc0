/**
 * `node --import tsx bench/sim-agents.ts --master URL --agents N [--first K] [--resources R]
 *   [--connections C] [--register-concurrency P] [--max-seconds S]`
 *
 * N simulated agents in one process, speaking the real agent protocol
 * (src/shared/agent-protocol.ts) the way src/agent/scheduler-link.ts does: register, hold the
 * NDJSON command stream open, heartbeat every heartbeatIntervalMs, and deliver status updates
 * as `{updates: [...]}` batches, one request in flight per agent, in order, retried until
 * acknowledged. Tasks "run" instantly: a launch is answered with TASK_STARTING then
 * TASK_RUNNING, a kill with TASK_KILLING then TASK_KILLED, both in the same batch.
 *
 * Talks to its parent on stdout, one JSON object per line: `{"msg":"registered",...}` once
 * every agent has its command stream open, then `{"msg":"stats",...}` every 250 ms. It exits
 * when stdin closes (its parent is gone), on SIGTERM/SIGINT, or after --max-seconds.
 */
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Agent, request, type Dispatcher } from 'undici';
import { parseResources } from '../src/agent/core/resources.ts';
import { AGENT_API, type AgentCommand, type RegisterRequest, type RegisterResponse, type TaskStatusUpdate } from '../src/shared/agent-protocol.ts';
import type { TaskState } from '../src/events/types.ts';

/** Counters the parent reads from every stats line. */
export interface SimStats {
  msg: 'stats';
  /** performance.now() of this process when the line was written. */
  at: number;
  agents: number;
  registered: number;
  streamsOpen: number;
  launches: number;
  /** Launch commands for a task this agent already runs (the scheduler resends on a new stream). */
  repeatedLaunches: number;
  kills: number;
  unknownKills: number;
  tasks: number;
  updatesQueued: number;
  updatesAcked: number;
  /** Updates acknowledged by state: how many TASK_RUNNING the scheduler has applied. */
  runningAcked: number;
  killedAcked: number;
  statusRequests: number;
  statusErrors: number;
  statusRejected: number;
  /** Largest status round trip in the last second or so, ms. */
  statusMaxMs: number;
  heartbeats: number;
  heartbeatErrors: number;
  heartbeatMaxMs: number;
  reregistrations: number;
  streamEnds: number;
  /** Event loop of this process: utilisation (0..1) since the previous line, p99 delay over the last second or so. */
  elu: number;
  loopDelayP99Ms: number;
}

export interface SimRegistered {
  msg: 'registered';
  agents: number;
  ms: number;
  heartbeatIntervalMs: number;
}

const STATUS_BATCH = 256;

interface SimOptions {
  master: string;
  agents: number;
  first: number;
  resources: string;
  connections: number;
  registerConcurrency: number;
  maxSeconds: number;
}

const counters = {
  registered: 0, streamsOpen: 0, launches: 0, repeatedLaunches: 0, kills: 0, unknownKills: 0, tasks: 0,
  updatesQueued: 0, updatesAcked: 0, runningAcked: 0, killedAcked: 0, statusRequests: 0, statusErrors: 0, statusRejected: 0, statusMaxMs: 0,
  heartbeats: 0, heartbeatErrors: 0, heartbeatMaxMs: 0, reregistrations: 0, streamEnds: 0,
};

/** One simulated agent: its tasks live only in this set. */
class SimAgent {
  readonly index: number;
  agentId: string | undefined;
  heartbeatIntervalMs = 5000;
  readonly tasks = new Set<string>();
  readonly #pending: TaskStatusUpdate[] = [];
  #sending = false;
  readonly #sim: Simulator;

  constructor(index: number, sim: Simulator) {
    this.index = index;
    this.#sim = sim;
  }

  registration(): RegisterRequest {
    return {
      ...(this.agentId !== undefined ? { agentId: this.agentId } : {}),
      hostname: `sim-${this.index}`,
      ip: '127.0.0.1',
      endpoint: `http://127.0.0.1:9/sim-${this.index}`,
      resources: this.#sim.resources,
      attributes: { sim: 'true' },
      tasks: [...this.tasks].map((taskId) => ({ taskId, state: 'TASK_RUNNING' as TaskState })),
    };
  }

  command(command: AgentCommand, now: string): void {
    if (command.type === 'launch') {
      const { taskId } = command.task;
      if (this.tasks.has(taskId)) {
        counters.repeatedLaunches += 1;
        return;
      }
      counters.launches += 1;
      this.tasks.add(taskId);
      counters.tasks += 1;
      this.#queue(taskId, 'TASK_STARTING', now);
      this.#queue(taskId, 'TASK_RUNNING', now);
    } else if (command.type === 'kill') {
      if (!this.tasks.delete(command.taskId)) {
        counters.unknownKills += 1;
        return;
      }
      counters.kills += 1;
      counters.tasks -= 1;
      this.#queue(command.taskId, 'TASK_KILLING', now);
      this.#queue(command.taskId, 'TASK_KILLED', now);
    }
  }

  #queue(taskId: string, state: TaskState, timestamp: string): void {
    this.#pending.push({ uuid: randomUUID(), taskId, state, message: '', timestamp });
    counters.updatesQueued += 1;
    this.#sim.markDirty(this);
  }

  /** Sends what is waiting; at most one request in flight, the rest waits for the next round. */
  flush(): void {
    if (this.#sending || this.#pending.length === 0) return;
    this.#sending = true;
    void this.#drain().finally(() => {
      this.#sending = false;
    });
  }

  async #drain(): Promise<void> {
    let failures = 0;
    while (this.#pending.length > 0 && !this.#sim.stopping && this.agentId !== undefined) {
      const batch = this.#pending.slice(0, STATUS_BATCH);
      const started = performance.now();
      try {
        counters.statusRequests += 1;
        const response = await request(`${this.#sim.master}${AGENT_API}/${encodeURIComponent(this.agentId)}/status`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ updates: batch }),
          dispatcher: this.#sim.requests,
          headersTimeout: 60_000,
          bodyTimeout: 60_000,
        });
        await response.body.dump();
        if (response.statusCode >= 500) throw new Error(`status updates answered ${response.statusCode}`);
        if (response.statusCode >= 400) counters.statusRejected += batch.length;
        this.#pending.splice(0, batch.length);
        counters.updatesAcked += batch.length;
        for (const update of batch) {
          if (update.state === 'TASK_RUNNING') counters.runningAcked += 1;
          else if (update.state === 'TASK_KILLED') counters.killedAcked += 1;
        }
        counters.statusMaxMs = Math.max(counters.statusMaxMs, performance.now() - started);
        failures = 0;
      } catch {
        counters.statusErrors += 1;
        failures += 1;
        if (failures > 50) return; // given up: shows as updates never acknowledged
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }
}

class Simulator {
  readonly master: string;
  readonly resources: RegisterRequest['resources'];
  /** Long-lived command streams: one connection each. */
  readonly streams: Dispatcher;
  /**
   * Registration and status updates. Each real agent has its own connections, so a status batch
   * stuck in the scheduler's commit queue must not hold up another agent's requests here: the
   * pools are sized for one request of each kind per agent at once.
   */
  readonly requests: Dispatcher;
  /** Heartbeats apart, so they are never queued behind slow status updates in this process. */
  readonly heartbeats: Dispatcher;
  readonly agents: SimAgent[];
  stopping = false;
  readonly #abort = new AbortController();
  readonly #dirty = new Set<SimAgent>();
  #flushScheduled = false;
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(options: SimOptions) {
    this.master = options.master.replace(/\/$/, '');
    this.resources = parseResources(options.resources);
    this.streams = new Agent({ connections: options.agents + 16, pipelining: 1, keepAliveTimeout: 600_000 });
    const connections = options.connections > 0 ? options.connections : options.agents + 16;
    this.requests = new Agent({ connections, pipelining: 1, keepAliveTimeout: 60_000 });
    this.heartbeats = new Agent({ connections, pipelining: 1, keepAliveTimeout: 60_000 });
    this.agents = Array.from({ length: options.agents }, (_, i) => new SimAgent(options.first + i, this));
  }

  /** Everything queued while reading this tick's stream chunks goes out together. */
  markDirty(agent: SimAgent): void {
    this.#dirty.add(agent);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      const dirty = [...this.#dirty];
      this.#dirty.clear();
      for (const each of dirty) each.flush();
    });
  }

  async register(agent: SimAgent): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const response = await request(`${this.master}${AGENT_API}/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(agent.registration()),
          dispatcher: this.requests,
          signal: this.#abort.signal,
          headersTimeout: 60_000,
          bodyTimeout: 60_000,
        });
        const answer = (await response.body.json()) as RegisterResponse & { message?: string };
        if (response.statusCode !== 200) throw new Error(`registration refused (${response.statusCode}): ${answer.message ?? ''}`);
        agent.agentId = answer.agentId;
        agent.heartbeatIntervalMs = answer.heartbeatIntervalMs;
        return;
      } catch (err) {
        if (this.stopping || attempt >= 10) throw err;
        await sleep(200 * attempt);
      }
    }
  }

  /** Opens the command stream; resolves once its headers are in, then reads it in the background. */
  async openStream(agent: SimAgent): Promise<void> {
    const response = await request(`${this.master}${AGENT_API}/${encodeURIComponent(agent.agentId ?? '')}/commands`, {
      dispatcher: this.streams,
      signal: this.#abort.signal,
      headersTimeout: 60_000,
      // The scheduler writes a heartbeat command every interval; a minute of silence means it is gone.
      bodyTimeout: Math.max(60_000, agent.heartbeatIntervalMs * 3),
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`command stream refused (${response.statusCode})`);
    }
    counters.streamsOpen += 1;
    void this.#read(agent, response.body).finally(() => {
      counters.streamsOpen -= 1;
      if (this.stopping) return;
      counters.streamEnds += 1;
      void this.#reconnect(agent);
    });
  }

  async #read(agent: SimAgent, body: AsyncIterable<unknown>): Promise<void> {
    let buffered = '';
    try {
      for await (const chunk of body) {
        buffered += (chunk as Buffer).toString('utf8');
        let newline: number;
        const now = new Date().toISOString();
        while ((newline = buffered.indexOf('\n')) !== -1) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (line.trim() !== '') agent.command(JSON.parse(line) as AgentCommand, now);
        }
      }
    } catch {
      // the stream broke: reconnect below
    }
  }

  /** A stream that ended means register again (with the tasks still "running") and reopen. */
  async #reconnect(agent: SimAgent): Promise<void> {
    for (let attempt = 1; attempt <= 20 && !this.stopping; attempt += 1) {
      await sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
      try {
        counters.reregistrations += 1;
        await this.register(agent);
        await this.openStream(agent);
        return;
      } catch {
        // next attempt
      }
    }
  }

  startHeartbeats(agent: SimAgent): void {
    const beat = (): void => {
      if (this.stopping || agent.agentId === undefined) return;
      const started = performance.now();
      request(`${this.master}${AGENT_API}/${encodeURIComponent(agent.agentId)}/heartbeat`, {
        method: 'POST', dispatcher: this.heartbeats, signal: this.#abort.signal, headersTimeout: 60_000, bodyTimeout: 60_000,
      }).then(async (answer) => {
        await answer.body.dump();
        counters.heartbeats += 1;
        counters.heartbeatMaxMs = Math.max(counters.heartbeatMaxMs, performance.now() - started);
        if (answer.statusCode === 404) counters.heartbeatErrors += 1;
      }, () => {
        counters.heartbeatErrors += 1;
      });
    };
    // Spread over the interval, so a thousand agents do not all beat in the same millisecond.
    const offset = setTimeout(() => {
      beat();
      this.#timers.push(setInterval(beat, agent.heartbeatIntervalMs));
    }, Math.floor(Math.random() * agent.heartbeatIntervalMs));
    this.#timers.push(offset);
  }

  async close(): Promise<void> {
    this.stopping = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#abort.abort();
    await Promise.allSettled([this.streams.destroy(), this.requests.destroy(), this.heartbeats.destroy()]);
  }
}

function emit(line: SimStats | SimRegistered | { msg: string; [key: string]: unknown }): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      master: { type: 'string' },
      agents: { type: 'string', default: '100' },
      first: { type: 'string', default: '0' },
      resources: { type: 'string', default: 'cpus:1000;mem:1000000;disk:1000000;ports:[31000-32000]' },
      // 0: one per agent (a real agent has its own connections).
      connections: { type: 'string', default: '0' },
      'register-concurrency': { type: 'string', default: '32' },
      'max-seconds': { type: 'string', default: '3600' },
    },
  });
  if (values.master === undefined) throw new Error('--master URL is required');
  const options: SimOptions = {
    master: values.master,
    agents: Number(values.agents),
    first: Number(values.first),
    resources: values.resources,
    connections: Number(values.connections),
    registerConcurrency: Number(values['register-concurrency']),
    maxSeconds: Number(values['max-seconds']),
  };
  for (const [name, value] of Object.entries(options)) {
    if (typeof value === 'number' && !(Number.isInteger(value) && value >= 0)) throw new Error(`--${name} must be a non-negative integer, not ${value}`);
  }
  const sim = new Simulator(options);
  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    void sim.close().finally(() => process.exit(code));
    setTimeout(() => process.exit(code), 2000).unref();
  };
  process.once('SIGTERM', () => exit(0));
  process.once('SIGINT', () => exit(0));
  // Our parent holds stdin open: when it goes, so do we.
  process.stdin.resume();
  process.stdin.once('end', () => exit(0));
  process.stdin.once('error', () => exit(0));
  setTimeout(() => {
    emit({ msg: 'max-seconds reached, exiting' });
    exit(3);
  }, options.maxSeconds * 1000).unref();

  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let elu = performance.eventLoopUtilization();
  let lines = 0;
  const stats = setInterval(() => {
    const next = performance.eventLoopUtilization();
    emit({
      msg: 'stats', at: performance.now(), agents: options.agents, ...counters,
      elu: performance.eventLoopUtilization(next, elu).utilization, loopDelayP99Ms: delay.percentile(99) / 1e6,
    } satisfies SimStats);
    elu = next;
    // Maxima cover the last second (four lines), so a parent sampling once a second sees them all.
    if (++lines % 4 === 0) {
      delay.reset();
      counters.statusMaxMs = 0;
      counters.heartbeatMaxMs = 0;
    }
  }, 250);
  stats.unref();

  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < sim.agents.length) {
      const agent = sim.agents[next++] as SimAgent;
      await sim.register(agent);
      counters.registered += 1;
      await sim.openStream(agent);
      sim.startHeartbeats(agent);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.registerConcurrency) }, worker));
  } catch (err) {
    emit({ msg: 'failed', error: (err as Error).message });
    exit(1);
    return;
  }
  emit({ msg: 'registered', agents: options.agents, ms: performance.now() - started, heartbeatIntervalMs: sim.agents[0]?.heartbeatIntervalMs ?? 0 } satisfies SimRegistered);
}

await main();
