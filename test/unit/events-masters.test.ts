import assert from 'node:assert/strict';
import { test } from 'node:test';
import { awaitsLeader, leaderFromHeader, nextMaster, shouldMoveToLeader } from '../../src/events/core/masters.ts';

const A = 'http://127.0.0.1:8080';
const B = 'http://127.0.0.1:8081';
const C = 'http://127.0.0.1:8082';

test('nextMaster: the named leader first, unless it is the one that failed; else the next in the list', () => {
  const cases: Array<[name: string, masters: string[], failed: string, leader: string | undefined, expected: string]> = [
    ['no leader named: the next one', [A, B, C], A, undefined, B],
    ['no leader named, the last failed: wraps around', [A, B, C], C, undefined, A],
    ['a live leader named: go there', [A, B, C], A, C, C],
    ['the failed one is the named leader (killed): the next one', [A, B, C], B, B, C],
    ['the named leader differs only by a trailing slash: still the failed one', [A, B, C], B, `${B}/`, C],
    ['failed is not in the list: the first', [A, B, C], 'http://127.0.0.1:9999', undefined, A],
    ['a leader outside the list is followed', [A, B], A, C, C],
    ['one master: itself again', [A], A, A, A],
    ['no masters: the failed one', [], A, undefined, A],
  ];
  for (const [name, masters, failed, leader, expected] of cases) assert.equal(nextMaster(masters, failed, leader), expected, name);
});

test('leaderFromHeader: the origin an X-Marathon-Leader value names', () => {
  const cases: Array<[value: string | string[] | undefined, expected: string | undefined]> = [
    [undefined, undefined],
    ['', undefined],
    ['  ', undefined],
    ['http://127.0.0.1:8081', B],
    ['http://127.0.0.1:8081/', B],
    [[C, A], C],
    ['https://10.0.0.1:8443', 'https://10.0.0.1:8443'],
  ];
  for (const [value, expected] of cases) assert.equal(leaderFromHeader(value), expected, JSON.stringify(value));
});

test('shouldMoveToLeader: only to another named server', () => {
  const cases: Array<[current: string, leader: string | undefined, expected: boolean]> = [
    [A, undefined, false],
    [A, A, false],
    [A, `${A}/`, false],
    [A, B, true],
  ];
  for (const [current, leader, expected] of cases) assert.equal(shouldMoveToLeader(current, leader), expected, `${current} → ${leader}`);
});

test('awaitsLeader: a standby\'s 503 during an election, nothing else', () => {
  const cases: Array<[status: number, message: string, expected: boolean]> = [
    [503, 'no leader is known right now (an election is under way): retry shortly', true],
    [503, 'the leader 127.0.0.1:8080 cannot be reached: retry shortly', true],
    [503, 'service unavailable', false],
    [502, 'no leader is known right now (an election is under way): retry shortly', false],
    [502, 'the leader 127.0.0.1:8080 failed to answer: socket hang up', false],
    [200, '', false],
  ];
  for (const [status, message, expected] of cases) assert.equal(awaitsLeader(status, message), expected, `${status} ${message}`);
});
