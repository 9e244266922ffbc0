import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { canonicalLabel } from '../../src/dns/core/names.ts';
import type { ApiPostEvent, DiscoveryApp } from '../../src/events/types.ts';
import { DiscoveryStandIn, statusUpdate } from '../support/discovery-stand-in.ts';
import { dig, lines } from '../support/dns-fixtures.ts';
import { freePort, httpGet, startNamedBackend, type NamedBackend } from '../support/lb-fixtures.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The real `corral dns` and `corral lb` following a scheduler's discovery contract (a stand-in:
 * the scheduler that runs bridged tasks is another branch's work) for a bridged app and an app on
 * a named container network, posted as Marathon 1.5 shows them (ports in
 * `container.portMappings`, the whole container in the event): SRV records reach each backend
 * where it listens, and so does the LB through the mappings' service ports.
 */

const dir = tempDir('corral-discovery-networks-it-');
const parts: PartProcess[] = [];
const AGENT = '127.0.0.1';
let discovery: DiscoveryStandIn;
let bridged: NamedBackend;
let overlay: NamedBackend;
let dnsPort: number;
let dnsHttp: string;
let lb: PartProcess;
const servicePorts = { web: 0, svc: 0 };

/** Marathon's app JSON as the scheduler posts it: the container whole, discovery keeps the mappings. */
function posted(app: DiscoveryApp, container: Record<string, unknown>): ApiPostEvent {
  return { eventType: 'api_post_event', timestamp: new Date().toISOString(), clientIp: '127.0.0.1', uri: '/v2/apps', appDefinition: { ...app, cmd: 'serve', container } };
}

before(async () => {
  discovery = await DiscoveryStandIn.start();
  bridged = await startNamedBackend('bridged');
  overlay = await startNamedBackend('overlay');
  servicePorts.web = await freePort();
  servicePorts.svc = await freePort();
  const base = { version: '2026-01-01T00:00:00.000Z', labels: { HAPROXY_GROUP: 'external' }, portDefinitions: [], healthChecks: [] };
  discovery.publish(posted({ ...base, id: '/web', networks: [{ mode: 'container/bridge' }] }, {
    type: 'DOCKER', docker: { image: 'busybox:latest' }, volumes: [],
    // The container port is not reachable from here: only the host port the agent forwards is.
    portMappings: [{ containerPort: 80, hostPort: 0, servicePort: servicePorts.web, protocol: 'tcp', name: 'http' }],
  }));
  discovery.publish(posted({ ...base, id: '/svc', networks: [{ mode: 'container', name: 'dev' }] }, {
    type: 'MESOS', volumes: [],
    portMappings: [{ containerPort: overlay.port, servicePort: servicePorts.svc, protocol: 'tcp', name: 'api' }],
  }));
  // The bridged task's own IP is a made-up bridge address: only its host port on the agent serves.
  discovery.publish(statusUpdate({ id: 'web.1', appId: '/web', host: AGENT, ipAddresses: [{ ipAddress: '172.31.0.5', protocol: 'IPv4' }], ports: [bridged.port] }, 'TASK_RUNNING'));
  // The container-network task: agent 127.0.0.11 (nothing listens there), its own IP 127.0.0.1.
  discovery.publish(statusUpdate({ id: 'svc.1', appId: '/svc', host: '127.0.0.11', ipAddresses: [{ ipAddress: AGENT, protocol: 'IPv4' }], ports: [] }, 'TASK_RUNNING'));

  const dns = await startPart('dns', ['dns', '--master', discovery.url, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--resolvers', '', '--ip-sources', 'netinfo,host'], dir);
  parts.push(dns);
  dnsPort = Number(String(dns.ready.dns).split(':')[1]);
  dnsHttp = `http://${String(dns.ready.http)}`;
  lb = await startPart('lb', ['lb', '--master', discovery.url, '--http-port', '0', '--https-port', '0', '--app-id-port', '0', '--stats-port', '0', '--group', 'external'], dir);
  parts.push(lb);
});

after(async () => {
  await stopParts(parts, 5000);
  await bridged?.close();
  await overlay?.close();
  await discovery?.close();
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

/** Follows an SRV answer to its target's address and asks the backend there who it is. */
async function reachBySrv(name: string): Promise<string | undefined> {
  const [srv] = lines(await dig(dnsPort, ['+short', 'SRV', name]));
  if (srv === undefined) return undefined;
  const [, , port, target] = srv.split(' ');
  const [address] = lines(await dig(dnsPort, ['+short', target ?? '']));
  if (address !== AGENT) return `${target ?? ''} resolves to ${address ?? 'nothing'}`;
  return (JSON.parse((await httpGet(Number(port), '/')).body) as { name: string }).name;
}

test('dns: SRV records lead to the bridged task\'s host port and to the container-network task\'s IP and container port', async () => {
  await waitFor('both apps served', async () => (lines(await dig(dnsPort, ['+short', 'svc.marathon.mesos'])).length > 0 ? true : undefined));
  assert.deepEqual(lines(await dig(dnsPort, ['+short', 'web.marathon.mesos'])), ['172.31.0.5'], 'netinfo first: the task\'s own IP');
  assert.deepEqual(lines(await dig(dnsPort, ['+short', 'svc.marathon.mesos'])), [AGENT]);
  const web = `${canonicalLabel('web', 'web.1', 'fake-agent-S0')}.marathon.slave.mesos.`;
  assert.deepEqual(lines(await dig(dnsPort, ['+short', 'SRV', '_http._web._tcp.marathon.mesos'])), [`0 1 ${bridged.port} ${web}`]);
  assert.equal(await reachBySrv('_web._tcp.marathon.mesos'), 'bridged');
  assert.equal(await reachBySrv('_api._svc._tcp.marathon.mesos'), 'overlay');
  const config = (await (await request(`${dnsHttp}/v1/config`)).body.json()) as { IPSources: string[] };
  assert.deepEqual(config.IPSources, ['netinfo', 'host']);
});

test('lb: the mappings\' service ports route to the bridged host port and to the task IP + container port', async () => {
  const who = async (port: number): Promise<string | undefined> => {
    const answer = await httpGet(port, '/').catch(() => undefined);
    return answer?.status === 200 ? (JSON.parse(answer.body) as { name: string }).name : undefined;
  };
  assert.equal(await waitFor('the bridged app routed', () => who(servicePorts.web)), 'bridged');
  assert.equal(await waitFor('the container-network app routed', () => who(servicePorts.svc)), 'overlay');
});
