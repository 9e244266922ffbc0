import type { TaskLaunch } from '../../shared/agent-protocol.ts';

/** Upper-cases a name into an environment variable suffix, as Marathon does for labels and port names. */
function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/**
 * The environment Mesos and Marathon give a task, then the app's own `env` (which wins).
 * `base` is what the agent passes through from its own environment (PATH and the like).
 */
export function buildTaskEnv(task: TaskLaunch, host: string, sandbox: string, base: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { ...base, HOST: host, MESOS_TASK_ID: task.taskId, MESOS_SANDBOX: sandbox };
  env.MARATHON_APP_ID = task.appId;
  env.MARATHON_APP_VERSION = task.version;
  env.MARATHON_APP_RESOURCE_CPUS = String(task.cpus);
  env.MARATHON_APP_RESOURCE_MEM = String(task.mem);
  env.MARATHON_APP_RESOURCE_DISK = String(task.disk);
  task.ports.forEach((port, index) => {
    env[`PORT${index}`] = String(port);
    const name = task.portNames[index];
    if (name !== null && name !== undefined) env[`PORT_${envName(name)}`] = String(port);
  });
  if (task.ports[0] !== undefined) env.PORT = String(task.ports[0]);
  env.PORTS = task.ports.join(',');
  const labelNames = Object.keys(task.labels).map(envName);
  env.MARATHON_APP_LABELS = labelNames.join(' ');
  for (const [name, value] of Object.entries(task.labels)) env[`MARATHON_APP_LABEL_${envName(name)}`] = value;
  return { ...env, ...task.env };
}
