import type { ServerResponse } from 'node:http';
import type { AgentCommand } from '../shared/agent-protocol.ts';
import type { Logger } from '../shared/log.ts';

/**
 * The command streams agents hold open to the scheduler (NDJSON, one command per line), and
 * when each agent was last heard from.
 */
export class AgentLinks {
  readonly #streams = new Map<string, ServerResponse>();
  readonly #lastSeen = new Map<string, number>();
  readonly #logger: Logger;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #onChange: () => void;

  constructor(logger: Logger, heartbeatMs: number, onChange: () => void) {
    this.#logger = logger;
    this.#onChange = onChange;
    this.#heartbeat = setInterval(() => {
      for (const agentId of this.#streams.keys()) this.send(agentId, { type: 'heartbeat' });
    }, heartbeatMs);
    this.#heartbeat.unref();
  }

  attach(agentId: string, stream: ServerResponse): void {
    const previous = this.#streams.get(agentId);
    this.#streams.set(agentId, stream);
    previous?.end();
    this.seen(agentId);
    stream.on('close', () => {
      if (this.#streams.get(agentId) !== stream) return;
      this.#streams.delete(agentId);
      this.seen(agentId);
      this.#logger.warn({ agentId }, 'agent command stream closed');
      this.#onChange();
    });
    this.#logger.info({ agentId }, 'agent command stream open');
    this.#onChange();
  }

  send(agentId: string, command: AgentCommand): boolean {
    const stream = this.#streams.get(agentId);
    if (stream === undefined || stream.destroyed) return false;
    stream.write(`${JSON.stringify(command)}\n`);
    return true;
  }

  seen(agentId: string, at = Date.now()): void {
    this.#lastSeen.set(agentId, at);
  }

  connected(): Set<string> {
    return new Set(this.#streams.keys());
  }

  /** Epoch ms the agent was last heard from while disconnected; undefined when connected or never seen. */
  disconnectedSince(agentId: string): number | undefined {
    return this.#streams.has(agentId) ? undefined : this.#lastSeen.get(agentId);
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const stream of this.#streams.values()) stream.end();
    this.#streams.clear();
  }
}
