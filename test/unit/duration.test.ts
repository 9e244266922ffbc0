import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../src/shared/duration.ts';

test('durations in every unit, a bare number as seconds', () => {
  const cases: Array<[string, number]> = [
    ['500ms', 500],
    ['15s', 15_000],
    ['15', 15_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    [' 0 ', 0],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('anything else is refused with the expected form', () => {
  for (const text of ['', 'soon', '2y', '-1s', '1 s', 'w']) assert.throws(() => parseDuration(text), /expected a duration/, text);
});
