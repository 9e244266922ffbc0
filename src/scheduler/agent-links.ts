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
  readonly #heartbeatMs: number;

  constructor(logger: Logger, heartbeatMs: number, onChange: () => void) {
    this.#logger = logger;
    this.#heartbeatMs = heartbeatMs;
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
      this.#logger.warn({ agentId }, 'agent command stream closed');
      this.#onChange();
    });
    this.#logger.info({ agentId }, 'agent command stream open');
    this.#onChange();
  }

  send(agentId: string, command: AgentCommand): boolean {
    const stream = this.#streams.get(agentId);
    if (stream === undefined || stream.destroyed) return false;
    // Commands sent in one tick (an evaluation's launches) leave in one write.
    if (!stream.writableCorked) {
      stream.cork();
      process.nextTick(() => stream.uncork());
    }
    stream.write(`${JSON.stringify(command)}\n`);
    return true;
  }

  seen(agentId: string, at = Date.now()): void {
    this.#lastSeen.set(agentId, at);
  }

  /**
   * Agents that can take launches: their stream is open and they were heard from lately (a
   * frozen agent's TCP connection stays open; its heartbeats stop).
   */
  connected(now = Date.now()): Set<string> {
    return new Set([...this.#streams.keys()].filter((id) => now - (this.#lastSeen.get(id) ?? 0) <= this.#heartbeatMs * 2));
  }

  /** Epoch ms the agent was last heard from (registration, heartbeat, status update); undefined if never. */
  lastSeen(agentId: string): number | undefined {
    return this.#lastSeen.get(agentId);
  }

  /** Cuts an agent's stream: when it comes back, it must register again and be reconciled. */
  drop(agentId: string): void {
    this.#streams.get(agentId)?.destroy();
  }

  /** The agent left the registry: nothing of it is kept. */
  forget(agentId: string): void {
    this.drop(agentId);
    this.#lastSeen.delete(agentId);
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const stream of this.#streams.values()) stream.end();
    this.#streams.clear();
  }
}
