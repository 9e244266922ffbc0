import { ERR_ISOLATION_BAD_NAME, IsolationError } from '../errors.ts';

/**
 * Task cgroups are `task-<id>`: the prefix keeps an id from colliding with a control file
 * (`memory.max`) or with `.`/`..`, and tells our directories from anything else in the parent.
 */
export const TASK_CGROUP_PREFIX = 'task-';
/**
 * Each agent makes its task cgroups under `<parent>/agent-<agent id>`, so two agents (two
 * `corral up` stacks) on one machine never share, adopt or kill each other's task cgroups.
 */
export const AGENT_CGROUP_PREFIX = 'agent-';
const NAME_MAX = 255;
const SAFE = /^[A-Za-z0-9._-]$/;

const utf8 = new TextEncoder();

function percentEncode(char: string): string {
  return [...utf8.encode(char)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

function encodedName(what: 'task' | 'agent', prefix: string, id: string): string {
  if (id === '') throw new IsolationError(ERR_ISOLATION_BAD_NAME, `a ${what} id may not be empty`);
  let encoded = '';
  for (const char of id) encoded += SAFE.test(char) ? char : percentEncode(char);
  const name = prefix + encoded;
  if (name.length > NAME_MAX) {
    throw new IsolationError(ERR_ISOLATION_BAD_NAME, `${what} id '${id}' is too long for a cgroup name (${name.length} > ${NAME_MAX})`);
  }
  return name;
}

/** The cgroup directory name of a task: characters other than [A-Za-z0-9._-] as %XX (UTF-8). */
export function cgroupNameOf(taskId: string): string {
  return encodedName('task', TASK_CGROUP_PREFIX, taskId);
}

/** The directory an agent's task cgroups are made in, under the parent: `agent-<agent id>`, encoded as task names are. */
export function agentCgroupNameOf(agentId: string): string {
  return encodedName('agent', AGENT_CGROUP_PREFIX, agentId);
}

/** The task id of a cgroup directory name, or undefined if the name is not one of ours. */
export function taskIdOfCgroup(name: string): string | undefined {
  if (!name.startsWith(TASK_CGROUP_PREFIX) || name.length === TASK_CGROUP_PREFIX.length) return undefined;
  try {
    const taskId = decodeURIComponent(name.slice(TASK_CGROUP_PREFIX.length));
    return cgroupNameOf(taskId) === name ? taskId : undefined;
  } catch {
    return undefined;
  }
}

/** The parent path's segments (`corral`, `corral/agent-1`); throws for anything that escapes. */
export function parentSegments(parent: string): string[] {
  const segments = parent.split('/').filter((s) => s !== '');
  if (segments.length === 0 || segments.some((s) => s === '.' || s === '..' || s.length > NAME_MAX)) {
    throw new IsolationError(ERR_ISOLATION_BAD_NAME, `'${parent}' is not a relative cgroup path such as 'corral'`);
  }
  return segments;
}

/** The exit code of a task whose leader could not enter its cgroup: it must not run unlimited. */
export const ENTER_CGROUP_FAILED_EXIT = 125;

export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The shell prefix with which a task's `sh -c` leader moves itself into its cgroup before it
 * runs the command, e.g. `echo $$ > '/sys/fs/cgroup/memory/corral/task-a/cgroup.procs' || exit 125; `.
 */
export function enterCgroupScript(procsFiles: readonly string[]): string {
  return procsFiles.map((file) => `echo $$ > ${shellQuote(file)} || exit ${ENTER_CGROUP_FAILED_EXIT}; `).join('');
}
