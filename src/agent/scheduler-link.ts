import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { AGENT_API, type AgentCommand, type RegisterRequest, type RegisterResponse, type TaskStatusUpdate } from '../shared/agent-protocol.ts';
import type { Logger } from '../shared/log.ts';

export interface SchedulerLinkOptions {
  masters: readonly string[];
  logger: Logger;
  /** Built fresh for every (re-)registration: it carries the tasks running now. */
  registration: () => Omit<RegisterRequest, 'agentId'>;
  onRegistered: (agentId: string) => void;
  onCommand: (command: AgentCommand) => void;
  initialAgentId: string | undefined;
}

/**
 * The agent's side of the agent protocol: register, hold the command stream open, and deliver
 * status updates in order, retrying each until the scheduler acknowledges it. Reconnects with
 * backoff (trying the next master) whenever the stream ends.
 */
export class SchedulerLink {
  readonly #options: SchedulerLinkOptions;
  /** Ends everything: status delivery included. */
  readonly #abort = new AbortController();
  /** Ends only the command stream and re-registration, so statuses can still be flushed. */
  readonly #detach = new AbortController();
  #agentId: string | undefined;
  #masterIndex = 0;
  readonly #outbox: TaskStatusUpdate[] = [];
  #sending = false;
  #idle: Promise<void> = Promise.resolve();

  constructor(options: SchedulerLinkOptions) {
    this.#options = options;
    this.#agentId = options.initialAgentId;
  }

  get #master(): string {
    return this.#options.masters[this.#masterIndex % this.#options.masters.length] ?? '';
  }

  start(): void {
    void this.#run();
  }

  /** Queues a status update; updates are delivered in order, at least once. */
  report(update: Omit<TaskStatusUpdate, 'uuid' | 'timestamp'>): void {
    this.#outbox.push({ ...update, uuid: randomUUID(), timestamp: new Date().toISOString() });
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
    await Promise.race([this.#idle, sleep(flushMs)]);
    this.#abort.abort();
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
      } catch (err) {
        if (signal.aborted) return;
        failures += 1;
        this.#masterIndex += 1;
        logger.warn({ master: this.#master, err: (err as Error).message, failures }, 'scheduler link down');
      }
      const delay = Math.min(5000, 100 * 2 ** Math.min(failures, 6));
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  }

  async #register(): Promise<RegisterResponse> {
    const body: RegisterRequest = { ...this.#options.registration(), ...(this.#agentId !== undefined ? { agentId: this.#agentId } : {}) };
    const response = await request(new URL(`${AGENT_API}/register`, this.#master), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: this.#detach.signal,
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    const answer = (await response.body.json()) as RegisterResponse & { message?: string };
    if (response.statusCode !== 200) throw new Error(`registration refused (${response.statusCode}): ${answer.message ?? ''}`);
    this.#agentId = answer.agentId;
    this.#options.onRegistered(answer.agentId);
    this.#options.logger.info({ agentId: answer.agentId, master: this.#master, tasks: body.tasks.length }, 'registered with the scheduler');
    if (!this.#sending && this.#outbox.length > 0) this.#idle = this.#drain();
    return answer;
  }

  async #streamCommands(registered: RegisterResponse): Promise<void> {
    const response = await request(new URL(`${AGENT_API}/${encodeURIComponent(registered.agentId)}/commands`, this.#master), {
      signal: this.#detach.signal,
      headersTimeout: 5000,
      // Heartbeats arrive every interval: three missed mean the scheduler is gone.
      bodyTimeout: registered.heartbeatIntervalMs * 3,
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`command stream refused (${response.statusCode})`);
    }
    let buffered = '';
    for await (const chunk of response.body) {
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
        const update = this.#outbox[0] as TaskStatusUpdate;
        if (this.#agentId === undefined) return; // sent after registration
        try {
          const response = await request(new URL(`${AGENT_API}/${encodeURIComponent(this.#agentId)}/status`, this.#master), {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(update),
            signal: this.#abort.signal,
            headersTimeout: 5000,
            bodyTimeout: 5000,
          });
          await response.body.dump();
          if (response.statusCode >= 500) throw new Error(`status update answered ${response.statusCode}`);
          if (response.statusCode >= 400) this.#options.logger.error({ update, status: response.statusCode }, 'status update rejected; dropping it');
          this.#outbox.shift();
          failures = 0;
        } catch (err) {
          failures += 1;
          this.#options.logger.warn({ taskId: update.taskId, state: update.state, err: (err as Error).message }, 'status update not delivered, retrying');
          await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)), undefined, { signal: this.#abort.signal }).catch(() => undefined);
        }
      }
    } finally {
      this.#sending = false;
    }
  }
}
