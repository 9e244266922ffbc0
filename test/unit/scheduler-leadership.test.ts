import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leaderOfHolder, parseVia, standbyAction, type Leader } from '../../src/scheduler/core/leadership.ts';

const SELF = '127.0.0.1:8081';
const LEADER: Leader = { hostPort: '127.0.0.1:8080', url: 'http://127.0.0.1:8080' };

test('parseVia: the hops of the via header, however it came', () => {
  const cases: Array<[string | string[] | undefined, string[]]> = [
    [undefined, []],
    ['', []],
    ['127.0.0.1:8080', ['127.0.0.1:8080']],
    [' a:1 ,b:2,, ', ['a:1', 'b:2']],
    [['a:1', 'b:2, c:3'], ['a:1', 'b:2', 'c:3']],
  ];
  for (const [header, hops] of cases) assert.deepEqual(parseVia(header), hops, JSON.stringify(header));
});

test('leaderOfHolder: the leader the lock value names, or none', () => {
  const cases: Array<[string | undefined, Leader | undefined]> = [
    [undefined, undefined],
    ['not json', undefined],
    ['null', undefined],
    ['{"pid":1}', undefined],
    ['{"listen":"127.0.0.1:0"}', undefined],
    ['{"listen":"127.0.0.1:8080","pid":1}', LEADER],
    ['{"listen":"10.0.0.1:8443","scheme":"https"}', { hostPort: '10.0.0.1:8443', url: 'https://10.0.0.1:8443' }],
  ];
  for (const [value, leader] of cases) assert.deepEqual(leaderOfHolder(value), leader, String(value));
});

test('standbyAction: local answers, proxy with via, loop refusal, no leader', () => {
  const cases: Array<{ name: string; method: string; path: string; via?: string[]; leader?: Leader; kind: string; via2?: string; status?: number }> = [
    { name: 'ping is local', method: 'GET', path: '/ping', kind: 'ping' },
    { name: 'leader is local, even with none known', method: 'GET', path: '/v2/leader', kind: 'leader' },
    { name: 'info is local, query ignored', method: 'GET', path: '/v2/info?x=1', leader: LEADER, kind: 'info' },
    { name: 'Mesos health is local', method: 'GET', path: '/health', kind: 'health' },
    { name: 'Mesos master health is local', method: 'GET', path: '/master/health', leader: LEADER, kind: 'health' },
    { name: 'Mesos version is local', method: 'GET', path: '/version', kind: 'version' },
    { name: 'Mesos redirect goes to the leader, which names itself', method: 'GET', path: '/master/redirect', leader: LEADER, kind: 'proxy', via2: SELF },
    { name: 'Mesos state goes to the leader', method: 'GET', path: '/state.json', leader: LEADER, kind: 'proxy', via2: SELF },
        { name: 'a write is proxied, self added to via', method: 'POST', path: '/v2/apps', leader: LEADER, kind: 'proxy', via2: SELF },
    { name: 'via hops are kept', method: 'GET', path: '/v2/apps?embed=apps.tasks', via: ['10.0.0.9:8080'], leader: LEADER, kind: 'proxy', via2: `10.0.0.9:8080, ${SELF}` },
    { name: 'DELETE /v2/leader goes to the leader', method: 'DELETE', path: '/v2/leader', leader: LEADER, kind: 'proxy', via2: SELF },
    { name: 'events are proxied', method: 'GET', path: '/v2/events', leader: LEADER, kind: 'proxy', via2: SELF },
    { name: 'a request that went through self is a loop', method: 'GET', path: '/v2/apps', via: ['127.0.0.1:8080', SELF], leader: LEADER, kind: 'loop', status: 502 },
    { name: 'no leader known', method: 'GET', path: '/v2/apps', kind: 'no-leader', status: 503 },
    { name: 'the lock names self (a killed predecessor): no leader yet', method: 'GET', path: '/v2/apps', leader: { hostPort: SELF, url: `http://${SELF}` }, kind: 'no-leader', status: 503 },
  ];
  for (const c of cases) {
    const action = standbyAction({ method: c.method, path: c.path, via: c.via ?? [] }, SELF, c.leader);
    assert.equal(action.kind, c.kind, c.name);
    if (action.kind === 'proxy') assert.deepEqual([action.leader, action.via], [c.leader, c.via2], c.name);
    if (action.kind === 'loop' || action.kind === 'no-leader') {
      assert.equal(action.status, c.status, c.name);
      assert.ok(action.message.length > 0, c.name);
    }
  }
});
