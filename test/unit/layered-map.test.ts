import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LayeredMap } from '../../src/shared/layered-map.ts';

interface Item {
  app: string;
  n: number;
}
const groupsOf = (item: Item): string[] => [`app:${item.app}`];
const tallyOf = (item: Item): string[] => (item.n % 3 === 0 ? ['any', 'three'] : ['any', `rest:${item.n % 3}`]);
const TALLIES = ['any', 'three', 'rest:1', 'rest:2'];

/** The same content a plain Map holds after the same writes, in the same order. */
function assertSame(layered: LayeredMap<Item>, model: Map<string, Item>): void {
  assert.deepEqual([...layered], [...model]);
  assert.equal(layered.size, model.size);
  for (const app of ['a', 'b', 'c']) {
    const expected = [...model.values()].filter((i) => i.app === app).sort((x, y) => x.n - y.n);
    assert.deepEqual([...layered.group(`app:${app}`)].sort((x, y) => x.n - y.n), expected, `group app:${app}`);
    for (const name of TALLIES) {
      assert.equal(layered.count(`app:${app}`, name), expected.filter((i) => tallyOf(i).includes(name)).length, `count app:${app} ${name}`);
    }
  }
}

test('a fork sees its own writes; the map it came from and its base do not', () => {
  const base = new Map([['k1', { app: 'a', n: 1 }]]);
  const committed = LayeredMap.over(base, groupsOf);
  const fork = committed.fork();
  fork.put('k2', { app: 'b', n: 2 });
  fork.remove('k1');
  assert.deepEqual([...fork.keys()], ['k2']);
  assert.deepEqual([...committed.keys()], ['k1']);
  assert.equal(base.size, 1);
  assert.deepEqual([...committed.group('app:a')], [{ app: 'a', n: 1 }]);
  assert.deepEqual([...fork.group('app:a')], []);
});

test('a commit folds the delta into the base and reports the keys and groups it changed', () => {
  const committed = LayeredMap.over(new Map([['k1', { app: 'a', n: 1 }], ['k2', { app: 'b', n: 2 }]]), groupsOf);
  const fork = committed.fork();
  fork.put('k1', { app: 'a', n: 10 });
  fork.remove('k2');
  fork.put('k3', { app: 'c', n: 3 });
  fork.remove('missing');
  const { map, folded } = fork.commit();
  assert.deepEqual([...map], [['k1', { app: 'a', n: 10 }], ['k3', { app: 'c', n: 3 }]]);
  assert.equal(map.uncommitted, 0);
  assert.deepEqual([...folded.keys].sort(), ['k1', 'k2', 'k3']);
  assert.deepEqual([...folded.groups].sort(), ['app:a', 'app:b', 'app:c']);
  assert.deepEqual([...map.group('app:b')], []);
});

for (const indexFirst of [true, false]) {
  test(`random writes, forks and commits agree with a plain Map (group index built ${indexFirst ? 'first' : 'on the first query'})`, () => {
    randomRounds(indexFirst);
  });
}

function randomRounds(indexFirst: boolean): void {
  let seed = 42;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const model = new Map<string, Item>();
  let map = LayeredMap.over(new Map<string, Item>(), groupsOf, tallyOf);
  // Query groups early so the committed group index is kept up to date by every commit.
  if (indexFirst) assert.deepEqual([...map.group('app:a')], []);
  for (let round = 0; round < 200; round += 1) {
    let fork = map.fork();
    for (let write = 0; write < 1 + random(20); write += 1) {
      const key = `k${random(50)}`;
      // A key keeps its group, as an instance keeps its app.
      const app = ['a', 'b', 'c'][Number(key.slice(1)) % 3] as string;
      if (random(3) === 0) {
        fork.remove(key);
        model.delete(key);
      } else {
        const item = { app, n: round * 100 + write };
        fork.put(key, item);
        model.set(key, item);
      }
      const roll = random(20);
      if (roll === 0) fork = fork.fork();
      // A child layer reads the same as the map under it.
      else if (roll === 1 && (indexFirst || round > 100)) assertSame(fork.child(), model);
      else if (roll === 2) {
        // Writes to a child layer count there and nowhere else.
        const child = fork.child();
        child.put(key, { app, n: 3 });
        assert.equal(child.count(`app:${app}`, 'three') - fork.count(`app:${app}`, 'three'), tallyOf(fork.get(key) ?? { app, n: 1 }).includes('three') ? 0 : 1);
      }
    }
    // Without the index first, it is built after some commits, then kept by the later ones.
    if (indexFirst || round > 100) assertSame(fork, model);
    map = fork.commit().map;
    if (indexFirst || round > 100) assertSame(map, model);
  }
}

test('a child layer sees its parent, writes only to itself, and cannot be committed', () => {
  const parent = LayeredMap.over(new Map([['k1', { app: 'a', n: 1 }], ['k2', { app: 'b', n: 2 }]]), groupsOf, tallyOf).fork();
  parent.put('k3', { app: 'a', n: 3 });
  const child = parent.child();
  child.remove('k1');
  child.put('k4', { app: 'a', n: 4 });
  child.remove('k2');
  child.put('k2', { app: 'b', n: 20 });
  assert.deepEqual([...child], [['k3', { app: 'a', n: 3 }], ['k4', { app: 'a', n: 4 }], ['k2', { app: 'b', n: 20 }]]);
  assert.equal(child.size, 3);
  assert.deepEqual([...child.group('app:a')].map((i) => i.n).sort(), [3, 4]);
  assert.deepEqual([...child.group('app:b')].map((i) => i.n), [20]);
  assert.deepEqual([...parent].map(([k]) => k), ['k1', 'k2', 'k3']);
  assert.equal(child.count('app:a', 'any'), 2);
  assert.equal(child.count('app:b', 'rest:2'), 1);
  assert.equal(parent.count('app:a', 'rest:1'), 1);
  assert.throws(() => child.commit(), /cannot be committed/);
});

test('a map without tallies says so when asked to count', () => {
  assert.throws(() => LayeredMap.over(new Map<string, Item>(), groupsOf).count('app:a', 'any'), /keeps no tallies/);
});
