const DELETED: unique symbol = Symbol('deleted');
type Slot<V> = V | typeof DELETED;

/** The groups a value belongs to (e.g. `app:/web`, `agent:S1`); must not change for a key. */
export type GroupsOf<V> = (value: V) => readonly string[];

/** What a value counts as in one of its groups (e.g. `state:TASK_RUNNING`), each name once. */
export type TallyOf<V> = (value: V, group: string) => readonly string[];

interface Base<V> {
  readonly map: Map<string, V>;
  readonly groupsOf: GroupsOf<V> | undefined;
  readonly tallyOf: TallyOf<V> | undefined;
  /** Keys by group, and tallies by group; built on the first group query, then kept by commits. */
  index: { groups: Map<string, Set<string>>; counts: Map<string, Map<string, number>> } | undefined;
}

/** What a commit changed: every key written, and the groups of the values written or removed. */
export interface Folded {
  keys: ReadonlySet<string>;
  groups: ReadonlySet<string>;
}

/**
 * A map in two layers: a committed base, shared, and a small delta of uncommitted writes.
 * Copying it for a new draft copies only the delta, so a transaction over 100,000 instances
 * costs what it changes, not what exists. Values can also be read by group (the instances of
 * one app or on one agent) without a scan.
 *
 * Ownership: a map from `fork()` belongs to whoever made it, who alone may `put`/`remove`;
 * `commit()` folds the delta into the shared base in place, so only the single state writer
 * calls it, and nobody holds an older committed map across that point (the scheduler's rule:
 * read `current` synchronously).
 */
export class LayeredMap<V> implements ReadonlyMap<string, V> {
  readonly #base: Base<V>;
  /** A child's parent (see `child`); a map without one sits directly on the base. */
  readonly #parent: LayeredMap<V> | undefined;
  readonly #delta: Map<string, Slot<V>>;
  /** Keys written in the delta, by group. */
  readonly #deltaGroups: Map<string, Set<string>>;
  /** Committed keys removed and written again: like a Map, they move to the end. */
  readonly #moved: Set<string>;
  #size: number;

  private constructor(base: Base<V>, parent: LayeredMap<V> | undefined, delta: Map<string, Slot<V>>, deltaGroups: Map<string, Set<string>>, moved: Set<string>, size: number) {
    this.#base = base;
    this.#parent = parent;
    this.#delta = delta;
    this.#deltaGroups = deltaGroups;
    this.#moved = moved;
    this.#size = size;
  }

  /** Takes `map` as the committed base (it is mutated by later commits). */
  static over<V>(map: Map<string, V>, groupsOf?: GroupsOf<V>, tallyOf?: TallyOf<V>): LayeredMap<V> {
    return new LayeredMap({ map, groupsOf, tallyOf, index: undefined }, undefined, new Map(), new Map(), new Set(), map.size);
  }

  get size(): number {
    return this.#size;
  }

  get uncommitted(): number {
    return this.#delta.size;
  }

  get(key: string): V | undefined {
    const slot = this.#delta.get(key);
    if (slot === DELETED) return undefined;
    return slot !== undefined ? slot : this.#lowerGet(key);
  }

  #lowerGet(key: string): V | undefined {
    return this.#parent !== undefined ? this.#parent.get(key) : this.#base.map.get(key);
  }

  #lowerHas(key: string): boolean {
    return this.#parent !== undefined ? this.#parent.has(key) : this.#base.map.has(key);
  }

  has(key: string): boolean {
    const slot = this.#delta.get(key);
    if (slot === DELETED) return false;
    return slot !== undefined || this.#lowerHas(key);
  }

  /** A copy of this map's delta over the same base, for its maker to write to. */
  fork(): LayeredMap<V> {
    const groups = new Map([...this.#deltaGroups].map(([g, keys]): [string, Set<string>] => [g, new Set(keys)]));
    return new LayeredMap(this.#base, this.#parent, new Map(this.#delta), groups, new Set(this.#moved), this.#size);
  }

  /**
   * A scratch layer on top of this map, made in constant time, that cannot be committed: for a
   * transaction's own working copy. This map must not change while the child is in use.
   */
  child(): LayeredMap<V> {
    return new LayeredMap(this.#base, this, new Map(), new Map(), new Set(), this.#size);
  }

  put(key: string, value: V): void {
    if (!this.has(key)) this.#size += 1;
    if (this.#delta.get(key) === DELETED && this.#lowerHas(key)) {
      this.#moved.add(key);
      // Re-inserted, so that it iterates after the keys written before it.
      this.#delta.delete(key);
    }
    this.#delta.set(key, value);
    this.#noteGroups(key, value);
  }

  remove(key: string): void {
    const old = this.get(key);
    if (old === undefined) return;
    this.#size -= 1;
    this.#delta.set(key, DELETED);
    // So that `count` finds what the removed value counted for.
    this.#noteGroups(key, old);
  }

  #noteGroups(key: string, value: V): void {
    for (const group of this.#base.groupsOf?.(value) ?? []) {
      let keys = this.#deltaGroups.get(group);
      if (keys === undefined) this.#deltaGroups.set(group, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Folds the delta into the shared base; returns the committed map and what changed. */
  commit(): { map: LayeredMap<V>; folded: Folded } {
    if (this.#parent !== undefined) throw new Error('a child layer cannot be committed');
    const base = this.#base;
    const index = base.index;
    const groups = new Set<string>();
    for (const [key, slot] of this.#delta) {
      const old = base.map.get(key);
      if (old !== undefined) {
        for (const group of base.groupsOf?.(old) ?? []) {
          groups.add(group);
          if (index !== undefined) tally(index.counts, group, base.tallyOf?.(old, group), -1);
        }
      }
      if (slot === DELETED) {
        if (old === undefined) continue;
        base.map.delete(key);
        for (const group of base.groupsOf?.(old) ?? []) index?.groups.get(group)?.delete(key);
        continue;
      }
      if (this.#moved.has(key)) base.map.delete(key);
      base.map.set(key, slot);
      for (const group of base.groupsOf?.(slot) ?? []) {
        groups.add(group);
        if (index === undefined) continue;
        tally(index.counts, group, base.tallyOf?.(slot, group), 1);
        if (old === undefined || this.#moved.has(key)) {
          let keys = index.groups.get(group);
          if (keys === undefined) index.groups.set(group, (keys = new Set()));
          keys.add(key);
        }
      }
    }
    const folded = { keys: new Set(this.#delta.keys()), groups };
    return { map: new LayeredMap(base, undefined, new Map(), new Map(), new Set(), base.map.size), folded };
  }

  /** The values in one group, without scanning the others (an array: this is a hot path). */
  group(group: string): V[] {
    const values: V[] = [];
    for (const key of this.#groupKeys(group)) {
      const value = this.get(key);
      if (value !== undefined) values.push(value);
    }
    return values;
  }

  /**
   * How many values of the group count as `name` (see `TallyOf`): kept up to date by commits,
   * so it costs what this map has not committed yet, not the size of the group.
   */
  count(group: string, name: string): number {
    const tallyOf = this.#base.tallyOf;
    if (tallyOf === undefined) throw new Error('this map keeps no tallies');
    let n = this.#parent !== undefined ? this.#parent.count(group, name) : (this.#index().counts.get(group)?.get(name) ?? 0);
    for (const key of this.#deltaGroups.get(group) ?? []) {
      const old = this.#lowerGet(key);
      if (old !== undefined && tallyOf(old, group).includes(name)) n -= 1;
      const slot = this.#delta.get(key);
      if (slot !== undefined && slot !== DELETED && tallyOf(slot, group).includes(name)) n += 1;
    }
    return n;
  }

  #index(): NonNullable<Base<V>['index']> {
    const base = this.#base;
    if (base.index === undefined) base.index = buildIndex(base.map, base.groupsOf, base.tallyOf);
    return base.index;
  }

  /** Keys that are or were in the group, each once (removed ones included: `get` tells). */
  #groupKeys(group: string): string[] {
    const own = this.#deltaGroups.get(group);
    if (this.#parent === undefined) {
      const committed = this.#index().groups.get(group);
      const keys = committed === undefined ? [] : [...committed];
      if (own !== undefined) for (const key of own) if (committed?.has(key) !== true) keys.push(key);
      return keys;
    }
    const keys = this.#parent.#groupKeys(group);
    if (own === undefined) return keys;
    const seen = new Set(keys);
    for (const key of own) if (!seen.has(key)) keys.push(key);
    return keys;
  }

  *entries(): MapIterator<[string, V]> {
    const lower = this.#parent !== undefined ? this.#parent.entries() : this.#base.map.entries();
    for (const [key, value] of lower) {
      if (this.#moved.has(key)) continue;
      const slot = this.#delta.get(key);
      if (slot === undefined) yield [key, value];
      else if (slot !== DELETED) yield [key, slot];
    }
    for (const [key, slot] of this.#delta) {
      if (slot !== DELETED && (this.#moved.has(key) || !this.#lowerHas(key))) yield [key, slot];
    }
  }

  *keys(): MapIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }
}

function buildIndex<V>(map: ReadonlyMap<string, V>, groupsOf: GroupsOf<V> | undefined, tallyOf: TallyOf<V> | undefined): NonNullable<Base<V>['index']> {
  const groups = new Map<string, Set<string>>();
  const counts = new Map<string, Map<string, number>>();
  if (groupsOf === undefined) return { groups, counts };
  for (const [key, value] of map) {
    for (const group of groupsOf(value)) {
      let keys = groups.get(group);
      if (keys === undefined) groups.set(group, (keys = new Set()));
      keys.add(key);
      tally(counts, group, tallyOf?.(value, group), 1);
    }
  }
  return { groups, counts };
}

function tally(counts: Map<string, Map<string, number>>, group: string, names: readonly string[] | undefined, by: 1 | -1): void {
  if (names === undefined || names.length === 0) return;
  let byName = counts.get(group);
  if (byName === undefined) counts.set(group, (byName = new Map()));
  for (const name of names) byName.set(name, (byName.get(name) ?? 0) + by);
}
