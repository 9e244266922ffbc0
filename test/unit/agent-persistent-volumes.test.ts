import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVolumeName, volumeOverLimit } from '../../src/agent/core/persistent-volumes.ts';

test('agent volumes: a persistence id is one directory name under <work-dir>/volumes', () => {
  const cases: Array<[string, boolean]> = [
    ['db#data#3f1c', true], ['shop_web#data#0b7', true], ['', false], ['.', false], ['..', false], ['a/b', false], ['../x', false], ['a\0b', false], ['x'.repeat(256), false],
  ];
  for (const [id, ok] of cases) assert.equal(isVolumeName(id), ok, JSON.stringify(id));
});

test('agent volumes: usage above the size (MiB, du in KiB) is a limitation with Mesos-like words', () => {
  const volume = { containerPath: 'data', persistenceId: 'db#data#1', size: 2 };
  const cases: Array<[number, string | undefined]> = [
    [0, undefined],
    [2048, undefined],
    [2049, 'Disk usage (2.0 MiB) exceeds persistent volume data (db#data#1) size (2 MiB)'],
    [5 * 1024 + 512, 'Disk usage (5.5 MiB) exceeds persistent volume data (db#data#1) size (2 MiB)'],
  ];
  for (const [usage, reason] of cases) assert.equal(volumeOverLimit(usage, volume), reason, String(usage));
});
