import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { action, EXIT, leaf, UsageError, type ClientContext } from './command-kit.ts';
import type { ClientProcess } from './output.ts';
import { findTasks } from './task-commands.ts';

const FOLLOW_POLL_MS = 500;
const TAIL_CHUNK = 64 * 1024;

/** Asked again this long before the scheduler's token expires (clocks differ a little). */
const TOKEN_MARGIN_MS = 30_000;

/** Where a task's sandbox is and a token for it (none when the agent checks none: admission off). */
interface FilesGrant {
  url: string;
  sandbox: string;
  token?: string;
  expiresAt?: string;
}

/** One sandbox file through the agent's Mesos files API, with a token from the scheduler renewed as it runs out. */
class SandboxFile {
  readonly #ctx: ClientContext;
  readonly #taskId: string;
  readonly #file: string;
  #grant: FilesGrant | undefined;

  constructor(ctx: ClientContext, taskId: string, file: string) {
    this.#ctx = ctx;
    this.#taskId = taskId;
    this.#file = file;
  }

  async #currentGrant(): Promise<FilesGrant> {
    const expiresAt = this.#grant?.expiresAt === undefined ? Infinity : Date.parse(this.#grant.expiresAt);
    if (this.#grant === undefined || expiresAt - TOKEN_MARGIN_MS <= Date.now()) {
      const reply = await this.#ctx.client.call<FilesGrant>('POST', `/corral/v1/tasks/${encodeURIComponent(this.#taskId)}/files-token`, {});
      this.#grant = reply.json;
    }
    return this.#grant;
  }

  /** `offset` -1 asks only for the size (Mesos answers the end offset). */
  async read(offset: number, length?: number): Promise<{ data: string; offset: number }> {
    const grant = await this.#currentGrant();
    if (typeof grant.url !== 'string' || grant.url === '') throw new Error(`the agent of task ${this.#taskId} did not say where its files API listens`);
    const query = `path=${encodeURIComponent(`${grant.sandbox}/${this.#file}`)}&offset=${offset}${length === undefined ? '' : `&length=${length}`}`;
    return this.#ctx.client.getFrom(grant.url, `/files/read?${query}`, grant.token === undefined ? {} : { authorization: `Bearer ${grant.token}` });
  }

  async size(): Promise<number> {
    return (await this.read(-1)).offset;
  }

  /** Everything from `start` to `end`, in as many reads as the agent's per-read limit needs. */
  async range(start: number, end: number): Promise<string> {
    const parts: string[] = [];
    let offset = start;
    while (offset < end) {
      const { data } = await this.read(offset, end - offset);
      if (data === '') break;
      parts.push(data);
      offset += Buffer.byteLength(data);
    }
    return parts.join('');
  }
}

/** The last `lines` lines of `text` (all of it when `lines` is undefined), keeping a final newline. */
function lastLines(text: string, lines: number | undefined): string {
  if (lines === undefined) return text;
  const ended = text.endsWith('\n');
  const all = (ended ? text.slice(0, -1) : text).split('\n');
  const kept = lines === 0 ? [] : all.slice(-lines);
  return kept.length === 0 ? '' : `${kept.join('\n')}${ended ? '\n' : ''}`;
}

async function tail(file: SandboxFile, size: number, lines: number | undefined): Promise<string> {
  let chunk = TAIL_CHUNK;
  for (;;) {
    const start = lines === undefined ? 0 : Math.max(0, size - chunk);
    const text = await file.range(start, size);
    // Enough when the window holds more lines than asked (its first one may be cut), or is the whole file.
    if (start === 0 || (text.match(/\n/g)?.length ?? 0) > (lines ?? 0)) return lastLines(text, lines);
    chunk *= 4;
  }
}

function parseLines(text: string): number | undefined {
  if (text === 'all') return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--lines takes a whole number or 'all', not '${text}'`);
  return Number(text);
}

/** What `corral logs` and `corral job logs` print of a task's sandbox file. */
export interface LogOptions {
  stderr: boolean;
  follow: boolean;
  /** Lines from the end to print first; all of them when undefined. */
  lines: number | undefined;
  /** With follow: asked while nothing new arrives; false ends the following once the file is read to its end (a finished job run). */
  stillWriting?: () => Promise<boolean>;
}

/** `--lines`, `--stderr` and `--follow` of a logs command. */
export function withLogOptions(command: Command): Command {
  return command
    .option('--stderr', 'the task\'s stderr instead of its stdout')
    .option('--follow', 'keep printing what the task writes, until Ctrl-C')
    .option('--lines <n>', 'lines from the end to print first, or \'all\' (default 10)');
}

export function logOptionsOf(ctx: ClientContext, defaultLines = '10'): LogOptions {
  return {
    stderr: ctx.flags.stderr === true,
    follow: ctx.flags.follow === true,
    lines: parseLines(typeof ctx.flags.lines === 'string' ? ctx.flags.lines : defaultLines),
  };
}

/** Prints the end of a task's stdout (or stderr) from its sandbox, and with `follow` what it writes next. */
export async function printTaskLog(ctx: ClientContext, taskId: string, options: LogOptions): Promise<number> {
  const file = new SandboxFile(ctx, taskId, options.stderr ? 'stderr' : 'stdout');
  let offset = await file.size();
  ctx.out.write(await tail(file, offset, options.lines));
  if (!options.follow) return EXIT.ok;
  await ctx.interruptible(async (signal) => {
    let last = false;
    while (!signal.aborted) {
      const { data, offset: at } = await file.read(offset);
      // The agent rotated the file (copied it aside and truncated it): start again from its beginning.
      if (at < offset) offset = 0;
      else if (data !== '') {
        ctx.out.write(data);
        offset += Buffer.byteLength(data);
      } else if (last) return;
      else if (options.stillWriting !== undefined && !(await options.stillWriting())) last = true;
      else await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  });
  return EXIT.ok;
}

export function registerLogsCommand(program: Command, proc: ClientProcess): void {
  withLogOptions(leaf(program, 'logs <task>', 'Print the end of a task\'s stdout (or stderr) from its sandbox on the agent; --follow keeps printing', [
    'corral logs hello.6b2c9a40-1c7e-4c55-9a3e-1f0b7d2e8c11',
    'corral logs hello.6b2c --stderr --follow --lines 50',
  ]))
    .action(action(proc, async (ctx, key: string) => {
      const options = logOptionsOf(ctx);
      const [task] = await findTasks(ctx, [key]);
      if (task === undefined) throw new Error(`no task '${key}'`);
      return printTaskLog(ctx, String(task.id), options);
    }));
}
