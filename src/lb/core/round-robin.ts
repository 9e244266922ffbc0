/**
 * Round-robin position per pool. Kept apart from the routing table so that balancing continues
 * smoothly across table swaps (a new table with the same pool id keeps its position).
 * Deterministic: no clock, no randomness.
 */
export class RoundRobin {
  readonly #next = new Map<string, number>();

  /** The next item of `items` for `key`; undefined when `items` is empty. */
  pick<T>(key: string, items: readonly T[]): T | undefined {
    if (items.length === 0) return undefined;
    const position = (this.#next.get(key) ?? 0) % items.length;
    this.#next.set(key, (position + 1) % items.length);
    return items[position];
  }

  /** Drops positions of pools that no longer exist, so the map does not grow with app churn. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.#next.keys()) {
      if (!keys.has(key)) this.#next.delete(key);
    }
  }
}
