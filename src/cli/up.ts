import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { ensureJoinToken } from '../auth/secret-files.ts';
import { ADMIN_TOKEN_FILE } from '../scheduler/auth/bootstrap.ts';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { AGENT_API } from '../shared/agent-protocol.ts';
import { defaultCertificateIfPossible } from '../lb/default-certificate.ts';
import { createLogger } from '../shared/log.ts';
import type { Service } from '../shared/service.ts';
import { formatHostPort, parseHostPort } from '../shared/address.ts';
import { absolutePath, flag, hostPort, integer, logLevel, optional, parseConfig, port, text } from '../shared/config.ts';
import { commandDefaults, type Settings } from '../shared/settings.ts';
import { clientDispatcher } from '../shared/tls.ts';
import { spawnPart, stopParts, type RunningProcess, type SpawnPartOptions } from './child-process.ts';
import { ensureFollowersToken, FOLLOWERS_ID, readAdminToken } from './up-auth.ts';
import { nameserversOf } from '../dns/core/resolv-conf.ts';
import { ensureUpTls } from './up-tls.ts';
import { freeLoopbackPort, HA_SCHEDULERS, haSchedulerDir, keepSchedulersUp, startLocalEtcd, waitForLeader, type SchedulerSlot } from './up-ha.ts';

/** The read-only token of `corral up`'s DNS and LB, in its data dir. */
const FOLLOWERS_TOKEN_FILE = 'followers.token';

export interface UpConfig {
  agents: number;
  dataDir: string;
  schedulerListen: string;
  dnsListen: string;
  dnsHttp: string;
  /**
   * `corral dns --resolvers` (comma-separated, empty = forwarding off). Not given: the
   * nameservers of /etc/resolv.conf, forwarding off when it names none.
   */
  dnsResolvers: string;
  lbHttpPort: string;
  lbHttpsPort: string;
  lbAppIdPort: string;
  lbStatsPort: string;
  /** `corral lb --workers` of the external LB; checked by the LB itself. */
  lbWorkers: string;
  /** Also start an east-west LB (`--group internal --no-http-https`). */
  internalLb: boolean;
  /** `corral lb --ssl-certs` of the external LB; none = a self-signed one kept in the data dir. */
  lbSslCerts?: string;
  agentPortsBase: number;
  /** Agent n's own HTTP port is base + n - 1; 0 lets the OS pick each one. */
  agentHttpPortBase: number;
  /** `corral agent --cgroups-enable-cfs` for every agent. */
  cgroupsEnableCfs: boolean;
  /** `corral scheduler --auth` (default); off with `--no-auth`, for local experiments only. */
  auth: boolean;
  /** `corral agent --default-user` and `--allow-root-tasks` for every agent. */
  defaultUser: string;
  allowRootTasks: boolean;
  /** `corral agent --registry-mirror` for every agent (empty: none). */
  registryMirror: string;
  /** Three schedulers on a local etcd (ports schedulerListen + 0, 1, 2), restarted when they die. */
  ha: boolean;
  /** With `ha`: etcd's loopback client and peer ports (0 = free ones picked at start). */
  etcdClientPort: number;
  etcdPeerPort: number;
  /** Every part's HTTP over TLS: a CA and certificate made once in the data dir, clients given `--ca`. */
  tls: boolean;
  logLevel: string;
}

const MAX_AGENTS = 200;
/** Not in config/defaults.json: they follow --lb-http-port (0 when it is 0). */
const LB_HTTPS_PORT = 9443;
const LB_APP_ID_PORT = 9091;
/** The external LB's default certificate and key (one PEM, 0600) when --lb-ssl-certs names none. */
const LB_DEFAULT_CERT_FILE = 'lb-default-cert.pem';
/** Not etcd's own 2379/2380: Debian's etcd-server package starts a system etcd there. */
const ETCD_CLIENT_PORT = 12379;
const ETCD_PEER_PORT = 12380;

/** Reads the layered settings (missing ones from config/defaults.json); throws a ConfigError listing every bad value. */
export function parseUpConfig(settings: Settings): Readonly<UpConfig> {
  const config = parseConfig(settings, {
    agents: integer(1, MAX_AGENTS),
    dataDir: absolutePath,
    schedulerListen: hostPort,
    dnsListen: hostPort,
    dnsHttp: hostPort,
    dnsResolvers: optional(text),
    lbHttpPort: port,
    lbHttpsPort: optional(port),
    lbAppIdPort: optional(port),
    lbStatsPort: port,
    lbWorkers: text,
    internalLb: optional(flag),
    lbSslCerts: optional(text),
    agentPortsBase: integer(1024),
    agentHttpPortBase: integer(0),
    cgroupsEnableCfs: flag,
    auth: flag,
    defaultUser: text,
    allowRootTasks: flag,
    registryMirror: text,
    ha: optional(flag),
    etcdClientPort: optional(port),
    etcdPeerPort: optional(port),
    tls: optional(flag),
    logLevel,
  }, {
    defaults: commandDefaults('up'),
    check: ({ agents, agentPortsBase, agentHttpPortBase }) => [
      ...(agentPortsBase + agents * 1000 > 65536 ? [['agentPortsBase', `must leave room for ${agents} ranges of 1000 ports, got ${agentPortsBase}`] as const] : []),
      ...(agentHttpPortBase > 0 && agentHttpPortBase + agents - 1 > 65535 ? [['agentHttpPortBase', `must be 0 or a port leaving room for ${agents} agents, got ${agentHttpPortBase}`] as const] : []),
    ],
  });
  // With the vhost port left to the OS (tests), HTTPS and app-id are too, so runs never collide.
  const ephemeral = config.lbHttpPort === 0;
  return Object.freeze({
    ...config,
    schedulerListen: formatHostPort(config.schedulerListen),
    dnsListen: formatHostPort(config.dnsListen),
    dnsHttp: formatHostPort(config.dnsHttp),
    dnsResolvers: config.dnsResolvers ?? systemResolvers(),
    lbHttpPort: String(config.lbHttpPort),
    lbHttpsPort: String(config.lbHttpsPort ?? (ephemeral ? 0 : LB_HTTPS_PORT)),
    lbAppIdPort: String(config.lbAppIdPort ?? (ephemeral ? 0 : LB_APP_ID_PORT)),
    lbStatsPort: String(config.lbStatsPort),
    internalLb: config.internalLb === true,
    ha: config.ha === true,
    tls: config.tls === true,
    etcdClientPort: config.etcdClientPort ?? ETCD_CLIENT_PORT,
    etcdPeerPort: config.etcdPeerPort ?? ETCD_PEER_PORT,
  });
}

/**
 * The machine's own resolvers: `corral dns`' default (127.0.0.53, systemd-resolved's stub) does
 * not answer where nothing listens there, and every outside name would wait for SERVFAIL.
 */
function systemResolvers(): string {
  try {
    return nameserversOf(readFileSync('/etc/resolv.conf', 'utf8')).join(',');
  } catch {
    return '';
  }
}

/** "Up" means tasks can be placed: wait until every agent holds its command stream. */
async function agentsConnected(master: string, count: number, adminToken: string | undefined, dispatcher: Dispatcher | undefined, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const headers = adminToken === undefined ? {} : { authorization: `Bearer ${adminToken}` };
  for (;;) {
    const response = await request(new URL(AGENT_API, master), { headers, ...(dispatcher === undefined ? {} : { dispatcher }) }).catch(() => undefined);
    const body = (await response?.body.json().catch(() => undefined)) as { agents?: Array<{ connected: boolean }> } | undefined;
    if ((body?.agents ?? []).filter((a) => a.connected).length >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${body?.agents?.length ?? 0} of ${count} agents registered within ${timeoutMs} ms; see the agent logs`);
    await sleep(20);
  }
}

/** Agent n (1-based) advertises 127.0.0.1n for n < 10 (127.0.0.11, 127.0.0.12, …), then 127.0.0.(10+n). */
export function agentIp(n: number): string {
  return n < 10 ? `127.0.0.1${n}` : `127.0.0.${10 + n}`;
}

/**
 * The whole stack on loopback: the scheduler first (the others need its URL), then agents,
 * DNS and LB as separate processes. Logs go to <data-dir>/logs; stopping stops everything,
 * agents killing their tasks on the way out. With --ha: etcd, then three schedulers on it (one
 * leads), the others following all three; a scheduler that dies is restarted, not fatal.
 */
export async function startUp(settings: Settings): Promise<Service> {
  const config = parseUpConfig(settings);
  const logger = createLogger('up', config.logLevel);
  const logs = join(config.dataDir, 'logs');
  mkdirSync(logs, { recursive: true });
  // The agents' work dirs are in here: task users pass through it (it is ours), without listing it.
  chmodSync(config.dataDir, statSync(config.dataDir).mode | 0o111);
  // Only root can run tasks as other users: a stack started by someone else runs them as that someone.
  const taskUsers = ['--default-user', config.defaultUser, ...(config.allowRootTasks ? ['--allow-root-tasks'] : []), ...(process.getuid?.() === 0 ? [] : ['--no-switch-user'])];
  const images = config.registryMirror === '' ? [] : ['--registry-mirror', config.registryMirror];
  // Every child from the moment it exists: a start-up that fails half-way stops them all.
  const parts: RunningProcess[] = [];
  const start = (options: Omit<SpawnPartOptions, 'onSpawn'>) => spawnPart({ ...options, onSpawn: (part) => parts.push(part) });
  const level = ['--log-level', config.logLevel];
  // Agent admission on: only agents given this file's token (0600, kept across runs) join the stack's scheduler.
  const joinTokenFile = join(config.dataDir, 'join.token');
  ensureJoinToken(joinTokenFile);
  const admission = ['--join-token-file', joinTokenFile];
  // Prometheus scrapes the agents' /metrics with this one long-lived token (its credentials_file), made once.
  const metricsTokenFile = join(config.dataDir, 'metrics.token');
  ensureJoinToken(metricsTokenFile);
  // COMPAT(marathon-lb): HTTPS answers out of the box; made once per data dir, then reused.
  const lbSslCerts = config.lbSslCerts ?? defaultCertificateIfPossible(() => join(config.dataDir, LB_DEFAULT_CERT_FILE), (message) => logger.warn(message));
  // Auth on: the scheduler writes the admin token next to the stack's data (the CLI reads it from
  // there); DNS and LB follow with a read-only token of their own, kept across runs.
  const adminTokenFile = join(config.dataDir, ADMIN_TOKEN_FILE);
  const followersTokenFile = join(config.dataDir, FOLLOWERS_TOKEN_FILE);
  const auth = config.auth ? ['--auth', '--admin-token-file', adminTokenFile] : [];
  const followers = config.auth ? ['--token-file', followersTokenFile] : [];
  // With --tls: every server part serves the one loopback certificate, every client trusts the CA
  // (`up` itself too); the CLI reads <data dir>/ca.pem as it reads the admin token.
  const tls = config.tls ? ensureUpTls(config.dataDir) : undefined;
  if (tls?.created === true) logger.info({ ca: tls.ca }, 'TLS certificate authority made for this data dir');
  const serves = tls === undefined ? [] : ['--tls-cert', tls.cert, '--tls-key', tls.key];
  const trusts = tls === undefined ? [] : ['--ca', tls.ca];
  const dispatcher = tls === undefined ? undefined : clientDispatcher(tls.ca);
  const scheme = tls === undefined ? 'http' : 'https';
  // With --ha: the schedulers, each restarted when it dies (see below), and etcd's URL.
  const slots: SchedulerSlot[] = [];
  let etcdUrl: string | undefined;
  try {
    // The schedulers read the DNS and LB HTTP APIs for the web UI's "How to reach it": their ports are fixed before they start.
    const dnsHttp = parseHostPort(config.dnsHttp);
    const dnsHttpPort = dnsHttp.port === 0 ? await freeLoopbackPort() : dnsHttp.port;
    const dnsHttpListen = formatHostPort({ host: dnsHttp.host, port: dnsHttpPort });
    const lbStatsPort = config.lbStatsPort === '0' ? String(await freeLoopbackPort()) : config.lbStatsPort;
    const wildcardHost = dnsHttp.host === '0.0.0.0' || dnsHttp.host === '::';
    const reach = ['--dns-api', `${scheme}://${formatHostPort({ host: wildcardHost ? '127.0.0.1' : dnsHttp.host, port: dnsHttpPort })}`, '--lb-api', `${scheme}://127.0.0.1:${lbStatsPort}`];
    // Where `up` itself calls (the leader) and what the agents, DNS and LB follow.
    let master: string;
    let masters: string;
    let schedulerUrls: string[];
    if (config.ha) {
      const etcdDir = join(config.dataDir, 'etcd');
      // The admin token belongs to one state: a plain `up`'s would make the first leader's bootstrap fail.
      if (config.auth && existsSync(adminTokenFile) && !existsSync(etcdDir)) {
        throw new Error(`${adminTokenFile} belongs to the state of a plain corral up (there is no ${etcdDir} yet): give --ha a --data-dir of its own, or move the token away`);
      }
      const etcd = await startLocalEtcd({
        dataDir: etcdDir,
        clientPort: config.etcdClientPort === 0 ? await freeLoopbackPort() : config.etcdClientPort,
        peerPort: config.etcdPeerPort === 0 ? await freeLoopbackPort() : config.etcdPeerPort,
        logFile: join(logs, 'etcd.log'),
        onSpawn: (part) => parts.push(part),
      });
      etcdUrl = etcd.url;
      const listen = parseHostPort(config.schedulerListen);
      // Every scheduler writes the admin token to the same file: whichever leads first bootstraps it.
      const scheduler = (n: number, port: number, onSpawn: (part: RunningProcess) => void) => spawnPart({
        name: `scheduler-${n}`,
        logFile: join(logs, `scheduler-${n}.log`),
        args: ['scheduler', '--listen', formatHostPort({ host: listen.host, port }), '--data-dir', haSchedulerDir(config.dataDir, n),
          '--store', 'etcd', '--etcd', etcd.url, ...admission, ...auth, ...serves, ...reach, ...level],
        // A standby proxies to the leader's https:// URL: the scheduler has no --ca, Node's extra CAs do it.
        ...(tls === undefined ? {} : { env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.ca } }),
        onSpawn,
      });
      // Real ports even when told 0: the leader's lock names its address, and standbys proxy there.
      const ports: number[] = [];
      for (let n = 1; n <= HA_SCHEDULERS; n += 1) ports.push(listen.port === 0 ? await freeLoopbackPort() : listen.port + n - 1);
      const portOf = (n: number): number => ports[n - 1] ?? 0;
      // The first alone: on an empty prefix it leads, and the others stand by behind it.
      const first = await scheduler(1, portOf(1), (part) => parts.push(part));
      const others = await Promise.all(Array.from({ length: HA_SCHEDULERS - 1 }, (_, i) => scheduler(i + 2, portOf(i + 2), (part) => parts.push(part))));
      const urls = [first, ...others].map((part) => String(part.ready.api));
      schedulerUrls = urls;
      masters = urls.join(',');
      for (const [i, part] of [first, ...others].entries()) {
        // A restarted scheduler comes back on the port it had: the others and the followers look there.
        const respawn = (onSpawn: (fresh: RunningProcess) => void) => scheduler(i + 1, Number(new URL(urls[i] ?? '').port), (fresh) => {
          parts.push(fresh);
          onSpawn(fresh);
        });
        slots.push({ name: part.name, part, startedAt: Date.now(), respawn });
      }
      const bearer = (): Record<string, string> => (config.auth && existsSync(adminTokenFile) ? { authorization: `Bearer ${readAdminToken(adminTokenFile)}` } : {});
      master = await waitForLeader(urls, bearer, dispatcher);
    } else {
      const scheduler = await start({
        name: 'scheduler',
        logFile: join(logs, 'scheduler.log'),
        args: ['scheduler', '--listen', config.schedulerListen, '--data-dir', join(config.dataDir, 'scheduler'), ...admission, ...auth, ...serves, ...reach, ...level],
        // It reads the https:// DNS and LB APIs: the scheduler has no --ca, Node's extra CAs do it.
        ...(tls === undefined ? {} : { env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.ca } }),
      });
      master = String(scheduler.ready.api);
      masters = master;
      schedulerUrls = [master];
    }
    const adminToken = config.auth ? readAdminToken(adminTokenFile) : undefined;
    if (adminToken !== undefined && (await ensureFollowersToken(master, adminToken, followersTokenFile, dispatcher))) {
      logger.info({ identity: FOLLOWERS_ID, tokenFile: followersTokenFile }, 'read-only token issued for dns and lb');
    }
    const others = await Promise.all([
      ...Array.from({ length: config.agents }, (_, i) => {
        const n = i + 1;
        const begin = config.agentPortsBase + i * 1000;
        return start({
          name: `agent-${n}`,
          logFile: join(logs, `agent-${n}.log`),
          args: ['agent', '--master', masters, '--ip', agentIp(n), '--work-dir', join(config.dataDir, `agent-${n}`),
            '--listen', `127.0.0.1:${config.agentHttpPortBase === 0 ? 0 : config.agentHttpPortBase + i}`,
            '--resources', `cpus:4;mem:4096;disk:10000;ports:[${begin}-${begin + 999}]`, '--attributes', `agent:${n}`,
            ...(config.cgroupsEnableCfs ? ['--cgroups-enable-cfs'] : []), ...taskUsers, ...images, ...admission, '--metrics-token-file', metricsTokenFile, ...serves, ...trusts, ...level],
        });
      }),
      start({
        name: 'dns',
        logFile: join(logs, 'dns.log'),
        args: ['dns', '--master', masters, '--listen', config.dnsListen, '--http', dnsHttpListen, '--resolvers', config.dnsResolvers, ...followers, ...serves, ...trusts, ...level],
      }),
      start({
        name: 'lb',
        logFile: join(logs, 'lb.log'),
        args: ['lb', '--master', masters, '--http-port', config.lbHttpPort, '--https-port', config.lbHttpsPort, '--app-id-port', config.lbAppIdPort,
          '--stats-port', lbStatsPort, '--workers', config.lbWorkers, '--group', 'external', ...(lbSslCerts === undefined ? [] : ['--ssl-certs', lbSslCerts]), ...followers, ...serves, ...trusts, ...level],
      }),
      ...(config.internalLb
        ? [start({ name: 'lb-internal', logFile: join(logs, 'lb-internal.log'), args: ['lb', '--master', masters, '--group', 'internal', '--no-http-https', '--stats-port', '0', ...followers, ...serves, ...trusts, ...level] })]
        : []),
    ]);
    await agentsConnected(master, config.agents, adminToken, dispatcher);
    const dns = others[config.agents]?.ready ?? {};
    const lb = others[config.agents + 1]?.ready ?? {};
    const internal = config.internalLb ? others[config.agents + 2]?.ready : undefined;
    // With --ha, `scheduler` is the first (any of them answers: standbys proxy to the leader).
    const leads = `scheduler-${schedulerUrls.indexOf(master) + 1}`;
    const urls = {
      scheduler: schedulerUrls[0] ?? master,
      ui: `${schedulerUrls[0] ?? master}/ui/`,
      ...(config.ha ? { schedulers: schedulerUrls, master: masters, leader: master, etcd: etcdUrl } : {}),
      dns: String(dns.dns),
      dnsHttp: `${scheme}://${String(dns.http)}`,
      lbHttp: `http://${String(lb.http)}`,
      lbHttps: `https://${String(lb.https)}`,
      lbStats: `${scheme}://${String(lb.stats)}`,
      lbDefaultCertificate: String(lb.defaultCertificate),
      ...(internal ? { lbInternalStats: `${scheme}://${String(internal.stats)}` } : {}),
      agents: others.slice(0, config.agents).map((a) => String(a.ready.endpoint)),
      logs,
      ...(config.auth ? { adminTokenFile } : {}),
      ...(tls === undefined ? {} : { ca: tls.ca }),
    };
    logger.info(urls, 'ready');
    if (config.ha) logger.info({ leader: master, scheduler: leads }, `${leads} leads`);
    const [dnsHost, dnsPort] = urls.dns.split(':');
    process.stderr.write(
      [
        '',
        'Corral is up.',
        `  scheduler API   ${urls.scheduler}          (Marathon v2: /v2/apps, /v2/tasks, /v2/events)`,
        `  web UI          ${urls.ui}${config.auth ? '   (sign in with the admin token below)' : ''}`,
        ...(config.ha
          ? [
            ...schedulerUrls.map((url, i) => `  scheduler-${i + 1}     ${url}${url === master ? '   leads' : '   standby (proxies to the leader)'}`),
            `  etcd            ${String(etcdUrl)}   (data in ${join(config.dataDir, 'etcd')})`,
            `  CLI             export CORRAL_MASTER=${masters}   (follows the leader; a dead scheduler is restarted)`,
          ]
          : []),
        ...(config.auth
          ? [`  admin token     ${adminTokenFile}   (the CLI reads ./data/admin.token; curl -H "Authorization: Bearer $(cat ${adminTokenFile})" ${urls.scheduler}/v2/apps)`]
          : ['  auth            OFF (--no-auth): anyone who reaches the scheduler port may run commands on every agent']),
        ...(tls === undefined
          ? []
          : [`  TLS CA          ${tls.ca}   (the CLI reads ./data/ca.pem, else give --ca ${tls.ca} or CORRAL_CA; curl --cacert ${tls.ca})`]),
        `  DNS             ${urls.dns} (udp+tcp)  dig @${dnsHost} -p ${dnsPort} hello.marathon.mesos`,
        `  DNS HTTP API    ${urls.dnsHttp}`,
        `  DNS forwarding  ${config.dnsResolvers === '' ? 'off: other names are REFUSED (--dns-resolvers)' : `to ${config.dnsResolvers} (--dns-resolvers; '' turns it off)`}`,
        `  LB (vhosts)     ${urls.lbHttp}          curl -H 'Host: hello.corral.localhost' ${urls.lbHttp}/`,
        `  LB (https)      ${urls.lbHttps}         certificate chosen by SNI (HAPROXY_{n}_SSL_CERT), else ${urls.lbDefaultCertificate}${config.lbSslCerts === undefined ? ' (--lb-ssl-certs to give yours)' : ''}`,
        `  LB stats        ${urls.lbStats}/_corral/stats`,
        ...(urls.lbInternalStats ? [`  internal LB     ${urls.lbInternalStats}/_corral/stats   (service ports of HAPROXY_GROUP=internal apps)`] : []),
        ...urls.agents.map((endpoint, i) => `  agent ${i + 1}         ${agentIp(i + 1)} (${endpoint})`),
        `  agent metrics   Bearer token in ${metricsTokenFile} (Prometheus: authorization.credentials_file)`,
        `  logs            ${logs}`,
        'Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    await stopParts(parts, 5000);
    await dispatcher?.close();
    throw err;
  }
  let closing = false;
  // A part that ends while the stack runs leaves it half working (no API, no DNS, an agent's
  // tasks unwatched): say which one and how, and stop everything as Ctrl-C would.
  // With --ha a dead scheduler is restarted instead: the others carry on.
  const watching = keepSchedulersUp(slots, {
    logger,
    replaced: (dead) => parts.splice(parts.findIndex((p) => p.child === dead.child), 1),
  });
  const failed = new Promise<string>((resolve) => {
    for (const part of parts.filter((p) => !slots.some((slot) => slot.part.child === p.child))) {
      void part.exited.then(() => {
        if (closing) return;
        const { pid, exitCode, signalCode } = part.child;
        const how = signalCode !== null ? `signal ${signalCode}` : `exit code ${String(exitCode)}`;
        logger.error({ part: part.name, pid, exitCode, signal: signalCode }, `${part.name} (pid ${String(pid)}) ended on its own (${how}): stopping the stack`);
        resolve(`${part.name} (pid ${String(pid)}) ended on its own (${how})`);
      });
    }
  });
  return {
    failed,
    async close() {
      closing = true;
      watching.stop();
      // Agents first and alone: they kill their tasks and report it while the scheduler still listens;
      // etcd last, so that the schedulers can resign.
      const agents = parts.filter((p) => p.name.startsWith('agent-'));
      const etcd = parts.filter((p) => p.name === 'etcd');
      await stopParts(agents, 10000);
      await stopParts(parts.filter((p) => !agents.includes(p) && !etcd.includes(p)), 5000);
      await stopParts(etcd, 5000);
      await dispatcher?.close();
      logger.info('stopped');
    },
  };
}
