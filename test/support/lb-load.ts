import { Pool } from 'undici';

export interface LoadResult {
  ok: number;
  /** Status codes other than 200, and transport errors, as text. */
  failures: string[];
  /** How many times `change` ran. */
  changes: number;
}

/**
 * Steady keep-alive traffic (`clients` connections, each sending one request after another)
 * to `host` on 127.0.0.1:`port` for `durationMs`, while `change(step)` runs every `tickMs`. The
 * pacing is the load pattern under test, not synchronisation: the result is what every request
 * got.
 */
export async function loadWhileChanging(options: {
  port: number;
  host: string;
  clients: number;
  durationMs: number;
  tickMs: number;
  change: (step: number) => void;
}): Promise<LoadResult> {
  const pool = new Pool(`http://127.0.0.1:${options.port}`, { connections: options.clients, pipelining: 1 });
  const result: LoadResult = { ok: 0, failures: [], changes: 0 };
  let running = true;
  const ticker = setInterval(() => {
    options.change(result.changes);
    result.changes += 1;
  }, options.tickMs);
  const client = async (): Promise<void> => {
    while (running) {
      try {
        const response = await pool.request({ path: '/', method: 'GET', headers: { host: options.host } });
        await response.body.dump();
        if (response.statusCode === 200) result.ok += 1;
        else result.failures.push(`HTTP ${response.statusCode}`);
      } catch (err) {
        result.failures.push((err as Error).message);
      }
    }
  };
  const clients = Array.from({ length: options.clients }, client);
  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  clearInterval(ticker);
  running = false;
  await Promise.all(clients);
  await pool.close();
  return result;
}

/**
 * One request after another to `host` on 127.0.0.1:`port`, `everyMs` apart, until `stop()`
 * (which resolves with what every request got): a steady trickle through a change of unknown
 * length, such as a scheduler failover. The pacing is the load pattern, not synchronisation.
 */
export function steadyLoad(options: { port: number; host: string; everyMs: number }): { stop: () => Promise<LoadResult & { okAt: number[] }> } {
  const pool = new Pool(`http://127.0.0.1:${options.port}`, { connections: 1, pipelining: 1 });
  const result = { ok: 0, failures: [] as string[], changes: 0, okAt: [] as number[] };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const response = await pool.request({ path: '/', method: 'GET', headers: { host: options.host } });
        await response.body.dump();
        if (response.statusCode === 200) {
          result.ok += 1;
          result.okAt.push(Date.now());
        } else {
          result.failures.push(`HTTP ${response.statusCode} at ${new Date().toISOString()}`);
        }
      } catch (err) {
        result.failures.push(`${(err as Error).message} at ${new Date().toISOString()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, options.everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await pool.close();
      return result;
    },
  };
}
