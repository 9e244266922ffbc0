import { pino, type Logger } from 'pino';

export type { Logger };

/** The one place loggers are made: pino JSON on stdout, every line tagged with its component. */
export function createLogger(component: string, level: string = 'info'): Logger {
  return pino({ level, base: { component, pid: process.pid } });
}
