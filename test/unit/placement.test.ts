import assert from 'node:assert/strict';
import { test } from 'node:test';
import { place, type LaunchRequest } from '../../src/scheduler/core/placement.ts';
import { agent, app, instance } from '../support/scheduler-fixtures.ts';

const request = (fields: Partial<LaunchRequest> = {}): LaunchRequest => ({
  appId: '/web', count: 1, cpus: 1, mem: 128, disk: 0, portCount: 1, roles: ['*'], ...fields,
});

test('placement: table', async (t) => {
  const web = app({ id: '/web', cpus: 1, mem: 128 });
  const cases: Array<{ name: string; requests: LaunchRequest[]; agents: ReturnType<typeof agent>[]; instances?: ReturnType<typeof instance>[]; placed: Array<[string, number[]]>; unplaced?: string }> = [
    { name: 'spreads one app across agents', requests: [request({ count: 2 })], agents: [agent('a'), agent('b')], placed: [['a', [31000]], ['b', [31000]]] },
    { name: 'takes the lowest free host ports', requests: [request({ count: 1, portCount: 2 })], agents: [agent('a')], instances: [instance('t1', web, 'a', { ports: [31000, 31002] })], placed: [['a', [31001, 31003]]] },
    { name: 'no cpus left: unplaced with the reason', requests: [request({ cpus: 3 })], agents: [agent('a', 'cpus:4;mem:4096;ports:[31000-31009]')], instances: [instance('t1', { ...web, cpus: 2 }, 'a')], placed: [], unplaced: 'insufficient cpus on 1 of 1 agents' },
    { name: 'fractional cpus add up exactly', requests: [request({ cpus: 0.2, count: 1 })], agents: [agent('a', 'cpus:0.3;mem:4096;ports:[31000-31009]')], instances: [instance('t1', { ...web, cpus: 0.1 }, 'a')], placed: [['a', [31000]]] },
    { name: 'ports exhausted', requests: [request({ count: 3 })], agents: [agent('a', 'cpus:8;mem:4096;ports:[31000-31001]')], placed: [['a', [31000]], ['a', [31001]]], unplaced: 'insufficient ports on 1 of 1 agents' },
    { name: 'requirePorts needs exactly those ports', requests: [request({ fixedPorts: [31005] })], agents: [agent('a'), agent('b')], instances: [instance('t1', web, 'a', { ports: [31005] })], placed: [['b', [31005]]] },
    { name: 'no agents', requests: [request()], agents: [], placed: [], unplaced: 'no agents are connected' },
    { name: 'unreserved resources only unless roles say so', requests: [request({ roles: ['prod'] })], agents: [agent('a')], placed: [], unplaced: 'insufficient cpus on 1 of 1 agents' },
    { name: 'zero ports asked, zero given', requests: [request({ portCount: 0 })], agents: [agent('a', 'cpus:1;mem:128')], placed: [['a', []]] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = place(c.requests, c.agents, c.instances ?? []);
      assert.deepEqual(result.placements.map((p) => [p.agentId, p.ports]), c.placed);
      assert.equal(result.unplaced[0]?.reason, c.unplaced);
    });
  }
});

test('placement never gives an agent more than it advertised', () => {
  const agents = [agent('a', 'cpus:2;mem:1000;ports:[31000-31099]'), agent('b', 'cpus:1;mem:300;ports:[31000-31099]')];
  const result = place([request({ count: 50, cpus: 0.5, mem: 100 })], agents, []);
  for (const a of agents) {
    const mine = result.placements.filter((p) => p.agentId === a.id);
    const cpus = a.resources.find((r) => r.name === 'cpus')?.scalar ?? 0;
    const mem = a.resources.find((r) => r.name === 'mem')?.scalar ?? 0;
    assert.ok(mine.length * 0.5 <= cpus && mine.length * 100 <= mem, `${a.id} over-committed`);
    const ports = mine.flatMap((p) => p.ports);
    assert.equal(new Set(ports).size, ports.length, `${a.id} got a host port twice`);
  }
  assert.equal(result.placements.length, 6);
  assert.equal(result.unplaced[0]?.count, 44);
});

test('placement charges each role separately and takes reserved resources first', () => {
  const a = agent('a', 'cpus(prod):2;cpus:2;mem:4096;ports:[31000-31009]');
  const prod = place([request({ cpus: 2.5, roles: ['prod', '*'], portCount: 0 })], [a], []);
  assert.deepEqual(prod.placements[0]?.allocation.filter((x) => x.name === 'cpus'), [{ name: 'cpus', role: 'prod', amount: 2 }, { name: 'cpus', role: '*', amount: 0.5 }]);
  const web = app({ id: '/web', cpus: 2 });
  const holder = instance('p1', web, 'a', { allocation: [{ name: 'cpus', role: 'prod', amount: 2 }, { name: 'mem', role: '*', amount: 128 }] });
  const after = place([request({ cpus: 2, portCount: 0 })], [a], [holder]);
  assert.equal(after.placements.length, 1, 'a prod instance does not use up unreserved cpus');
  const full = place([request({ cpus: 1, roles: ['prod'], portCount: 0 })], [a], [holder]);
  assert.equal(full.unplaced[0]?.reason, 'insufficient cpus on 1 of 1 agents');
});
