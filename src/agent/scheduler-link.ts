import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { AGENT_API, type AgentCommand, type HeartbeatReport, type RegisterRequest, type RegisterResponse, type TaskStatusUpdate, type VolumesDestroyed } from '../shared/agent-protocol.ts';
import type { Logger } from '../shared/log.ts';
import { LEADER_HEADER, leaderFromHeader, nextMaster, shouldMoveToLeader } from '../events/core/masters.ts';
import { AgentError } from './errors.ts';
import { registrationTasks } from './core/registration-tasks.ts';
import type { StatusOutbox } from './status-outbox.ts';

/** Status updates sent in one request at most. */
const STATUS_BATCH = 256;

/**
 * Every this many heartbeats (about one agent timeout) the heartbeat carries the tasks the agent
 * runs, so that a task the scheduler no longer wants is killed even if a kill was lost.
 */
const REPORT_TASKS_EVERY = 4;

export interface SchedulerLinkOptions {
  masters: readonly string[];
  /** Carries every call to the scheduler (`--ca`: the certificates trusted for https). */
  dispatcher?: Dispatcher;
  logger: Logger;
  /** Built fresh for every (re-)registration: it carries the tasks running now. */
  registration: () => Omit<RegisterRequest, 'agentId'>;
  onRegistered: (agentId: string) => void;
  onCommand: (command: AgentCommand) => void;
  initialAgentId: string | undefined;
  /** Where status updates wait, durably, until acknowledged. */
  outbox: StatusOutbox;
  /** Agent admission: the join token, sent when the agent has no credential (or the scheduler refuses it). */
  joinToken?: string;
  /** The credential issued on an earlier join. */
  initialCredential?: string;
  /** A credential was just issued: keep it before anything else (it is shown once). */
  onCredential?: (credential: string) => void;
}

/**
 * The agent's side of the agent protocol: register, hold the command stream open, and deliver
 * status updates in order, retrying each until the scheduler acknowledges it. Reconnects with
 * backoff whenever the stream ends: to the leader the schedulers last named (`X-Marathon-Leader`)
 * unless that one is gone, else to the next master. A standby proxies registration to the
 * leader; the link then talks to the leader directly.
 */
export class SchedulerLink {
  readonly #options: SchedulerLinkOptions;
  /** Ends everything: status delivery included. */
  readonly #abort = new AbortController();
  /** Ends only the command stream and re-registration, so statuses can still be flushed. */
  readonly #detach = new AbortController();
  #agentId: string | undefined;
  #credential: string | undefined;
  /** The scheduler talked to now. */
  #current: string;
  /** The leader the last registration's answer named, if any. */
  #namedLeader: string | undefined;
  /** Updates on disk, in order, not yet acknowledged. */
  readonly #outbox: TaskStatusUpdate[];
  #sending = false;
  /** Settles when every reported update has been checkpointed and queued. */
  #written: Promise<void> = Promise.resolve();
  #idle: Promise<void> = Promise.resolve();

  constructor(options: SchedulerLinkOptions) {
    this.#options = options;
    this.#current = options.masters[0] ?? '';
    this.#agentId = options.initialAgentId;
    this.#credential = options.initialCredential;
    this.#outbox = options.outbox.load();
  }

  /** The Authorization header of the agent's calls: its credential, once it has one. */
  get #auth(): Record<string, string> {
    return this.#credential !== undefined ? { authorization: `Bearer ${this.#credential}` } : {};
  }

  get #dispatcher(): { dispatcher?: Dispatcher } {
    return this.#options.dispatcher === undefined ? {} : { dispatcher: this.#options.dispatcher };
  }

  get #master(): string {
    return this.#current;
  }

  /** The agent id the scheduler gave, once registered (or from an earlier run). */
  get agentId(): string | undefined {
    return this.#agentId;
  }

  /** The agent's credential, once admitted: the key of the tokens its API checks derives from it. */
  get credential(): string | undefined {
    return this.#credential;
  }

  /** Status updates not yet acknowledged. */
  get pending(): number {
    return this.#outbox.length;
  }

  start(): void {
    void this.#run();
  }

  /** Checkpoints a status update, then sends it; updates are delivered in order, at least once. */
  report(update: Omit<TaskStatusUpdate, 'uuid' | 'timestamp'>): void {
    const full: TaskStatusUpdate = { ...update, uuid: randomUUID(), timestamp: new Date().toISOString() };
    this.#written = this.#options.outbox.add(full).then(
      () => this.#queue(full),
      (err: unknown) => {
        this.#options.logger.error({ taskId: full.taskId, err: (err as Error).message }, 'cannot checkpoint a status update; sending it anyway');
        this.#queue(full);
      },
    );
  }

  /** Says a destroy-volumes command is done; once (the scheduler sends the command again until it hears this). */
  async volumesDestroyed(destroyed: VolumesDestroyed): Promise<void> {
    if (this.#agentId === undefined) return;
    const response = await request(new URL(`${AGENT_API}/${encodeURIComponent(this.#agentId)}/volumes/destroyed`, this.#master), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.#auth },
      body: JSON.stringify(destroyed),
      signal: this.#abort.signal,
      ...this.#dispatcher,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await response.body.dump();
    if (response.statusCode >= 400) throw new AgentError('ERR_AGENT_STATUS_REFUSED', `volumes destroyed answered ${response.statusCode}`);
  }

  #queue(update: TaskStatusUpdate): void {
    this.#outbox.push(update);
    if (!this.#sending) this.#idle = this.#drain();
  }

  /**
   * Closes the command stream: the scheduler sees the agent go and places nothing more on it.
   * Status updates are still delivered until `close`.
   */
  detach(): void {
    this.#detach.abort();
  }

  /** Stops everything; waits up to `flushMs` for queued status updates to be delivered first. */
  async close(flushMs: number): Promise<void> {
    this.detach();
    await Promise.race([this.#written.then(() => this.#idle), sleep(flushMs)]);
    this.#abort.abort();
    await this.#options.outbox.close();
  }

  async #run(): Promise<void> {
    const { logger } = this.#options;
    let failures = 0;
    const signal = this.#detach.signal;
    while (!signal.aborted) {
      try {
        const registered = await this.#register();
        failures = 0;
        await this.#streamCommands(registered);
        logger.warn({ master: this.#master }, 'command stream ended, re-registering');
        this.#current = nextMaster(this.#options.masters, this.#current, this.#namedLeader);
      } catch (err) {
        if (signal.aborted) return;
        failures += 1;
        const failed = this.#current;
        this.#current = nextMaster(this.#options.masters, failed, this.#namedLeader);
        logger.warn({ master: failed, next: this.#current, err: (err as Error).message, code: (err as { code?: unknown }).code, failures }, 'scheduler link down');
      }
      const delay = Math.min(5000, 100 * 2 ** Math.min(failures, 6));
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  }

  async #register(): Promise<RegisterResponse> {
    const registration = this.#options.registration();
    const body: RegisterRequest = { ...registration, tasks: registrationTasks(registration.tasks, this.#outbox), ...(this.#agentId !== undefined ? { agentId: this.#agentId } : {}) };
    const { joinToken } = this.#options;
    let { statusCode, answer } = await this.#postRegistration(body, this.#credential ?? joinToken);
    // A credential the scheduler does not know (it forgot this agent) gives way to the join token; a revoked one stays refused.
    if (statusCode === 401 && this.#credential !== undefined && joinToken !== undefined) ({ statusCode, answer } = await this.#postRegistration(body, joinToken));
    if (statusCode !== 200) throw new AgentError('ERR_AGENT_REGISTRATION_REFUSED', `registration refused (${statusCode}): ${answer.message ?? ''}`);
    if (answer.credential !== undefined) {
      this.#credential = answer.credential;
      this.#options.onCredential?.(answer.credential);
    }
    this.#agentId = answer.agentId;
    this.#options.onRegistered(answer.agentId);
    // Registered through a standby's proxy, i.e. with the leader: the stream and statuses go to the leader itself.
    if (shouldMoveToLeader(this.#current, this.#namedLeader)) this.#current = this.#namedLeader;
    this.#options.logger.info({ agentId: answer.agentId, master: this.#master, tasks: body.tasks.length }, 'registered with the scheduler');
    if (!this.#sending && this.#outbox.length > 0) this.#idle = this.#drain();
    return answer;
  }

  async #postRegistration(body: RegisterRequest, token: string | undefined): Promise<{ statusCode: number; answer: RegisterResponse & { message?: string } }> {
    const response = await request(new URL(`${AGENT_API}/register`, this.#master), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
      signal: this.#detach.signal,
      ...this.#dispatcher,
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    this.#namedLeader = leaderFromHeader(response.headers[LEADER_HEADER]);
    return { statusCode: response.statusCode, answer: (await response.body.json()) as RegisterResponse & { message?: string } };
  }

  async #streamCommands(registered: RegisterResponse): Promise<void> {
    const response = await request(new URL(`${AGENT_API}/${encodeURIComponent(registered.agentId)}/commands`, this.#master), {
      headers: this.#auth,
      signal: this.#detach.signal,
      ...this.#dispatcher,
      headersTimeout: 5000,
      // Heartbeats arrive every interval: three missed mean the scheduler is gone.
      bodyTimeout: registered.heartbeatIntervalMs * 3,
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new AgentError('ERR_AGENT_STREAM_REFUSED', `command stream refused (${response.statusCode})`);
    }
    // The scheduler judges the agent alive by these, not by the stream: a frozen agent's TCP stays open.
    let beats = 0;
    const heartbeat = setInterval(() => {
      const report: HeartbeatReport | undefined = ++beats % REPORT_TASKS_EVERY === 0
        ? { tasks: this.#options.registration().tasks.map(({ taskId, state }) => ({ taskId, state })) }
        : undefined;
      request(new URL(`${AGENT_API}/${encodeURIComponent(registered.agentId)}/heartbeat`, this.#master), {
        method: 'POST', signal: this.#detach.signal, ...this.#dispatcher, headersTimeout: registered.heartbeatIntervalMs, bodyTimeout: registered.heartbeatIntervalMs,
        ...(report !== undefined ? { headers: { 'content-type': 'application/json', ...this.#auth }, body: JSON.stringify(report) } : { headers: this.#auth }),
      }).then(async (answer) => {
        await answer.body.dump();
        // The scheduler forgot this agent (it timed out) or refuses its credential: end the stream and register again.
        if (answer.statusCode === 404 || answer.statusCode === 401) response.body.destroy();
      }, () => undefined);
    }, registered.heartbeatIntervalMs);
    try {
      await this.#readCommands(response.body);
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #readCommands(body: AsyncIterable<unknown>): Promise<void> {
    let buffered = '';
    for await (const chunk of body) {
      buffered += (chunk as Buffer).toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim() === '') continue;
        try {
          this.#options.onCommand(JSON.parse(line) as AgentCommand);
        } catch (err) {
          this.#options.logger.error({ err: (err as Error).message, line }, 'bad command from the scheduler');
        }
      }
    }
  }

  async #drain(): Promise<void> {
    this.#sending = true;
    let failures = 0;
    try {
      while (this.#outbox.length > 0 && !this.#abort.signal.aborted) {
        if (this.#agentId === undefined) return; // sent after registration
        // Everything waiting goes in one request, applied by the scheduler in one transaction.
        const batch = this.#outbox.slice(0, STATUS_BATCH);
        try {
          const response = await request(new URL(`${AGENT_API}/${encodeURIComponent(this.#agentId)}/status`, this.#master), {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...this.#auth },
            body: JSON.stringify({ updates: batch }),
            signal: this.#abort.signal,
            ...this.#dispatcher,
            headersTimeout: 10_000,
            bodyTimeout: 10_000,
          });
          await response.body.dump();
          // Refused credential: kept until the agent is admitted again.
          if (response.statusCode >= 500 || response.statusCode === 401) throw new AgentError('ERR_AGENT_STATUS_REFUSED', `status updates answered ${response.statusCode}`);
          if (response.statusCode >= 400) this.#options.logger.error({ count: batch.length, status: response.statusCode }, 'status updates rejected; dropping them');
          this.#outbox.splice(0, batch.length);
          this.#options.outbox.acknowledge(batch.map((update) => update.uuid));
          failures = 0;
        } catch (err) {
          failures += 1;
          this.#options.logger.warn({ count: batch.length, first: batch[0]?.taskId, err: (err as Error).message, code: (err as { code?: unknown }).code }, 'status updates not delivered, retrying');
          await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)), undefined, { signal: this.#abort.signal }).catch(() => undefined);
        }
      }
    } finally {
      this.#sending = false;
    }
  }
}
