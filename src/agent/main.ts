import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import Fastify from 'fastify';
import { formatHostPort, parseHostPort, type HostPort } from '../shared/address.ts';
import type { AttributeValue, Resource } from '../shared/agent-protocol.ts';
import { createLogger } from '../shared/log.ts';
import type { Service } from '../shared/service.ts';
import type { Settings } from '../shared/settings.ts';
import { parseAttributes, parseResources } from './core/resources.ts';
import { SchedulerLink } from './scheduler-link.ts';
import { killLeftoverTasks } from './task-processes.ts';
import { TaskRunner } from './task-runner.ts';

export interface AgentConfig {
  masters: string[];
  ip: string;
  hostname: string;
  resources: Resource[];
  attributes: Record<string, AttributeValue>;
  workDir: string;
  listen: HostPort;
  logLevel: string;
}

export function parseAgentConfig(settings: Settings): Readonly<AgentConfig> {
  const ip = String(settings.ip);
  const masters = String(settings.master).split(',').map((m) => m.trim()).filter((m) => m !== '');
  if (masters.length === 0) throw new Error('--master needs at least one scheduler URL');
  for (const master of masters) new URL(master);
  return Object.freeze({
    masters,
    ip,
    hostname: typeof settings.hostname === 'string' && settings.hostname !== '' ? settings.hostname : ip,
    resources: parseResources(String(settings.resources)),
    attributes: parseAttributes(String(settings.attributes ?? '')),
    workDir: resolve(String(settings.workDir)),
    listen: parseHostPort(String(settings.listen)),
    logLevel: String(settings.logLevel ?? 'info'),
  });
}

/** Variables a task inherits from the agent: enough to find programs, no more. */
const INHERITED_ENV = ['PATH', 'LANG', 'TZ'] as const;

export async function startAgent(settings: Settings): Promise<Service> {
  const config = parseAgentConfig(settings);
  const logger = createLogger('agent', config.logLevel);
  mkdirSync(config.workDir, { recursive: true });
  killLeftoverTasks(config.workDir, logger);
  const idFile = join(config.workDir, 'agent-id');
  const baseEnv: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = process.env[name];
    if (value !== undefined) baseEnv[name] = value;
  }

  const runner = new TaskRunner({
    workDir: config.workDir,
    host: config.ip,
    baseEnv,
    logger,
    // Reports start only after a launch, which comes through the link: it exists by then.
    report: (report) => link.report(report),
  });

  // The agent's own endpoint; sandbox browsing and metrics come with the full agent.
  const http = Fastify();
  http.get('/state', async () => ({ hostname: config.hostname, ip: config.ip, resources: config.resources, attributes: config.attributes, tasks: runner.list() }));
  await http.listen({ host: config.listen.host, port: config.listen.port });
  const address = http.server.address();
  const endpoint = `http://${formatHostPort({ host: config.listen.host, port: typeof address === 'object' && address !== null ? address.port : config.listen.port })}`;

  const link = new SchedulerLink({
    masters: config.masters,
    logger,
    initialAgentId: existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : undefined,
    registration: () => ({ hostname: config.hostname, ip: config.ip, endpoint, resources: config.resources, attributes: config.attributes, tasks: runner.list() }),
    onRegistered: (agentId) => writeFileSync(idFile, agentId),
    onCommand: (command) => {
      if (command.type === 'launch') runner.launch(command.task);
      else if (command.type === 'kill') void runner.kill(command.taskId, command.killGracePeriodMs);
    },
  });
  link.start();
  logger.info({ endpoint, ip: config.ip, masters: config.masters, resources: config.resources }, 'ready');

  return {
    async close() {
      // Tasks die with the agent (Mesos' shutdown): recovery across agent restarts comes later.
      // Leave the scheduler first, so it places nothing more here while the tasks are killed.
      link.detach();
      await runner.shutdown();
      await link.close(1000);
      await http.close();
    },
  };
}
