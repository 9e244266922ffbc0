import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigError, masterUrls, parseConfig } from '../../shared/config.ts';
import { caFile, plainMasterProblems } from '../../shared/tls.ts';
import { commandDefaults, layerSettings } from '../../shared/settings.ts';
import { readServiceToken } from '../../auth/secret-files.ts';
import { authHint, DEFAULT_TOKEN_FILE, tokenSource, type TokenSource } from './core/token-source.ts';
import { ApiFailure, MasterClient } from './http-client.ts';
import { Output, type ClientProcess } from './output.ts';

const CLIENT_DEFAULTS = commandDefaults('client');

/** Exit codes of the client commands. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** A mistake in how the command was called: exit code 2, with a pointer to --help. */
export class UsageError extends Error {}

export interface ClientFlags {
  master?: string;
  token?: string;
  tokenFile?: string;
  json?: boolean;
  wait?: boolean;
  force?: boolean;
  [flag: string]: unknown;
}

export interface ClientContext {
  client: MasterClient;
  out: Output;
  flags: ClientFlags;
  proc: ClientProcess;
  /** Aborted by Ctrl-C, for commands that wait ({@link ClientContext.interruptible}). */
  interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<{ value: T; interrupted: boolean }>;
}

/** The `--master` list: the flag, else CORRAL_MASTER, else config/defaults.json; each must be an http(s) URL. */
export function mastersOf(flag: string | undefined, env: Record<string, string | undefined>): string[] {
  const settings = layerSettings('client', CLIENT_DEFAULTS, flag === undefined ? {} : { master: flag }, env, undefined);
  try {
    return [...parseConfig(settings, { masters: ['master', masterUrls] }).masters];
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** The CA `corral up --tls` writes, read from the current directory when nothing else is said (as ./data/admin.token). */
export const DEFAULT_CA_FILE = './data/ca.pem';

/**
 * `--ca`, else CORRAL_CA: the PEM file trusted for https:// scheduler and agent URLs; every `--master` must then be https.
 * Neither given and every `--master` https: ./data/ca.pem if it exists (a plain `--master` never picks it up).
 */
export function caOf(flags: ClientFlags, env: Record<string, string | undefined>): string | undefined {
  const given: Record<string, string> = { ...(flags.master === undefined ? {} : { master: flags.master }), ...(typeof flags.ca === 'string' ? { ca: flags.ca } : {}) };
  const settings = layerSettings('client', CLIENT_DEFAULTS, given, env, undefined);
  try {
    const { masters, ca } = parseConfig(settings, { masters: ['master', masterUrls], ca: caFile }, { check: plainMasterProblems });
    if (ca !== undefined || !masters.every((master) => master.startsWith('https:')) || !existsSync(DEFAULT_CA_FILE)) return ca;
    return caFile(DEFAULT_CA_FILE);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * A client subcommand with `--master`, and `--help` that ends with examples. `parent` is a
 * command family (`app`, `group`, …) or the program itself.
 */
export function leaf(parent: Command, spec: string, description: string, examples: readonly string[]): Command {
  return parent
    .command(spec)
    .description(description)
    .option('--master <urls>', `scheduler URL(s), comma-separated (env CORRAL_MASTER; default ${String(CLIENT_DEFAULTS.master)})`)
    .option('--ca <file>', `trust only these PEM certificates for https:// scheduler and agent URLs (env CORRAL_CA; default ${DEFAULT_CA_FILE}, written by corral up --tls, if it exists)`)
    .option('--token-file <file>', `a scheduler with --auth: the file holding the token (env CORRAL_TOKEN_FILE; default ${DEFAULT_TOKEN_FILE}, written by corral up, if it exists)`)
    .option('--token <token>', 'the token itself (env CORRAL_TOKEN; visible to other users in ps: prefer CORRAL_TOKEN or --token-file)')
    .addHelpText('after', `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  ${e}`).join('\n')}\n`);
}

/** A command family (`corral app …`): its `--help` lists the subcommands and shows examples. */
export function family(program: Command, name: string, description: string, examples: readonly string[]): Command {
  return program.command(name).description(description).addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}\n`);
}

/** `--json` for listings and shows. */
export function withJson(command: Command): Command {
  return command.option('--json', 'print the JSON the scheduler answered, for scripts');
}

/** `--no-wait` and `--force` for commands that start a deployment. */
export function withDeploymentFlags(command: Command, force = true): Command {
  command.option('--no-wait', 'return once the change is accepted instead of following its deployment');
  if (force) command.option('--force', 'override a deployment that holds the app (cancels it)');
  return withJson(command);
}

/**
 * The action of a client command: builds the client from the flags, runs `handler`, and turns
 * what happens into output and an exit code (0 done, 1 failed with the server's message, 2 usage).
 */
export function action<A extends unknown[]>(proc: ClientProcess, handler: (ctx: ClientContext, ...args: A) => Promise<number | void>) {
  return async (...raw: unknown[]): Promise<void> => {
    const command = raw.at(-1) as Command;
    // With globals: `corral agent list --master X` leaves --master with the `agent` command that runs agents.
    const flags = command.optsWithGlobals<ClientFlags>();
    const out = new Output(proc, flags.json === true);
    // Output to a closed pipe (`corral app list | head -1`) is dropped, not a crash; the error
    // may come after the action has returned, so the listener stays.
    proc.stdout.on('error', ignore);
    let client: MasterClient | undefined;
    let source: TokenSource = { kind: 'none' };
    try {
      const masters = mastersOf(flags.master, proc.env);
      const resolved = resolveToken(flags, proc.env);
      source = resolved.source;
      client = new MasterClient(masters, caOf(flags, proc.env), resolved.token, { notice: (line) => out.note(line) });
      const ctx: ClientContext = { client, out, flags, proc, interruptible: (work) => interruptible(proc, work) };
      proc.exitCode = (await handler(ctx, ...(raw.slice(0, -2) as A))) ?? EXIT.ok;
    } catch (error) {
      out.error(explain(error, command, source));
      proc.exitCode = error instanceof UsageError ? EXIT.usage : EXIT.failed;
    } finally {
      await client?.close();
    }
  };
}

const ignore = (): void => undefined;

/** What went wrong, and what to try. */
function explain(error: unknown, command: Command, source: TokenSource): string {
  if (error instanceof UsageError) return `${error.message}\n(see: corral ${commandPath(command)} --help)`;
  if (!(error instanceof ApiFailure)) return (error as Error).message;
  if (error.status === 401 || error.status === 403) return `${error.message} (HTTP ${error.status})\n(${authHint(error.status, source)})`;
  const locked = error.status === 409 && Array.isArray((error.body as { deployments?: unknown } | undefined)?.deployments);
  return `${error.message} (HTTP ${error.status})${locked ? '\n(add --force to cancel the deployment that holds it, or wait for it: corral deployment watch ID)' : ''}`;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null && c.parent !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Ctrl-C, or a reader that went away (`corral events | head`), ends the work. */
async function interruptible<T>(proc: ClientProcess, work: (signal: AbortSignal) => Promise<T>): Promise<{ value: T; interrupted: boolean }> {
  const controller = new AbortController();
  const onInterrupt = (): void => controller.abort();
  proc.once('SIGINT', onInterrupt);
  proc.stdout.once('error', onInterrupt);
  try {
    return { value: await work(controller.signal), interrupted: controller.signal.aborted };
  } finally {
    proc.removeListener('SIGINT', onInterrupt);
    proc.stdout.removeListener('error', onInterrupt);
  }
}

/** The token to send, read where {@link tokenSource} says; a named file that cannot be read is a usage error (its content is never shown). */
export function resolveToken(flags: ClientFlags, env: Record<string, string | undefined>): { token?: string; source: TokenSource } {
  const source = tokenSource(flags, env);
  if (source.kind === 'none') return { source };
  if (source.kind === 'token') return { token: source.token, source };
  if (source.via === 'default' && !existsSync(source.file)) return { source: { kind: 'none' } };
  try {
    return { token: readServiceToken(source.file), source };
  } catch (error) {
    throw new UsageError(`${source.via === 'default' ? '' : `${source.via}: `}${(error as Error).message}`);
  }
}

/** A JSON document from FILE, or from stdin when FILE is `-`. */
export async function readJsonInput(file: string, stdin: AsyncIterable<Buffer | string>): Promise<unknown> {
  let text: string;
  if (file === '-') {
    const chunks: string[] = [];
    for await (const chunk of stdin) chunks.push(chunk.toString());
    text = chunks.join('');
  } else {
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${file === '-' ? 'stdin' : file} is not JSON: ${(error as Error).message}`);
  }
}

/** `?force=true` when `--force` was given. */
export const forceQuery = (ctx: ClientContext): string => (ctx.flags.force === true ? '?force=true' : '');

/** An app or group id as the API wants it in a path: leading slash, no trailing one. */
export function pathId(id: string): string {
  const trimmed = id.trim().replace(/\/+$/, '');
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}
