import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { startCorral } from '../support/corral-up.ts';
import { dig } from '../support/dig.ts';
import { LoopbackRegistry, writeBusyboxImage } from '../support/oci-image.ts';
import { waitFor } from '../support/wait.ts';

// Response bodies are read field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const sample = JSON.parse(readFileSync(new URL('../../config/examples/bridge-web.json', import.meta.url), 'utf8')) as Json;

/**
 * The sample BRIDGE app (config/examples/bridge-web.json) exactly as written, on `corral up`
 * whose agents take Docker Hub images from a loopback registry mirror: its containers are
 * reached through their host ports, found by DNS SRV at the agent and host port, and served by
 * the LB's vhost and service port. Connects only to loopback addresses.
 */
test('the sample BRIDGE app runs as written: host ports, DNS SRV and the LB lead to its containers', { timeout: 240_000 }, async (t) => {
  const registryDir = mkdtempSync(join(tmpdir(), 'corral-mirror-'));
  const registry = await LoopbackRegistry.start(registryDir);
  t.after(async () => {
    await registry.stop();
    rmSync(registryDir, { recursive: true, force: true });
  });
  // What `busybox:stable` means on Docker Hub: docker.io/library/busybox:stable, here from the mirror.
  writeBusyboxImage(join(registryDir, 'image'), 'stable', { entrypoint: [], cmd: ['sh'], env: ['PATH=/bin'] });
  await registry.push(join(registryDir, 'image', 'layout'), 'stable', 'library/busybox:stable');
  const corral = await startCorral(['--registry-mirror', `http://${registry.host}`]);
  t.after(async () => assert.equal(await corral.stop(), 0, 'corral up exits cleanly'));
  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> => {
    const response = await request(`${corral.urls.scheduler}${path}`, {
      method: method as 'GET',
      headers: { 'content-type': 'application/json', ...corral.auth },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.body.text();
    return { status: response.statusCode, json: text === '' ? undefined : JSON.parse(text) };
  };

  const created = await api('POST', '/v2/apps', sample);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const servicePort = created.json.container.portMappings[0].servicePort as number;
  assert.ok(servicePort >= 10000 && servicePort <= 20000, `service port assigned: ${servicePort}`);
  const tasks: Json[] = await waitFor('both instances running and healthy', async () => {
    const { json } = await api('GET', '/v2/apps/web/tasks');
    const ready = (json.tasks as Json[]).filter((task) => task.state === 'TASK_RUNNING' && task.healthCheckResults?.[0]?.alive === true);
    return ready.length === 2 ? ready : undefined;
  }, 120_000);

  for (const task of tasks) {
    const [hostPort] = task.ports as number[];
    const direct = await request(`http://${task.host}:${hostPort}/`);
    assert.equal(await direct.body.text(), `hello from ${task.id}\n`, 'the container answers on its agent\'s host port');
    assert.notEqual(task.ipAddresses[0].ipAddress, task.host, 'the task has its own address on the bridge');
  }

  const srv = await waitFor('SRV records for both instances', async () => {
    const answer = (await dig(corral.urls.dns, '_web._tcp.marathon.mesos', 'SRV')).answer;
    return answer.length === 2 ? answer : undefined;
  });
  const byPort = new Map(tasks.map((task) => [String(task.ports[0]), task]));
  for (const record of srv) {
    const [port, target] = [record[6], record[7]];
    const task = byPort.get(String(port));
    assert.ok(task !== undefined, `SRV port ${port} is a task's host port (${[...byPort.keys()].join(', ')})`);
    assert.match(String(target), /\.slave\.mesos\.$/, 'a host port is targeted at the agent');
    const address = (await dig(corral.urls.dns, String(target), 'A')).answer.map((r) => r[4]);
    assert.deepEqual(address, [task.host], `${target} is the agent of ${task.id}`);
  }
  const named = await dig(corral.urls.dns, '_http._web._tcp.marathon.mesos', 'SRV');
  assert.deepEqual(named.answer.map((r) => r[6]).sort(), [...byPort.keys()].sort(), 'the mapping\'s name is an SRV name too');

  const lb = async (path: string, host?: string): Promise<string> => {
    const response = await request(`${path}`, host === undefined ? {} : { headers: { host } });
    return response.statusCode === 200 ? response.body.text() : `${response.statusCode} ${await response.body.text()}`;
  };
  const seen = new Set<string>();
  await waitFor('the LB vhost balancing over both containers', async () => {
    seen.add(await lb(`${corral.urls.lbHttp}/`, sample.labels.HAPROXY_0_VHOST));
    return tasks.every((task) => seen.has(`hello from ${task.id}\n`)) ? true : undefined;
  });
  const lbHost = new URL(corral.urls.lbHttp).hostname;
  const viaServicePort = await waitFor('the LB on the service port', async () => {
    const body = await lb(`http://${lbHost}:${servicePort}/`).catch(() => undefined);
    return body?.startsWith('hello from ') === true ? body : undefined;
  });
  assert.ok(tasks.some((task) => viaServicePort === `hello from ${task.id}\n`), viaServicePort);

  assert.equal((await api('DELETE', '/v2/apps/web')).status, 200);
  await waitFor('no SRV record once the app is gone', async () => ((await dig(corral.urls.dns, '_web._tcp.marathon.mesos', 'SRV')).status === 'NXDOMAIN' ? true : undefined), 60_000);
});
