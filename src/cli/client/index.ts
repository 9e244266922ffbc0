import type { Command } from 'commander';
import { registerAgentCommands } from './agent-commands.ts';
import { registerAuthCommands } from './auth-commands.ts';
import { registerAppCommands } from './app-commands.ts';
import { registerDeploymentCommands } from './deployment-commands.ts';
import { registerEventsCommand } from './events-command.ts';
import { registerGroupCommands } from './group-commands.ts';
import { registerIdentityCommands } from './identity-commands.ts';
import { registerJobCommands } from './job-commands.ts';
import { registerLogsCommand } from './logs-command.ts';
import type { ClientProcess } from './output.ts';
import { registerQueueCommands } from './queue-commands.ts';
import { registerQuotaCommands } from './quota-commands.ts';
import { registerTaskCommands } from './task-commands.ts';

export type { ClientProcess } from './output.ts';

/**
 * The operator's commands (`corral app|group|deployment|task|logs|agent|queue|why|events|whoami|token|quota|job|identity|grant`), all
 * clients of the scheduler's REST API. Each sets `proc.exitCode`: 0 done, 1 the operation
 * failed (the server's message is printed), 2 usage error, 130 interrupted while waiting.
 */
export function registerClientCommands(program: Command, proc: ClientProcess): void {
  registerAppCommands(program, proc);
  registerGroupCommands(program, proc);
  registerDeploymentCommands(program, proc);
  registerTaskCommands(program, proc);
  registerLogsCommand(program, proc);
  registerAgentCommands(program, proc);
  registerQueueCommands(program, proc);
  registerEventsCommand(program, proc);
  registerAuthCommands(program, proc);
  registerQuotaCommands(program, proc);
  registerJobCommands(program, proc);
  registerIdentityCommands(program, proc);
}
