import assert from 'node:assert/strict';
import { test } from 'node:test';
import { indexInstances, place, type LaunchRequest } from '../../src/scheduler/core/placement.ts';
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
    { name: 'unreserved resources only unless roles say so: the role is the reason', requests: [request({ roles: ['prod'] })], agents: [agent('a')], placed: [], unplaced: 'no resources of role prod on 1 of 1 agents' },
    { name: 'an agent with some resources of the role but too few: insufficient', requests: [request({ roles: ['prod'], cpus: 2 })], agents: [agent('a', 'cpus(prod):1;mem(prod):512;ports(prod):[31000-31009]')], placed: [], unplaced: 'insufficient cpus on 1 of 1 agents' },
    { name: 'draining agents take nothing and are named', requests: [request({ count: 2 })], agents: [{ ...agent('a'), draining: true }, agent('b', 'cpus:1;mem:4096;ports:[31000-31009]')], placed: [['b', [31000]]], unplaced: 'agent draining on 1 of 2 agents, insufficient cpus on 1 of 2 agents' },
    { name: 'an image goes only to agents that run images', requests: [request({ count: 2, image: true })], agents: [agent('a'), { ...agent('b'), capabilities: ['images'] }], placed: [['b', [31000]], ['b', [31001]]] },
    { name: 'an image with no agent to run it waits, saying why', requests: [request({ image: true })], agents: [agent('a'), { ...agent('b'), capabilities: [] }], placed: [], unplaced: 'no image runtime (crun, skopeo, umoci) on 2 of 2 agents' },
    { name: 'a command goes to agents with or without an image runtime', requests: [request({ count: 2 })], agents: [agent('a'), { ...agent('b'), capabilities: ['images'] }], placed: [['a', [31000]], ['b', [31000]]] },
    { name: 'a privileged container goes only to agents that allow it', requests: [request({ image: true, privileged: true })], agents: [{ ...agent('a'), capabilities: ['images'] }, { ...agent('b'), capabilities: ['images', 'privileged-containers'] }], placed: [['b', [31000]]] },
    { name: 'a privileged container with no agent allowing it waits, saying why', requests: [request({ image: true, privileged: true })], agents: [{ ...agent('a'), capabilities: ['images'] }], placed: [], unplaced: 'privileged containers not allowed (--allow-privileged-containers) on 1 of 1 agents' },
    { name: 'zero ports asked, zero given', requests: [request({ portCount: 0 })], agents: [agent('a', 'cpus:1;mem:128')], placed: [['a', []]] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = place(c.requests, c.agents, indexInstances(c.instances ?? []));
      assert.deepEqual(result.placements.map((p) => [p.agentId, p.ports]), c.placed);
      assert.equal(result.unplaced[0]?.reason, c.unplaced);
    });
  }
});

test('placement never gives an agent more than it advertised', () => {
  const agents = [agent('a', 'cpus:2;mem:1000;ports:[31000-31099]'), agent('b', 'cpus:1;mem:300;ports:[31000-31099]')];
  const result = place([request({ count: 50, cpus: 0.5, mem: 100 })], agents, indexInstances([]));
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

test('a placement looks at a bounded number of agents, not all of them, and still spreads', () => {
  const agents = Array.from({ length: 5000 }, (_, n) => agent(`a${n}`));
  const looked = new Set<string>();
  let calls = 0;
  const index = {
    ofApp: () => [],
    onAgent: (agentId: string) => {
      calls += 1;
      looked.add(agentId);
      return [];
    },
  };
  const result = place([request({ count: 100 })], agents, index);
  assert.equal(result.placements.length, 100);
  assert.equal(new Set(result.placements.map((p) => p.agentId)).size, 100, 'one instance per agent while agents are plentiful');
  // Each agent's usage is worked out once, and only for the agents looked at: about 8 per instance, not 5,000.
  assert.equal(calls, looked.size);
  assert.ok(looked.size <= 100 * 8, `looked at ${looked.size} agents`);
});

test('when no agent can take an instance, every agent is asked and counted', () => {
  const agents = Array.from({ length: 200 }, (_, n) => agent(`a${n}`, 'cpus:0.5;mem:4096'));
  const result = place([request({ portCount: 0 })], agents, indexInstances([]));
  assert.deepEqual(result.unplaced[0]?.refusals, { 'insufficient cpus': 200 });
});

test('placement charges each role separately and takes reserved resources first', () => {
  const a = agent('a', 'cpus(prod):2;cpus:2;mem:4096;ports:[31000-31009]');
  const prod = place([request({ cpus: 2.5, roles: ['prod', '*'], portCount: 0 })], [a], indexInstances([]));
  assert.deepEqual(prod.placements[0]?.allocation.filter((x) => x.name === 'cpus'), [{ name: 'cpus', role: 'prod', amount: 2 }, { name: 'cpus', role: '*', amount: 0.5 }]);
  const web = app({ id: '/web', cpus: 2 });
  const holder = instance('p1', web, 'a', { allocation: [{ name: 'cpus', role: 'prod', amount: 2 }, { name: 'mem', role: '*', amount: 128 }] });
  const after = place([request({ cpus: 2, portCount: 0 })], [a], indexInstances([holder]));
  assert.equal(after.placements.length, 1, 'a prod instance does not use up unreserved cpus');
  const full = place([request({ cpus: 1, roles: ['prod'], portCount: 0 })], [a], indexInstances([holder]));
  assert.equal(full.unplaced[0]?.reason, 'insufficient cpus on 1 of 1 agents');
});

test('placement: constraints', async (t) => {
  const web = app({ id: '/web' });
  const on = (id: string, attributes: Record<string, string>, resources?: string): ReturnType<typeof agent> => ({ ...agent(id, resources), attributes });
  const [a1, a2, b1] = [on('a1', { rack: 'r1' }), on('a2', { rack: 'r1' }), on('b1', { rack: 'r2' })];
  const cases: Array<{ name: string; request: LaunchRequest; agents: ReturnType<typeof agent>[]; instances?: ReturnType<typeof instance>[]; placed: string[]; unplaced?: string; refusals?: Record<string, number> }> = [
    { name: 'UNIQUE hostname: one per agent, then why not', request: request({ count: 3, constraints: [['hostname', 'UNIQUE']] }), agents: [agent('a'), agent('b')], placed: ['a', 'b'], unplaced: 'UNIQUE hostname on 2 of 2 agents', refusals: { 'UNIQUE hostname': 2 } },
    {
      name: 'resource and constraint refusals are counted per agent',
      request: request({ count: 1, cpus: 2, constraints: [['hostname', 'UNIQUE']] }),
      agents: [agent('a', 'cpus:1;mem:4096;ports:[31000-31009]'), agent('b'), agent('c')],
      instances: [instance('t1', web, 'b'), instance('t2', web, 'c')],
      placed: [],
      unplaced: 'UNIQUE hostname on 2 of 3 agents, insufficient cpus on 1 of 3 agents',
      refusals: { 'insufficient cpus': 1, 'UNIQUE hostname': 2 },
    },
    { name: 'GROUP_BY rack: the least-used rack first', request: request({ count: 3, constraints: [['rack', 'GROUP_BY']] }), agents: [a1, a2, b1], placed: ['a1', 'b1', 'a2'] },
    { name: 'GROUP_BY rack counts running instances', request: request({ count: 2, constraints: [['rack', 'GROUP_BY']] }), agents: [a1, a2, b1], instances: [instance('t1', web, 'a1')], placed: ['b1', 'a2'] },
    { name: 'CLUSTER rack without a value: the first placement pins it', request: request({ count: 3, constraints: [['rack', 'CLUSTER']] }), agents: [a1, b1, a2], placed: ['a1', 'a2', 'a1'] },
    { name: 'CLUSTER rack without a value: a running instance pins it', request: request({ count: 2, constraints: [['rack', 'CLUSTER']] }), agents: [a1, a2, b1], instances: [instance('t1', web, 'b1')], placed: ['b1', 'b1'] },
    { name: 'CLUSTER rack r2', request: request({ count: 1, constraints: [['rack', 'CLUSTER', 'r2']] }), agents: [a1, a2, b1], placed: ['b1'] },
    { name: 'MAX_PER rack 1', request: request({ count: 3, constraints: [['rack', 'MAX_PER', '1']] }), agents: [a1, a2, b1], placed: ['a1', 'b1'], unplaced: 'MAX_PER rack:1 on 3 of 3 agents' },
    { name: 'LIKE and UNLIKE together', request: request({ count: 2, constraints: [['rack', 'LIKE', 'r[0-9]'], ['hostname', 'UNLIKE', 'a1']] }), agents: [a1, a2, b1, agent('bare')], placed: ['a2', 'b1'] },
    { name: 'IS rack r2 on a full agent', request: request({ count: 1, cpus: 8, constraints: [['rack', 'IS', 'r2']] }), agents: [a1, b1], placed: [], unplaced: 'IS rack:r2 on 1 of 2 agents, insufficient cpus on 1 of 2 agents' },
    { name: 'other apps\' instances do not count', request: request({ count: 1, constraints: [['hostname', 'UNIQUE']] }), agents: [agent('a')], instances: [instance('o1', app({ id: '/other' }), 'a')], placed: ['a'] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = place([c.request], c.agents, indexInstances(c.instances ?? []));
      assert.deepEqual(result.placements.map((p) => p.agentId), c.placed);
      assert.equal(result.unplaced[0]?.reason, c.unplaced);
      if (c.refusals !== undefined) {
        assert.deepEqual(result.unplaced[0]?.refusals, c.refusals);
        assert.equal(result.unplaced[0]?.agentCount, c.agents.length);
      }
    });
  }
});

test('placement: instances on agents not offered still count when all known agents are given', () => {
  const web = app({ id: '/web' });
  const on = (id: string, rack: string): ReturnType<typeof agent> => ({ ...agent(id), attributes: { rack } });
  const [gone, a1, b1] = [on('x', 'r1'), on('a1', 'r1'), on('b1', 'r2')];
  const running = [instance('t1', web, 'x')];
  const req = request({ count: 2, constraints: [['rack', 'MAX_PER', '1']] });
  assert.deepEqual(place([req], [a1, b1], indexInstances(running)).placements.map((p) => p.agentId), ['a1', 'b1'], 'unknown agent: its rack is unknown');
  const known = new Map([gone, a1, b1].map((a) => [a.id, a]));
  const result = place([req], [a1, b1], indexInstances(running), known);
  assert.deepEqual(result.placements.map((p) => p.agentId), ['b1']);
  assert.equal(result.unplaced[0]?.reason, 'MAX_PER rack:1 on 2 of 2 agents');
});
