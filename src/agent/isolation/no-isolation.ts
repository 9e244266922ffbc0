import type { Isolator, TaskCgroup } from './isolator.ts';

/** No writable cgroups: tasks run without limits, and the agent said why once at start-up. */
export class NoIsolation implements Isolator {
  readonly kind = 'none' as const;
  readonly reason: string;
  readonly parentDirs: readonly string[] = Object.freeze([]);

  constructor(reason: string) {
    this.reason = reason;
  }

  useAgent(): void {
    // Nothing to name.
  }

  async release(): Promise<void> {
    // Nothing was made.
  }

  async prepare(): Promise<TaskCgroup | undefined> {
    return undefined;
  }

  async existing(): Promise<Map<string, TaskCgroup>> {
    return new Map();
  }
}
