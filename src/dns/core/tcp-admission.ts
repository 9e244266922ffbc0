/** Caps on open DNS-over-TCP connections: in all, and per client address. */
export interface TcpLimits {
  readonly total: number;
  readonly perClient: number;
}

/**
 * Which TCP connections to keep. A new connection is always admitted (a client that cannot
 * connect cannot ask anything); when it would go over a cap, the least recently active
 * connection — of the same client for the per-client cap, of anyone for the total — is
 * returned for closing. So connections that hold a slot without finishing their queries are
 * the ones that go, and fresh queries are answered however many of them there are (RFC 7766
 * §6.2.3: a server may close idle connections to make room).
 */
export class TcpAdmission<C> {
  readonly #limits: TcpLimits;
  /** Insertion order is activity order: the first entry is the least recently active. */
  readonly #all = new Map<C, string>();
  readonly #byClient = new Map<string, Map<C, true>>();

  constructor(limits: TcpLimits) {
    if (limits.total < 1 || limits.perClient < 1) throw new RangeError('TCP connection caps must be at least 1');
    this.#limits = limits;
  }

  get size(): number {
    return this.#all.size;
  }

  /** Adds `connection` from `client`; returns the connections to close to stay within the caps. */
  admit(connection: C, client: string): C[] {
    const victims: C[] = [];
    const mine = this.#byClient.get(client);
    if (mine !== undefined && mine.size >= this.#limits.perClient) {
      const [oldest] = mine.keys();
      if (oldest !== undefined) victims.push(oldest);
    }
    for (const victim of victims) this.remove(victim);
    for (const [other] of this.#all) {
      if (this.#all.size < this.#limits.total) break;
      victims.push(other);
      this.remove(other);
    }
    this.#all.set(connection, client);
    const set = this.#byClient.get(client) ?? new Map<C, true>();
    set.set(connection, true);
    this.#byClient.set(client, set);
    return victims;
  }

  /** The connection did something useful (a complete query, a reply): it moves to the back of the line. */
  touch(connection: C): void {
    const client = this.#all.get(connection);
    if (client === undefined) return;
    this.#all.delete(connection);
    this.#all.set(connection, client);
    const set = this.#byClient.get(client);
    set?.delete(connection);
    set?.set(connection, true);
  }

  remove(connection: C): void {
    const client = this.#all.get(connection);
    if (client === undefined) return;
    this.#all.delete(connection);
    const set = this.#byClient.get(client);
    set?.delete(connection);
    if (set?.size === 0) this.#byClient.delete(client);
  }
}
