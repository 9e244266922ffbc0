import type { Writable } from 'node:stream';
import { renderTable, type Column } from './core/table.ts';

/** The terminal side of a stream: set on a TTY only. */
export type TerminalStream = Writable & { isTTY?: boolean; columns?: number };

/** What the client commands need of their process (main.ts passes `process`). */
export interface ClientProcess {
  env: Record<string, string | undefined>;
  stdout: TerminalStream;
  stderr: TerminalStream;
  stdin: AsyncIterable<Buffer | string>;
  exitCode?: number | string | null | undefined;
  once(event: 'SIGINT', listener: () => void): unknown;
  removeListener(event: 'SIGINT', listener: () => void): unknown;
}

type Paint = (text: string) => string;

const ansi = (open: number, close: number): Paint => (text) => `\x1b[${open}m${text}\x1b[${close}m`;
const plain: Paint = (text) => text;

/**
 * Human output and JSON output: tables cut to the terminal's width, colour only when stdout is
 * a terminal (and NO_COLOR is unset), errors on stderr.
 */
export class Output {
  readonly json: boolean;
  readonly tty: boolean;
  readonly width: number;
  readonly bold: Paint;
  readonly dim: Paint;
  readonly green: Paint;
  readonly red: Paint;
  readonly yellow: Paint;
  readonly #proc: ClientProcess;

  constructor(proc: ClientProcess, json: boolean) {
    this.#proc = proc;
    this.json = json;
    this.tty = proc.stdout.isTTY === true;
    // A pipe gets whole lines: cutting is for eyes, grep wants everything.
    // A pseudo-terminal may not know its size (0 columns): assume the classic 80.
    this.width = this.tty ? (proc.stdout.columns || 80) : Infinity;
    const colour = this.tty && proc.env.NO_COLOR === undefined;
    this.bold = colour ? ansi(1, 22) : plain;
    this.dim = colour ? ansi(2, 22) : plain;
    this.green = colour ? ansi(32, 39) : plain;
    this.red = colour ? ansi(31, 39) : plain;
    this.yellow = colour ? ansi(33, 39) : plain;
  }

  line(text = ''): void {
    this.#proc.stdout.write(`${text}\n`);
  }

  write(text: string): void {
    this.#proc.stdout.write(text);
  }

  /** Replaces the current terminal line (live progress on a TTY). */
  rewrite(text: string): void {
    this.#proc.stdout.write(`\r\x1b[2K${text.length > this.width ? text.slice(0, this.width - 1) : text}`);
  }

  printJson(value: unknown): void {
    this.line(JSON.stringify(value, null, 2));
  }

  table(columns: readonly Column[], rows: ReadonlyArray<readonly string[]>): void {
    const [header, ...body] = renderTable(columns, rows, this.width);
    if (header !== undefined) this.line(this.bold(header));
    for (const row of body) this.line(row);
  }

  /** `label: value` lines with the labels aligned. */
  fields(pairs: ReadonlyArray<readonly [string, string]>): void {
    const width = Math.max(0, ...pairs.map(([label]) => label.length));
    for (const [label, value] of pairs) this.line(`${this.bold(`${label}:`.padEnd(width + 1))} ${value}`);
  }

  /** A remark for the person at the terminal (stderr, so that stdout stays data). */
  note(text: string): void {
    this.#proc.stderr.write(`${text}\n`);
  }

  error(text: string): void {
    const colour = this.#proc.stderr.isTTY === true && this.#proc.env.NO_COLOR === undefined;
    this.#proc.stderr.write(`${colour ? ansi(31, 39)('error:') : 'error:'} ${text}\n`);
  }
}
