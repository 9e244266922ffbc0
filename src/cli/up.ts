import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { ensureJoinToken } from '../auth/secret-files.ts';
import { ADMIN_TOKEN_FILE } from '../scheduler/auth/bootstrap.ts';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { AGENT_API } from '../shared/agent-protocol.ts';
import { createLogger } from '../shared/log.ts';
import type { Service } from '../shared/service.ts';
import { formatHostPort } from '../shared/address.ts';
import { absolutePath, flag, hostPort, integer, logLevel, optional, parseConfig, port, text } from '../shared/config.ts';
import { commandDefaults, type Settings } from '../shared/settings.ts';
import { spawnPart, stopParts, type RunningProcess, type SpawnPartOptions } from './child-process.ts';
import { ensureFollowersToken, FOLLOWERS_ID, readAdminToken } from './up-auth.ts';

/** The read-only token of `corral up`'s DNS and LB, in its data dir. */
const FOLLOWERS_TOKEN_FILE = 'followers.token';

export interface UpConfig {
  agents: number;
  dataDir: string;
  schedulerListen: string;
  dnsListen: string;
  dnsHttp: string;
  lbHttpPort: string;
  lbHttpsPort: string;
  lbAppIdPort: string;
  lbStatsPort: string;
  /** `corral lb --workers` of the external LB; checked by the LB itself. */
  lbWorkers: string;
  /** Also start an east-west LB (`--group internal --no-http-https`). */
  internalLb: boolean;
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
  logLevel: string;
}

const MAX_AGENTS = 200;
/** Not in config/defaults.json: they follow --lb-http-port (0 when it is 0). */
const LB_HTTPS_PORT = 9443;
const LB_APP_ID_PORT = 9091;

/** Reads the layered settings (missing ones from config/defaults.json); throws a ConfigError listing every bad value. */
export function parseUpConfig(settings: Settings): Readonly<UpConfig> {
  const config = parseConfig(settings, {
    agents: integer(1, MAX_AGENTS),
    dataDir: absolutePath,
    schedulerListen: hostPort,
    dnsListen: hostPort,
    dnsHttp: hostPort,
    lbHttpPort: port,
    lbHttpsPort: optional(port),
    lbAppIdPort: optional(port),
    lbStatsPort: port,
    lbWorkers: text,
    internalLb: optional(flag),
    agentPortsBase: integer(1024),
    agentHttpPortBase: integer(0),
    cgroupsEnableCfs: flag,
    auth: flag,
    defaultUser: text,
    allowRootTasks: flag,
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
    lbHttpPort: String(config.lbHttpPort),
    lbHttpsPort: String(config.lbHttpsPort ?? (ephemeral ? 0 : LB_HTTPS_PORT)),
    lbAppIdPort: String(config.lbAppIdPort ?? (ephemeral ? 0 : LB_APP_ID_PORT)),
    lbStatsPort: String(config.lbStatsPort),
    internalLb: config.internalLb === true,
  });
}

/** "Up" means tasks can be placed: wait until every agent holds its command stream. */
async function agentsConnected(master: string, count: number, adminToken: string | undefined, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const headers = adminToken === undefined ? {} : { authorization: `Bearer ${adminToken}` };
  for (;;) {
    const response = await request(new URL(AGENT_API, master), { headers }).catch(() => undefined);
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
 * agents killing their tasks on the way out.
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
  // Every child from the moment it exists: a start-up that fails half-way stops them all.
  const parts: RunningProcess[] = [];
  const start = (options: Omit<SpawnPartOptions, 'onSpawn'>) => spawnPart({ ...options, onSpawn: (part) => parts.push(part) });
  const level = ['--log-level', config.logLevel];
  // Agent admission on: only agents given this file's token (0600, kept across runs) join the stack's scheduler.
  const joinTokenFile = join(config.dataDir, 'join.token');
  ensureJoinToken(joinTokenFile);
  const admission = ['--join-token-file', joinTokenFile];
  // Auth on: the scheduler writes the admin token next to the stack's data (the CLI reads it from
  // there); DNS and LB follow with a read-only token of their own, kept across runs.
  const adminTokenFile = join(config.dataDir, ADMIN_TOKEN_FILE);
  const followersTokenFile = join(config.dataDir, FOLLOWERS_TOKEN_FILE);
  const auth = config.auth ? ['--auth', '--admin-token-file', adminTokenFile] : [];
  const followers = config.auth ? ['--token-file', followersTokenFile] : [];
  try {
    const scheduler = await start({
      name: 'scheduler',
      logFile: join(logs, 'scheduler.log'),
      args: ['scheduler', '--listen', config.schedulerListen, '--data-dir', join(config.dataDir, 'scheduler'), ...admission, ...auth, ...level],
    });
    const master = String(scheduler.ready.api);
    const adminToken = config.auth ? readAdminToken(adminTokenFile) : undefined;
    if (adminToken !== undefined && (await ensureFollowersToken(master, adminToken, followersTokenFile))) {
      logger.info({ identity: FOLLOWERS_ID, tokenFile: followersTokenFile }, 'read-only token issued for dns and lb');
    }
    const others = await Promise.all([
      ...Array.from({ length: config.agents }, (_, i) => {
        const n = i + 1;
        const begin = config.agentPortsBase + i * 1000;
        return start({
          name: `agent-${n}`,
          logFile: join(logs, `agent-${n}.log`),
          args: ['agent', '--master', master, '--ip', agentIp(n), '--work-dir', join(config.dataDir, `agent-${n}`),
            '--listen', `127.0.0.1:${config.agentHttpPortBase === 0 ? 0 : config.agentHttpPortBase + i}`,
            '--resources', `cpus:4;mem:4096;disk:10000;ports:[${begin}-${begin + 999}]`, '--attributes', `agent:${n}`,
            ...(config.cgroupsEnableCfs ? ['--cgroups-enable-cfs'] : []), ...taskUsers, ...admission, ...level],
        });
      }),
      start({
        name: 'dns',
        logFile: join(logs, 'dns.log'),
        args: ['dns', '--master', master, '--listen', config.dnsListen, '--http', config.dnsHttp, ...followers, ...level],
      }),
      start({
        name: 'lb',
        logFile: join(logs, 'lb.log'),
        args: ['lb', '--master', master, '--http-port', config.lbHttpPort, '--https-port', config.lbHttpsPort, '--app-id-port', config.lbAppIdPort,
          '--stats-port', config.lbStatsPort, '--workers', config.lbWorkers, '--group', 'external', ...followers, ...level],
      }),
      ...(config.internalLb
        ? [start({ name: 'lb-internal', logFile: join(logs, 'lb-internal.log'), args: ['lb', '--master', master, '--group', 'internal', '--no-http-https', '--stats-port', '0', ...followers, ...level] })]
        : []),
    ]);
    await agentsConnected(master, config.agents, adminToken);
    const dns = others[config.agents]?.ready ?? {};
    const lb = others[config.agents + 1]?.ready ?? {};
    const internal = config.internalLb ? others[config.agents + 2]?.ready : undefined;
    const urls = {
      scheduler: master,
      dns: String(dns.dns),
      dnsHttp: `http://${String(dns.http)}`,
      lbHttp: `http://${String(lb.http)}`,
      lbHttps: `https://${String(lb.https)}`,
      lbStats: `http://${String(lb.stats)}`,
      ...(internal ? { lbInternalStats: `http://${String(internal.stats)}` } : {}),
      agents: others.slice(0, config.agents).map((a) => String(a.ready.endpoint)),
      logs,
      ...(config.auth ? { adminTokenFile } : {}),
    };
    logger.info(urls, 'ready');
    const [dnsHost, dnsPort] = urls.dns.split(':');
    process.stderr.write(
      [
        '',
        'Corral is up.',
        `  scheduler API   ${urls.scheduler}          (Marathon v2: /v2/apps, /v2/tasks, /v2/events)`,
        ...(config.auth
          ? [`  admin token     ${adminTokenFile}   (the CLI reads ./data/admin.token; curl -H "Authorization: Bearer $(cat ${adminTokenFile})" ${urls.scheduler}/v2/apps)`]
          : ['  auth            OFF (--no-auth): anyone who reaches the scheduler port may run commands on every agent']),
        `  DNS             ${urls.dns} (udp+tcp)  dig @${dnsHost} -p ${dnsPort} hello.marathon.mesos`,
        `  DNS HTTP API    ${urls.dnsHttp}`,
        `  LB (vhosts)     ${urls.lbHttp}          curl -H 'Host: hello.corral.localhost' ${urls.lbHttp}/`,
        `  LB (https)      ${urls.lbHttps}         certificate chosen by SNI (--ssl-certs, HAPROXY_{n}_SSL_CERT)`,
        `  LB stats        ${urls.lbStats}/_corral/stats`,
        ...(urls.lbInternalStats ? [`  internal LB     ${urls.lbInternalStats}/_corral/stats   (service ports of HAPROXY_GROUP=internal apps)`] : []),
        ...urls.agents.map((endpoint, i) => `  agent ${i + 1}         ${agentIp(i + 1)} (${endpoint})`),
        `  logs            ${logs}`,
        'Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    await stopParts(parts, 5000);
    throw err;
  }
  let closing = false;
  // A part that ends while the stack runs leaves it half working (no API, no DNS, an agent's
  // tasks unwatched): say which one and how, and stop everything as Ctrl-C would.
  const failed = new Promise<string>((resolve) => {
    for (const part of parts) {
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
      // Agents first and alone: they kill their tasks and report it while the scheduler still listens.
      const agents = parts.filter((p) => p.name.startsWith('agent-'));
      await stopParts(agents, 10000);
      await stopParts(parts.filter((p) => !agents.includes(p)), 5000);
      logger.info('stopped');
    },
  };
}
