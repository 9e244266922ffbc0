import type { NameRecords } from './record-types.ts';

/** 2^12 shards: a change to one instance copies a few shards of ~1/4096 of the names each. */
const SHARD_BITS = 12;
const SHARD_COUNT = 1 << SHARD_BITS;

/**
 * The table's names as a persistent map: 4096 immutable shards selected by a hash of the name.
 * A new generation shares every shard it does not touch with the previous one, so patching a
 * 100,000-instance zone costs the shards of the changed names, not a copy of the whole zone,
 * and readers of the previous generation never see a change.
 */
export class NameIndex implements ReadonlyMap<string, NameRecords> {
  readonly #shards: readonly ReadonlyMap<string, NameRecords>[];
  readonly size: number;

  private constructor(shards: readonly ReadonlyMap<string, NameRecords>[], size: number) {
    this.#shards = shards;
    this.size = size;
  }

  static empty(): NameIndex {
    return new NameIndex(Array.from({ length: SHARD_COUNT }, () => new Map()), 0);
  }

  get(name: string): NameRecords | undefined {
    return this.#shards[shardOf(name)]?.get(name);
  }

  has(name: string): boolean {
    return this.#shards[shardOf(name)]?.has(name) ?? false;
  }

  /** A new index with `changes` applied (undefined deletes); this one is left as it was. */
  patch(changes: ReadonlyMap<string, NameRecords | undefined>): NameIndex {
    if (changes.size === 0) return this;
    const shards = [...this.#shards];
    const copied = new Set<number>();
    let size = this.size;
    for (const [name, records] of changes) {
      const index = shardOf(name);
      if (!copied.has(index)) {
        shards[index] = new Map(shards[index]);
        copied.add(index);
      }
      const shard = shards[index] as Map<string, NameRecords>;
      const had = shard.has(name);
      if (records === undefined) {
        if (had) size -= 1;
        shard.delete(name);
      } else {
        if (!had) size += 1;
        shard.set(name, records);
      }
    }
    return new NameIndex(shards, size);
  }

  *entries(): MapIterator<[string, NameRecords]> {
    for (const shard of this.#shards) yield* shard.entries();
  }

  *keys(): MapIterator<string> {
    for (const shard of this.#shards) yield* shard.keys();
  }

  *values(): MapIterator<NameRecords> {
    for (const shard of this.#shards) yield* shard.values();
  }

  [Symbol.iterator](): MapIterator<[string, NameRecords]> {
    return this.entries();
  }

  forEach(callback: (value: NameRecords, key: string, map: ReadonlyMap<string, NameRecords>) => void): void {
    for (const [name, records] of this.entries()) callback(records, name, this);
  }
}

/** FNV-1a over UTF-16 code units: cheap, and good enough to spread DNS names evenly. */
function shardOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) & (SHARD_COUNT - 1);
}
